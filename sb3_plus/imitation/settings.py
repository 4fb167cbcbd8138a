"""Every knob of BC and DAgger in one place: dataclasses with a default and a one-line help each.

A zoo config's ``pretrain:`` entry and the ``--pretrain-*`` flags name these fields::

    pretrain:
      epochs: 30              # BCSettings.epochs
      dagger: {rounds: 6}     # DAggerSettings.rounds

Fields whose ``metadata["config"]`` is false (the seed) come from the run, not from a config:
:func:`config_settings` leaves them out.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sb3_plus.errors import BadOptionError

#: ``seq_len`` value that makes every episode one sequence, its LSTM state zero at its first step only.
WHOLE_EPISODES = "episode"
#: Sequence length of recurrent policies when ``seq_len`` is not given.
DEFAULT_RECURRENT_SEQ_LEN = 32

_S = TypeVar("_S", bound="Settings")


def knob(default: Any, help: str, *, config: bool = True) -> Any:
    """A settings field: its default, one line of help, and whether a config may set it."""
    return field(default=default, metadata={"help": help, "config": config})


@dataclass(frozen=True)
class Settings:
    """Base of the settings dataclasses: checked copies, construction from plain mappings."""

    def replace(self: _S, **changes: Any) -> _S:
        """A copy with ``changes``; unknown names raise :class:`BadOptionError` listing the known ones."""
        return dataclasses.replace(self, **_known(type(self), changes))

    @classmethod
    def from_dict(cls: type[_S], values: Mapping[str, Any] | None) -> _S:
        """Settings from a plain mapping (a config's ``pretrain:`` entry, flags), defaults elsewhere."""
        return cls(**_known(cls, dict(values or {})))

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form, for JSON logs and state files."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class BCSettings(Settings):
    """Behaviour cloning settings (:func:`sb3_plus.imitation.bc.train_bc`)."""

    epochs: int = knob(10, "passes over the training episodes")
    batch_size: int = knob(256, "steps per minibatch (batch_size // seq_len sequences)")
    seq_len: int | str | None = knob(None, "sequence length; default 1 (feedforward), DEFAULT_RECURRENT_SEQ_LEN "
                                           "(recurrent); 'episode': whole episodes from their first step, for "
                                           "tasks that must remember early observations")
    lr: float = knob(1e-3, "Adam learning rate (a fresh optimizer; policy.optimizer is left alone)")
    ent_coef: float = knob(0.0, "weight of the entropy bonus")
    l2_coef: float = knob(0.0, "weight of the sum of squared actor parameters")
    max_grad_norm: float | None = knob(1.0, "gradient norm clip (None: no clipping)")
    head_gain: float | None = knob(1.0, "scale an untouched SB3 action head (orthogonal, gain 0.01 for RL) up to "
                                        "this gain before BC; a trained head is left alone (None: never)")
    ema_decay: float | None = knob(None, "decay of a weight average that BC measures and returns, e.g. 0.99 "
                                         "(None: the live weights)")
    patience: int | None = knob(None, "stop after this many epochs without a better held-out agreement (None: never)")
    keep_best: bool = knob(True, "return the weights of the epoch with the best held-out agreement")
    critic_warmup_epochs: int = knob(0, "epochs of value regression on discounted returns after BC")
    gamma: float = knob(0.99, "discount of the returns for the critic warm-up (use the RL algorithm's)")
    holdout_fraction: float = knob(0.1, "fraction of EPISODES held out to measure agreement")
    max_seconds: float | None = knob(None, "wall-clock budget of the call (checked between minibatches)")
    augment: tuple[str, ...] | None = knob(None, "image augmentations of each training minibatch, e.g. "
                                                 "('shift', 'flip') (default: the config's augment)")
    seed: int = knob(0, "seed of the held-out split and of the shuffling", config=False)

    def __post_init__(self) -> None:
        if self.augment is not None:
            from sb3_plus.policies.augment import check_augment

            object.__setattr__(self, "augment", tuple(check_augment(list(self.augment))) or None)
        _check_bc(self)

    def bc(self) -> BCSettings:
        """The BC part of these settings."""
        return BCSettings(**{f.name: getattr(self, f.name) for f in dataclasses.fields(BCSettings)})


@dataclass(frozen=True)
class DAggerSettings(BCSettings):
    """DAgger settings (:func:`sb3_plus.imitation.dagger.train_dagger`); the BC fields apply to each round's BC.

    ``epochs`` are the BC epochs over the aggregated data after every round, ``max_seconds``
    the budget of the whole run, ``seed`` seeds the rollouts, the beta draws and BC, and
    ``critic_warmup_epochs`` run once, after the last round's BC.
    """

    rounds: int = knob(4, "DAgger rounds (in total, resumed rounds included)")
    episodes_per_round: int = knob(20, "episodes played per round")
    beta: float | None = knob(None, "expert probability in round 0 (default 1, or 0.5 with an initial dataset)")
    beta_decay: float = knob(0.5, "factor applied to beta every round")
    betas: tuple[float, ...] | None = knob(None, "one beta per round instead of beta / beta_decay")
    initial_epochs: int = knob(0, "BC epochs on the initial dataset alone before round 0")
    n_envs: int = knob(4, "envs played side by side (one policy batch)")
    eval_episodes: int = knob(10, "validation episodes of the learner alone after each round (0: skip)")
    eval_seed: int | None = knob(None, "first validation seed (default sb3_plus.evaluation.VALIDATION_SEED)",
                                  config=False)
    deterministic: bool = knob(True, "the learner acts greedily in rollouts and validation")
    rollout_max_steps: int | None = knob(None, "cut rollout episodes after this many steps (validation never)")
    max_seconds: float | None = knob(None, "wall budget; no new round starts once it is spent", config=False)

    def __post_init__(self) -> None:
        if self.betas is not None and not isinstance(self.betas, tuple):
            object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        super().__post_init__()
        _check_dagger(self)

    def schedule(self, has_initial_data: bool) -> list[float]:
        """Beta of every round: ``betas``, else ``beta * beta_decay ** k``."""
        if self.betas is not None:
            betas = list(self.betas[: self.rounds])
        else:
            beta = (0.5 if has_initial_data else 1.0) if self.beta is None else self.beta
            betas = [beta * self.beta_decay**k for k in range(self.rounds)]
        _check_betas(betas)
        return betas


def config_settings(cls: type[Settings]) -> frozenset[str]:
    """Names a config or flag may set for ``cls`` (every field but the run's own, such as the seed)."""
    return frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get("config", True))


