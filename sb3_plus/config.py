"""Typed hyperparameter configs in the RL Zoo YAML format.

One YAML file per algorithm (``zoo_configs/ppo.yml``). Its top-level keys are env ids,
fnmatch patterns for a family of envs (``Vizdoom*``, ``Maze*Pixels-v0``) or ``default``.
An entry holds the algorithm's constructor arguments, the zoo's own keys (``policy``,
``n_envs``, ``n_timesteps``, ``frame_stack``, ``normalize``, ``env_wrapper``,
``env_kwargs``, ``policy_kwargs``) and a few of sb3-plus (``success_threshold``,
``reward_threshold``, ``eval_freq``, ``eval_episodes``, ``pretrain``, ``seq_len``,
``vec_env_class``).

Nothing read from a file is evaluated. Schedules (``lin_3e-4``) become Stable-Baselines3's
own picklable schedule objects, ``policy_kwargs`` strings such as
``"dict(net_arch=[64, 64], activation_fn=nn.ReLU)"`` are read by a literal parser that
knows a fixed set of names, and every key and value is checked against the algorithm's
and the policy's constructor, so a typo fails at load time with the file, the entry, the
field and the fix.
"""

from __future__ import annotations

import ast
import collections.abc
import copy
import dataclasses
import difflib
import fnmatch
import importlib
import inspect
import keyword
import math
import os
import re
import tempfile
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import sb3_contrib
import stable_baselines3 as sb3
import torch as th
import yaml
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    NatureCNN,
)
from stable_baselines3.common.utils import ConstantSchedule, FloatSchedule, LinearSchedule
from stable_baselines3.common.vec_env import VecNormalize

__all__ = [
    "ALGOS",
    "ConfigError",
    "SCHEDULE_FORMS",
    "TrainConfig",
    "apply_overrides",
    "find_entry",
    "load_hyperparams",
    "load_saved_config",
    "parse_overrides",
    "parse_policy_kwargs_string",
    "parse_schedule",
    "register_algo",
    "register_features_extractor",
    "register_policy",
    "resolve_policy",
    "save_config",
    "schedule_to_yaml",
]

Schedule = Callable[[float], float]


