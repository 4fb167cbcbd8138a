"""``tune()``: an Optuna study over a search space, one or many workers, resumable.

The study lives in an RDB (SQLite file by default). Running the same settings again resumes
it; several processes, on one or many machines, given the same study name and storage URL
share it. ``n_trials`` is the study's target of finished (complete or pruned) trials,
shared by every worker: a worker stops once the trials finished, running or queued reach
it, and a trial that finds the target already met is not run (it is closed as ``FAIL``
with the user attribute ``surplus``). A worker killed mid-trial leaves a ``RUNNING`` trial
without heartbeats; once its grace period has passed it is marked ``FAIL`` and its params
are queued again once (see :mod:`sb3_plus.tuning.storage`). A worker does not count such a
trial towards the target: when only trials whose heartbeat has stopped fill the study, it
waits for their grace period to pass and runs their params again, so re-running right after
a kill still ends with ``n_trials`` finished trials.

The phases: :func:`~sb3_plus.tuning.plan.plan_study` resolves and checks the settings,
:func:`~sb3_plus.tuning.study.open_study` opens or resumes the study (refusing other
settings), :func:`run_trials` runs the trials, :func:`~sb3_plus.tuning.report.write_outputs`
writes the outputs.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from sb3_plus.tuning.console import (
    print_footer,
    print_header,
    print_running,
    print_stale,
    print_waiting,
    trial_line,
)
from sb3_plus.tuning.errors import TuneError
from sb3_plus.tuning.objective import Objective
from sb3_plus.tuning.plan import plan_study
from sb3_plus.tuning.settings import TuneSettings
from sb3_plus.tuning.storage import count_trials, mask_url, open_storage
from sb3_plus.tuning.study import (
    HeartbeatWatch,
    fail_stale,
    grace_period,
    heartbeat_interval,
    load_record,
    open_study,
)

__all__ = ["TuneResult", "report_study", "run_trials", "tune"]

Say = Callable[[str], None]


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


def _print(line: str) -> None:
    print(line, flush=True)


def tune(settings: TuneSettings, *, print_fn: Say | None = None,
         train_fn: Callable[..., Any] | None = None) -> TuneResult:
    """Tune ``settings.algo`` on ``settings.env_id`` with Optuna; write the best config, a report and plots.

    With ``settings.n_trials == 0`` only the outputs of the existing study are written
    (:func:`report_study`). With ``settings.dashboard`` optuna-dashboard serves the study while
    tuning and afterwards, until Ctrl-C or SIGTERM.

    :param settings: every knob of the run (see :class:`~sb3_plus.tuning.settings.TuneSettings`).
    :param print_fn: where progress lines go (default ``print``).
    :param train_fn: the training function (default :func:`sb3_plus.training.train`).
    :raises TuneError: for settings that do not fit the study, a storage that cannot be opened,
        or ``max_failures`` failed trials in a row.
    :raises SearchSpaceError: for a bad search space.
    """
    say = print_fn or _print
    settings.check()
    if not settings.dashboard:
        return _tune_or_report(settings, say, train_fn)
    from sb3_plus.tuning.dashboard import keep_serving, serving_dashboard

    host, port, log_path = settings.dashboard_host, settings.dashboard_port, settings.out_dir / "dashboard.log"
    with serving_dashboard(settings.storage_url(), host, port, log_path=log_path, say=say) as server:
        result = _tune_or_report(settings, say, train_fn)
        keep_serving(server, host, port, log_path=log_path, say=say)
    return result


def _tune_or_report(settings: TuneSettings, say: Say, train_fn: Callable[..., Any] | None) -> TuneResult:
    if settings.n_trials == 0:
        return report_study(settings, print_fn=say)
    return _run_study(settings, say, train_fn)


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's own log lines and experimental-feature warnings off; ours say what happens."""
    import optuna

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message=".*truncated mini-batch.*")
        previous = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        logger, quiet = logging.getLogger("optuna.study._optimize"), _InterruptedTrialFilter()
        logger.addFilter(quiet)
        try:
            yield
        finally:
            logger.removeFilter(quiet)
            optuna.logging.set_verbosity(previous)