def settings_help(cls: type[Settings]) -> dict[str, str]:
    """One line of help per field, e.g. for command-line help or documentation."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def _known(cls: type[Settings], values: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise BadOptionError(f"unknown {cls.__name__} field(s) {unknown}. Fix: use one of {sorted(names)}")
    return values


def _number(name: str, value: Any, low: float, problems: list[str], *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        problems.append(f"{name} must be a number, got {value!r}")
    elif value < low:
        problems.append(f"{name} must be >= {low}, got {value}")


def _raise(cls: type, problems: list[str]) -> None:
    if problems:
        raise BadOptionError(f"bad {cls.__name__}: {'; '.join(problems)}. "
                             "Fix: change these in the config's pretrain: entry, the flags or the call")


def _check_bc(s: BCSettings) -> None:
    problems: list[str] = []
    for name, low in (("epochs", 0), ("batch_size", 1), ("critic_warmup_epochs", 0), ("lr", 0), ("ent_coef", 0),
                      ("l2_coef", 0), ("gamma", 0), ("holdout_fraction", 0)):
        _number(name, getattr(s, name), low, problems)
    for name, low in (("seq_len", 1), ("max_grad_norm", 0), ("max_seconds", 0), ("head_gain", 0), ("ema_decay", 0),
                      ("patience", 1)):
        if name == "seq_len" and isinstance(s.seq_len, str):
            if s.seq_len != WHOLE_EPISODES:
                problems.append(f"seq_len must be a number >= 1 or {WHOLE_EPISODES!r}, got {s.seq_len!r}")
            continue
        _number(name, getattr(s, name), low, problems, optional=True)
    if not isinstance(s.keep_best, bool):
        problems.append(f"keep_best must be true or false, got {s.keep_best!r}")
    if not problems and s.holdout_fraction >= 1.0:
        problems.append(f"holdout_fraction must be below 1, got {s.holdout_fraction}")
    if not problems and s.ema_decay is not None and s.ema_decay >= 1.0:
        problems.append(f"ema_decay must be below 1 (1 never moves the average), got {s.ema_decay}")
    _raise(type(s), problems)


def _check_dagger(s: DAggerSettings) -> None:
    problems: list[str] = []
    for name, low in (("rounds", 1), ("episodes_per_round", 1), ("beta_decay", 0), ("initial_epochs", 0),
                      ("n_envs", 1), ("eval_episodes", 0)):
        _number(name, getattr(s, name), low, problems)
    for name, low in (("beta", 0), ("eval_seed", 0), ("rollout_max_steps", 1)):
        _number(name, getattr(s, name), low, problems, optional=True)
    if s.betas is not None and len(s.betas) < s.rounds:
        problems.append(f"betas lists {len(s.betas)} values for {s.rounds} rounds (give one per round)")
    _raise(type(s), problems)
    _check_betas(list(s.betas or ()) + ([s.beta] if s.beta is not None else []))


def _check_betas(betas: list[float]) -> None:
    for b in betas:
        if not 0.0 <= b <= 1.0:
            raise BadOptionError(f"beta must be within [0, 1], got {b}. Fix: give probabilities of the expert acting")
