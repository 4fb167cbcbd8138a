"""Helpers shared by the command lines."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Sequence


def parse_kv(pairs: Sequence[str] | None, what: str = "option") -> dict[str, Any]:
    """Parse ``key:value`` / ``key=value`` pairs, values as YAML scalars."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs or []:
        sep = ":" if ":" in pair and ("=" not in pair or pair.index(":") < pair.index("=")) else "="
        if sep not in pair:
            raise SystemExit(f"error: bad {what} {pair!r}; write key:value (e.g. frame_skip:4)")
        key, value = pair.split(sep, 1)
        out[key.strip()] = yaml.safe_load(value) if value.strip() else None
    return out


def run_cli(main: Callable[[Sequence[str] | None], Any], argv: Sequence[str] | None = None) -> int:
    """Run a CLI main: clear one-line errors for user mistakes, exit code 130 on Ctrl-C."""
    from sb3_plus.config_errors import USER_ERRORS

    try:
        main(argv)
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: nothing half-written was kept", file=sys.stderr)
        return 130
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))
