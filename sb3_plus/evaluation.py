"""Honest evaluation: held-out seeds, success rate, LSTM states carried, one seed per episode."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from sb3_plus.rollout import PolicyActor, play_episodes

#: Evaluation seeds start here, far from the seeds used for data and training by default.
HELD_OUT_SEED = 10_000
#: Evaluations that choose something during a run (``best_model.zip``, DAgger's per-round check)
#: use seeds from here, so the held-out seeds above stay unseen until the final report.
VALIDATION_SEED = 20_000


@dataclass
class EvalResult:
    """Per-episode outcomes and their summary."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    successes: list[bool] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    deterministic: bool = True
    seconds: float = 0.0

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns)) if self.returns else float("nan")

    @property
    def std_return(self) -> float:
        return float(np.std(self.returns)) if self.returns else float("nan")

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.successes)) if self.successes else float("nan")

    @property
    def mean_length(self) -> float:
        return float(np.mean(self.lengths)) if self.lengths else float("nan")

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (what ``python -m sb3_plus.evaluate`` prints)."""
        return {
            "episodes": len(self.returns),
            "mean_return": self.mean_return,
            "std_return": self.std_return,
            "success_rate": self.success_rate,
            "mean_length": self.mean_length,
            "std_length": float(np.std(self.lengths)) if self.lengths else float("nan"),
            "first_seed": self.seeds[0] if self.seeds else None,
            "deterministic": self.deterministic,
            "seconds": self.seconds,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), **self.summary()}


def evaluate_model(
    model: Any,
    env: gym.Env | VecEnv,
    episodes: int = 20,
    seed: int = HELD_OUT_SEED,
    deterministic: bool = True,
    obs_transform: Callable[[Any], Any] | None = None,
    frame_callback: Callable[[Any], None] | None = None,
) -> EvalResult:
    """Play ``episodes`` episodes with seeds ``seed, seed+1, ...`` (see :func:`sb3_plus.rollout.play_episodes`).

    LSTM states are carried through each episode and reset between episodes. An episode
    succeeds when any step's ``info["success"]`` (or ``info["is_success"]``) is true.

    :param model: any SB3 / sb3-contrib model (or policy).
    :param env: a gymnasium env with the model's preprocessing, or an SB3 VecEnv with its
        VecEnv wrappers (frame stack, normalization, transpose); episode ``i`` is reset with
        seed ``seed + i`` either way (a VecEnv of several envs plays waves of consecutive seeds).
    :param episodes: number of episodes.
    :param seed: seed of the first episode.
    :param deterministic: greedy actions.
    :param obs_transform: applied to each observation before ``predict`` (e.g. VecNormalize
        statistics for a gymnasium env).
    :param frame_callback: called with ``env`` after each step (to record video frames).
    """
    actor = PolicyActor(model, deterministic=deterministic, obs_transform=obs_transform)
    on_step = None if frame_callback is None else (lambda step: frame_callback(step.env))
    played = play_episodes(env, actor, episodes, seed, on_step=on_step)
    return EvalResult(returns=played.returns, lengths=played.lengths, successes=played.successes,
                      seeds=[int(s) for s in played.seeds], deterministic=deterministic, seconds=played.seconds)