class ConfigError(ValueError):
    """A config file, entry or override that cannot be used as it is.

    The message names the file, the entry, the field and the fix; the same facts are kept
    as attributes for programs.

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


class _Invalid(Exception):
    """A bad value found below the entry level; the entry parser adds where it was found."""

    def __init__(self, problem: str, fix: str | None = None, path: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.path = path


# ----------------------------------------------------------------------------- algorithms

#: Algorithm names as rl_zoo3 spells them, mapped to their classes.
ALGOS: dict[str, type[BaseAlgorithm]] = {
    "a2c": sb3.A2C,
    "ddpg": sb3.DDPG,
    "dqn": sb3.DQN,
    "ppo": sb3.PPO,
    "sac": sb3.SAC,
    "td3": sb3.TD3,
}
for _key, _name in (("ppo_lstm", "RecurrentPPO"), ("qrdqn", "QRDQN"), ("trpo", "TRPO"), ("tqc", "TQC"),
                    ("ars", "ARS"), ("ppo_mask", "MaskablePPO"), ("crossq", "CrossQ")):
    if hasattr(sb3_contrib, _name):
        ALGOS[_key] = getattr(sb3_contrib, _name)


def register_algo(name: str, cls: type[BaseAlgorithm]) -> None:
    """Make an algorithm (e.g. a PPO subclass with an exploration bonus) usable in configs.

    Its hyperparameters are read from its constructor signature, following ``**kwargs`` up
    to the parent class, and a config file ``<config_dir>/<name>.yml`` holds its entries.

    :param name: the config name (``ppo_rnd``), also the config file's stem.
    :param cls: the algorithm class.
    """
    if not (isinstance(cls, type) and issubclass(cls, BaseAlgorithm)):
        raise TypeError(f"register_algo({name!r}, ...): {cls!r} is not a BaseAlgorithm subclass")
    ALGOS[name] = cls


def _check_algo(algo: str) -> type[BaseAlgorithm]:
    if algo in ALGOS:
        return ALGOS[algo]
    raise ConfigError(
        f"unknown algorithm {algo!r}. Fix: use one of {', '.join(sorted(ALGOS))}"
        f"{_did_you_mean(algo, ALGOS)} (or register a new one with sb3_plus.config.register_algo)",
        field="algo",
    )


# ----------------------------------------------------------------------------- schedules

#: The accepted spellings of a schedule, as shown in error messages.
SCHEDULE_FORMS = ("a number (e.g. 0.0003), 'lin_<number>' (linear from <number> at the start to 0 at the end, "
                  "e.g. lin_3e-4) or 'const_<number>'")
_SCHEDULE_RE = re.compile(r"^(lin|const)_(.+)$")


def _schedule(value: Any) -> Schedule:
    if isinstance(value, FloatSchedule):
        return value
    if isinstance(value, bool):
        raise _Invalid(f"{value!r} is not a schedule", f"write {SCHEDULE_FORMS}")
    if isinstance(value, (int, float)):
        if math.isnan(value):
            raise _Invalid("nan is not a schedule", f"write {SCHEDULE_FORMS}")
        return ConstantSchedule(float(value))
    if isinstance(value, str):
        match = _SCHEDULE_RE.match(value.strip())
        if match:
            try:
                number = float(match.group(2))
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                if match.group(1) == "lin":
                    return LinearSchedule(number, 0.0, 1.0)
                return ConstantSchedule(number)
        raise _Invalid(f"{value!r} is not a valid schedule", f"write {SCHEDULE_FORMS}")
    if callable(value):
        return value
    raise _Invalid(f"{value!r} is not a schedule", f"write {SCHEDULE_FORMS}")


def parse_schedule(value: float | int | str | Schedule) -> Schedule:
    """Turn a zoo schedule into a picklable callable of ``progress_remaining`` (1 -> 0).

    Numbers and ``const_<x>`` give a :class:`ConstantSchedule`; ``lin_<x>`` gives a
    :class:`LinearSchedule` from ``x`` to 0 (as rl_zoo3's ``linear_schedule``). Both are
    Stable-Baselines3 classes, so a saved model needs no sb3-plus to load.

    :param value: the value from the config.
    :raises ConfigError: for anything else (e.g. ``lin_abc``, ``exp_0.1``).
    """
    try:
        return _schedule(value)
    except _Invalid as exc:
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


# ----------------------------------------------------------------------------- names

_ACTIVATIONS = ("ReLU", "Tanh", "ELU", "LeakyReLU", "SiLU", "GELU", "Sigmoid", "Softplus", "Mish", "SELU",
                "CELU", "Hardswish", "Identity")
_OPTIMIZERS = ("Adam", "AdamW", "RMSprop", "SGD")


def _static_names() -> tuple[dict[str, Any], dict[Any, str]]:
    by_name: dict[str, Any] = {}
    canonical: dict[Any, str] = {}
    for name in _ACTIVATIONS:
        cls = getattr(th.nn, name)
        for alias in (f"nn.{name}", f"th.nn.{name}", f"torch.nn.{name}", name):
            by_name[alias] = cls
        canonical[cls] = f"nn.{name}"
    for name in _OPTIMIZERS:
        cls = getattr(th.optim, name)
        for alias in (f"th.optim.{name}", f"torch.optim.{name}", f"optim.{name}", name):
            by_name[alias] = cls
        canonical[cls] = f"th.optim.{name}"
    by_name["RMSpropTFLike"] = RMSpropTFLike
    canonical[RMSpropTFLike] = "RMSpropTFLike"
    return by_name, canonical


_NAMES, _CANONICAL = _static_names()

_FEATURES_EXTRACTORS: dict[str, type[BaseFeaturesExtractor]] = {
    "NatureCNN": NatureCNN,
    "FlattenExtractor": FlattenExtractor,
    "CombinedExtractor": CombinedExtractor,
}
#: Modules imported (once) when a config names a features extractor that is not registered
#: yet; a module of the project that defines extractors registers them at import.
EXTRACTOR_PROVIDERS: list[str] = ["sb3_plus.policies"]
_provider_errors: dict[str, str] = {}
_providers_imported: set[str] = set()

_POLICIES: dict[str, type[BasePolicy]] = {}


def _same_class(a: type, b: type) -> bool:
    return a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def register_features_extractor(name: str, cls: type[BaseFeaturesExtractor], overwrite: bool = False) -> None:
    """Let configs name a features extractor (``features_extractor_class=SmallCNN``).

    :param name: the name used in configs, a Python identifier.
    :param cls: a ``BaseFeaturesExtractor`` subclass.
    :param overwrite: replace a different class already registered under ``name``.
    """
    if not name.isidentifier():
        raise ValueError(f"features extractor name {name!r} must be a Python identifier")
    if not (isinstance(cls, type) and issubclass(cls, BaseFeaturesExtractor)):
        raise TypeError(f"register_features_extractor({name!r}, ...): {cls!r} is not a BaseFeaturesExtractor subclass")
    if name in _NAMES:
        raise ValueError(f"{name!r} already names {_NAMES[name]!r}; pick another name")
    old = _FEATURES_EXTRACTORS.get(name)
    if old is not None and not overwrite and not _same_class(old, cls):
        raise ValueError(f"features extractor {name!r} is already {old.__module__}.{old.__qualname__}; "
                         "pass overwrite=True to replace it")
    _FEATURES_EXTRACTORS[name] = cls


def register_policy(name: str, cls: type[BasePolicy], overwrite: bool = False) -> None:
    """Let configs name a custom policy class in ``policy:`` (next to the algorithm's aliases).

    :param name: the name used in configs.
    :param cls: a ``BasePolicy`` subclass.
    :param overwrite: replace a different class already registered under ``name``.
    """
    if not (isinstance(cls, type) and issubclass(cls, BasePolicy)):
        raise TypeError(f"register_policy({name!r}, ...): {cls!r} is not a BasePolicy subclass")
    old = _POLICIES.get(name)
    if old is not None and not overwrite and not _same_class(old, cls):
        raise ValueError(f"policy {name!r} is already {old.__module__}.{old.__qualname__}; "
                         "pass overwrite=True to replace it")
    _POLICIES[name] = cls


def _import_providers() -> None:
    for module in EXTRACTOR_PROVIDERS:
        if module in _providers_imported:
            continue
        _providers_imported.add(module)
        try:
            importlib.import_module(module)
        except ImportError as exc:
            _provider_errors[module] = f"{type(exc).__name__}: {exc}"


def _known_names() -> list[str]:
    return list(dict.fromkeys(_CANONICAL.values())) + list(_FEATURES_EXTRACTORS)


def _lookup_name(dotted: str) -> Any:
    if dotted in _NAMES:
        return _NAMES[dotted]
    if dotted not in _FEATURES_EXTRACTORS:
        _import_providers()
    if dotted in _FEATURES_EXTRACTORS:
        return _FEATURES_EXTRACTORS[dotted]
    note = "".join(f" (importing {m} failed: {e})" for m, e in _provider_errors.items())
    raise _Invalid(
        f"unknown name {dotted!r}{note}",
        f"use one of {', '.join(_known_names())}{_did_you_mean(dotted, list(_NAMES) + list(_FEATURES_EXTRACTORS))}; "
        "a features extractor must first be registered with "
        "sb3_plus.config.register_features_extractor(name, cls)",
    )


def _name_of(obj: Any) -> str | None:
    try:
        if obj in _CANONICAL:
            return _CANONICAL[obj]
    except TypeError:
        return None
    for name, cls in _FEATURES_EXTRACTORS.items():
        if cls is obj:
            return name
    return None


def resolve_policy(algo: str, policy: str) -> type[BasePolicy]:
    """The policy class that ``policy:`` names for ``algo``.

    :param algo: a key of :data:`ALGOS`.
    :param policy: an alias of the algorithm (``MlpPolicy``, ``CnnLstmPolicy``) or a name
        registered with :func:`register_policy`.
    :raises ConfigError: for an unknown name, listing the known ones.
    """
    algo_cls = _check_algo(algo)
    try:
        return _resolve_policy(algo_cls, policy)
    except _Invalid as exc:
        raise ConfigError(f"policy: {exc.problem}. Fix: {exc.fix}", field="policy") from None


def _resolve_policy(algo_cls: type[BaseAlgorithm], policy: Any) -> type[BasePolicy]:
    aliases = getattr(algo_cls, "policy_aliases", {}) or {}
    if isinstance(policy, str):
        if policy in aliases:
            return aliases[policy]
        if policy in _POLICIES:
            return _POLICIES[policy]
    known = sorted(aliases) + sorted(_POLICIES)
    raise _Invalid(
        f"{policy!r} is not a policy of {algo_cls.__name__}",
        f"use one of {', '.join(known)}{_did_you_mean(str(policy), known)} "
        "(custom policies are registered with sb3_plus.config.register_policy)",
    )


# ----------------------------------------------------------------------------- literal parser

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
            return _lookup_name(dotted)
    raise _Invalid(f"`{ast.unparse(node)}` is not allowed", f"write {_LITERAL_FORMS}")


def _parse_literal(text: str) -> Any:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _Invalid(f"{text!r} is not a valid expression ({exc.msg})", f"write {_LITERAL_FORMS}") from None
    return _literal(tree.body)


def parse_policy_kwargs_string(text: str) -> dict[str, Any]:
    """Read a zoo ``policy_kwargs`` string without evaluating it.

    ``"dict(net_arch=dict(pi=[64], vf=[64]), activation_fn=nn.ReLU)"`` gives
    ``{"net_arch": {"pi": [64], "vf": [64]}, "activation_fn": torch.nn.ReLU}``.

    :param text: the string from the config.
    :raises ConfigError: for anything but literals and known names, naming the expression.
    """
    try:
        value = _parse_literal(text)
    except _Invalid as exc:
        raise ConfigError(f"policy_kwargs: {exc.problem}. Fix: {exc.fix}", field="policy_kwargs") from None
    if not isinstance(value, dict):
        raise ConfigError(f"policy_kwargs: {text!r} is not a mapping. Fix: write dict(key=value, ...)",
                          field="policy_kwargs")
    return value


def _to_source(value: Any, path: str) -> str:
    """Python-literal spelling of ``value`` that :func:`_parse_literal` reads back."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Invalid(f"{value!r} has no literal spelling", "use a finite number", path)
        return repr(value)
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.isidentifier() and not keyword.iskeyword(k) for k in value):
            return "dict(" + ", ".join(f"{k}={_to_source(v, f'{path}.{k}')}" for k, v in value.items()) + ")"
        return "{" + ", ".join(f"{_to_source(k, path)}: {_to_source(v, f'{path}.{k}')}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_to_source(v, path) for v in value) + "]"
    if isinstance(value, tuple):
        items = [_to_source(v, path) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    name = _name_of(value)
    if name is not None:
        return name
    raise _Invalid(f"{value!r} has no name a config can use",
                   "use a known name (nn.ReLU, th.optim.Adam, ...) or register the features extractor "
                   "with sb3_plus.config.register_features_extractor", path)


# ----------------------------------------------------------------------------- YAML

class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


class _ZooLoader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-4`` as a float (as YAML 1.2 does) and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, collections.abc.Hashable):
                if key in seen:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_ZooLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}). Fix: check the path",
                          file=str(path)) from None
    try:
        data = yaml.load(text, Loader=_ZooLoader)
    except _DuplicateKey as exc:
        raise ConfigError(f"{path}, line {exc.line}: the key {exc.key!r} appears twice in one mapping (YAML "
                          "would silently keep the last). Fix: keep one of them", file=str(path),
                          field=str(exc.key)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}). Fix: correct the syntax at the marked line",
                          file=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level is a {type(data).__name__}, not a mapping. Fix: write one entry "
                          "per env id, e.g. `CartPole-v1:` followed by indented hyperparameters", file=str(path))
    return data


