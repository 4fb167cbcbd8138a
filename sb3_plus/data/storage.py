"""Where Minari datasets live, and writing them atomically under their id."""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from minari.dataset.minari_dataset import parse_dataset_id

from sb3_plus.errors import BadOptionError, InputNotFoundError, UserError
from sb3_plus.files import make_owned_dir, remove_path, sweep_stale
from sb3_plus.utils import sigterm_as_interrupt

DEFAULT_ROOT = "datasets"


class DatasetExistsError(UserError, FileExistsError):
    """A dataset id is already taken and ``overwrite`` was not asked for."""


class DatasetNotFoundError(InputNotFoundError):
    """No dataset with this id under the dataset root."""


def datasets_root() -> Path:
    """``$MINARI_DATASETS_PATH`` if set, else ``./datasets``.

    Minari's own default (``~/.minari/datasets``, :func:`minari.storage.get_dataset_path`)
    differs on purpose: a project's datasets live beside its recipes in ``datasets/``.
    """
    return Path(os.environ.get("MINARI_DATASETS_PATH") or DEFAULT_ROOT).resolve()


def check_dataset_id(dataset_id: str) -> tuple[str | None, str, int]:
    """Validate ``namespace/name-vN``; return its parts."""
    try:
        namespace, name, version = parse_dataset_id(dataset_id)
    except Exception as exc:  # minari raises plain ValueError/AssertionError
        raise BadOptionError(f"bad dataset id {dataset_id!r} ({exc}). Fix: use 'sb3plus/<env>/<expert>-v0'") from None
    if version is None:
        raise BadOptionError(f"dataset id {dataset_id!r} has no version. Fix: end it with -v0, e.g. sb3plus/mywayhome/waypoint-v0")
    return namespace, name, version


def dataset_dir(dataset_id: str, root: Path | None = None) -> Path:
    """The folder of ``dataset_id`` under ``root`` (default :func:`datasets_root`)."""
    return (root or datasets_root()) / dataset_id


def load_dataset(dataset_id: str, root: str | Path | None = None) -> Any:
    """Open a local Minari dataset by id from sb3-plus's dataset root (not Minari's default folder).

    :param dataset_id: ``namespace/name-vN``.
    :param root: folder that holds the datasets (default :func:`datasets_root`).
    :raises DatasetNotFoundError: no such dataset there; the message names the folder and the fix.
    """
    import minari

    root = Path(root).resolve() if root is not None else datasets_root()
    check_dataset_id(dataset_id)
    if not (root / dataset_id / "data").is_dir():
        raise DatasetNotFoundError(
            f"dataset {dataset_id!r} not found under {root}. Fix: make it with python -m sb3_plus.collect_expert "
            f"(--recipe datasets/<name>.yml or --env ... --dataset-id {dataset_id}), or set MINARI_DATASETS_PATH "
            "to the folder that holds it")
    with minari_root(root):  # Minari's own loader, pointed at our root
        return minari.load_dataset(dataset_id)


@contextmanager
def minari_root(path: Path) -> Iterator[None]:
    """Point Minari at ``path`` for the duration of the block."""
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def ensure_writable(dataset_id: str, overwrite: bool = False, root: Path | None = None) -> Path:
    """Check the id is well formed and free (or ``overwrite``); return its final folder."""
    check_dataset_id(dataset_id)
    final = dataset_dir(dataset_id, (root or datasets_root()).resolve())
    if final.exists() and not overwrite:
        raise DatasetExistsError(
            f"dataset {dataset_id!r} already exists at {final}. Fix: pass --overwrite, or bump the version (-v1)"
        )
    return final


#: Start of the names of the hidden staging folders in a dataset root.
STAGING_PREFIX = ".staging-"
_OLD_TRASH_PREFIX = ".trash-"  # older versions moved a replaced dataset here


def sweep_staging(root: Path | None = None) -> list[Path]:
    """Remove the staging folders that killed collections left in ``root`` (never one of a running process).

    :param root: the dataset root (default :func:`datasets_root`).
    :return: the folders removed.
    """
    root = (root or datasets_root()).resolve()
    return [*sweep_stale(root, re.escape(STAGING_PREFIX)), *sweep_stale(root, re.escape(_OLD_TRASH_PREFIX))]


@contextmanager
def staged_dataset(dataset_id: str, overwrite: bool = False, root: Path | None = None) -> Iterator[Path]:
    """Stage a dataset in a hidden folder of ``root``; publish it under its id only on success.

    Inside the block Minari writes to the staging root (``MINARI_DATASETS_PATH`` points
    there). On success the dataset folder is renamed into place (replacing an old one
    when ``overwrite``); on any exception, Ctrl-C and SIGTERM included, the staging folder
    is removed and nothing appears under the id. The staging folder is named after this
    process: the staging folders of killed processes (SIGKILL) are removed when the next
    staging in ``root`` starts (:func:`sweep_staging`).
    """
    root = (root or datasets_root()).resolve()
    final = ensure_writable(dataset_id, overwrite, root)
    root.mkdir(parents=True, exist_ok=True)
    with sigterm_as_interrupt():
        sweep_staging(root)
        stage = make_owned_dir(root, STAGING_PREFIX)
        try:
            with minari_root(stage):
                yield stage
            _publish(stage, dataset_id, root, final)
        finally:
            remove_path(stage)


def _publish(stage: Path, dataset_id: str, root: Path, final: Path) -> None:
    """Move the staged dataset to ``final``; an old dataset there goes into the staging folder, removed with it."""
    final.parent.mkdir(parents=True, exist_ok=True)
    for meta in stage.rglob("namespace_metadata.json"):
        target = root / meta.relative_to(stage)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(meta, target)
    replaced = None
    if final.exists():
        replaced = stage / ".replaced"
        os.replace(final, replaced)
    try:
        os.replace(stage / dataset_id, final)
    except BaseException:
        if replaced is not None:
            os.replace(replaced, final)
        raise
