"""The Optuna study of a tuning run: opened or resumed with its settings, dead workers' trials failed.

Dead workers: a running trial's worker records a heartbeat every ``heartbeat_interval``
seconds; :func:`fail_stale` fails the trials whose last heartbeat is older than the grace
period, and :class:`HeartbeatWatch` tells which running trials have stopped beating before that.

A new study stores the plan's record (see :meth:`~sb3_plus.tuning.plan.StudyPlan.record`) as
the user attribute ``sb3_plus``. Resuming it with a different value of any setting in
:data:`COMPARABLE` is refused: its trials would not be comparable.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import yaml

from sb3_plus.tuning.errors import TuneError
from sb3_plus.tuning.plan import StudyPlan
from sb3_plus.tuning.samplers import make_pruner, make_sampler
from sb3_plus.tuning.storage import open_storage

__all__ = ["COMPARABLE", "RECORD_ATTR", "HeartbeatWatch", "check_record", "fail_stale", "grace_period",
           "heartbeat_interval", "heartbeats", "load_record", "open_study"]

#: The study user attribute that holds its settings.
RECORD_ATTR = "sb3_plus"
#: Settings that must match when a study is resumed, with the options that set them.
COMPARABLE = {
    "algo": "--algo", "env_id": "--env", "metric": "--metric", "n_timesteps": "--n-timesteps",
    "eval_freq": "--eval-freq", "eval_episodes": "--eval-episodes", "eval_seed": "--eval-seed",
    "seeds": "--seeds/--seed", "pretrain": "--pretrain", "dataset": "--dataset", "env_kwargs": "--env-kwargs",
    "fixed": "--hyperparams",
}


def open_study(plan: StudyPlan, url: str, shown_url: str) -> tuple[Any, bool]:
    """Create the plan's study in ``url``, or resume it when its settings match.

    :param plan: the resolved settings.
    :param url: the storage URL.
    :param shown_url: the URL as printed (password hidden).
    :return: the study and whether it was resumed.
    :raises TuneError: when the storage cannot be opened or a resumed study has other settings.
    """
    import optuna

    s = plan.settings
    rdb = open_storage(url, s.heartbeat_interval, s.grace_period)
    study = optuna.create_study(
        study_name=s.name, storage=rdb, direction="maximize", load_if_exists=True,
        sampler=make_sampler(s.sampler, s.n_startup_trials, s.sampler_seed, plan.search),
        pruner=make_pruner(s.pruner, s.n_startup_trials, plan.warmup))
    return study, check_record(study, plan.record(), shown_url)


def check_record(study: Any, record: dict[str, Any], storage: str) -> bool:
    """Store ``record`` with a new study, or check a resumed study's; return whether it is resumed.

    :param study: the study.
    :param record: the settings of this run (JSON-able).
    :param storage: the storage URL, for the message.
    :raises TuneError: naming each setting that differs, its stored and its new value, and the fix.
    """
    stored = study.user_attrs.get(RECORD_ATTR)
    if stored is None:
        study.set_user_attr(RECORD_ATTR, record)
        return False
    diffs = [key for key in COMPARABLE if stored.get(key) != record.get(key)]
    if diffs:
        lines = "; ".join(f"{key} ({COMPARABLE[key]}): study {stored.get(key)!r}, now {record.get(key)!r}"
                          for key in diffs)
        same = ", ".join(_as_option(key, stored.get(key)) for key in diffs)
        raise TuneError(f"study {study.study_name!r} in {storage} was made with other settings ({lines}); its trials "
                        f"would not be comparable. Fix: pick a new --study-name, or run with the study's values "
                        f"({same})")
    return True


def _as_option(key: str, value: Any) -> str:
    """The study's value as the option that sets it, e.g. ``--env-kwargs fixed_layout_seed:3``."""
    flag = COMPARABLE[key]
    if value is None or value == {}:
        return f"no {flag}"
    if isinstance(value, dict):
        return f"{flag} " + " ".join(f"{k}:{_yaml_text(v)}" for k, v in value.items())
    return f"{key} {value}" if "/" in flag else f"{flag} {value}"


