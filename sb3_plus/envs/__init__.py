"""Env families and :func:`make_env`.

Every family that supports scripted experts puts its privileged state in
``info["pose"]`` (``x``, ``y``, ``heading`` in degrees, plus family extras) and
``info["success"]`` (bool, the same key on every step). A family's options are checked
against its table (:mod:`sb3_plus.envs.options`) before the env is built.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

from sb3_plus.errors import BadOptionError
from sb3_plus.envs.options import OptionSpec, check_env_options
from sb3_plus.envs.early_stop import EarlyStop
from sb3_plus.envs.registry import EnvFamily, UnknownEnvError, families, find_family, register_family, unknown_env_message

__all__ = ["make_env", "EnvFamily", "OptionSpec", "UnknownEnvError", "register_family", "families", "env_spec_for",
           "family_of", "EarlyStop"]

_BUILTINS_LOADED = False


def _load_builtin_families() -> None:
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    from sb3_plus.envs import atari, mario, maze, procgen, vizdoom  # noqa: F401  (each registers its family)
    from sb3_plus.envs.doom_maps import monster_room  # noqa: F401  (VizdoomMonsterRoom-v0's family)


def family_of(env_id: str) -> str:
    """Name of the family that builds ``env_id`` (``gym`` for plain gymnasium ids)."""
    _load_builtin_families()
    family = find_family(env_id)
    if family is not None:
        return family.name
    if env_id in gym.registry:
        return "gym"
    raise UnknownEnvError(unknown_env_message(env_id))


def env_spec_for(env_id: str, kwargs: dict[str, Any]) -> EnvSpec:
    """A gymnasium spec that rebuilds ``make_env(env_id, **kwargs)`` (stored in datasets)."""
    name = env_id.split("/")[-1]
    if "-v" not in name:
        name = f"{name}-v0"
    return EnvSpec(
        id=f"sb3plus/{name}",
        entry_point="sb3_plus.envs:make_env",
        kwargs={"env_id": env_id, **kwargs},
        disable_env_checker=True,
        order_enforce=False,
    )


def make_env(env_id: str, **kwargs: Any) -> gym.Env:
    """Build any supported env with its family's preprocessing.

    :param env_id: a family id (``VizdoomMyWayHome-v1``, ``MazeEasy-v0``, ...) or any
        gymnasium id (``CartPole-v1``).
    :param kwargs: family options (e.g. ``resolution=64``, ``frame_skip=4``, ``frame_stack=1``).
    :return: the env; ``env.get_wrapper_attr("sb3plus_spec")`` rebuilds it.
    :raises BadOptionError: an unknown option, or a value of the wrong type or range (before any engine starts).
    """
    _load_builtin_families()
    family = find_family(env_id)
    if family is not None:
        check_env_options(family.name, env_id, kwargs, family.options)
        env = family.build(env_id, **kwargs)
    elif env_id in gym.registry:
        try:
            env = gym.make(env_id, **kwargs)
        except TypeError as exc:
            raise BadOptionError(f"{env_id}: bad keyword arguments {sorted(kwargs)}: {exc}") from exc
    else:
        raise UnknownEnvError(unknown_env_message(env_id))
    env.unwrapped.sb3plus_spec = env_spec_for(env_id, kwargs)
    return env
