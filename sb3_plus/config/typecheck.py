"""Checking config values against constructor annotations, and the ranges of well-known hyperparameters."""

from __future__ import annotations

import collections.abc
import inspect
import math
import types
import typing
from typing import Any, Mapping

from sb3_plus.config.errors import Invalid, join_path
from sb3_plus.config.literals import SCHEDULE_FORMS, schedule_start, to_schedule
from sb3_plus.config.registry import lookup_name, name_of

_UNION_TYPES = (typing.Union, types.UnionType)
_NONE_TYPE = type(None)


def is_callable_ann(ann: Any) -> bool:
    """Whether an annotation asks for a callable (a schedule, in SB3 constructors)."""
    return ann is collections.abc.Callable or typing.get_origin(ann) is collections.abc.Callable


def is_number(value: Any) -> bool:
    """An int or float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe(ann: Any) -> str:
    """An annotation in words, for the fix of an error (``an integer``, ``a list of numbers``)."""
    if ann is Any or ann is inspect.Parameter.empty:
        return "any value"
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in _UNION_TYPES:
        return " or ".join(dict.fromkeys(describe(arm) for arm in args))
    if ann is _NONE_TYPE or ann is None:
        return "null"
    simple = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if ann in simple:
        return simple[ann]
    if is_callable_ann(ann):
        return f"a schedule ({SCHEDULE_FORMS})"
    if origin is list or ann is list:
        plural = {int: "integers", float: "numbers", str: "strings"}
        return f"a list of {plural[args[0]]}" if args and args[0] in plural else "a list"
    if origin is tuple:
        return "a list [" + ", ".join(describe(arm) for arm in args) + "]"
    if origin is dict or ann is dict:
        return "a mapping"
    if origin is type:
        base = args[0] if args else object
        return f"the name of a {getattr(base, '__name__', base)} class"
    if isinstance(ann, type):
        return f"a {ann.__name__}"
    return str(ann)


def _as_schedule(value: Any, path: str) -> Any:
    try:
        return to_schedule(value)
    except Invalid as exc:
        exc.path = path
        raise


def _coerce_union(value: Any, ann: Any, path: str) -> Any:
    args = typing.get_args(ann)
    if value is None and _NONE_TYPE in args:
        return None
    if any(is_callable_ann(arm) for arm in args) and (isinstance(value, str) or is_number(value)):
        return _as_schedule(value, path)
    for arm in args:
        if arm is _NONE_TYPE:
            continue
        try:
            return coerce(value, arm, path)
        except Invalid:
            continue
    raise Invalid(f"expected {describe(ann)}, got {value!r}", path=path)


def _scalar_ok(value: Any, ann: Any) -> bool:
    if ann is _NONE_TYPE or ann is None:
        return value is None
    if ann is bool:
        return isinstance(value, bool)
    if ann is int:
        return is_number(value) and (isinstance(value, int) or value.is_integer())
    if ann is float:
        return is_number(value) and not (isinstance(value, float) and math.isnan(value))
    return isinstance(value, str)


def _coerce_sequence(value: Any, ann: Any, path: str, fail: Invalid) -> Any:
    if not isinstance(value, (list, tuple)):
        raise fail
    args = typing.get_args(ann)
    if typing.get_origin(ann) is list or ann is list:
        item = args[0] if args else Any
        return [coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if not args:
        return tuple(value)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(coerce(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise fail
    return tuple(coerce(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args)))


def _coerce_class(value: Any, ann: Any, path: str, fail: Invalid) -> type:
    args = typing.get_args(ann)
    base = args[0] if args else object
    cls = lookup_name(value) if isinstance(value, str) else value
    if not isinstance(cls, type):
        raise fail
    if isinstance(base, type) and not issubclass(cls, base):
        raise Invalid(f"{name_of(cls) or cls.__name__} is not a {base.__name__} class",
                      f"name a {base.__name__} class", path)
    return cls


def coerce(value: Any, ann: Any, path: str = "") -> Any:
    """Check ``value`` against a constructor annotation; return it in the type the constructor wants.

    :param value: the value as read from YAML.
    :param ann: the annotation of the constructor parameter.
    :param path: the dotted field, for the error.
    :raises Invalid: naming what was expected.
    """
    if ann is Any or ann is inspect.Parameter.empty or isinstance(ann, (str, typing.ForwardRef)):
        return value
    origin = typing.get_origin(ann)
    if origin in _UNION_TYPES:
        return _coerce_union(value, ann, path)
    fail = Invalid(f"expected {describe(ann)}, got {value!r}", path=path)
    if ann in (_NONE_TYPE, None, bool, int, float, str):
        if not _scalar_ok(value, ann):
            raise fail
        return int(value) if ann is int else float(value) if ann is float else value
    if is_callable_ann(ann):
        return _as_schedule(value, path)
    if origin in (list, tuple) or ann in (list, tuple):
        return _coerce_sequence(value, ann, path, fail)
    if origin is dict or ann is dict or origin is collections.abc.Mapping:
        if not isinstance(value, Mapping):
            raise fail
        args = typing.get_args(ann)
        key_ann, value_ann = args if len(args) == 2 else (Any, Any)
        return {coerce(k, key_ann, path): coerce(v, value_ann, join_path(path, k)) for k, v in value.items()}
    if origin is type:
        return _coerce_class(value, ann, path, fail)
    if isinstance(ann, type):
        if isinstance(value, ann):
            return value
        raise Invalid(f"expected a {ann.__name__} object, which a config file cannot hold",
                      "remove it from the config and pass it in Python", path)
    return value


def init_params(cls: type) -> tuple[dict[str, inspect.Parameter], bool]:
    """Keyword parameters of ``cls.__init__``, following ``**kwargs`` up the MRO.

    :return: the parameters by name, and whether a ``**kwargs`` is still open at the top.
    """
    params: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if klass is object:
            return params, True
        open_kwargs = False
        for param in inspect.signature(init).parameters.values():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                open_kwargs = True
            elif param.kind is not inspect.Parameter.VAR_POSITIONAL and param.name != "self":
                params.setdefault(param.name, param)
        if not open_kwargs:
            return params, False
    return params, True


def names_type(ann: Any, base: type) -> bool:
    """Whether an annotation asks for an instance of ``base`` (in any arm of a union)."""
    if typing.get_origin(ann) in _UNION_TYPES:
        return any(names_type(arm, base) for arm in typing.get_args(ann))
    return isinstance(ann, type) and issubclass(ann, base)


def names_class(ann: Any) -> bool:
    """Whether an annotation asks for a class (``type[...]``, in any arm of a union)."""
    if typing.get_origin(ann) in _UNION_TYPES:
        return any(names_class(arm) for arm in typing.get_args(ann))
    return typing.get_origin(ann) is type


# ----------------------------------------------------------------------------- ranges

# Ranges checked on top of the types (schedules by their starting value).
_AT_LEAST_ONE = frozenset({
    "n_envs", "n_steps", "batch_size", "n_epochs", "buffer_size", "frame_stack", "eval_freq", "eval_episodes",
    "seq_len", "target_update_interval", "train_freq", "n_critic_updates", "cg_max_steps", "line_search_max_iter",
    "n_delta", "policy_delay", "stats_window_size", "sub_sampling_factor", "lstm_hidden_size", "n_lstm_layers",
    "n_quantiles", "n_critics", "n_eval_episodes",
})
_POSITIVE = frozenset({"learning_rate", "clip_range", "clip_range_vf", "delta_std"})
_NON_NEGATIVE = frozenset({"n_timesteps", "learning_starts", "ent_coef", "vf_coef", "max_grad_norm", "noise_std",
                           "target_kl", "rms_prop_eps", "int_coef", "ext_coef"})
_UNIT_INTERVAL = frozenset({"gamma", "gae_lambda", "tau", "exploration_fraction", "exploration_initial_eps",
                            "exploration_final_eps", "success_threshold", "int_gamma"})


def range_problem(key: str, value: Any) -> str | None:
    """What is out of range about ``value`` for the hyperparameter ``key``, or ``None``."""
    value = schedule_start(value)
    if not is_number(value):
        return None
    if key in _AT_LEAST_ONE and value < 1:
        return f"{value!r} is below 1"
    if key in _POSITIVE and not value > 0:
        return f"{value!r} is not positive"
    if key in _NON_NEGATIVE and value < 0:
        return f"{value!r} is negative"
    if key in _UNIT_INTERVAL and not 0 <= value <= 1:
        return f"{value!r} is outside [0, 1]"
    return None


def range_fix(key: str) -> str:
    """The fix for a value of ``key`` that :func:`range_problem` rejected."""
    if key in _AT_LEAST_ONE:
        return "use an integer of at least 1"
    if key in _POSITIVE:
        return "use a value above 0"
    if key in _NON_NEGATIVE:
        return "use a value of at least 0"
    return "use a value between 0 and 1"