def _yaml_text(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return text.removesuffix("...").strip()   # PyYAML ends a lone scalar with a document end marker


def load_record(study: Any, shown_url: str, algo: str, env_id: str) -> dict[str, Any]:
    """The settings stored with a study made by ``tune``, checked to be for ``algo`` on ``env_id``.

    :raises TuneError: when the study has no settings or tuned another algorithm or env.
    """
    record = study.user_attrs.get(RECORD_ATTR)
    if record is None:
        raise TuneError(f"study {study.study_name!r} in {shown_url} was not made by sb3_plus.tune (it has no "
                        "settings). Fix: inspect it with optuna-dashboard " + shown_url)
    if (record.get("algo"), record.get("env_id")) != (algo, env_id):
        raise TuneError(f"study {study.study_name!r} tuned {record.get('algo')} on {record.get('env_id')}, not "
                        f"{algo} on {env_id}. Fix: pass --algo {record.get('algo')} --env {record.get('env_id')}")
    return record


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


def _rdb(study: Any) -> Any:
    """The study's ``RDBStorage`` (Optuna wraps it in a cache), or ``None`` for other storages."""
    from optuna.storages import RDBStorage

    storage = getattr(study._storage, "_backend", study._storage)
    return storage if isinstance(storage, RDBStorage) else None


def heartbeat_interval(study: Any) -> int | None:
    """Seconds between the heartbeats of the study's running trials (``None``: no heartbeats)."""
    storage = _rdb(study)
    return int(storage.heartbeat_interval) if storage is not None and storage.heartbeat_interval else None


def grace_period(study: Any) -> int | None:
    """The grace period of the study's storage (seconds without heartbeat before a trial is failed)."""
    storage = _rdb(study)
    if heartbeat_interval(study) is None:
        return None
    grace = storage.grace_period
    return int(grace) if grace is not None else 2 * int(storage.heartbeat_interval)


def heartbeats(study: Any) -> dict[int, Any]:
    """The last heartbeat of each ``RUNNING`` trial, by trial number (``None``: none recorded yet).

    Empty when the storage records no heartbeats. The values are the database's timestamps:
    compare them with each other, not with this machine's clock.
    """
    storage = _rdb(study)
    if heartbeat_interval(study) is None:
        return {}
    from optuna.storages._rdb import models  # Optuna has no public reader of heartbeats
    from optuna.trial import TrialState
    from sqlalchemy import orm

    trial, beat = models.TrialModel, models.TrialHeartbeatModel
    with orm.Session(storage.engine) as session:
        rows = (session.query(trial.number, beat.heartbeat)
                .outerjoin(beat, beat.trial_id == trial.trial_id)
                .filter(trial.study_id == study._study_id, trial.state == TrialState.RUNNING)
                .all())
    return {int(number): heartbeat for number, heartbeat in rows}


class HeartbeatWatch:
    """Tells running trials whose worker is alive from those whose worker may be dead.

    A trial is *alive* while its heartbeat has moved within the last ``window`` seconds of
    watching; a trial whose heartbeat has not moved since the watch first saw it, or not for
    ``window`` seconds, is *silent*: its worker may have been killed, and once its last
    heartbeat is older than the grace period :func:`fail_stale` fails it. Trials without any
    heartbeat cannot be judged and are never silent.

    :param heartbeat_interval: seconds between the heartbeats of a live worker.
    """

    def __init__(self, heartbeat_interval: float) -> None:
        self.window = 2.0 * float(heartbeat_interval)   # one interval of slack for a busy database
        self._seen: dict[int, tuple[Any, float | None]] = {}   # number -> (heartbeat, when it last moved)

    def silent(self, study: Any) -> list[int]:
        """The running trials of ``study`` that are silent now (see the class)."""
        now = time.monotonic()
        out = []
        for number, beat in heartbeats(study).items():
            if beat is None:
                continue
            last, moved = self._seen.get(number, (beat, None))
            if beat != last:
                moved = now
            self._seen[number] = (beat, moved)
            if moved is None or now - moved > self.window:
                out.append(number)
        return out
