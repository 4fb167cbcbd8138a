"""The tuning objective: several seeds per trial, validation seeds, intermediate values for pruning.

A trial trains ``len(seeds)`` runs one after the other with :func:`sb3_plus.training.train`,
each evaluated every ``eval_freq`` env steps on validation seeds (20000, 20001, ... by
default; never the training seeds, nor the held-out seeds from 10000 that a final report
uses). Its value is the mean over the seeds of the metric:

- ``success``: the final evaluation's success rate;
- ``return``: the final evaluation's mean return;
- ``auc``: the area under the success-rate learning curve divided by its length, i.e. the
  mean success rate over the run's evaluations (evaluations are equally spaced; the one
  right after pretraining, at step 0, is included), which rewards learning fast;
- ``auc_return``: the same for the mean return.

Intermediate values. Evaluation ``j`` of a run (``j = round(num_timesteps / eval_freq)``,
``0`` right after pretraining, at most ``E = ceil(n_timesteps / eval_freq)``) of the
``k``-th seed is reported at step ``k * (E + 1) + j``, with the value the trial would have
if it stopped there: the mean over the seeds run so far of each seed's metric at
evaluation ``j`` (for ``auc``, the mean up to ``j``). Every trial of a study follows the
same schedule, so the pruner compares trials at the same budget and seed count, and a bad
trial is stopped while its first seed trains.
"""

from __future__ import annotations

import math
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["METRICS", "LearningCurves", "Objective", "SurplusTrial", "jsonable", "worker_id"]

#: Objective metrics, all maximised.
METRICS = {
    "success": "final success rate on validation seeds",
    "return": "final mean return on validation seeds",
    "auc": "area under the success-rate learning curve (mean success over evaluations)",
    "auc_return": "area under the mean-return learning curve (mean return over evaluations)",
}


def worker_id() -> str:
    """``host:pid`` of this process, recorded with each trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


class SurplusTrial(Exception):
    """The study already has its trials (other workers finished or run them); this one is not run."""


def _point(metric: str, success_rate: float, mean_return: float) -> float:
    return float(success_rate if metric in ("success", "auc") else mean_return)


class LearningCurves:
    """Per-seed evaluation curves of one trial, the values reported to Optuna and the trial value.

    :param metric: one of :data:`METRICS`.
    :param n_timesteps: env steps per seed.
    :param eval_freq: env steps between evaluations.
    """

    def __init__(self, metric: str, n_timesteps: int, eval_freq: int) -> None:
        if metric not in METRICS:
            from sb3_plus.tuning.errors import TuneError

            raise TuneError(f"unknown metric {metric!r}. Fix: use one of {', '.join(METRICS)}")
        self.metric = metric
        self.eval_freq = max(int(eval_freq), 1)
        self.evals_per_seed = max(math.ceil(int(n_timesteps) / self.eval_freq), 1)
        self.curves: list[dict[int, float]] = []

    @property
    def stride(self) -> int:
        """Steps reserved per seed in the reported step numbers."""
        return self.evals_per_seed + 1

    def index(self, num_timesteps: int) -> int:
        """The evaluation index of an evaluation made at ``num_timesteps``."""
        return min(int(round(num_timesteps / self.eval_freq)), self.evals_per_seed)

    def start_seed(self) -> int:
        """Begin the next seed's curve; return its index."""
        self.curves.append({})
        return len(self.curves) - 1

    def record(self, num_timesteps: int, success_rate: float, mean_return: float) -> tuple[int, float]:
        """Add an evaluation of the current seed.

        :return: ``(step, value)`` to report: the step number and the running trial value there.
        """
        j = self.index(num_timesteps)
        self.curves[-1][j] = _point(self.metric, success_rate, mean_return)
        k = len(self.curves) - 1
        return k * self.stride + j, self.value_at(j)

    def _seed_value_at(self, curve: dict[int, float], j: int) -> float | None:
        known = [i for i in curve if i <= j]
        if not known:
            return None
        if self.metric.startswith("auc"):
            return float(sum(curve[i] for i in known) / len(known))
        return curve[max(known)]

    def value_at(self, j: int) -> float:
        """Mean over the seeds so far of each seed's value at evaluation ``j``."""
        values = [v for v in (self._seed_value_at(c, j) for c in self.curves) if v is not None]
        return float(sum(values) / len(values)) if values else float("nan")

    def seed_value(self, k: int) -> float:
        """The final value of seed ``k`` (last evaluation, or the mean over evaluations for ``auc``)."""
        curve = self.curves[k]
        return self._seed_value_at(curve, max(curve)) if curve else float("nan")

    def trial_value(self) -> float:
        """The trial's objective: the mean of the seeds' final values."""
        values = [self.seed_value(k) for k in range(len(self.curves))]
        return float(sum(values) / len(values)) if values else float("nan")