class _InterruptedTrialFilter(logging.Filter):
    """Ctrl-C and SIGTERM end a trial by ``KeyboardInterrupt``, and the command says so in one line:
    Optuna's "Trial N failed ... KeyboardInterrupt" warning, its traceback and the "failed with value
    None" line after it are not shown."""

    def __init__(self) -> None:
        super().__init__()
        self.interrupted = False

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        text = record.getMessage()
        if isinstance(exc, KeyboardInterrupt) or "KeyboardInterrupt" in text:
            self.interrupted = True
            return False
        return not (self.interrupted and "failed with value None" in text)


def _sweep_trial_folders(trials_dir: Path) -> None:
    """Remove what killed trials left half-written in their run folders (never a live worker's)."""
    from sb3_plus.files import sweep_stale_temps

    for run_dir in trials_dir.glob("*/seed_*/*/*"):
        if run_dir.is_dir():
            sweep_stale_temps(run_dir)
            sweep_stale_temps(run_dir / "checkpoints")


def _run_study(settings: TuneSettings, say: Say, train_fn: Callable[..., Any] | None) -> TuneResult:
    from sb3_plus.tuning.report import write_outputs

    plan = plan_study(settings)
    verbose = settings.verbose
    with _quiet_optuna():
        url = settings.storage_url()
        shown_url = mask_url(url)
        study, resumed = open_study(plan, url, shown_url)
        stale = fail_stale(study)
        _sweep_trial_folders(settings.out_dir / "trials")
        objective = plan.objective(train_fn, say=say if verbose else None)
        if verbose:
            print_header(say, study, resumed, shown_url, plan, objective.worker)
            print_stale(say, stale, settings.grace_period)
        ran = run_trials(study, objective, settings, say)
        if verbose:
            print_running(say, study, settings.grace_period)
        report = write_outputs(study, plan.record(), settings.out_dir)
    result = _result(study, shown_url, settings.out_dir, report, ran["count"])
    if verbose:
        print_footer(say, result, plan.metric)
    if ran["failures"] >= settings.max_failures > 0:
        raise TuneError(f"{ran['failures']} trials in a row failed; the last one: {ran['last_error']}. Fix: correct "
                        "the cause (see trials.csv and the trial's run folder), then re-run the same command")
    return result


def _result(study: Any, url: str, out_dir: Path, report: dict[str, Any], ran: int) -> TuneResult:
    best = report.get("best")
    return TuneResult(study_name=study.study_name, storage=url, out_dir=out_dir, counts=count_trials(study),
                      best_trial=best["number"] if best else None, best_value=best["value"] if best else None,
                      best_params=dict(best["params"]) if best else {}, outputs=report["outputs"], report=report,
                      trials_run=ran)


def report_study(settings: TuneSettings, print_fn: Say | None = None) -> TuneResult:
    """Write the outputs of an existing study (what ``tune`` does with ``n_trials=0``); runs no trial.

    The study's own stored settings are used: only ``algo``, ``env_id`` (checked against the
    study), ``study_name``, ``storage``, ``log_folder`` and ``verbose`` of ``settings`` matter.

    :param settings: names the study and where its outputs go.
    :param print_fn: where lines go (default ``print``).
    :raises TuneError: when there is no such study, or it tuned another algorithm or env.
    """
    import optuna

    from sb3_plus.tuning.report import write_outputs

    say = print_fn or _print
    url = settings.storage_url()
    shown_url = mask_url(url)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        rdb = open_storage(url, heartbeat_interval=None)
        if settings.name not in {s.study_name for s in rdb.get_all_studies()}:
            raise TuneError(f"no study {settings.name!r} in {shown_url}. Fix: check --study-name and --storage, "
                            "or run trials first (--n-trials N)")
        study = optuna.load_study(study_name=settings.name, storage=rdb)
        record = load_record(study, shown_url, settings.algo, settings.env_id)
        report = write_outputs(study, record, settings.out_dir)
    result = _result(study, shown_url, settings.out_dir, report, 0)
    if settings.verbose:
        print_footer(say, result, record.get("metric", "value"))
    return result


def run_trials(study: Any, objective: Objective, settings: TuneSettings, say: Say) -> dict[str, Any]:
    """Run trials until the study has ``n_trials`` finished, running or queued trials (or time is up).

    A running trial counts only while its worker may be alive: when the study would be full only
    because of running trials whose heartbeat has stopped (a killed worker's), the worker waits
    until they are failed (their grace period) and runs their params again, so a re-run right
    after a kill still reaches the target.

    :param study: the study.
    :param objective: runs one trial.
    :param settings: ``n_trials``, ``timeout``, ``max_failures`` and ``verbose`` are used.
    :param say: where a line per trial goes.
    :return: ``{"count": trials run, "failures": failed in a row at the end, "last_error": its message}``.
    """
    from optuna.trial import TrialState

    n_trials, max_failures = settings.n_trials, settings.max_failures
    deadline = None if settings.timeout is None else time.monotonic() + float(settings.timeout)
    state: dict[str, Any] = {"count": 0, "failures": 0, "last_error": None}
    interval = heartbeat_interval(study)
    watch = HeartbeatWatch(interval) if interval else None
    announced: set[int] = set()

    def after_trial(study: Any, trial: Any) -> None:
        if trial.user_attrs.get("surplus"):
            return
        state["count"] += 1
        if trial.state == TrialState.FAIL:
            state["failures"] += 1
            state["last_error"] = trial.user_attrs.get("error") or "unknown error (see the log above)"
        else:
            state["failures"] = 0
        if settings.verbose:
            say(trial_line(study, trial, objective))
        counts = _counts(study)
        if (max_failures > 0 and state["failures"] >= max_failures) or (counts["active"] >= n_trials
                                                                         and counts["WAITING"] == 0):
            study.stop()

    while True:
        stale = fail_stale(study)
        if settings.verbose:
            print_stale(say, stale, grace_period(study))
        counts = _counts(study)
        todo = n_trials - counts["active"]
        left = None if deadline is None else deadline - time.monotonic()
        if (max_failures > 0 and state["failures"] >= max_failures) or (left is not None and left <= 0):
            break
        if todo <= 0 and counts["WAITING"] == 0:
            silent = _silent_short(study, watch, counts, n_trials)
            if not silent:
                break
            if settings.verbose and set(silent) - announced:
                announced.update(silent)
                print_waiting(say, silent, grace_period(study))
            time.sleep(min(1.0, interval / 2))
            continue
        before = state["count"]
        study.optimize(objective, n_trials=max(todo, 0) + counts["WAITING"], timeout=left, callbacks=[after_trial],
                       catch=(Exception,), gc_after_trial=True, show_progress_bar=False)
        if state["count"] == before and not _silent_short(study, watch, _counts(study), n_trials):
            break
    return state


def _counts(study: Any) -> dict[str, int]:
    """Trials by state, with ``active``: finished, running and queued (what counts towards the target)."""
    counts = {"COMPLETE": 0, "PRUNED": 0, "RUNNING": 0, "WAITING": 0, **count_trials(study)}
    counts["active"] = sum(counts[s] for s in ("COMPLETE", "PRUNED", "RUNNING", "WAITING"))
    return counts


def _silent_short(study: Any, watch: HeartbeatWatch | None, counts: dict[str, int], n_trials: int) -> list[int]:
    """The silent running trials (see :class:`HeartbeatWatch`) when, without them, the study is short of its target."""
    if watch is None or counts["RUNNING"] == 0:
        return []
    silent = watch.silent(study)
    return silent if counts["active"] - len(silent) < n_trials else []
