"""Values written as text in a config, read without ``eval``: schedules and ``policy_kwargs`` strings."""

from __future__ import annotations

import ast
import keyword
import math
import re
from typing import Any, Callable

from stable_baselines3.common.utils import ConstantSchedule, FloatSchedule, LinearSchedule

from sb3_plus.config.errors import ConfigError, Invalid
from sb3_plus.config.registry import lookup_name, name_of

Schedule = Callable[[float], float]

#: The accepted spellings of a schedule, as shown in error messages.
SCHEDULE_FORMS = ("a number (e.g. 0.0003), 'lin_<number>' (linear from <number> at the start to 0 at the end, "
                  "e.g. lin_3e-4) or 'const_<number>'")
_SCHEDULE_RE = re.compile(r"^(lin|const)_(.+)$")


def _schedule_from_text(text: str) -> Schedule:
    match = _SCHEDULE_RE.match(text.strip())
    if match:
        try:
            number = float(match.group(2))
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return LinearSchedule(number, 0.0, 1.0) if match.group(1) == "lin" else ConstantSchedule(number)
    raise Invalid(f"{text!r} is not a valid schedule", f"write {SCHEDULE_FORMS}")


def to_schedule(value: Any) -> Schedule:
    """The schedule ``value`` stands for; raises :class:`Invalid` for anything else."""
    if isinstance(value, FloatSchedule):
        return value
    if isinstance(value, bool):
        raise Invalid(f"{value!r} is not a schedule", f"write {SCHEDULE_FORMS}")
    if isinstance(value, (int, float)):
        if math.isnan(value):
            raise Invalid("nan is not a schedule", f"write {SCHEDULE_FORMS}")
        return ConstantSchedule(float(value))
    if isinstance(value, str):
        return _schedule_from_text(value)
    if callable(value):
        return value
    raise Invalid(f"{value!r} is not a schedule", f"write {SCHEDULE_FORMS}")


def parse_schedule(value: float | int | str | Schedule) -> Schedule:
    """Turn a zoo schedule into a picklable callable of ``progress_remaining`` (1 -> 0).

    Numbers and ``const_<x>`` give a :class:`ConstantSchedule`; ``lin_<x>`` gives a
    :class:`LinearSchedule` from ``x`` to 0 (as rl_zoo3's ``linear_schedule``). Both are
    Stable-Baselines3 classes, so a saved model needs no sb3-plus to load.

    :param value: the value from the config.
    :raises ConfigError: for anything else (e.g. ``lin_abc``, ``exp_0.1``).
    """
    try:
        return to_schedule(value)
    except Invalid as exc:
        raise ConfigError(f"{exc.problem}. Fix: {exc.fix}") from None


def schedule_to_yaml(value: float | Schedule) -> float | str:
    """The RL Zoo spelling of a schedule: a float or ``'lin_<x>'``.

    :param value: a number or a schedule built by :func:`parse_schedule`.
    :raises ConfigError: for a callable that has no zoo spelling.
    """
    if isinstance(value, FloatSchedule):
        value = value.value_schedule
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, ConstantSchedule):
        return float(value.val)
    if isinstance(value, LinearSchedule) and value.end == 0 and value.end_fraction == 1:
        return f"lin_{float(value.start)!r}"
    raise ConfigError(f"the schedule {value!r} has no RL Zoo spelling. Fix: use {SCHEDULE_FORMS}")


def schedule_start(value: Any) -> Any:
    """The starting value of a schedule (what range checks look at); other values unchanged."""
    if isinstance(value, FloatSchedule):
        value = value.value_schedule
    if isinstance(value, LinearSchedule):
        return value.start
    if isinstance(value, ConstantSchedule):
        return value.val
    return value


# ----------------------------------------------------------------------------- literal expressions

_LITERAL_FORMS = ("only dict(...), {...}, [...], (...), numbers, strings, True/False/None and the names "
                  "nn.<Activation> (e.g. nn.ReLU), th.optim.<Optimizer>, RMSpropTFLike and registered "
                  "features extractors (e.g. NatureCNN)")


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and (node.value is None or type(node.value) in (bool, int, float, str)):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float)):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, ast.List):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(item) for item in node.elts)
    if isinstance(node, ast.Dict) and all(key is not None for key in node.keys):
        return {_literal(key): _literal(value) for key, value in zip(node.keys, node.values)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict"
            and not node.args and all(kw.arg is not None for kw in node.keywords)):
        return {kw.arg: _literal(kw.value) for kw in node.keywords}
    if isinstance(node, (ast.Name, ast.Attribute)):
        dotted = _dotted(node)
        if dotted is not None:
            return lookup_name(dotted)
    raise Invalid(f"`{ast.unparse(node)}` is not allowed", f"write {_LITERAL_FORMS}")


def parse_literal(text: str) -> Any:
    """Read a Python-literal expression (plus known class names) from ``text``; raises :class:`Invalid`."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise Invalid(f"{text!r} is not a valid expression ({exc.msg})", f"write {_LITERAL_FORMS}") from None
    return _literal(tree.body)


def parse_policy_kwargs_string(text: str) -> dict[str, Any]:
    """Read a zoo ``policy_kwargs`` string without evaluating it.

    ``"dict(net_arch=dict(pi=[64], vf=[64]), activation_fn=nn.ReLU)"`` gives
    ``{"net_arch": {"pi": [64], "vf": [64]}, "activation_fn": torch.nn.ReLU}``.

    :param text: the string from the config.
    :raises ConfigError: for anything but literals and known names, naming the expression.
    """
    try:
        value = parse_literal(text)
    except Invalid as exc:
        raise ConfigError(f"policy_kwargs: {exc.problem}. Fix: {exc.fix}", field="policy_kwargs") from None
    if not isinstance(value, dict):
        raise ConfigError(f"policy_kwargs: {text!r} is not a mapping. Fix: write dict(key=value, ...)",
                          field="policy_kwargs")
    return value


def _is_keyword_safe(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def to_source(value: Any, path: str) -> str:
    """Python-literal spelling of ``value`` that :func:`parse_literal` reads back; raises :class:`Invalid`."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid(f"{value!r} has no literal spelling", "use a finite number", path)
        return repr(value)
    if isinstance(value, dict):
        if all(_is_keyword_safe(k) for k in value):
            return "dict(" + ", ".join(f"{k}={to_source(v, f'{path}.{k}')}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{to_source(k, path)}: {to_source(v, f'{path}.{k}')}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_source(v, path) for v in value) + "]"
    if isinstance(value, tuple):
        items = [to_source(v, path) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    name = name_of(value)
    if name is not None:
        return name
    raise Invalid(f"{value!r} has no name a config can use",
                  "use a known name (nn.ReLU, th.optim.Adam, ...) or register the features extractor "
                  "with sb3_plus.config.register_features_extractor", path)