@dataclass
class Objective:
    """Callable for ``study.optimize``: sample, train every seed, report, return the seed mean.

    :param algo: the algorithm.
    :param env_id: the env id.
    :param space: the :class:`~sb3_plus.tuning.spaces.SearchSpace`.
    :param base: the config trials start from (zoo entry with ``fixed`` applied).
    :param fixed: overrides applied to every trial (``--hyperparams``).
    :param seeds: training seeds; each trial trains one run per seed.
    :param n_timesteps: env steps per run.
    :param eval_freq: env steps between evaluations.
    :param eval_episodes: episodes per evaluation.
    :param eval_seed: first evaluation seed (``None``: :data:`sb3_plus.evaluation.VALIDATION_SEED`).
    :param metric: one of :data:`METRICS`.
    :param trials_dir: trial run folders go to ``trials_dir/<number>/seed_<seed>/``.
    :param n_trials: the study's target of finished trials (for the surplus check), or ``None``.
    :param conf_file: zoo config file (default ``zoo_configs/<algo>.yml``).
    :param pretrain: pretraining method fixed for the study.
    :param dataset: Minari dataset id for pretraining.
    :param env_kwargs: env options for every run.
    :param device: torch device.
    :param tensorboard: write TensorBoard logs for each run.
    :param verbose: 2 prints each run's evaluations.
    :param train_fn: the training function (:func:`sb3_plus.training.train`).
    :param say: where a note goes the first time a trial's rollout is shrunk to fit the budget
        (``None``: no note; the trial's ``adjusted`` user attribute records it either way).
    """

    algo: str
    env_id: str
    space: Any
    base: Any
    fixed: dict[str, Any]
    seeds: Sequence[int]
    n_timesteps: int
    eval_freq: int
    eval_episodes: int
    metric: str = "success"
    eval_seed: int | None = None
    trials_dir: Path = Path("logs/tune/trials")
    n_trials: int | None = None
    conf_file: str | None = None
    pretrain: str | None = None
    dataset: str | None = None
    env_kwargs: dict[str, Any] | None = None
    device: str = "cpu"
    tensorboard: bool = False
    verbose: int = 1
    train_fn: Callable[..., Any] | None = None
    worker: str = field(default_factory=worker_id)
    say: Callable[[str], None] | None = None
    _budget_noted: bool = field(default=False, init=False, repr=False)

    def is_surplus(self, trial: Any) -> bool:
        """Whether trials numbered before ``trial`` (finished, running or queued) already fill the study."""
        if self.n_trials is None:
            return False
        from optuna.trial import TrialState

        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
        ahead = sum(1 for t in trial.study.get_trials(deepcopy=False, states=states) if t.number < trial.number)
        return ahead >= self.n_trials

    def __call__(self, trial: Any) -> float:
        import optuna

        if self.is_surplus(trial):
            trial.set_user_attr("surplus", True)
            trial.study.stop()
            raise SurplusTrial(f"trial {trial.number} is beyond the study's {self.n_trials} trials")
        trial.set_user_attr("worker", self.worker)
        sample = self.space.sample(trial, self.base, self.pretrain, self.n_timesteps)
        hyperparams = {**self.fixed, **sample.hyperparams}
        trial.set_user_attr("hyperparams", jsonable(sample.hyperparams))
        trial.set_user_attr("pretrain", sample.pretrain)
        trial.set_user_attr("pretrain_kwargs", jsonable(sample.pretrain_kwargs))
        if sample.adjusted:
            trial.set_user_attr("adjusted", jsonable(sample.adjusted))
            self._note_budget(trial.number, sample.adjusted)
        curves = LearningCurves(self.metric, self.n_timesteps, self.eval_freq)
        reported: set[int] = set()
        runs: list[dict[str, Any]] = []
        train = self.train_fn or default_train()
        state = {"seed": None}

        def on_eval(num_timesteps: int, result: Any) -> None:
            step, value = curves.record(num_timesteps, result.success_rate, result.mean_return)
            if step not in reported and math.isfinite(value):
                trial.report(value, step)
                reported.add(step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"seed {state['seed']} at {num_timesteps} steps: {self.metric} {value:.4g}")

        try:
            for seed in self.seeds:
                state["seed"] = seed
                k = curves.start_seed()
                start = time.perf_counter()
                run: dict[str, Any] = {"seed": int(seed)}
                runs.append(run)
                result = train(
                    self.algo, self.env_id, n_timesteps=self.n_timesteps, seed=int(seed),
                    log_folder=self.trials_dir / f"{trial.number:04d}" / f"seed_{seed}", conf_file=self.conf_file,
                    hyperparams=hyperparams, eval_freq=self.eval_freq, eval_episodes=self.eval_episodes,
                    eval_seed=self.eval_seed, pretrain=sample.pretrain,
                    dataset=self.dataset if sample.pretrain else None,
                    pretrain_kwargs=dict(sample.pretrain_kwargs) if sample.pretrain else None,
                    env_kwargs=self.env_kwargs, device=self.device, tensorboard=self.tensorboard,
                    verbose=1 if self.verbose > 1 else 0, on_eval=on_eval,
                )
                final = result.final_eval or {}
                run.update(value=curves.seed_value(k), success_rate=final.get("success_rate"),
                           mean_return=final.get("mean_return"), num_timesteps=int(result.num_timesteps),
                           seconds=round(time.perf_counter() - start, 2), run_dir=str(result.run_dir),
                           curve={str(j): v for j, v in sorted(curves.curves[k].items())})
                trial.set_user_attr("seeds", jsonable(runs))
        except optuna.TrialPruned:
            _close_partial(runs, curves)
            trial.set_user_attr("seeds", jsonable(runs))
            raise
        except Exception as exc:
            _close_partial(runs, curves)
            trial.set_user_attr("seeds", jsonable(runs))
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:2000])
            raise
        value = curves.trial_value()
        if not math.isfinite(value):
            raise ValueError(f"trial {trial.number}: the {self.metric} is not a number ({value}); "
                             "check that evaluation ran (eval_freq > 0)")
        return value


    def _note_budget(self, number: int, adjusted: dict[str, list]) -> None:
        """Say once per run that rollouts are shrunk to the budget (the header promised that many steps)."""
        changed = {k: v for k, v in adjusted.items() if k in ("n_steps", "n_envs", "batch_size")}
        if self.say is None or self._budget_noted or not {"n_steps", "n_envs"} & set(changed):
            return
        self._budget_noted = True
        what = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items())
        self.say(f"trial {number}: one rollout (n_steps x n_envs) is larger than the budget of {self.n_timesteps} "
                 f"steps per seed and SB3 trains whole rollouts, so {what}; trials whose rollout does not fit are "
                 "shrunk the same way (see their `adjusted` user attribute)")


def default_train() -> Callable[..., Any]:
    """The training entry point that trials call."""
    from sb3_plus.training import train

    return train


def _close_partial(runs: list[dict[str, Any]], curves: LearningCurves) -> None:
    if runs and "value" not in runs[-1] and curves.curves and curves.curves[-1]:
        k = len(curves.curves) - 1
        runs[-1].update(partial=True, value=curves.seed_value(k),
                        curve={str(j): v for j, v in sorted(curves.curves[k].items())})


def jsonable(value: Any) -> Any:
    """``value`` as JSON data: string keys, lists, non-finite floats as ``None``, numpy scalars as numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return jsonable(value.item())
    except ImportError:  # pragma: no cover
        pass
    return str(value)
