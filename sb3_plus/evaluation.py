"""Honest evaluation: held-out seeds, success rate, LSTM states carried, one env per episode seed."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import gymnasium as gym
import numpy as np

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


def _is_recurrent(model: Any) -> bool:
    return hasattr(model.policy, "lstm_actor")


def evaluate_model(
    model: Any,
    env: gym.Env,
    episodes: int = 20,
    seed: int = HELD_OUT_SEED,
    deterministic: bool = True,
    obs_transform: Callable[[Any], Any] | None = None,
    frame_callback: Callable[[gym.Env], None] | None = None,
) -> EvalResult:
    """Play ``episodes`` episodes with seeds ``seed, seed+1, ...`` on a single (non-vectorised) env.

    LSTM states are carried through each episode and reset between episodes. A step
    counts as a success when ``info["success"]`` (or ``info["is_success"]``) is true.

    :param model: any SB3 / sb3-contrib model (``predict`` with ``state`` and ``episode_start``).
    :param env: a gymnasium env with the same preprocessing the model was trained on.
    :param episodes: number of episodes.
    :param seed: seed of the first episode.
    :param deterministic: greedy actions.
    :param obs_transform: applied to each observation before ``predict`` (e.g. VecNormalize).
    :param frame_callback: called after each step (to record video frames).
    """
    result = EvalResult(deterministic=deterministic)
    recurrent = _is_recurrent(model)
    start = time.perf_counter()
    for index in range(episodes):
        episode_seed = seed + index
        obs, info = env.reset(seed=episode_seed)
        state, episode_start = None, np.ones((1,), dtype=bool)
        total, length, success = 0.0, 0, False
        while True:
            model_obs = obs_transform(obs) if obs_transform else obs
            if recurrent:
                action, state = model.predict(model_obs, state=state, episode_start=episode_start,
                                              deterministic=deterministic)
                episode_start = np.zeros((1,), dtype=bool)
            else:
                action, _ = model.predict(model_obs, deterministic=deterministic)
            if isinstance(env.action_space, gym.spaces.Discrete):
                action = int(np.asarray(action).item())
            obs, reward, terminated, truncated, info = env.step(action)
            if frame_callback is not None:
                frame_callback(env)
            total += float(reward)
            length += 1
            success = success or bool(info.get("success", info.get("is_success", False)))
            if terminated or truncated:
                break
        result.returns.append(total)
        result.lengths.append(length)
        result.successes.append(success)
        result.seeds.append(episode_seed)
    result.seconds = time.perf_counter() - start
    return result
