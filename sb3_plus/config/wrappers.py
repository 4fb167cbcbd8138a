"""rl_zoo3's ``env_wrapper`` key: gymnasium wrappers named by import path, resolved without ``eval``.

The value is ``module.Class``, or a list whose items are ``module.Class`` or a one-key
mapping ``{module.Class: {kwarg: value}}``; the wrappers apply in the order written.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Mapping, Sequence

import gymnasium as gym

from sb3_plus.config.errors import Invalid, did_you_mean
from sb3_plus.config.typecheck import init_params

_FORMS = ("write an import path such as gymnasium.wrappers.TimeLimit, or a list of import paths and "
          "one-key mappings `{gymnasium.wrappers.TimeLimit: {max_episode_steps: 100}}`")
_PATH = "env_wrapper"


def wrapper_specs(value: Any) -> list[tuple[str, dict[str, Any]]]:
    """``(import path, kwargs)`` for each wrapper that ``env_wrapper`` names, in order.

    :param value: the value as written (``None`` gives ``[]``).
    :raises Invalid: for a value of another form.
    """
    if value is None:
        return []
    specs = []
    for item in value if isinstance(value, (list, tuple)) else [value]:
        if isinstance(item, str) and item.strip():
            specs.append((item.strip(), {}))
            continue
        if isinstance(item, Mapping) and len(item) == 1:
            path, kwargs = next(iter(item.items()))
            if isinstance(path, str) and path.strip() and (kwargs is None or isinstance(kwargs, Mapping)):
                specs.append((path.strip(), dict(kwargs or {})))
                continue
        raise Invalid(f"{item!r} is not a wrapper", _FORMS, _PATH)
    return specs


def resolve_wrapper(path: str) -> type[gym.Wrapper]:
    """The wrapper class at ``module.Class``, imported (never evaluated).

    :raises Invalid: for a module that cannot be imported, a missing name or a class that is no gymnasium wrapper.
    """
    module_name, _, name = path.rpartition(".")
    if not module_name or not name.isidentifier():
        raise Invalid(f"{path!r} is not an import path", _FORMS, _PATH)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise Invalid(f"cannot import {module_name!r} for the wrapper {path!r} ({type(exc).__name__}: {exc})",
                      "correct the import path, or install the package that provides it", _PATH) from None
    if not hasattr(module, name):
        public = [n for n in dir(module) if not n.startswith("_")]
        raise Invalid(f"module {module_name!r} has no {name!r}",
                      f"name a wrapper class of {module_name}{did_you_mean(name, public)}", _PATH)
    cls = getattr(module, name)
    if not (isinstance(cls, type) and issubclass(cls, gym.Wrapper)):
        raise Invalid(f"{path!r} is not a gymnasium.Wrapper class",
                      "name a class that subclasses gymnasium.Wrapper, e.g. gymnasium.wrappers.TimeLimit", _PATH)
    return cls


def _check_kwargs(path: str, cls: type, kwargs: Mapping[str, Any]) -> None:
    accepted, open_kwargs = init_params(cls)
    accepted.pop("env", None)
    for key in kwargs:
        if key not in accepted and not open_kwargs:
            raise Invalid(f"{key!r} is not an argument of {path}",
                          f"use one of {', '.join(accepted) or 'none'}{did_you_mean(str(key), accepted)}", _PATH)
    try:
        own = list(inspect.signature(cls).parameters.values())[1:]   # the first one is the env
    except (TypeError, ValueError):   # a signature Python cannot read: the constructor will say
        return
    for param in own:
        if (param.default is inspect.Parameter.empty and param.name not in kwargs
                and param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)):
            raise Invalid(f"{path} needs the argument {param.name!r}",
                          f"write it as a one-key mapping in a list: `- {path}: {{{param.name}: <value>}}`", _PATH)


def check_env_wrapper(value: Any) -> list[tuple[str, dict[str, Any]]]:
    """Check that every wrapper ``env_wrapper`` names can be imported and takes the kwargs given.

    :param value: the value as written.
    :return: its :func:`wrapper_specs`.
    :raises Invalid: naming the wrapper and the fix.
    """
    specs = wrapper_specs(value)
    for path, kwargs in specs:
        _check_kwargs(path, resolve_wrapper(path), kwargs)
    return specs


class WrapperChain:
    """Applies gymnasium wrappers in order: ``chain(env)``.

    It holds the classes by reference, so it pickles and can travel to ``SubprocVecEnv`` workers.

    :param wrappers: ``(wrapper class, kwargs)`` pairs, innermost first.
    """

    def __init__(self, wrappers: Sequence[tuple[type[gym.Wrapper], Mapping[str, Any]]]) -> None:
        self.wrappers = [(cls, dict(kwargs)) for cls, kwargs in wrappers]

    def __call__(self, env: gym.Env) -> gym.Env:
        for cls, kwargs in self.wrappers:
            env = cls(env, **kwargs)
        return env

    def __repr__(self) -> str:
        inner = ", ".join(f"{cls.__module__}.{cls.__qualname__}({kwargs})" for cls, kwargs in self.wrappers)
        return f"WrapperChain([{inner}])"


def build_env_wrapper(value: Any) -> WrapperChain | None:
    """The callable that applies what ``env_wrapper`` names, or ``None`` when it names nothing.

    :raises Invalid: as :func:`check_env_wrapper`.
    """
    specs = check_env_wrapper(value)
    if not specs:
        return None
    return WrapperChain([(resolve_wrapper(path), kwargs) for path, kwargs in specs])


#: SB3's Atari preprocessing, as rl-zoo3's ``atari`` entries name it.
ATARI_WRAPPER = "stable_baselines3.common.atari_wrappers.AtariWrapper"
# its keywords -> the atari family's options
_ATARI_OPTIONS = {"noop_max": "noop_max", "frame_skip": "frame_skip", "screen_size": "screen_size",
                  "terminal_on_life_loss": "episodic_life", "clip_reward": "clip_reward",
                  "action_repeat_probability": "sticky_actions"}


def take_atari_wrapper(env_id: str, values: dict[str, Any]) -> None:
    """rl-zoo3's Atari entries wrap the raw game in SB3's ``AtariWrapper``; sb3-plus's atari family already
    preprocesses the same way (see :mod:`sb3_plus.envs.atari`), so that wrapper becomes the family's options
    (training-only parts stay training-only) instead of preprocessing twice. Other ids keep it as written."""
    from sb3_plus.envs.atari import is_atari_id

    if not is_atari_id(env_id) or not values.get("env_wrapper"):
        return
    kept = []
    for path, kwargs in wrapper_specs(values["env_wrapper"]):
        if path != ATARI_WRAPPER:
            kept.append(path if not kwargs else {path: kwargs})
            continue
        options = {_ATARI_OPTIONS[k]: v for k, v in kwargs.items() if k in _ATARI_OPTIONS}
        values["env_kwargs"] = {**options, **values.get("env_kwargs", {})}
    values["env_wrapper"] = kept or None
