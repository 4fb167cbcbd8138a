"""A tuning run's settings resolved against the zoo config, the search space and the datasets.

Everything that can be wrong with the settings is found here, before a study is opened or a
trial runs; :meth:`StudyPlan.record` is what the study stores to refuse incomparable resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from sb3_plus.tuning.errors import SearchSpaceError, TuneError
from sb3_plus.tuning.objective import LearningCurves, Objective, jsonable
from sb3_plus.tuning.params import NO_PRETRAIN
from sb3_plus.tuning.settings import TuneSettings
from sb3_plus.tuning.spaces import SearchSpace, load_search_space

__all__ = ["StudyPlan", "plan_study"]


@dataclass
class StudyPlan:
    """What every trial of a study runs with.

    :param settings: the settings as given.
    :param metric: the objective metric (the env family's default when not set).
    :param seeds: training seeds of every trial.
    :param fixed: the fixed overrides, parsed.
    :param base: the zoo config with ``fixed`` applied, that trials start from.
    :param n_timesteps: env steps per run.
    :param eval_freq: env steps between evaluations.
    :param eval_episodes: episodes per evaluation.
    :param eval_seed: first evaluation seed.
    :param search: the search space for the env, params pinned by ``fixed`` left out.
    :param methods: the pretraining methods trials may use.
    :param dataset: the Minari dataset for pretraining, or ``None``.
    :param warmup: evaluations of a trial before it can be pruned.
    """

    settings: TuneSettings
    metric: str
    seeds: list[int]
    fixed: dict[str, Any]
    base: Any
    n_timesteps: int
    eval_freq: int
    eval_episodes: int
    eval_seed: int
    search: SearchSpace
    methods: list[str]
    dataset: str | None
    warmup: int

    @property
    def evals_per_seed(self) -> int:
        """Evaluations of one seed's run (after pretraining not counted)."""
        return LearningCurves(self.metric, self.n_timesteps, self.eval_freq).evals_per_seed

    def record(self) -> dict[str, Any]:
        """The settings stored with the study (JSON-able): what the trials' values mean."""
        s = self.settings
        return jsonable({
            "algo": s.algo, "env_id": s.env_id, "metric": self.metric, "n_timesteps": self.n_timesteps,
            "eval_freq": self.eval_freq, "eval_episodes": self.eval_episodes, "eval_seed": self.eval_seed,
            "seeds": self.seeds, "pretrain": s.pretrain, "dataset": self.dataset,
            "env_kwargs": dict(s.env_kwargs or {}), "fixed": self.fixed,
            "conf_file": str(s.conf_file) if s.conf_file else None,
            "space_file": self.search.file, "space_section": self.search.section, "space": self.search.to_dict(),
            "evals_per_seed": self.evals_per_seed,
        })

    def objective(self, train_fn: Callable[..., Any] | None = None,
                  say: Callable[[str], None] | None = None) -> Objective:
        """The callable that runs one trial.

        :param train_fn: the training function (default :func:`sb3_plus.training.train`).
        :param say: where the objective's notes go (``None``: nowhere).
        """
        s = self.settings
        return Objective(
            algo=s.algo, env_id=s.env_id, space=self.search, base=self.base, fixed=self.fixed, seeds=self.seeds,
            n_timesteps=self.n_timesteps, eval_freq=self.eval_freq, eval_episodes=self.eval_episodes,
            metric=self.metric, eval_seed=self.eval_seed, trials_dir=s.out_dir / "trials", n_trials=s.n_trials,
            conf_file=str(s.conf_file) if s.conf_file else None, pretrain=s.pretrain, dataset=self.dataset,
            env_kwargs=dict(s.env_kwargs) if s.env_kwargs else None, device=s.device, tensorboard=s.tensorboard,
            verbose=s.verbose, train_fn=train_fn, say=say)


def plan_study(settings: TuneSettings) -> StudyPlan:
    """Resolve ``settings`` against the config, the space and the datasets.

    :param settings: the tuning settings.
    :raises TuneError: for a budget, evaluation, seeds or pretraining that cannot work.
    :raises SearchSpaceError: for a bad search space, or one with no param left for the env.
    :raises ConfigError: for a bad zoo config or fixed override.
    """
    from sb3_plus.config import load_hyperparams

    settings.check()
    seeds = settings.seed_list()
    fixed = _fixed_overrides(settings.hyperparams)
    base = load_hyperparams(settings.algo, settings.env_id, conf_file=settings.conf_file, overrides=fixed or None)
    n_timesteps, eval_freq, eval_episodes, eval_seed = _budget(settings, base, seeds)
    search = _search_space(settings, base, fixed)
    methods, dataset = _pretraining(settings, base, search)
    metric = settings.metric or _default_metric(settings.env_id)
    curves = LearningCurves(metric, n_timesteps, eval_freq)
    warmup = curves.evals_per_seed // 3 if settings.n_warmup_evals is None else int(settings.n_warmup_evals)
    return StudyPlan(settings=settings, metric=metric, seeds=seeds, fixed=fixed, base=base, n_timesteps=n_timesteps,
                     eval_freq=eval_freq, eval_episodes=eval_episodes, eval_seed=eval_seed, search=search,
                     methods=methods, dataset=dataset, warmup=warmup)


def _default_metric(env_id: str) -> str:
    from sb3_plus.envs import family_of
    from sb3_plus.envs.registry import reports_success

    family_of(env_id)  # loads the built-in families
    return "success" if reports_success(env_id) else "return"


def _fixed_overrides(hyperparams: Mapping[str, Any] | Sequence[str] | None) -> dict[str, Any]:
    from sb3_plus.config import parse_overrides

    if isinstance(hyperparams, (list, tuple)):
        return dict(parse_overrides(list(hyperparams)))
    return dict(hyperparams or {})


def _budget(settings: TuneSettings, base: Any, seeds: list[int]) -> tuple[int, int, int, int]:
    """``n_timesteps``, ``eval_freq``, ``eval_episodes``, ``eval_seed``, defaults filled in and checked."""
    from sb3_plus.evaluation import VALIDATION_SEED

    n_timesteps = int(base.n_timesteps if settings.n_timesteps is None else settings.n_timesteps)
    if n_timesteps < 1:
        raise TuneError(f"n_timesteps must be >= 1, got {n_timesteps}. Fix: pass --n-timesteps 1 or more")
    eval_freq = int(max(n_timesteps // 5, 1) if settings.eval_freq is None else settings.eval_freq)
    if eval_freq < 1:
        raise TuneError(f"eval_freq must be >= 1 (trials are judged by evaluations), got {eval_freq}. "
                        "Fix: pass --eval-freq 1 or more")
    eval_episodes = int(settings.eval_episodes or base.eval_episodes or 10)
    eval_seed = VALIDATION_SEED if settings.eval_seed is None else int(settings.eval_seed)
    if set(seeds) & set(range(eval_seed, eval_seed + eval_episodes)):
        raise TuneError(f"training seeds {seeds} overlap the evaluation seeds {eval_seed}.."
                        f"{eval_seed + eval_episodes - 1}. Fix: change --seed or --eval-seed")
    return n_timesteps, eval_freq, eval_episodes, eval_seed


def _search_space(settings: TuneSettings, base: Any, fixed: dict[str, Any]) -> SearchSpace:
    from sb3_plus.training.pretrain import PRETRAIN_METHODS

    search = load_search_space(settings.algo, settings.env_id, settings.space, base=base, pinned=fixed)
    if not search.params:
        pinned = ", all pinned by overrides" if search.pinned else ""
        raise SearchSpaceError(f"{search.file}: no params apply to {settings.env_id} (section "
                               f"{search.section or 'default'}{pinned}). Fix: add params", file=search.file)
    method_param = search.get("pretrain.method")
    if method_param is not None and settings.pretrain is None:
        for choice in method_param.choices:
            if choice not in NO_PRETRAIN and choice not in PRETRAIN_METHODS:
                raise search.error(method_param, "choices", f"{choice!r} is not available for training "
                                   f"(methods: {', '.join(PRETRAIN_METHODS)})", "remove it from the choices")
    return search


def _pretraining(settings: TuneSettings, base: Any, search: SearchSpace) -> tuple[list[str], str | None]:
    """The methods trials may pretrain with and their dataset (checked to exist where a method needs one)."""
    methods = [m for m in search.pretrain_methods(settings.pretrain) if m is not None]
    if not methods and base.pretrain and base.pretrain.get("method"):
        methods = [base.pretrain["method"]]
    dataset = settings.dataset or (base.pretrain or {}).get("dataset")
    needs_data = [m for m in methods if m != "dagger"]   # DAgger asks the expert online instead
    if needs_data and not dataset:
        raise TuneError(f"pretraining with {needs_data[0]} needs a dataset. Fix: pass --dataset ID (make one with "
                        "python -m sb3_plus.collect_expert)")
    if dataset and methods:
        from sb3_plus.data.storage import datasets_root

        if not (datasets_root() / dataset).exists():
            raise TuneError(f"dataset {dataset!r} not found under {datasets_root()}. Fix: make it with "
                            f"python -m sb3_plus.collect_expert --env {settings.env_id} --dataset-id {dataset}, "
                            "or set MINARI_DATASETS_PATH")
    return methods, dataset if methods else None
