"""Small shared helpers: torch threads, cache directories, atomic file writes."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def set_torch_threads(n_threads: int | None = None) -> int:
    """Set torch's intra-op thread count deliberately.

    On small machines torch's default (one thread per core, plus inter-op threads) makes
    small networks many times slower through oversubscription.

    :param n_threads: threads to use; ``None`` reads ``SB3PLUS_TORCH_THREADS`` (default 1).
    :return: the thread count in force.
    """
    import torch

    if n_threads is None:
        n_threads = int(os.environ.get("SB3PLUS_TORCH_THREADS", "1"))
    n_threads = max(1, int(n_threads))
    if torch.get_num_threads() != n_threads:
        torch.set_num_threads(n_threads)
    return n_threads


def cache_dir(*parts: str) -> Path:
    """Return (and create) a cache directory for sb3-plus, ``$SB3PLUS_CACHE`` or ``~/.cache/sb3_plus``."""
    root = Path(os.environ.get("SB3PLUS_CACHE", Path.home() / ".cache" / "sb3_plus"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def atomic_path(final: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``final``; move it into place only on success.

    Works for files and directories. On any exception (Ctrl-C included) the temporary
    path is removed and ``final`` is left untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    target = tmp / (final.name + suffix)
    try:
        yield target
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(target, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_safe(data), indent=2, sort_keys=True, default=str, allow_nan=False) + "\n")


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None`` (``null``) and numpy scalars made plain.

    ``json.dumps`` writes NaN as ``NaN``, which is not JSON; this keeps what we print and write valid.
    """
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
