"""Training callbacks: validation evaluation with success rate and ``solved``, atomic checkpoints, wall budget."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, EveryNTimesteps
from stable_baselines3.common.logger import CSVOutputFormat

from sb3_plus.evaluation import VALIDATION_SEED, EvalResult, evaluate_model
from sb3_plus.training.envs import copy_normalization
from sb3_plus.utils import raise_if_interrupted, set_torch_threads
from sb3_plus.files import atomic_path


def save_model_atomic(model: Any, path: str | os.PathLike) -> Path:
    """``model.save`` to a temp file, then rename: a crash never leaves a half-written zip."""
    path = Path(path)
    if path.suffix != ".zip":
        path = path.with_suffix(".zip")
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def save_vecnormalize_atomic(model: Any, path: str | os.PathLike) -> Path | None:
    """Save the model's VecNormalize statistics (found under any other vec wrapper), atomically."""
    vec_normalize = model.get_vec_normalize_env()
    if vec_normalize is None:
        return None
    with atomic_path(path) as tmp:
        vec_normalize.save(str(tmp))
    return Path(path)


def save_model_and_stats(model: Any, path: str | os.PathLike) -> Path:
    """Save a model zip and, beside it, the VecNormalize statistics it was trained with."""
    from sb3_plus.training.envs import vecnormalize_path_for

    path = save_model_atomic(model, path)
    save_vecnormalize_atomic(model, vecnormalize_path_for(path))
    return path


