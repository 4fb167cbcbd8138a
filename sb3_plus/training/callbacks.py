"""Training callbacks: held-out evaluation with success rate and ``solved``, atomic checkpoints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize

from sb3_plus.evaluation import VALIDATION_SEED, EvalResult, evaluate_model
from sb3_plus.utils import atomic_path


def save_model_atomic(model: Any, path: str | os.PathLike) -> Path:
    """``model.save`` to a temp file, then rename: a crash never leaves a half-written zip."""
    path = Path(path)
    if path.suffix != ".zip":
        path = path.with_suffix(".zip")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def save_vecnormalize_atomic(vec_env: Any, path: str | os.PathLike) -> None:
    if isinstance(vec_env, VecNormalize):
        with atomic_path(path) as tmp:
            vec_env.save(str(tmp))


class _PeriodicCallback(BaseCallback):
    """Calls :meth:`_fire` every ``every`` env steps, counted from the start of (each) ``learn``."""

    def __init__(self, every: int, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.every = max(1, int(every))
        self._next = 0

    def _on_training_start(self) -> None:
        self._next = self.num_timesteps + self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._next = self.num_timesteps + self.every
            self._fire()
        return True

    def _fire(self) -> None:
        raise NotImplementedError


def best_evaluation(success_rates: Sequence[float], mean_returns: Sequence[float]) -> int:
    """Index of the evaluation ``best_model.zip`` holds: highest success rate, then return; the first on ties."""
    return max(range(len(success_rates)), key=lambda i: (success_rates[i], mean_returns[i], -i))


class SuccessEvalCallback(_PeriodicCallback):
    """Evaluate every ``eval_freq`` env steps on validation seeds (neither training nor held-out report seeds).

    Logs ``eval/mean_reward``, ``eval/std_reward``, ``eval/success_rate``,
    ``eval/mean_ep_length`` and ``eval/solved`` (1 once the success or return threshold
    is reached, and from then on), appends to ``evaluations.npz`` and keeps
    ``best_model.zip`` (highest success rate, then return).

    :param make_eval_env: builds the (single, non-vectorised) evaluation env.
    :param eval_freq: env steps, summed over training envs, between evaluations.
    :param n_eval_episodes: episodes per evaluation.
    :param run_dir: where ``evaluations.npz`` and ``best_model.zip`` go.
    :param seed: first evaluation seed (default :data:`sb3_plus.evaluation.VALIDATION_SEED`).
    :param success_threshold: success rate that counts as solved.
    :param reward_threshold: mean return that counts as solved.
    :param on_eval: called as ``on_eval(num_timesteps, result)`` after each evaluation; an exception
        it raises (e.g. ``optuna.TrialPruned``) stops training and propagates.
    """

    def __init__(self, make_eval_env: Callable[[], gym.Env], eval_freq: int, n_eval_episodes: int, run_dir: str | Path,
                 seed: int = VALIDATION_SEED, success_threshold: float | None = None,
                 reward_threshold: float | None = None, deterministic: bool = True, verbose: int = 1,
                 on_eval: Callable[[int, EvalResult], None] | None = None) -> None:
        super().__init__(eval_freq, verbose)
        self.on_eval = on_eval
        self.make_eval_env = make_eval_env
        self.n_eval_episodes = n_eval_episodes
        self.run_dir = Path(run_dir)
        self.seed = seed
        self.success_threshold = success_threshold
        self.reward_threshold = reward_threshold
        self.deterministic = deterministic
        self.history: dict[str, list[Any]] = {"timesteps": [], "results": [], "ep_lengths": [], "successes": [],
                                              "wall_time": []}
        self.solved = False
        self.best_key: tuple[float, float] = (-np.inf, -np.inf)
        self.last_result: EvalResult | None = None
        self._env: gym.Env | None = None
        self._load_history()

    def _load_history(self) -> None:
        path = self.run_dir / "evaluations.npz"
        if path.exists():  # a resumed run continues its evaluation record
            with np.load(path) as data:
                for key in self.history:
                    if key in data.files:
                        self.history[key] = list(data[key])
            if self.history["successes"]:
                rates = [float(np.mean(s)) for s in self.history["successes"]]
                means = [float(np.mean(r)) for r in self.history["results"]]
                best = best_evaluation(rates, means)
                self.best_key = (rates[best], means[best])
                self.solved = any(self._is_solved(r, m) for r, m in zip(rates, means))

    def _is_solved(self, success_rate: float, mean_return: float) -> bool:
        if self.success_threshold is not None and success_rate >= self.success_threshold:
            return True
        return self.reward_threshold is not None and mean_return >= self.reward_threshold

    def _fire(self) -> None:
        self.evaluate()

    def evaluate(self, record: bool = True) -> EvalResult:
        """Run one evaluation now (also used before RL, right after pretraining)."""
        import time

        if self._env is None:
            self._env = self.make_eval_env()
        transform = None
        vec_env = self.model.get_env() if self.model is not None else None
        if isinstance(vec_env, VecNormalize):
            transform = vec_env.normalize_obs
        result = evaluate_model(self.model, self._env, self.n_eval_episodes, self.seed, self.deterministic, transform)
        self.last_result = result
        self.solved = self.solved or self._is_solved(result.success_rate, result.mean_return)
        if record:
            self.history["timesteps"].append(self.model.num_timesteps)
            self.history["results"].append(result.returns)
            self.history["ep_lengths"].append(result.lengths)
            self.history["successes"].append(result.successes)
            self.history["wall_time"].append(time.time())
            with atomic_path(self.run_dir / "evaluations.npz") as tmp:
                np.savez(tmp, **{k: np.asarray(v) for k, v in self.history.items()})
            key = (result.success_rate, result.mean_return)
            if key > self.best_key:
                self.best_key = key
                save_model_atomic(self.model, self.run_dir / "best_model.zip")
        logger = self.model.logger
        logger.record("eval/mean_reward", result.mean_return)
        logger.record("eval/std_reward", result.std_return)
        logger.record("eval/success_rate", result.success_rate)
        logger.record("eval/mean_ep_length", result.mean_length)
        logger.record("eval/solved", float(self.solved))
        logger.dump(self.model.num_timesteps)
        if self.verbose:
            print(f"eval @ {self.model.num_timesteps:>8} steps: success {result.success_rate:.0%}, "
                  f"return {result.mean_return:.3f} +- {result.std_return:.3f}, length {result.mean_length:.0f}"
                  f"{' (solved)' if self.solved else ''}", flush=True)
        if self.on_eval is not None:
            self.on_eval(self.model.num_timesteps, result)
        return result

    def _on_training_end(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


class AtomicCheckpointCallback(_PeriodicCallback):
    """Save ``checkpoints/model_<steps>_steps.zip`` every ``save_freq`` env steps, atomically, keeping the last few."""

    def __init__(self, save_freq: int, run_dir: str | Path, keep: int = 3, verbose: int = 0) -> None:
        super().__init__(save_freq, verbose)
        self.dir = Path(run_dir) / "checkpoints"
        self.keep = keep

    def _fire(self) -> None:
        self.save()

    def save(self) -> Path:
        path = save_model_atomic(self.model, self.dir / f"model_{self.num_timesteps}_steps.zip")
        save_vecnormalize_atomic(self.model.get_env(), self.dir / f"vecnormalize_{self.num_timesteps}_steps.pkl")
        checkpoints = sorted(self.dir.glob("model_*_steps.zip"), key=checkpoint_steps)
        for old in checkpoints[: -self.keep]:
            old.unlink(missing_ok=True)
            (self.dir / old.name.replace("model_", "vecnormalize_").replace(".zip", ".pkl")).unlink(missing_ok=True)
        return path


def checkpoint_steps(path: Path) -> int:
    """``model_1200_steps.zip`` -> 1200."""
    try:
        return int(path.stem.split("_")[1])
    except (IndexError, ValueError):
        return -1


class WallTimeLimit(BaseCallback):
    """Stop training once ``max_seconds`` of wall time have passed since ``start`` (``time.perf_counter()``
    value; default: when training starts), so time spent before ``learn`` (pretraining) can count too."""

    def __init__(self, max_seconds: float, start: float | None = None) -> None:
        super().__init__(0)
        self.max_seconds = float(max_seconds)
        self._fixed_start = start
        self._start = 0.0

    def _on_training_start(self) -> None:
        import time

        self._start = time.perf_counter() if self._fixed_start is None else self._fixed_start

    def _on_step(self) -> bool:
        import time

        return time.perf_counter() - self._start < self.max_seconds
