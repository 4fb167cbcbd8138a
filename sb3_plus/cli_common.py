"""Helpers shared by the command lines."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Sequence


def parse_kv(pairs: Sequence[str] | None, what: str = "option") -> dict[str, Any]:
    """Parse ``key:value`` / ``key=value`` pairs, values as YAML (``--env-kwargs frame_skip:4``).

    The same parser reads ``--hyperparams`` (:func:`sb3_plus.config.parse_overrides`).

    :param pairs: the strings as given (``None`` gives ``{}``).
    :param what: what they are, for the error (``env kwarg``).
    :raises BadOptionError: for a pair without a key and a separator.
    """
    from sb3_plus.config import parse_overrides

    return parse_overrides(pairs, what=what)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default, said once: not for ``None`` or flags, and not where the
    help text already speaks of its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default is None or isinstance(action.default, bool) or "default" in text:
            return text
        return super()._get_help_string(action)


def make_parser(command: str, doc: str | None) -> argparse.ArgumentParser:
    """The parser of ``python -m sb3_plus.<command>``: its module docstring's first paragraph as description."""
    return argparse.ArgumentParser(prog=f"python -m sb3_plus.{command}", description=(doc or "").split("\n\n")[0],
                                   formatter_class=HelpFormatter)


def run_cli(main: Callable[[Sequence[str] | None], Any], argv: Sequence[str] | None = None) -> int:
    """Run a CLI main: user mistakes as one ``error:`` line and exit code 2, 130 on Ctrl-C.

    Only :data:`sb3_plus.errors.USER_ERRORS` are reported that way; any other exception is a
    bug and propagates with its traceback.

    :param main: the command's ``main(argv)``.
    :param argv: the arguments (``None``: ``sys.argv[1:]``).
    :return: the exit code.
    """
    from sb3_plus.errors import USER_ERRORS
    from sb3_plus.utils import sigterm_as_interrupt

    try:
        with sigterm_as_interrupt():  # `kill` stops a command the way Ctrl-C does, from its first line on
            main(argv)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: nothing half-written was kept", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def print_json(data: Any) -> None:
    """Print ``data`` as indented, key-sorted, valid JSON (NaN as ``null``; other objects as their ``str``)."""
    from sb3_plus.utils import json_safe

    print(json.dumps(json_safe(data), indent=2, sort_keys=True, default=str, allow_nan=False))