class AlignedEveryNTimesteps(EveryNTimesteps):
    """SB3's :class:`EveryNTimesteps`, its schedule aligned to the model's total step count.

    A resumed run at step 1,200 with ``n_steps=500`` fires at 1,500, 2,000, ... as the
    uninterrupted run would, instead of at 1,700, 2,200, ...
    """

    def _on_training_start(self) -> None:
        super()._on_training_start()
        self.last_time_trigger = (self.num_timesteps // self.n_steps) * self.n_steps

    def _on_step(self) -> bool:
        if self.num_timesteps - self.last_time_trigger >= self.n_steps:
            self.last_time_trigger = (self.num_timesteps // self.n_steps) * self.n_steps
            return self._on_event()
        return True


def best_evaluation(success_rates: Sequence[float], mean_returns: Sequence[float]) -> int:
    """Index of the evaluation ``best_model.zip`` holds: highest success rate, then return; the first on ties."""
    return max(range(len(success_rates)), key=lambda i: (success_rates[i], mean_returns[i], -i))


class SuccessEvalCallback(BaseCallback):
    """Evaluate on validation seeds (neither training nor held-out report seeds) each time it is called.

    Run it every N env steps as ``AlignedEveryNTimesteps(N, SuccessEvalCallback(...))``.

    Logs ``eval/mean_reward``, ``eval/std_reward``, ``eval/success_rate``,
    ``eval/mean_ep_length`` and ``eval/solved`` (1 once the success or return threshold
    is reached, and from then on), appends to ``evaluations.npz`` and keeps
    ``best_model.zip`` (highest success rate, then return).

    :param make_eval_env: builds the evaluation env (a one-env VecEnv with the training wrappers,
        see :func:`sb3_plus.training.envs.make_eval_env`, or a gymnasium env).
    :param n_eval_episodes: episodes per evaluation.
    :param run_dir: where ``evaluations.npz`` and ``best_model.zip`` go.
    :param seed: first evaluation seed (default :data:`sb3_plus.evaluation.VALIDATION_SEED`).
    :param success_threshold: success rate that counts as solved.
    :param reward_threshold: mean return that counts as solved.
    :param on_eval: called as ``on_eval(num_timesteps, result)`` after each evaluation; an exception
        it raises (e.g. ``optuna.TrialPruned``) stops training and propagates.
    """

    def __init__(self, make_eval_env: Callable[[], Any], n_eval_episodes: int, run_dir: str | Path,
                 seed: int = VALIDATION_SEED, success_threshold: float | None = None,
                 reward_threshold: float | None = None, deterministic: bool = True, verbose: int = 1,
                 on_eval: Callable[[int, EvalResult], None] | None = None) -> None:
        super().__init__(verbose)
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
        self._env: Any = None
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

    def _on_step(self) -> bool:
        self.evaluate()
        return True

    def evaluate(self, record: bool = True) -> EvalResult:
        """Run one evaluation now (also used before RL, right after pretraining)."""
        import time

        if self._env is None:
            self._env = self.make_eval_env()
        copy_normalization(self.model.get_vec_normalize_env(), self._env)  # the statistics of this moment
        result = evaluate_model(self.model, self._env, self.n_eval_episodes, self.seed, self.deterministic)
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
                save_model_and_stats(self.model, self.run_dir / "best_model.zip")
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

    def close(self) -> None:
        """Close the evaluation env (a game process for ViZDoom); called once the run ends, however it ends."""
        if self._env is not None:
            self._env.close()
            self._env = None


class AtomicCheckpointCallback(BaseCallback):
    """Save ``checkpoints/model_<steps>_steps.zip`` (and the VecNormalize statistics) each time it is called,
    keeping the last ``keep`` (0: all). Run it as
    ``AlignedEveryNTimesteps(N, AtomicCheckpointCallback(run_dir))``.

    SB3's ``CheckpointCallback`` writes the zip in place, so a kill during the save leaves a broken
    newest checkpoint that resuming would pick; this one writes to a temp file and renames.
    """

    def __init__(self, run_dir: str | Path, keep: int = 3, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.dir = Path(run_dir) / "checkpoints"
        self.keep = keep

    def _on_step(self) -> bool:
        self.save()
        return True

    def save(self) -> Path:
        path = save_model_and_stats(self.model, self.dir / f"model_{self.num_timesteps}_steps.zip")
        checkpoints = sorted(self.dir.glob("model_*_steps.zip"), key=checkpoint_steps)
        for old in checkpoints[: -self.keep] if self.keep > 0 else []:
            old.unlink(missing_ok=True)
            (self.dir / old.name.replace("model_", "vecnormalize_").replace(".zip", ".pkl")).unlink(missing_ok=True)
        return path


def checkpoint_steps(path: Path) -> int:
    """``model_1200_steps.zip`` -> 1200."""
    try:
        return int(path.stem.split("_")[1])
    except (IndexError, ValueError):
        return -1


class StopOnInterrupt(BaseCallback):
    """Raise ``KeyboardInterrupt`` at the next step once SIGINT/SIGTERM asked for a stop, in case the first
    one was dropped where Python ignores exceptions (see :func:`sb3_plus.utils.sigterm_as_interrupt`)."""

    def _on_step(self) -> bool:
        raise_if_interrupted()
        return True


class UpdateThreads(BaseCallback):
    """Torch threads by phase: ``rollout`` threads while envs step (inference on a batch of ``n_envs``, where
    more threads only compete with the envs), ``update`` threads for the gradient steps (minibatches of
    hundreds of samples, while the envs wait)."""

    def __init__(self, rollout: int, update: int) -> None:
        super().__init__(0)
        self.rollout, self.update = int(rollout), int(update)

    def _on_rollout_start(self) -> None:
        set_torch_threads(self.rollout)

    def _on_rollout_end(self) -> None:
        set_torch_threads(self.update)

    def _on_training_end(self) -> None:
        set_torch_threads(self.rollout)

    def _on_step(self) -> bool:
        return True


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


class AppendingCSVOutputFormat(CSVOutputFormat):
    """SB3's ``progress.csv`` writer, continuing an existing file instead of truncating it.

    SB3 opens the file with ``w+``, so a resumed run would lose every row logged before the resume.
    New columns are still added the way SB3 adds them (the file is rewritten with the wider header).
    """

    def __init__(self, filename: str) -> None:
        path = Path(filename)
        if not path.exists() or path.stat().st_size == 0:
            super().__init__(filename)
            return
        self.file = open(filename, "r+")
        header = self.file.readline().rstrip("\n")
        self.keys = header.split(",") if header else []
        self.separator = ","
        self.quotechar = '"'
        self.file.seek(0, os.SEEK_END)

