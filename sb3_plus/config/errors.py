"""The config error type and the small pieces every config module uses to report problems."""

from __future__ import annotations

import difflib
from typing import Iterable

from sb3_plus.errors import BadOptionError


class ConfigError(BadOptionError):
    """A config file, entry or override that cannot be used as it is.

    The message names the file, the entry, the field and the fix; the same facts are kept
    as attributes for programs. It is a :class:`~sb3_plus.errors.UserError` and a ``ValueError``.

    :param message: the full message.
    :param file: the config file (or ``"<dict>"`` for a config built in Python).
    :param entry: the entry key in that file (an env id, a pattern or ``default``).
    :param field: the offending field, dotted for nested ones (``policy_kwargs.net_arch``).
    """

    def __init__(self, message: str, *, file: str | None = None, entry: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.entry = entry
        self.field = field


class Invalid(Exception):
    """A bad value found below the entry level; the entry parser adds where it was found.

    :param problem: what is wrong with the value.
    :param fix: how to correct it (``None``: the caller words it from the expected type).
    :param path: the dotted field below the entry, when known.
    """

    def __init__(self, problem: str, fix: str | None = None, path: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.path = path


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ``"; did you mean 'x'?"`` suffix for an error message, or ``""`` when nothing is close.

    :param word: the unknown word the user wrote.
    :param candidates: the words that would have been accepted.
    """
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


def join_path(path: str, key: object) -> str:
    """``path.key``, or ``key`` at the top level."""
    return f"{path}.{key}" if path else str(key)
