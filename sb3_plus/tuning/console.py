"""The lines a tuning run prints: the study header, one line per trial, stale trials, the summary."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

from sb3_plus.tuning.objective import METRICS, LearningCurves, Objective
from sb3_plus.tuning.storage import count_trials

if TYPE_CHECKING:
    from sb3_plus.tuning.plan import StudyPlan
    from sb3_plus.tuning.tuner import TuneResult

__all__ = ["print_footer", "print_header", "print_running", "print_stale", "print_waiting", "trial_line"]

Say = Callable[[str], None]


def print_header(say: Say, study: Any, resumed: bool, url: str, plan: StudyPlan, worker: str) -> None:
    """What the study is, what a trial's value means, where the params come from, how trials are chosen."""
    from sb3_plus.tuning.dashboard import dashboard_command

    s, search = plan.settings, plan.search
    counts = count_trials(study)
    state = "resumed (" + ", ".join(f"{v} {k.lower()}" for k, v in sorted(counts.items())) + ")" if resumed \
        else "new"
    say(f"study {study.study_name!r} in {url}: {state}; target {s.n_trials} finished trials")
    say(f"  objective: {plan.metric} ({METRICS[plan.metric]}), mean over seeds {plan.seeds}; "
        f"{plan.n_timesteps} steps per seed, evaluation every {plan.eval_freq} steps on "
        f"{plan.eval_episodes} episodes from seed {plan.eval_seed}")
    pretrain = s.pretrain or ("tuned" if search.get("pretrain.method") else None)
    say(f"  {len(search.params)} params from {search.file} (section {search.section or 'default'})"
        + (f"; pinned by overrides: {', '.join(search.pinned)}" if search.pinned else "")
        + (f"; pretraining: {pretrain} on {plan.dataset}" if pretrain else ""))
    say(f"  sampler {s.sampler}, pruner {s.pruner} ({s.n_startup_trials} startup trials, {plan.warmup} warm-up "
        f"evaluations); worker {worker}")
    say(f"  dashboard: {dashboard_command(url)}")


def print_stale(say: Say, stale: dict[int, int | None], grace: int | None) -> None:
    """One line per trial failed because its worker stopped sending heartbeats."""
    for number, retry in stale.items():
        again = f"; its params run again as trial {retry}" if retry is not None else ""
        say(f"trial {number} was RUNNING without a heartbeat for over {grace or '?'} s (its worker died): "
            f"marked FAIL{again}")


def print_waiting(say: Say, silent: list[int], grace: int | None) -> None:
    """The worker waits for running trials whose heartbeat stopped, instead of counting them as done."""
    say(f"trials {silent} are RUNNING but their heartbeat has stopped (a killed worker's?) and the study needs "
        f"them: waiting until they are {grace or '?'} s without a heartbeat, then they are marked FAIL and "
        "their params run again")


def print_running(say: Say, study: Any, grace: int | None) -> None:
    """After the loop: the trials still running (another worker's, or a killed one's)."""
    from optuna.trial import TrialState

    running = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    if running:
        say(f"trials {running} are still RUNNING: another worker's, or a killed worker's that the next run marks "
            f"failed once {grace} s have passed without a heartbeat (then re-run to fill the study)")


def _format_seeds(trial: Any) -> str:
    runs = trial.user_attrs.get("seeds") or []
    parts = [f"seed {r.get('seed')}: {r['value']:.3g}" for r in runs if isinstance(r.get("value"), (int, float))]
    return f" ({', '.join(parts)})" if parts else ""


def trial_line(study: Any, trial: Any, objective: Objective) -> str:
    """One finished trial: state, value (per seed), where it was pruned, duration, the best so far."""
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


def print_footer(say: Say, result: TuneResult, metric: str) -> None:
    """Trial counts, the best trial, the outputs and how to serve the dashboard."""
    from sb3_plus.tuning.dashboard import dashboard_command

    counts = ", ".join(f"{v} {k.lower()}" for k, v in sorted(result.counts.items()))
    say(f"study {result.study_name!r}: {counts}; this run ran {result.trials_run}")
    if result.best_trial is not None:
        say(f"best: trial {result.best_trial}, {metric} {result.best_value:.4g}, params {result.best_params}")
    for kind, path in result.outputs.items():
        say(f"  {kind}: {path}")
    say(f"dashboard: {dashboard_command(result.storage)}")
