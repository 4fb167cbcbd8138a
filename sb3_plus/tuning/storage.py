"""Where studies live: SQLite by default, any Optuna RDB URL to share a study between workers.

- Default: ``sqlite:///<log_folder>/tune/<study>.db``. A path without ``://`` is read as a
  SQLite file.
- PostgreSQL / MySQL: ``postgresql+psycopg://user:pass@host:5432/db`` (psycopg 3),
  ``postgresql+psycopg2://...`` or ``postgresql://...`` (SQLAlchemy's default psycopg2;
  when only psycopg 3 is installed the plain ``postgresql://`` form uses it), ``mysql+pymysql://...``.
- Heartbeats: each running trial records a heartbeat every ``heartbeat_interval`` seconds. A
  trial whose worker was killed (SIGKILL, a lost machine) stops beating; once its last
  heartbeat is older than ``grace_period`` the next worker that starts a trial marks it
  ``FAIL`` and queues a retry with the same params (once), so the study goes on.
"""

from __future__ import annotations

import importlib.util
import random
import time
import warnings
from pathlib import Path
from typing import Any

from sb3_plus.tuning.errors import TuneError

__all__ = ["count_trials", "default_storage_url", "mask_url", "normalize_url", "open_storage"]


def default_storage_url(log_folder: str | Path, study_name: str) -> str:
    """``sqlite:///<log_folder>/tune/<study_name>.db`` with an absolute path.

    :param log_folder: the log folder.
    :param study_name: the study name.
    """
    path = (Path(log_folder) / "tune" / f"{study_name}.db").resolve()
    return f"sqlite:///{path}"


def mask_url(url: str) -> str:
    """The URL with its password hidden, for printing."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def normalize_url(storage: str) -> str:
    """Check a storage URL and make it usable here.

    A path without ``://`` becomes ``sqlite:///<absolute path>``; ``postgresql://`` uses
    psycopg 3 when psycopg2 is not installed.

    :param storage: a SQLAlchemy URL or a SQLite file path.
    :raises TuneError: for a URL that cannot be parsed or whose driver is not installed.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    if "://" not in storage:
        return f"sqlite:///{Path(storage).resolve()}"
    try:
        url = make_url(storage)
        url.get_dialect()
    except (ArgumentError, NoSuchModuleError) as exc:
        raise TuneError(f"storage {storage!r} is not a database URL ({exc}). Fix: write e.g. "
                        "sqlite:///logs/tune/study.db or postgresql+psycopg://user:pass@host:5432/db") from None
    backend, _, driver = url.drivername.partition("+")
    if backend == "postgresql":
        if driver in ("", "psycopg2") and not _has("psycopg2"):
            if driver == "" and _has("psycopg"):
                return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
            raise TuneError(f"storage {mask_url(storage)} needs the psycopg2 driver, which is not installed. "
                            "Fix: pip install psycopg2-binary, or write postgresql+psycopg://... with "
                            "pip install 'psycopg[binary]'")
        if driver == "psycopg" and not _has("psycopg"):
            raise TuneError(f"storage {mask_url(storage)} needs psycopg 3. Fix: pip install 'psycopg[binary]'")
    if backend == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return storage


def open_storage(storage: str, heartbeat_interval: int | None = 10, grace_period: int | None = 30,
                 retry_stale: int | None = 1, attempts: int = 5) -> Any:
    """An ``optuna.storages.RDBStorage`` with heartbeats, safe to open from several workers at once.

    :param storage: a URL or SQLite path (see :func:`normalize_url`).
    :param heartbeat_interval: seconds between a running trial's heartbeats (``None`` or 0: off).
    :param grace_period: seconds without a heartbeat after which a running trial is marked failed.
    :param retry_stale: how often a failed stale trial's params are queued again (0: never).
    :param attempts: tries when several workers create the tables at the same moment.
    :raises TuneError: when the database cannot be reached.
    """
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    url = normalize_url(storage)
    kwargs: dict[str, Any] = {}
    if heartbeat_interval:
        kwargs["heartbeat_interval"] = int(heartbeat_interval)
        kwargs["grace_period"] = int(grace_period or 2 * heartbeat_interval)
        if retry_stale:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
                kwargs["heartbeat_stale_trial_callback"] = optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=int(retry_stale))
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}
    _check_reachable(url, engine_kwargs)
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
        except (SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
            # two workers creating the schema at once: one of them loses; trying again finds it made
            last = exc
            time.sleep(0.5 + random.random())
        except ImportError as exc:
            raise TuneError(f"storage {mask_url(url)}: the database driver is missing ({exc}). "
                            "Fix: install it, e.g. pip install 'psycopg[binary]' for PostgreSQL") from None
    raise TuneError(f"cannot open storage {mask_url(url)} ({type(last).__name__}: {last}). Fix: check that the "
                    "database server runs, the URL (user, password, host, port, database) and the network")


def _check_reachable(url: str, engine_kwargs: dict[str, Any]) -> None:
    """Connect once, so that an unreachable server fails at once with a clear message."""
    import sqlalchemy
    from sqlalchemy.exc import SQLAlchemyError

    try:
        engine = sqlalchemy.create_engine(url, **engine_kwargs)
    except ImportError as exc:
        raise TuneError(f"storage {mask_url(url)}: the database driver is missing ({exc}). "
                        "Fix: install it, e.g. pip install 'psycopg[binary]' for PostgreSQL") from None
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise TuneError(f"cannot open storage {mask_url(url)} ({reason}). Fix: check that the database server runs, "
                        "the URL (user, password, host, port, database) and the network") from None
    finally:
        engine.dispose()


def count_trials(study: Any) -> dict[str, int]:
    """Trials of ``study`` by state name (``COMPLETE``, ``PRUNED``, ``FAIL``, ``RUNNING``, ``WAITING``)."""
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts
