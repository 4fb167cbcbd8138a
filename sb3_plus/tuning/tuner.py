"""``tune()``: an Optuna study over a search space, one or many workers, resumable.

The study lives in an RDB (SQLite file by default). Running the same call again resumes
it; several processes, on one or many machines, given the same study name and storage URL
share it. ``n_trials`` is the study's target of finished (complete or pruned) trials,
shared by every worker: a worker stops once the trials finished, running or queued reach
it, and a trial that finds the target already met is not run (it is closed as ``FAIL``
with the user attribute ``surplus``). A worker killed mid-trial leaves a ``RUNNING`` trial
without heartbeats; once its grace period has passed it is marked ``FAIL`` and its params
are queued again once (see :mod:`sb3_plus.tuning.storage`).

The study's settings (algorithm, env, metric, budget, evaluation, seeds, pretraining) are
stored with it; resuming with different ones is refused, because the trials would not be
comparable.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from sb3_plus.tuning.objective import METRICS, LearningCurves, Objective, worker_id
from sb3_plus.tuning.spaces import NO_PRETRAIN, SearchSpaceError, load_search_space
from sb3_plus.tuning.storage import (TuneError, count_trials, default_storage_url, mask_url, normalize_url,
                                    open_storage)

__all__ = ["PRUNERS", "SAMPLERS", "TuneResult", "make_pruner", "make_sampler", "report_study", "tune"]

SAMPLERS = ("tpe", "random", "cmaes")
PRUNERS = ("median", "halving", "none")
#: Settings that must match when a study is resumed.
COMPARABLE = ("algo", "env_id", "metric", "n_timesteps", "eval_freq", "eval_episodes", "eval_seed", "seeds",
              "pretrain", "dataset")
_ATTR = "sb3_plus"


@dataclass
class TuneResult:
    """What a tuning run left behind.

    :param study_name: the study.
    :param storage: its storage URL (password hidden).
    :param out_dir: the output folder (``<log_folder>/tune/<study>``).
    :param counts: trials by state.
    :param best_trial: number of the best complete trial, or ``None``.
    :param best_value: its value.
    :param best_params: its sampled params.
    :param outputs: paths of the written outputs by kind.
    :param report: the content of ``report.json``.
    :param trials_run: trials this call ran.
    """

    study_name: str
    storage: str
    out_dir: Path
    counts: dict[str, int]
    best_trial: int | None
    best_value: float | None
    best_params: dict[str, Any]
    outputs: dict[str, str]
    report: dict[str, Any] = field(default_factory=dict)
    trials_run: int = 0


def make_sampler(name: str, n_startup_trials: int = 5, seed: int | None = None, space: Any = None) -> Any:
    """An Optuna sampler by name.

    - ``tpe``: multivariate TPE over grouped (conditional) params, with the constant liar so
      that parallel workers do not all sample the same point;
    - ``random``;
    - ``cmaes``: CMA-ES for float and int params (categoricals go to TPE beside it).

    :param name: one of :data:`SAMPLERS`.
    :param n_startup_trials: random trials before the model-based sampler starts.
    :param seed: sampler seed (give each worker its own).
    :param space: the search space, to check that CMA-ES applies.
    """
    import optuna

    if name == "tpe":
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(n_startup_trials=n_startup_trials, seed=seed, multivariate=True,
                                              group=True, constant_liar=True)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise TuneError("--sampler cmaes needs the cmaes package. Fix: pip install cmaes, or use --sampler tpe") \
                from None
        if space is not None and not any(p.kind in ("float", "int") for p in space.params):
            raise TuneError(f"--sampler cmaes samples float and int params, and the space {space.file} has only "
                            "categorical ones. Fix: use --sampler tpe")
        independent = optuna.samplers.TPESampler(n_startup_trials=n_startup_trials, seed=seed)
        return optuna.samplers.CmaEsSampler(n_startup_trials=n_startup_trials, seed=seed,
                                            independent_sampler=independent, warn_independent_sampling=False)
    raise TuneError(f"unknown sampler {name!r}. Fix: use one of {', '.join(SAMPLERS)}")


def make_pruner(name: str, n_startup_trials: int = 5, n_warmup_steps: int = 0) -> Any:
    """An Optuna pruner by name: ``median``, ``halving`` (successive halving) or ``none``.

    :param name: one of :data:`PRUNERS`.
    :param n_startup_trials: trials that finish before the median pruner prunes anything.
    :param n_warmup_steps: reported steps (evaluations) of a trial before it can be pruned.
    """
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, n_warmup_steps), reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise TuneError(f"unknown pruner {name!r}. Fix: use one of {', '.join(PRUNERS)}")


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "study"


def _jsonable(value: Any) -> Any:
    from sb3_plus.tuning.objective import _jsonable as convert

    return convert(value)


def _check_settings(study: Any, settings: dict[str, Any], storage: str) -> bool:
    """Store the settings with a new study, or check a resumed study's; return whether it is resumed."""
    stored = study.user_attrs.get(_ATTR)
    if stored is None:
        study.set_user_attr(_ATTR, settings)
        return False
    diffs = [f"{key}: study {stored.get(key)!r}, now {settings.get(key)!r}" for key in COMPARABLE
             if stored.get(key) != settings.get(key)]
    if diffs:
        raise TuneError(f"study {study.study_name!r} in {storage} was made with other settings ({'; '.join(diffs)}); "
                        "its trials would not be comparable. Fix: run with the study's settings, or pick a new "
                        "--study-name")
    return True


def _format_seeds(trial: Any) -> str:
    runs = trial.user_attrs.get("seeds") or []
    parts = [f"seed {r.get('seed')}: {r['value']:.3g}" for r in runs
             if isinstance(r.get("value"), (int, float)) and r.get("value") is not None]
    return f" ({', '.join(parts)})" if parts else ""


def tune(
    algo: str,
    env_id: str,
    n_trials: int = 20,
    study_name: str | None = None,
    storage: str | None = None,
    log_folder: str | Path = "logs",
    sampler: str = "tpe",
    pruner: str = "median",
    n_startup_trials: int = 5,
    n_warmup_evals: int | None = None,
    seeds: int | Sequence[int] = 3,
    seed: int = 0,
    n_timesteps: int | None = None,
    eval_freq: int | None = None,
    eval_episodes: int | None = None,
    eval_seed: int | None = None,
    metric: str | None = None,
    timeout: float | None = None,
    space: str | Path | None = None,
    conf_file: str | Path | None = None,
    hyperparams: Mapping[str, Any] | Sequence[str] | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    pretrain: str | None = None,
    dataset: str | None = None,
    sampler_seed: int | None = None,
    heartbeat_interval: int | None = 10,
    grace_period: int | None = 30,
    max_failures: int = 3,
    device: str = "cpu",
    tensorboard: bool = False,
    verbose: int = 1,
    print_fn: Callable[[str], None] | None = None,
    train_fn: Callable[..., Any] | None = None,
) -> TuneResult:
    """Tune ``algo`` on ``env_id`` with Optuna; write the best config, a report and plots.

    :param algo: the algorithm (``ppo``, ``ppo_lstm``, ...).
    :param env_id: the env id.
    :param n_trials: the study's target of finished (complete or pruned) trials, shared by all workers;
        0 only writes the outputs of an existing study.
    :param study_name: the study (default ``<algo>-<env_id>``).
    :param storage: an RDB URL or SQLite path (default ``sqlite:///<log_folder>/tune/<study>.db``).
    :param log_folder: outputs go to ``<log_folder>/tune/<study>/``, trial runs to its ``trials/``.
    :param sampler: ``tpe``, ``random`` or ``cmaes``.
    :param pruner: ``median``, ``halving`` or ``none``.
    :param n_startup_trials: random trials before TPE / CMA-ES, and trials before the median pruner prunes.
    :param n_warmup_evals: evaluations of a trial before it can be pruned (default a third of a seed's).
    :param seeds: number of training seeds per trial (``seed, seed+1, ...``) or the list of seeds.
    :param seed: first training seed.
    :param n_timesteps: env steps per run (default: the zoo config's).
    :param eval_freq: env steps between evaluations (default ``n_timesteps // 5``).
    :param eval_episodes: episodes per evaluation (default: the config's, else 10).
    :param eval_seed: first evaluation seed (default 20000, apart from the held-out seeds from 10000).
    :param metric: ``success``, ``return``, ``auc`` or ``auc_return`` (see :mod:`sb3_plus.tuning.objective`);
        default ``success`` for env families that report success (ViZDoom, mazes), else ``return``.
    :param timeout: stop starting trials after this many seconds.
    :param space: search space file (default ``zoo_configs/search_spaces/<algo>.yml``).
    :param conf_file: zoo config file (default ``zoo_configs/<algo>.yml``).
    :param hyperparams: overrides for every trial (``["n_envs:4"]`` or a dict); params they set are not tuned.
    :param env_kwargs: env options for every run.
    :param pretrain: pretraining method for every trial (``bc``); with ``dataset``.
    :param dataset: Minari dataset id for pretraining.
    :param sampler_seed: seed of the sampler (several workers need different ones).
    :param heartbeat_interval: seconds between heartbeats of a running trial (0: off).
    :param grace_period: seconds without heartbeat before a running trial counts as dead.
    :param max_failures: stop after this many failed trials in a row.
    :param device: torch device.
    :param tensorboard: TensorBoard logs for every run.
    :param verbose: 0 quiet, 1 a line per trial, 2 also every evaluation.
    :param print_fn: where progress lines go (default ``print``).
    :param train_fn: the training function (default :func:`sb3_plus.train.train`).
    :raises TuneError: for settings that do not fit the study, a storage that cannot be opened,
        or ``max_failures`` failed trials in a row.
    :raises SearchSpaceError: for a bad search space.
    """
    import optuna

    from sb3_plus.config import load_hyperparams, parse_overrides
    from sb3_plus.evaluation import VALIDATION_SEED
    from sb3_plus.training.pretrain import PRETRAIN_METHODS

    say = print_fn or (lambda line: print(line, flush=True))
    if metric is None:
        from sb3_plus.envs import family_of

        metric = "return" if family_of(env_id) == "gym" else "success"
    if metric not in METRICS:
        raise TuneError(f"unknown metric {metric!r}. Fix: use one of {', '.join(METRICS)}")
    if sampler not in SAMPLERS:
        raise TuneError(f"unknown sampler {sampler!r}. Fix: use one of {', '.join(SAMPLERS)}")
    if pruner not in PRUNERS:
        raise TuneError(f"unknown pruner {pruner!r}. Fix: use one of {', '.join(PRUNERS)}")
    if n_trials < 0:
        raise TuneError(f"n_trials must be >= 0, got {n_trials}")
    seed_list = [seed + i for i in range(int(seeds))] if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise TuneError("a trial needs at least one seed. Fix: --seeds 1 or more")
    if n_trials == 0:
        return report_study(algo, env_id, study_name=study_name, storage=storage, log_folder=log_folder,
                            verbose=verbose, print_fn=say)
    fixed: dict[str, Any] = dict(parse_overrides(list(hyperparams)) if isinstance(hyperparams, (list, tuple))
                                 else (hyperparams or {}))
    base = load_hyperparams(algo, env_id, conf_file=conf_file, overrides=fixed or None)
    n_timesteps = int(n_timesteps or base.n_timesteps)
    if n_timesteps < 1:
        raise TuneError(f"n_timesteps must be >= 1, got {n_timesteps}")
    eval_freq = int(eval_freq or max(n_timesteps // 5, 1))
    if eval_freq < 1:
        raise TuneError(f"eval_freq must be >= 1 (trials are judged by evaluations), got {eval_freq}")
    eval_episodes = int(eval_episodes or base.eval_episodes or 10)
    eval_seed = VALIDATION_SEED if eval_seed is None else int(eval_seed)
    if set(seed_list) & set(range(eval_seed, eval_seed + eval_episodes)):
        raise TuneError(f"training seeds {seed_list} overlap the evaluation seeds {eval_seed}.."
                        f"{eval_seed + eval_episodes - 1}. Fix: change --seed or --eval-seed")
    if pretrain is not None and pretrain not in PRETRAIN_METHODS:
        raise TuneError(f"unknown pretraining method {pretrain!r}. Fix: use one of {', '.join(PRETRAIN_METHODS)}")

    search = load_search_space(algo, env_id, space, base=base, pinned=fixed)
    if not search.params:
        raise SearchSpaceError(f"{search.file}: no params apply to {env_id} (section {search.section or 'default'}"
                               f"{', all pinned by overrides' if search.pinned else ''}). Fix: add params",
                               file=search.file)
    method_param = search.get("pretrain.method")
    if method_param is not None and pretrain is None:
        for choice in method_param.choices:
            if choice not in NO_PRETRAIN and choice not in PRETRAIN_METHODS:
                raise search.error(method_param, "choices", f"{choice!r} is not available in sb3_plus.train "
                                   f"(methods: {', '.join(PRETRAIN_METHODS)})", "remove it from the choices")
    methods = [m for m in search.pretrain_methods(pretrain) if m is not None]
    if not methods and base.pretrain and base.pretrain.get("method"):
        methods = [base.pretrain["method"]]
    dataset = dataset or (base.pretrain or {}).get("dataset")
    needs_data = [m for m in methods if m != "dagger"]   # DAgger asks the expert online instead
    if needs_data and not dataset:
        raise TuneError(f"pretraining with {needs_data[0]} needs a dataset. Fix: pass --dataset ID (make one with "
                        "python -m sb3_plus.collect_expert)")
    if dataset and methods:
        from sb3_plus.data.storage import datasets_root

        if not (datasets_root() / dataset).exists():
            raise TuneError(f"dataset {dataset!r} not found under {datasets_root()}. Fix: make it with "
                            f"python -m sb3_plus.collect_expert --env {env_id} --dataset-id {dataset}, "
                            "or set MINARI_DATASETS_PATH")

    study_name = study_name or f"{algo}-{env_id}"
    out_dir = Path(log_folder) / "tune" / _safe_name(study_name)
    url = storage or default_storage_url(log_folder, _safe_name(study_name))
    curves = LearningCurves(metric, n_timesteps, eval_freq)
    warmup = curves.evals_per_seed // 3 if n_warmup_evals is None else int(n_warmup_evals)
    settings = _jsonable({
        "algo": algo, "env_id": env_id, "metric": metric, "n_timesteps": n_timesteps, "eval_freq": eval_freq,
        "eval_episodes": eval_episodes, "eval_seed": eval_seed, "seeds": seed_list,
        "pretrain": pretrain, "dataset": dataset if methods else None,
        "env_kwargs": dict(env_kwargs or {}), "fixed": fixed, "conf_file": str(conf_file) if conf_file else None,
        "space_file": search.file, "space_section": search.section, "space": search.to_dict(),
        "evals_per_seed": curves.evals_per_seed,
    })

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message=".*truncated mini-batch.*")
        previous_verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            url = normalize_url(url)
            shown_url = mask_url(url)
            rdb = open_storage(url, heartbeat_interval, grace_period)
            study = optuna.create_study(
                study_name=study_name, storage=rdb, direction="maximize", load_if_exists=True,
                sampler=make_sampler(sampler, n_startup_trials, sampler_seed, search),
                pruner=make_pruner(pruner, n_startup_trials, warmup))
            resumed = _check_settings(study, settings, shown_url)
            stale = fail_stale(study)
            objective = Objective(
                algo=algo, env_id=env_id, space=search, base=base, fixed=fixed, seeds=seed_list,
                n_timesteps=n_timesteps, eval_freq=eval_freq, eval_episodes=eval_episodes, metric=metric,
                eval_seed=eval_seed, trials_dir=out_dir / "trials", n_trials=n_trials,
                conf_file=str(conf_file) if conf_file else None, pretrain=pretrain,
                dataset=dataset if methods else None, env_kwargs=dict(env_kwargs) if env_kwargs else None,
                device=device, tensorboard=tensorboard, verbose=verbose, train_fn=train_fn, worker=worker_id())
            if verbose:
                _print_header(say, study, resumed, shown_url, settings, search, sampler, pruner, n_startup_trials,
                              warmup, n_trials, objective.worker)
                _print_stale(say, stale, grace_period)
            ran = _run(study, objective, n_trials, timeout, max_failures, verbose, say)
            if verbose:
                running = [t.number for t in study.get_trials(deepcopy=False,
                                                              states=(optuna.trial.TrialState.RUNNING,))]
                if running:
                    say(f"trials {running} are still RUNNING: another worker's, or a killed worker's that the next "
                        f"run marks failed once {grace_period} s have passed without a heartbeat (then re-run to "
                        "fill the study)")
            from sb3_plus.tuning.report import write_outputs

            report = write_outputs(study, settings, out_dir)
        finally:
            optuna.logging.set_verbosity(previous_verbosity)
    result = _result(study, shown_url, out_dir, report, ran["count"])
    if verbose:
        _print_footer(say, result, metric)
    if ran["failures"] >= max_failures > 0:
        raise TuneError(f"{ran['failures']} trials in a row failed; the last one: {ran['last_error']}. Fix: correct "
                        "the cause (see trials.csv and the trial's run folder), then re-run the same command")
    return result


def _result(study: Any, url: str, out_dir: Path, report: dict[str, Any], ran: int) -> TuneResult:
    best = report.get("best")
    return TuneResult(study_name=study.study_name, storage=url, out_dir=out_dir, counts=count_trials(study),
                      best_trial=best["number"] if best else None, best_value=best["value"] if best else None,
                      best_params=dict(best["params"]) if best else {}, outputs=report["outputs"], report=report,
                      trials_run=ran)


def report_study(algo: str, env_id: str, study_name: str | None = None, storage: str | None = None,
                 log_folder: str | Path = "logs", verbose: int = 1,
                 print_fn: Callable[[str], None] | None = None) -> TuneResult:
    """Write the outputs of an existing study (what ``tune(..., n_trials=0)`` does); runs no trial.

    The study's own settings (stored when it was made) are used, so only its name and storage are needed.

    :param algo: the algorithm the study tuned (checked against the study).
    :param env_id: the env the study tuned (checked against the study).
    :param study_name: the study (default ``<algo>-<env_id>``).
    :param storage: its storage (default ``sqlite:///<log_folder>/tune/<study>.db``).
    :param log_folder: outputs go to ``<log_folder>/tune/<study>/``.
    :param verbose: 0 quiet.
    :param print_fn: where lines go (default ``print``).
    :raises TuneError: when there is no such study, or it tuned another algorithm or env.
    """
    import optuna

    say = print_fn or (lambda line: print(line, flush=True))
    study_name = study_name or f"{algo}-{env_id}"
    url = normalize_url(storage or default_storage_url(log_folder, _safe_name(study_name)))
    shown_url = mask_url(url)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        rdb = open_storage(url, heartbeat_interval=None)
        if study_name not in {s.study_name for s in rdb.get_all_studies()}:
            raise TuneError(f"no study {study_name!r} in {shown_url}. Fix: check --study-name and --storage, "
                            "or run trials first (--n-trials N)")
        study = optuna.load_study(study_name=study_name, storage=rdb)
        settings = study.user_attrs.get(_ATTR)
        if settings is None:
            raise TuneError(f"study {study_name!r} in {shown_url} was not made by sb3_plus.tune (it has no "
                            "settings). Fix: inspect it with optuna-dashboard " + shown_url)
        if (settings.get("algo"), settings.get("env_id")) != (algo, env_id):
            raise TuneError(f"study {study_name!r} tuned {settings.get('algo')} on {settings.get('env_id')}, not "
                            f"{algo} on {env_id}. Fix: pass --algo {settings.get('algo')} --env {settings.get('env_id')}")
        from sb3_plus.tuning.report import write_outputs

        out_dir = Path(log_folder) / "tune" / _safe_name(study_name)
        report = write_outputs(study, settings, out_dir)
    result = _result(study, shown_url, out_dir, report, 0)
    if verbose:
        _print_footer(say, result, settings.get("metric", "value"))
    return result


def fail_stale(study: Any) -> dict[int, int | None]:
    """Mark running trials without a recent heartbeat (their worker died) as ``FAIL``.

    :return: ``{failed trial number: number of the trial that retries its params, or None}``.
    """
    import optuna
    from optuna.trial import TrialState

    before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
    if not before:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        failed = {t.number for t in trials if t.number in before and t.state == TrialState.FAIL}
        retries = {optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(t): t.number
                   for t in trials if t.state == TrialState.WAITING}
    return {number: retries.get(number) for number in sorted(failed)}


def _grace_period(study: Any) -> int | None:
    grace = getattr(study._storage, "grace_period", None)
    return grace if isinstance(grace, int) else None


def _print_stale(say: Callable[[str], None], stale: dict[int, int | None], grace: int | None) -> None:
    for number, retry in stale.items():
        again = f"; its params run again as trial {retry}" if retry is not None else ""
        say(f"trial {number} was RUNNING without a heartbeat for over {grace or '?'} s (its worker died): "
            f"marked FAIL{again}")


def _run(study: Any, objective: Objective, n_trials: int, timeout: float | None, max_failures: int, verbose: int,
         say: Callable[[str], None]) -> dict[str, Any]:
    """Run trials until the study has ``n_trials`` finished, running or queued trials (or time is up)."""
    from optuna.trial import TrialState

    deadline = None if timeout is None else time.monotonic() + float(timeout)
    state: dict[str, Any] = {"count": 0, "failures": 0, "last_error": None}

    def active_and_waiting() -> tuple[int, int]:
        counts = count_trials(study)
        active = sum(counts.get(s, 0) for s in ("COMPLETE", "PRUNED", "RUNNING", "WAITING"))
        return active, counts.get("WAITING", 0)

    def after_trial(study: Any, trial: Any) -> None:
        if trial.user_attrs.get("surplus"):
            return
        state["count"] += 1
        if trial.state == TrialState.FAIL:
            state["failures"] += 1
            state["last_error"] = trial.user_attrs.get("error") or "unknown error (see the log above)"
        else:
            state["failures"] = 0
        if verbose:
            say(_trial_line(study, trial, objective))
        if max_failures > 0 and state["failures"] >= max_failures:
            study.stop()
            return
        active, waiting = active_and_waiting()
        if active >= n_trials and waiting == 0:
            study.stop()

    while True:
        stale = fail_stale(study)
        if verbose:
            _print_stale(say, stale, _grace_period(study))
        active, waiting = active_and_waiting()
        todo = n_trials - active
        if (todo <= 0 and waiting == 0) or (max_failures > 0 and state["failures"] >= max_failures):
            break
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        before = state["count"]
        study.optimize(objective, n_trials=max(todo, 0) + waiting, timeout=left, callbacks=[after_trial],
                       catch=(Exception,), gc_after_trial=True, show_progress_bar=False)
        if state["count"] == before:
            break
    return state


def _trial_line(study: Any, trial: Any, objective: Objective) -> str:
    from optuna.trial import TrialState

    duration = ""
    if trial.datetime_start and trial.datetime_complete:
        duration = f"  {(trial.datetime_complete - trial.datetime_start).total_seconds():.1f} s"
    try:
        best = study.best_trial
        best_text = f"  best: trial {best.number} = {best.value:.4g}"
    except ValueError:
        best_text = ""
    head = f"trial {trial.number:>3} {trial.state.name:<8}"
    if trial.state == TrialState.COMPLETE:
        return f"{head} {objective.metric} {trial.value:.4g}{_format_seeds(trial)}{duration}{best_text}"
    if trial.state == TrialState.PRUNED:
        last = trial.last_step
        value = trial.intermediate_values.get(last) if last is not None else None
        where = ""
        if last is not None:
            per_seed = LearningCurves(objective.metric, objective.n_timesteps, objective.eval_freq).stride
            seed_index, j = divmod(last, per_seed)
            seed = objective.seeds[seed_index] if seed_index < len(objective.seeds) else seed_index
            where = f" at seed {seed}, evaluation {j}"
        shown = f" ({objective.metric} {value:.4g})" if isinstance(value, float) and math.isfinite(value) else ""
        return f"{head}{where}{shown}{duration}{best_text}"
    return f"{head} {trial.user_attrs.get('error', '')}{duration}"


def _print_header(say: Callable[[str], None], study: Any, resumed: bool, url: str, settings: dict[str, Any],
                  search: Any, sampler: str, pruner: str, n_startup: int, warmup: int, n_trials: int,
                  worker: str) -> None:
    from sb3_plus.tuning.dashboard import dashboard_command

    counts = count_trials(study)
    state = "resumed (" + ", ".join(f"{v} {k.lower()}" for k, v in sorted(counts.items())) + ")" if resumed \
        else "new"
    say(f"study {study.study_name!r} in {url}: {state}; target {n_trials} finished trials")
    say(f"  objective: {settings['metric']} ({METRICS[settings['metric']]}), mean over seeds {settings['seeds']}; "
        f"{settings['n_timesteps']} steps per seed, evaluation every {settings['eval_freq']} steps on "
        f"{settings['eval_episodes']} episodes from seed {settings['eval_seed']}")
    pretrain = settings.get("pretrain") or ("tuned" if search.get("pretrain.method") else None)
    say(f"  {len(search.params)} params from {search.file} (section {search.section or 'default'})"
        + (f"; pinned by overrides: {', '.join(search.pinned)}" if search.pinned else "")
        + (f"; pretraining: {pretrain} on {settings.get('dataset')}" if pretrain else ""))
    say(f"  sampler {sampler}, pruner {pruner} ({n_startup} startup trials, {warmup} warm-up evaluations); "
        f"worker {worker}")
    say(f"  dashboard: {dashboard_command(url)}")


def _print_footer(say: Callable[[str], None], result: TuneResult, metric: str) -> None:
    counts = ", ".join(f"{v} {k.lower()}" for k, v in sorted(result.counts.items()))
    say(f"study {result.study_name!r}: {counts}; this run ran {result.trials_run}")
    if result.best_trial is not None:
        say(f"best: trial {result.best_trial}, {metric} {result.best_value:.4g}, params {result.best_params}")
    for kind, path in result.outputs.items():
        say(f"  {kind}: {path}")
    from sb3_plus.tuning.dashboard import dashboard_command

    say(f"dashboard: {dashboard_command(result.storage)}")
