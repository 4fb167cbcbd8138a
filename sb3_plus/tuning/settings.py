"""Every knob of a tuning run in one dataclass, each with its default and a one-line help.

``python -m sb3_plus.tune`` builds its options from these helps and defaults; from Python::

    from sb3_plus.tuning import TuneSettings, tune

    tune(TuneSettings("ppo_lstm", "MazeEasy-v0", n_trials=12, seeds=2, pretrain="bc", dataset="sb3plus/..."))
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

from sb3_plus.tuning.errors import TuneError

__all__ = ["PRUNERS", "SAMPLERS", "TuneSettings", "safe_name", "setting_default", "setting_help"]

SAMPLERS = ("tpe", "random", "cmaes")
PRUNERS = ("median", "halving", "none")


def _knob(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass
class TuneSettings:
    """What to tune and how; :func:`sb3_plus.tuning.tune` runs it.

    Settings that decide what a trial's value means (algorithm, env, metric, budget, evaluation,
    seeds, pretraining, env options, fixed overrides) are stored with the study: resuming it with
    other values is refused, because the trials would not be comparable.
    """

    # --- the study
    algo: str = field(metadata={"help": "algorithm (ppo, ppo_lstm, ...)"})
    env_id: str = field(metadata={"help": "env id"})
    n_trials: int = _knob(20, "finished (complete or pruned) trials the study should have, shared by all workers; "
                              "0 only writes the report (and serves the dashboard)")
    study_name: str | None = _knob(None, "study name (default <algo>-<env>)")
    storage: str | None = _knob(None, "Optuna RDB URL or SQLite file (default sqlite:///<log-folder>/tune/<study>.db)")
    log_folder: str | Path = _knob("logs", "outputs go to <log-folder>/tune/<study>/, trial runs to its trials/")
    sampler: str = _knob("tpe", "tpe (multivariate, conditional params grouped), random, or cmaes (float/int params)")
    sampler_seed: int | None = _knob(None, "sampler seed (a different one per worker)")
    pruner: str = _knob("median", "stop trials whose intermediate values lag: median, halving (successive halving) "
                                  "or none")
    n_startup_trials: int = _knob(5, "random trials before TPE/CMA-ES, and finished trials before the median pruner "
                                     "prunes")
    n_warmup_evals: int | None = _knob(None, "evaluations of a trial before it can be pruned (default: a third of a "
                                             "seed's)")
    timeout: float | None = _knob(None, "seconds after which no new trial starts")
    max_failures: int = _knob(3, "stop after this many failed trials in a row")

    # --- the budget and the evaluation of a trial
    seeds: int | Sequence[int] = _knob(3, "training seeds per trial (seed, seed+1, ...) or their list; the trial's "
                                          "value is their mean")
    seed: int = _knob(0, "first training seed")
    n_timesteps: int | None = _knob(None, "env steps per run (default: the config's)")
    eval_freq: int | None = _knob(None, "env steps between evaluations (default n/5)")
    eval_episodes: int | None = _knob(None, "episodes per evaluation (default: config, else 10)")
    eval_seed: int | None = _knob(None, "first evaluation seed (default 20000; the held-out seeds from 10000 stay "
                                        "for the final report)")
    metric: str | None = _knob(None, "success, return, auc or auc_return (default: success where the env reports "
                                     "it, as ViZDoom and mazes do, else return)")

    # --- what every trial trains
    space: str | Path | None = _knob(None, "search space YAML (default zoo_configs/search_spaces/<algo>.yml)")
    conf_file: str | Path | None = _knob(None, "zoo YAML file (default zoo_configs/<algo>.yml)")
    hyperparams: Mapping[str, Any] | Sequence[str] | None = _knob(
        None, "fixed overrides for every trial (KEY:VALUE strings or a dict); params they set are not tuned")
    env_kwargs: Mapping[str, Any] | None = _knob(None, "env options for every run")
    device: str = _knob("cpu", "torch device of the trial runs")
    tensorboard: bool = _knob(False, "TensorBoard logs for every trial run")

    # --- pretraining
    pretrain: str | None = _knob(None, "pretrain every trial with this method; pretrain.* params of the space are "
                                       "tuned with RL")
    dataset: str | None = _knob(None, "Minari dataset id for pretraining")

    # --- workers sharing the study
    heartbeat_interval: int | None = _knob(10, "seconds between a running trial's heartbeats (0: off)")
    grace_period: int | None = _knob(30, "seconds without a heartbeat after which a running trial (killed worker) is "
                                         "marked failed")

    # --- output
    verbose: int = _knob(1, "0 quiet, 1 a line per trial, 2 every evaluation")
    dashboard: bool = _knob(False, "serve the study with optuna-dashboard while tuning and afterwards, until Ctrl-C")
    dashboard_host: str = _knob("127.0.0.1", "dashboard interface; 0.0.0.0 serves other machines too")
    dashboard_port: int = _knob(8080, "dashboard port")

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Refuse values that cannot work, before anything is loaded.

        :raises TuneError: naming the setting and the fix.
        """
        from sb3_plus.training.pretrain import PRETRAIN_METHODS
        from sb3_plus.tuning.objective import METRICS

        for name, value, allowed in (("metric", self.metric, METRICS), ("sampler", self.sampler, SAMPLERS),
                                     ("pruner", self.pruner, PRUNERS), ("pretrain", self.pretrain, PRETRAIN_METHODS)):
            if value is not None and value not in allowed:
                what = "pretraining method" if name == "pretrain" else name
                raise TuneError(f"unknown {what} {value!r}. Fix: use one of {', '.join(allowed)}")
        if self.n_trials < 0:
            raise TuneError(f"n_trials must be >= 0, got {self.n_trials}. Fix: pass 0 or more")
        if not self.seed_list():
            raise TuneError("a trial needs at least one seed. Fix: --seeds 1 or more")
        # 0 is not "the default": a budget or an evaluation schedule must be given as a positive number or not at all
        for name, flag in (("n_timesteps", "--n-timesteps"), ("eval_freq", "--eval-freq"),
                           ("eval_episodes", "--eval-episodes")):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise TuneError(f"{name} must be >= 1, got {value}. Fix: pass {flag} 1 or more, or leave it out "
                                "for the default")

    def seed_list(self) -> list[int]:
        """The training seeds of every trial."""
        if isinstance(self.seeds, int):
            return [self.seed + i for i in range(int(self.seeds))]
        return [int(s) for s in self.seeds]

    @property
    def name(self) -> str:
        """The study name (``<algo>-<env_id>`` unless set)."""
        return self.study_name or f"{self.algo}-{self.env_id}"

    @property
    def out_dir(self) -> Path:
        """``<log_folder>/tune/<study>``: the outputs, trial runs in its ``trials/``."""
        return Path(self.log_folder) / "tune" / safe_name(self.name)

    def storage_url(self) -> str:
        """The storage as a usable URL (the default SQLite file unless ``storage`` is set).

        :raises TuneError: for a URL that cannot be parsed or whose driver is not installed.
        """
        from sb3_plus.tuning.storage import default_storage_url, normalize_url

        return normalize_url(self.storage or default_storage_url(self.log_folder, safe_name(self.name)))


def safe_name(name: str) -> str:
    """``name`` usable as a file name (runs of other characters become ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "study"


def setting_help(name: str) -> str:
    """The one-line help of a :class:`TuneSettings` field.

    :param name: the field name.
    """
    return next(f.metadata["help"] for f in fields(TuneSettings) if f.name == name)


def setting_default(name: str) -> Any:
    """The default of a :class:`TuneSettings` field (``None`` for a required one).

    :param name: the field name.
    """
    default = next(f.default for f in fields(TuneSettings) if f.name == name)
    return None if default is MISSING else default