# ----------------------------------------------------------------------------- types

_UNION_TYPES = (typing.Union, types.UnionType)
_NONE_TYPE = type(None)


def _is_callable_ann(ann: Any) -> bool:
    return ann is collections.abc.Callable or typing.get_origin(ann) is collections.abc.Callable


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _describe(ann: Any) -> str:
    if ann is Any or ann is inspect.Parameter.empty:
        return "any value"
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in _UNION_TYPES:
        return " or ".join(dict.fromkeys(_describe(arm) for arm in args))
    if ann is _NONE_TYPE or ann is None:
        return "null"
    simple = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if ann in simple:
        return simple[ann]
    if _is_callable_ann(ann):
        return f"a schedule ({SCHEDULE_FORMS})"
    if origin is list or ann is list:
        plural = {int: "integers", float: "numbers", str: "strings"}
        return f"a list of {plural[args[0]]}" if args and args[0] in plural else "a list"
    if origin is tuple:
        return "a list [" + ", ".join(_describe(arm) for arm in args) + "]"
    if origin is dict or ann is dict:
        return "a mapping"
    if origin is type:
        base = args[0] if args else object
        return f"the name of a {getattr(base, '__name__', base)} class"
    if isinstance(ann, type):
        return f"a {ann.__name__}"
    return str(ann)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _coerce(value: Any, ann: Any, path: str = "") -> Any:
    """Check ``value`` against a constructor annotation; return it in the type the constructor wants."""
    if ann is Any or ann is inspect.Parameter.empty or isinstance(ann, (str, typing.ForwardRef)):
        return value
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin in _UNION_TYPES:
        if value is None and _NONE_TYPE in args:
            return None
        if any(_is_callable_ann(arm) for arm in args) and (isinstance(value, str) or _is_number(value)):
            try:
                return _schedule(value)
            except _Invalid as exc:
                exc.path = path
                raise
        for arm in args:
            if arm is _NONE_TYPE:
                continue
            try:
                return _coerce(value, arm, path)
            except _Invalid:
                continue
        raise _Invalid(f"expected {_describe(ann)}, got {value!r}", path=path)
    fail = _Invalid(f"expected {_describe(ann)}, got {value!r}", path=path)
    if ann is _NONE_TYPE or ann is None:
        if value is None:
            return None
        raise fail
    if ann is bool:
        if isinstance(value, bool):
            return value
        raise fail
    if ann is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise fail
    if ann is float:
        if _is_number(value) and not (isinstance(value, float) and math.isnan(value)):
            return float(value)
        raise fail
    if ann is str:
        if isinstance(value, str):
            return value
        raise fail
    if _is_callable_ann(ann):
        try:
            return _schedule(value)
        except _Invalid as exc:
            exc.path = path
            raise
    if origin is list or ann is list:
        if not isinstance(value, (list, tuple)):
            raise fail
        item = args[0] if args else Any
        return [_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is tuple or ann is tuple:
        if not isinstance(value, (list, tuple)):
            raise fail
        if not args:
            return tuple(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise fail
        return tuple(_coerce(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict or ann is dict or origin is collections.abc.Mapping:
        if not isinstance(value, Mapping):
            raise fail
        key_ann, value_ann = args if len(args) == 2 else (Any, Any)
        return {_coerce(k, key_ann, path): _coerce(v, value_ann, _join(path, k)) for k, v in value.items()}
    if origin is type:
        base = args[0] if args else object
        cls = _lookup_name(value) if isinstance(value, str) else value
        if not isinstance(cls, type):
            raise fail
        if isinstance(base, type) and not issubclass(cls, base):
            raise _Invalid(f"{_name_of(cls) or cls.__name__} is not a {base.__name__} class",
                           f"name a {base.__name__} class", path)
        return cls
    if isinstance(ann, type):
        if isinstance(value, ann):
            return value
        raise _Invalid(f"expected a {ann.__name__} object, which a config file cannot hold",
                       "remove it from the config and pass it in Python", path)
    return value


def _init_params(cls: type) -> tuple[dict[str, inspect.Parameter], bool]:
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


# Ranges checked on top of the types (schedules by their starting value).
_AT_LEAST_ONE = frozenset({
    "n_envs", "n_steps", "batch_size", "n_epochs", "buffer_size", "frame_stack", "eval_freq", "eval_episodes",
    "seq_len", "target_update_interval", "train_freq", "n_critic_updates", "cg_max_steps", "line_search_max_iter",
    "n_delta", "policy_delay", "stats_window_size", "sub_sampling_factor", "lstm_hidden_size", "n_lstm_layers",
    "n_quantiles", "n_critics", "n_eval_episodes",
})
_POSITIVE = frozenset({"learning_rate", "clip_range", "clip_range_vf", "delta_std"})
_NON_NEGATIVE = frozenset({"n_timesteps", "learning_starts", "ent_coef", "vf_coef", "max_grad_norm", "noise_std",
                           "target_kl", "rms_prop_eps"})
_UNIT_INTERVAL = frozenset({"gamma", "gae_lambda", "tau", "exploration_fraction", "exploration_initial_eps",
                            "exploration_final_eps", "success_threshold"})


def _range_problem(key: str, value: Any) -> str | None:
    if isinstance(value, FloatSchedule):
        value = value.value_schedule
    if isinstance(value, LinearSchedule):
        value = value.start
    elif isinstance(value, ConstantSchedule):
        value = value.val
    if not _is_number(value):
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


def _range_fix(key: str) -> str:
    if key in _AT_LEAST_ONE:
        return "use an integer of at least 1"
    if key in _POSITIVE:
        return "use a value above 0"
    if key in _NON_NEGATIVE:
        return "use a value of at least 0"
    return "use a value between 0 and 1"


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


# ----------------------------------------------------------------------------- the config

#: Keys of an entry that are not constructor arguments of the algorithm.
ZOO_KEYS: dict[str, str] = {
    "policy": "policy name, e.g. MlpPolicy",
    "n_timesteps": "training budget in env steps",
    "n_envs": "parallel envs",
    "frame_stack": "VecFrameStack depth",
    "normalize": "VecNormalize: true, or its arguments",
    "normalize_kwargs": "VecNormalize arguments",
    "env_wrapper": "gymnasium wrappers by import path (rl_zoo3 form)",
    "env_kwargs": "keyword arguments of the env",
    "vec_env_class": "'dummy' or 'subproc'",
    "policy_kwargs": "policy constructor arguments",
    "noise_type": "action noise of off-policy algorithms",
    "noise_std": "action noise scale",
    "success_threshold": "success rate at which evaluation reports solved",
    "reward_threshold": "mean return at which evaluation reports solved",
    "eval_freq": "env steps between evaluations",
    "eval_episodes": "episodes per evaluation",
    "pretrain": "imitation pretraining settings",
    "seq_len": "sequence length for recurrent training from demonstrations",
}
#: Constructor arguments that belong to a run, not to the hyperparameters.
RUN_OPTIONS = frozenset({"env", "seed", "verbose", "device", "tensorboard_log", "_init_setup_model"})
_ZOO_TYPES: dict[str, Any] = {
    "policy": str,
    "n_timesteps": int,
    "n_envs": int,
    "frame_stack": int | None,
    "env_kwargs": dict[str, Any] | None,
    "success_threshold": float | None,
    "reward_threshold": float | None,
    "eval_freq": int | None,
    "eval_episodes": int | None,
    "seq_len": int | None,
    "noise_std": float | None,
    "pretrain": dict[str, Any] | None,
    "normalize_kwargs": dict[str, Any] | None,
}
_ZOO_EXAMPLES = {
    "policy": "MlpPolicy", "n_timesteps": "!!float 1e6", "n_envs": 8, "frame_stack": 4, "env_kwargs": "{frame_skip: 4}",
    "success_threshold": 0.8, "reward_threshold": 475, "eval_freq": 25000, "eval_episodes": 10, "seq_len": 32,
    "noise_std": 0.1, "pretrain": "{method: bc, epochs: 5}", "normalize_kwargs": "{norm_reward: false}",
}
VEC_ENV_CLASSES = ("dummy", "subproc")
NOISE_TYPES = ("normal", "ornstein-uhlenbeck")
_POLICY_SET_BY_ALGO = frozenset({"observation_space", "action_space", "lr_schedule"})
_CLASS_KEY_TYPES: dict[str, Any] = {
    "activation_fn": type[th.nn.Module],
    "features_extractor_class": type[BaseFeaturesExtractor],
    "optimizer_class": type[th.optim.Optimizer],
}


def _comparable(value: Any) -> Any:
    if isinstance(value, FloatSchedule):
        value = value.value_schedule
    if isinstance(value, ConstantSchedule):
        return ("schedule", float(value.val))
    if isinstance(value, LinearSchedule):
        return ("schedule", "linear", value.start, value.end, value.end_fraction)
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_comparable(v) for v in value)
    return value


def _plain(value: Any, path: str) -> Any:
    """``value`` as plain YAML data (schedules as zoo strings, tuples as lists)."""
    if isinstance(value, (FloatSchedule, ConstantSchedule, LinearSchedule)):
        try:
            return schedule_to_yaml(value)
        except ConfigError:
            raise _Invalid(f"the schedule {value!r} has no RL Zoo spelling", f"use {SCHEDULE_FORMS}", path) from None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {k: _plain(v, _join(path, k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, path) for v in value]
    name = _name_of(value)
    if name is not None:
        return name
    raise _Invalid(f"{value!r} cannot be written to a config file",
                   f"use {SCHEDULE_FORMS} for a schedule, plain YAML data otherwise; set other objects in Python "
                   "after loading", path)


@dataclass(eq=False)
class TrainConfig:
    """Resolved hyperparameters of one training run: one entry of a zoo file, typed.

    :param algo: key of :data:`ALGOS` (``ppo``, ``ppo_lstm``, ...).
    :param env_id: the env these hyperparameters are for.
    :param policy: the policy name (an alias of the algorithm or a registered policy).
    :param n_timesteps: training budget in env steps, summed over envs.
    :param n_envs: parallel envs.
    :param frame_stack: ``VecFrameStack`` depth, or ``None``.
    :param normalize: ``VecNormalize``: ``False``, ``True`` or its keyword arguments.
    :param env_wrapper: rl_zoo3's ``env_wrapper`` as written (import paths; not resolved here).
    :param env_kwargs: keyword arguments for the env constructor (``make_env``).
    :param vec_env_class: ``"dummy"`` or ``"subproc"``.
    :param policy_kwargs: policy constructor arguments, with classes resolved.
    :param algo_kwargs: the remaining algorithm constructor arguments, typed (schedules are
        callables, ``train_freq`` a tuple).
    :param noise_type: action noise of off-policy algorithms (``normal`` or ``ornstein-uhlenbeck``).
    :param noise_std: action noise scale.
    :param success_threshold: success rate at which evaluation reports ``solved=1``.
    :param reward_threshold: mean episode return at which evaluation reports ``solved=1``.
    :param eval_freq: env steps (summed over envs) between evaluations.
    :param eval_episodes: episodes per evaluation.
    :param pretrain: imitation pretraining settings (e.g. ``{"method": "bc", "epochs": 5}``).
    :param seq_len: sequence length for recurrent training from demonstrations.
    :param source: the file the entry came from (not part of equality).
    :param entry: the entry key that matched ``env_id`` (not part of equality).
    """

    algo: str
    env_id: str
    policy: str
    n_timesteps: int
    n_envs: int = 1
    frame_stack: int | None = None
    normalize: bool | dict[str, Any] = False
    env_wrapper: Any = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    vec_env_class: str = "dummy"
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    noise_type: str | None = None
    noise_std: float | None = None
    success_threshold: float | None = None
    reward_threshold: float | None = None
    eval_freq: int | None = None
    eval_episodes: int | None = None
    pretrain: dict[str, Any] | None = None
    seq_len: int | None = None
    source: str | None = field(default=None, compare=False)
    entry: str | None = field(default=None, compare=False)

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrainConfig):
            return NotImplemented
        return all(
            _comparable(getattr(self, f.name)) == _comparable(getattr(other, f.name))
            for f in dataclasses.fields(self) if f.compare
        )

    @property
    def algo_class(self) -> type[BaseAlgorithm]:
        """The algorithm class."""
        return _check_algo(self.algo)

    def policy_class(self) -> type[BasePolicy]:
        """The policy class that :attr:`policy` names."""
        return resolve_policy(self.algo, self.policy)

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the algorithm constructor: ``algo_kwargs`` plus ``policy_kwargs``.

        ``ALGOS[c.algo](c.policy, env, **c.model_kwargs(), seed=..., device=...)`` builds the
        model. The dicts are copies: SB3 may modify ``policy_kwargs`` in place.
        """
        kwargs = copy.deepcopy(self.algo_kwargs)
        if self.policy_kwargs:
            kwargs["policy_kwargs"] = copy.deepcopy(self.policy_kwargs)
        return kwargs

    def vec_normalize_kwargs(self) -> dict[str, Any] | None:
        """Keyword arguments for ``VecNormalize`` (``gamma`` from the algorithm unless set), or ``None``."""
        if not self.normalize:
            return None
        kwargs = dict(self.normalize) if isinstance(self.normalize, dict) else {}
        gamma = self.algo_kwargs.get("gamma")
        if "gamma" not in kwargs and isinstance(gamma, (int, float)):
            kwargs["gamma"] = float(gamma)
        return kwargs

    def to_yaml_dict(self) -> dict[str, Any]:
        """The entry in RL Zoo form: schedules as ``lin_<x>``, ``policy_kwargs`` as a ``dict(...)`` string.

        :raises ConfigError: for a value set in Python that a config file cannot hold.
        """
        try:
            return self._yaml_dict()
        except _Invalid as exc:
            where = f"{self.source or '<dict>'}, entry {self.entry or self.env_id!r}, field {exc.path!r}"
            raise ConfigError(f"{where}: {exc.problem}. Fix: {exc.fix}", file=self.source, entry=self.entry,
                              field=exc.path) from None

    def _yaml_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.policy, "n_timesteps": int(self.n_timesteps), "n_envs": int(self.n_envs)}
        if self.frame_stack is not None:
            out["frame_stack"] = int(self.frame_stack)
        if self.normalize:
            out["normalize"] = True if self.normalize is True else _to_source(self.normalize, "normalize")
        if self.env_wrapper is not None:
            out["env_wrapper"] = _plain(self.env_wrapper, "env_wrapper")
        if self.env_kwargs:
            out["env_kwargs"] = _plain(self.env_kwargs, "env_kwargs")
        if self.vec_env_class != "dummy":
            out["vec_env_class"] = self.vec_env_class
        for name in ("noise_type", "noise_std", "success_threshold", "reward_threshold", "eval_freq",
                     "eval_episodes", "seq_len"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.pretrain is not None:
            out["pretrain"] = _plain(self.pretrain, "pretrain")
        for key, value in self.algo_kwargs.items():
            out[key] = _plain(value, key)
        if self.policy_kwargs:
            out["policy_kwargs"] = _to_source(self.policy_kwargs, "policy_kwargs")
        return out

    @classmethod
    def from_yaml_dict(cls, algo: str, env_id: str, data: Mapping[str, Any], *, source: str = "<dict>",
                       entry: str | None = None,
                       overrides: Mapping[str, Any] | list[str] | None = None) -> TrainConfig:
        """Validate one zoo entry and type it.

        :param algo: key of :data:`ALGOS`.
        :param env_id: the env the entry is for.
        :param data: the entry, as read from YAML.
        :param source: the file it came from, for error messages.
        :param entry: the entry key (defaults to ``env_id``).
        :param overrides: ``"key:value"`` strings or a mapping applied on top (dotted keys
            such as ``policy_kwargs.lstm_hidden_size`` change one nested value).
        :raises ConfigError: naming the file, the entry, the field and the fix.
        """
        parser = _EntryParser(algo, env_id, source, entry if entry is not None else env_id)
        merged, touched = parser.merge_overrides(data, overrides)
        parser.from_override = touched
        return parser.parse(merged)


class _EntryParser:
    """Turns one raw entry into a :class:`TrainConfig`, with errors that say where."""

    def __init__(self, algo: str, env_id: str, source: str, entry: str) -> None:
        self.algo = algo
        self.env_id = env_id
        self.source = source
        self.entry = entry
        self.from_override: set[str] = set()

    # -- errors
    def error(self, field_name: str | None, problem: str, fix: str) -> ConfigError:
        where = [self.source]
        where.append(f"entry {self.entry!r}" + (f" (for {self.env_id!r})" if self.entry != self.env_id else ""))
        if field_name:
            head = field_name.split(".")[0].split("[")[0]
            note = " (set by an override)" if head in self.from_override else ""
            where.append(f"field {field_name!r}{note}")
        return ConfigError(f"{', '.join(where)}: {problem}. Fix: {fix}", file=self.source, entry=self.entry,
                           field=field_name)

    def invalid(self, key: str, exc: _Invalid, ann: Any = None, example: Any = None) -> ConfigError:
        fix = exc.fix
        if fix is None:
            fix = f"write {_describe(ann)}" if ann is not None else "correct the value"
            if example is not None:
                fix += f", e.g. `{key}: {example}`"
        path = exc.path or key
        if not path.startswith(key):
            path = _join(key, path)
        return self.error(path, exc.problem, fix)

    # -- overrides
    def merge_overrides(self, data: Mapping[str, Any],
                        overrides: Mapping[str, Any] | list[str] | None) -> tuple[dict[str, Any], set[str]]:
        if not isinstance(data, Mapping):
            raise self.error(None, f"the entry is a {type(data).__name__}, not a mapping",
                             "indent the hyperparameters under the entry key, one `key: value` per line")
        merged = dict(data)
        if not overrides:
            return merged, set()
        if not isinstance(overrides, Mapping):
            overrides = parse_overrides(overrides)
        touched: set[str] = set()
        for key, value in overrides.items():
            head, _, rest = str(key).partition(".")
            touched.add(head)
            if not rest:
                merged[head] = value
                continue
            base = merged.get(head)
            if isinstance(base, str):
                try:
                    base = _parse_literal(base)
                except _Invalid as exc:
                    self.from_override = touched
                    raise self.invalid(head, exc) from None
            elif base is None or isinstance(base, bool):
                base = {}
            if not isinstance(base, Mapping):
                self.from_override = touched
                raise self.error(key, f"{head} is {base!r}, which has no field {rest!r}",
                                 f"override the whole value, `{head}:<value>`")
            merged[head] = _set_dotted(copy.deepcopy(dict(base)), rest.split("."), value)
        return merged, touched

    # -- parsing
    def parse(self, data: Mapping[str, Any]) -> TrainConfig:
        algo_cls = _check_algo(self.algo)
        params, open_kwargs = _init_params(algo_cls)
        values: dict[str, Any] = {}
        algo_kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise self.error(str(key), f"the key {key!r} is not a string", "use hyperparameter names as keys")
            if key == "callback":
                raise self.error(key, "sb3-plus configs do not name callback classes",
                                 "remove it; evaluation and checkpoints are options of the training command "
                                 "(eval_freq, eval_episodes, success_threshold and reward_threshold here)")
            if key in RUN_OPTIONS:
                raise self.error(key, "this is an option of the run, not a hyperparameter",
                                 "remove it and pass it to the training command (or the algorithm constructor)")
            if key in ZOO_KEYS:
                values[key] = self.zoo_value(key, value, algo_cls, params)
            elif key in params:
                algo_kwargs[key] = self.algo_value(key, value, params[key])
            else:
                zoo_keys = set(ZOO_KEYS) - (set() if "action_noise" in params else {"noise_type", "noise_std"})
                valid = sorted(zoo_keys | (set(params) - RUN_OPTIONS - {"policy_kwargs", "action_noise"}))
                raise self.error(key, f"unknown hyperparameter for {self.algo} ({algo_cls.__name__})",
                                 f"remove it or correct the name{_did_you_mean(key, valid)} "
                                 f"(valid keys: {', '.join(valid)})")
        for required, example in (("policy", _policy_example(algo_cls)), ("n_timesteps", "!!float 1e6")):
            if required not in values:
                raise self.error(required, "is missing", f"add `{required}: {example}` to the entry")
        policy_cls = self.policy(values["policy"], algo_cls)
        policy_kwargs = self.policy_kwargs(values.pop("policy_kwargs", None), policy_cls)
        normalize = values.pop("normalize", False)
        normalize_kwargs = values.pop("normalize_kwargs", None)
        if normalize_kwargs:
            if normalize is False:
                raise self.error("normalize_kwargs", "is set but normalize is off",
                                 "add `normalize: true` or remove normalize_kwargs")
            normalize = {**(normalize if isinstance(normalize, dict) else {}), **normalize_kwargs}
        if isinstance(normalize, dict) and not normalize:
            normalize = True
        if values.get("noise_type") is not None and "action_noise" not in params:
            raise self.error("noise_type", f"{algo_cls.__name__} takes no action noise",
                             "remove noise_type and noise_std (only off-policy algorithms such as td3 use them)")
        return TrainConfig(
            algo=self.algo,
            env_id=self.env_id,
            policy=values.pop("policy"),
            n_timesteps=values.pop("n_timesteps"),
            normalize=normalize,
            env_kwargs=values.pop("env_kwargs", None) or {},
            policy_kwargs=policy_kwargs,
            algo_kwargs=algo_kwargs,
            source=self.source,
            entry=self.entry,
            **values,
        )

    def typed(self, key: str, value: Any, ann: Any, example: Any = None) -> Any:
        try:
            value = _coerce(value, ann, key)
        except _Invalid as exc:
            raise self.invalid(key, exc, ann, example) from None
        name = key.rsplit(".", 1)[-1]
        problem = _range_problem(name, value)
        if problem is not None:
            raise self.error(key, problem, _range_fix(name))
        return value

    def zoo_value(self, key: str, value: Any, algo_cls: type[BaseAlgorithm],
                  params: dict[str, inspect.Parameter]) -> Any:
        if key in _ZOO_TYPES:
            value = self.typed(key, value, _ZOO_TYPES[key], _ZOO_EXAMPLES.get(key))
            if key == "pretrain" and value is not None and not isinstance(value.get("method", ""), str):
                raise self.error("pretrain.method", f"expected a string, got {value['method']!r}",
                                 "name the method, e.g. `method: bc` or `method: dagger`")
            return value
        if key == "policy_kwargs":
            return value
        if key == "normalize":
            return self.normalize(value)
        if key == "env_wrapper":
            return self.env_wrapper(value)
        if key == "vec_env_class":
            if value not in VEC_ENV_CLASSES:
                raise self.error(key, f"{value!r} is not a vec env class", f"use one of {', '.join(VEC_ENV_CLASSES)}")
            return value
        if key == "noise_type":
            if value is not None and value not in NOISE_TYPES:
                raise self.error(key, f"{value!r} is not a noise type", f"use one of {', '.join(NOISE_TYPES)}")
            return value
        raise AssertionError(key)

    def algo_value(self, key: str, value: Any, param: inspect.Parameter) -> Any:
        ann = param.annotation
        if value is not None and _names_class(ann):
            raise self.error(key, "this argument takes a class, which a config file cannot name",
                             "remove it and pass the class to the algorithm in Python")
        if value is not None and _names_type(ann, ActionNoise):
            raise self.error(key, "action noise objects cannot be written in a config",
                             "use `noise_type: normal` and `noise_std: 0.1` instead")
        example = param.default if _is_number(param.default) or isinstance(param.default, (bool, str)) else None
        return self.typed(key, value, ann, example)

    def normalize(self, value: Any) -> bool | dict[str, Any]:
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                value = _parse_literal(value)
            except _Invalid as exc:
                raise self.invalid("normalize", exc) from None
        if not isinstance(value, Mapping):
            raise self.error("normalize", f"expected true, false or VecNormalize arguments, got {value!r}",
                             "write `normalize: true` or `normalize: \"dict(norm_obs=True, norm_reward=False)\"`")
        params, _ = _init_params(VecNormalize)
        params.pop("venv", None)
        out = {}
        for key, item in value.items():
            if key not in params:
                raise self.error(f"normalize.{key}", "is not a VecNormalize argument",
                                 f"use one of {', '.join(params)}{_did_you_mean(str(key), params)}")
            out[key] = self.typed(f"normalize.{key}", item, params[key].annotation)
        return out

    def env_wrapper(self, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        for item in items:
            ok = isinstance(item, str) and item or (
                isinstance(item, Mapping) and len(item) == 1 and isinstance(next(iter(item)), str)
                and (next(iter(item.values())) is None or isinstance(next(iter(item.values())), Mapping)))
            if not ok:
                raise self.error("env_wrapper", f"{item!r} is not a wrapper",
                                 "write an import path, or a list of import paths and `path: {kwarg: value}` mappings")
        return copy.deepcopy(value)

    def policy(self, value: str, algo_cls: type[BaseAlgorithm]) -> type[BasePolicy]:
        try:
            return _resolve_policy(algo_cls, value)
        except _Invalid as exc:
            raise self.error("policy", exc.problem, exc.fix or "") from None

    def policy_kwargs(self, raw: Any, policy_cls: type[BasePolicy]) -> dict[str, Any]:
        if raw is None:
            return {}
        if isinstance(raw, str):
            if not raw.strip():
                return {}
            try:
                raw = _parse_literal(raw)
            except _Invalid as exc:
                raise self.invalid("policy_kwargs", exc) from None
        if not isinstance(raw, Mapping):
            raise self.error("policy_kwargs", f"expected a mapping, got {raw!r}",
                             'write `policy_kwargs: "dict(net_arch=[64, 64])"` or an indented mapping')
        params, open_kwargs = _init_params(policy_cls)
        out: dict[str, Any] = {}
        for key, value in raw.items():
            path = f"policy_kwargs.{key}"
            if key in _POLICY_SET_BY_ALGO:
                raise self.error(path, "is set by the algorithm", "remove it")
            param = params.get(key)
            if param is None and not open_kwargs:
                valid = sorted(set(params) - _POLICY_SET_BY_ALGO)
                raise self.error(path, f"is not an argument of {policy_cls.__name__}",
                                 f"remove it or correct the name{_did_you_mean(str(key), valid)} "
                                 f"(valid: {', '.join(valid)})")
            ann = param.annotation if param is not None else _CLASS_KEY_TYPES.get(key, Any)
            if key == "net_arch" and isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping):
                value = value[0]  # the pre-SB3-1.8 form [dict(pi=..., vf=...)], unwrapped as SB3 itself does
            out[key] = self.typed(path, value, ann)
        self.check_features_extractor_kwargs(out, params)
        self.check_lstm(out, params)
        return out

    def check_features_extractor_kwargs(self, kwargs: dict[str, Any], params: dict[str, inspect.Parameter]) -> None:
        extractor_kwargs = kwargs.get("features_extractor_kwargs")
        if not extractor_kwargs:
            return
        extractor = kwargs.get("features_extractor_class")
        if extractor is None and "features_extractor_class" in params:
            extractor = params["features_extractor_class"].default
        if not isinstance(extractor, type):
            return
        accepted, open_kwargs = _init_params(extractor)
        accepted.pop("observation_space", None)
        for key in extractor_kwargs:
            if key not in accepted and not open_kwargs:
                fix = (f"use one of {', '.join(accepted)}{_did_you_mean(str(key), accepted)}" if accepted
                       else "remove features_extractor_kwargs")
                raise self.error(f"policy_kwargs.features_extractor_kwargs.{key}",
                                 f"is not an argument of {extractor.__name__}", fix)

    def check_lstm(self, kwargs: dict[str, Any], params: dict[str, inspect.Parameter]) -> None:
        if "shared_lstm" not in params:
            return

        def effective(name: str) -> Any:
            return kwargs[name] if name in kwargs else params[name].default if name in params else None

        if effective("shared_lstm") and effective("enable_critic_lstm"):
            raise self.error("policy_kwargs.shared_lstm", "shared_lstm and enable_critic_lstm cannot both be true "
                             "(enable_critic_lstm defaults to true)",
                             "add enable_critic_lstm=False to share one LSTM, or drop shared_lstm")
        if effective("shared_lstm") and effective("share_features_extractor") is False:
            raise self.error("policy_kwargs.shared_lstm", "a shared LSTM needs a shared features extractor",
                             "drop share_features_extractor=False or shared_lstm=True")


def _names_type(ann: Any, base: type) -> bool:
    if typing.get_origin(ann) in _UNION_TYPES:
        return any(_names_type(arm, base) for arm in typing.get_args(ann))
    return isinstance(ann, type) and issubclass(ann, base)


def _names_class(ann: Any) -> bool:
    if typing.get_origin(ann) in _UNION_TYPES:
        return any(_names_class(arm) for arm in typing.get_args(ann))
    return typing.get_origin(ann) is type


def _policy_example(algo_cls: type[BaseAlgorithm]) -> str:
    aliases = list(getattr(algo_cls, "policy_aliases", {}) or {})
    return aliases[0] if aliases else "MlpPolicy"


def _set_dotted(target: dict[str, Any], keys: list[str], value: Any) -> dict[str, Any]:
    node = target
    for key in keys[:-1]:
        child = node.get(key)
        node[key] = dict(child) if isinstance(child, Mapping) else {}
        node = node[key]
    node[keys[-1]] = value
    return target


# ----------------------------------------------------------------------------- overrides

def _override_value(text: str) -> Any:
    text = text.strip()
    if text == "None":
        return None
    try:
        return yaml.load(text, Loader=_ZooLoader)
    except (yaml.YAMLError, _DuplicateKey):
        return text


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """Read rl_zoo3 ``--hyperparams`` style ``key:value`` strings.

    The value is read as YAML (``lin_1e-3``, ``8``, ``[64, 64]``, ``{norm_reward: false}``,
    ``true``; ``None`` also means null); a ``policy_kwargs`` string such as
    ``dict(net_arch=[64])`` stays a string for the policy_kwargs parser. A dotted key
    (``policy_kwargs.lstm_hidden_size:64``) changes one nested value.

    :param items: the strings.
    :raises ConfigError: for an item without ``:``.
    """
    if isinstance(items, str):
        items = [items]
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = str(item).partition(":")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected key:value. Fix: write e.g. learning_rate:lin_3e-4 "
                              "or n_envs:8", file="<overrides>", field=key or None)
        out[key] = _override_value(text)
    return out


def apply_overrides(config: TrainConfig, overrides: Mapping[str, Any] | list[str]) -> TrainConfig:
    """A new config: ``config`` with ``overrides`` applied and validated again.

    :param config: a resolved config.
    :param overrides: ``"key:value"`` strings or a mapping (dotted keys allowed).
    """
    return TrainConfig.from_yaml_dict(config.algo, config.env_id, config.to_yaml_dict(),
                                      source=config.source or "<dict>", entry=config.entry, overrides=overrides)


# ----------------------------------------------------------------------------- files

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_PATTERN_CHARS = "*?["


def find_entry(hyperparams: Mapping[str, Any], env_id: str) -> str | None:
    """The key of ``hyperparams`` that applies to ``env_id``.

    The exact id wins; then the fnmatch pattern (``Vizdoom*``) with the most literal
    characters (ties: the longer pattern, then the first in the file); then ``default``.

    :param hyperparams: a zoo file's top level.
    :param env_id: the env id.
    :return: the key, or ``None``.
    """
    if env_id in hyperparams:
        return env_id
    patterns = [key for key in hyperparams if isinstance(key, str) and any(c in key for c in _PATTERN_CHARS)
                and fnmatch.fnmatchcase(env_id, key)]
    if patterns:
        return max(patterns, key=lambda key: (len(re.sub(r"\[[^\]]*\]|[*?]", "", key)), len(key)))
    if "default" in hyperparams:
        return "default"
    return None


def _config_path(algo: str, conf_file: str | os.PathLike | None, config_dir: str | os.PathLike) -> Path:
    if conf_file is not None:
        path = Path(conf_file)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file. Fix: check the path", file=str(path))
        return path
    directory = Path(config_dir)
    if not directory.is_absolute() and not directory.is_dir() and (_PROJECT_ROOT / directory).is_dir():
        directory = _PROJECT_ROOT / directory
    for suffix in (".yml", ".yaml"):
        path = directory / f"{algo}{suffix}"
        if path.is_file():
            return path
    present = sorted(p.stem for p in directory.glob("*.y*ml")) if directory.is_dir() else []
    raise ConfigError(
        f"{directory / (algo + '.yml')}: no config file for {algo!r} (files here: {', '.join(present) or 'none'}). "
        f"Fix: create it, pass conf_file=..., or point config_dir at the folder that holds it",
        file=str(directory / f"{algo}.yml"),
    )


def load_hyperparams(algo: str, env_id: str, conf_file: str | os.PathLike | None = None,
                     overrides: Mapping[str, Any] | list[str] | None = None,
                     config_dir: str | os.PathLike = "zoo_configs") -> TrainConfig:
    """Read, select, override and validate the hyperparameters of ``algo`` on ``env_id``.

    :param algo: key of :data:`ALGOS` (``ppo``, ``ppo_lstm``, ``a2c``, ``dqn``, ...).
    :param env_id: the env id; the entry is chosen by :func:`find_entry`.
    :param conf_file: a YAML file to read instead of ``<config_dir>/<algo>.yml``.
    :param overrides: rl_zoo3 ``--hyperparams`` strings (``"learning_rate:lin_1e-3"``) or a mapping.
    :param config_dir: the folder of zoo files; a relative one that does not exist in the
        working directory is looked up in the project root.
    :raises ConfigError: naming the file, the entry, the field and the fix.
    """
    _check_algo(algo)
    path = _config_path(algo, conf_file, config_dir)
    hyperparams = _read_yaml(path)
    key = find_entry(hyperparams, env_id)
    if key is None:
        raise ConfigError(
            f"{path}: no entry for {env_id!r} (entries: {', '.join(map(str, hyperparams)) or 'none'}). "
            f"Fix: add an entry `{env_id}:`, a pattern such as `{_family_pattern(env_id)}:`, or a `default:` entry",
            file=str(path), entry=env_id,
        )
    return TrainConfig.from_yaml_dict(algo, env_id, hyperparams[key], source=str(path), entry=str(key),
                                      overrides=overrides)


def _family_pattern(env_id: str) -> str:
    match = re.match(r"[A-Z][a-z0-9]+", env_id)
    return f"{match.group(0)}*" if match else "Family*"


def load_saved_config(path: str | os.PathLike, algo: str, env_id: str | None = None) -> TrainConfig:
    """Reload a config written by :func:`save_config` (e.g. from a run folder).

    :param path: the YAML file.
    :param algo: key of :data:`ALGOS` the run used.
    :param env_id: the entry to read; may be left out when the file has exactly one.
    """
    if env_id is None:
        entries = list(_read_yaml(Path(path)))
        if len(entries) != 1:
            raise ConfigError(f"{path}: {len(entries)} entries ({', '.join(map(str, entries))}). Fix: pass env_id",
                              file=str(path))
        env_id = str(entries[0])
    return load_hyperparams(algo, env_id, conf_file=path)


def save_config(config: TrainConfig, path: str | os.PathLike) -> Path:
    """Write ``{env_id: {...}}`` in RL Zoo form, atomically (a temp file, then ``os.replace``).

    :param config: the resolved config.
    :param path: the YAML file to write (its folder is created).
    :return: the path written.
    """
    path = Path(path)
    text = (f"# {config.algo} hyperparameters for {config.env_id}, resolved by sb3_plus.config "
            f"(from {config.source or 'Python'}, entry {config.entry or config.env_id})\n")
    text += yaml.safe_dump({config.env_id: config.to_yaml_dict()}, sort_keys=False, default_flow_style=False,
                           width=4096)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
