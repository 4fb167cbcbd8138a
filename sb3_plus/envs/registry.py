"""The env family registry behind :func:`sb3_plus.envs.make_env`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import gymnasium as gym

from sb3_plus.errors import UserError


class UnknownEnvError(UserError, ValueError):
    """Raised for an env id that no family and no gymnasium registration knows."""


@dataclass
class EnvFamily:
    """A family of envs that share preprocessing and a pose contract.

    :param name: short family name (``vizdoom``, ``maze``, ...).
    :param matches: predicate on an env id.
    :param build: ``build(env_id, **kwargs) -> gym.Env`` applying the family preprocessing.
    :param examples: a few ids, shown in error messages and docs.
    :param options: the family's options (name -> :class:`sb3_plus.envs.options.OptionSpec`), checked by
        :func:`sb3_plus.envs.make_env` before ``build``; ``None``: the built-in table of that name, if any.
    :param training_only: options that training envs and evaluation envs set differently, name ->
        ``(training value, evaluation value)`` (Atari's episodic life and reward clipping): a run's
        training envs get the training value unless its config sets one; evaluation envs always get
        the evaluation value.
    :param reports_success: every ``info`` has ``success`` (the goal-reaching families); ``False`` for
        games scored by their return (Atari).
    """

    name: str
    matches: Callable[[str], bool]
    build: Callable[..., gym.Env]
    examples: list[str] = field(default_factory=list)
    options: Mapping[str, Any] | None = None
    training_only: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    reports_success: bool = True


_FAMILIES: dict[str, EnvFamily] = {}


def register_family(family: EnvFamily) -> None:
    """Register (or replace) an env family, e.g. for a custom game."""
    _FAMILIES[family.name] = family


def families() -> dict[str, EnvFamily]:
    """The registered families by name."""
    return dict(_FAMILIES)


def find_family(env_id: str) -> EnvFamily | None:
    """The family that claims ``env_id``, or ``None``."""
    for family in _FAMILIES.values():
        if family.matches(env_id):
            return family
    return None


def reports_success(env_id: str) -> bool:
    """Whether ``env_id``'s infos say ``success`` (a family that reports it; plain gymnasium ids do not)."""
    family = find_family(env_id)
    return family is not None and family.reports_success


def training_env_kwargs(env_id: str, env_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The options of a training env of ``env_id``: the family's training-only values under ``env_kwargs``."""
    family = find_family(env_id)
    only = family.training_only if family is not None else {}
    return {**{name: train for name, (train, _) in only.items()}, **env_kwargs}


def evaluation_env_kwargs(env_id: str, env_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The options of an evaluation env of ``env_id``: ``env_kwargs`` with the family's evaluation values."""
    family = find_family(env_id)
    only = family.training_only if family is not None else {}
    return {**env_kwargs, **{name: value for name, (_, value) in only.items()}}


def unknown_env_message(env_id: str) -> str:
    lines = [f"Unknown env id {env_id!r}. Known families:"]
    for family in _FAMILIES.values():
        lines.append(f"  - {family.name}: e.g. {', '.join(family.examples[:4])}")
    lines.append(
        "Any id registered with gymnasium also works (gymnasium.register(id=..., entry_point=...)). "
        "To add a game with its own preprocessing, call "
        "sb3_plus.envs.register_family(EnvFamily(name, matches, build))."
    )
    return "\n".join(lines)
