"""Small shared helpers: torch threads, cache directories, SIGTERM as Ctrl-C, JSON-safe values."""

from __future__ import annotations

import math
import os
import signal
import threading
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

    n_threads = default_torch_threads() if n_threads is None else max(1, int(n_threads))
    if torch.get_num_threads() != n_threads:
        torch.set_num_threads(n_threads)
    return n_threads


def default_torch_threads() -> int:
    """``SB3PLUS_TORCH_THREADS``, else 1."""
    return max(1, int(os.environ.get("SB3PLUS_TORCH_THREADS", "1")))


def default_update_threads() -> int:
    """Torch threads for gradient steps: ``SB3PLUS_UPDATE_THREADS``, else one per core, at most 4.

    Updates run while the envs wait, so their minibatches (hundreds of samples) can use every
    core; beyond 4 threads the small networks here gain little.
    """
    value = os.environ.get("SB3PLUS_UPDATE_THREADS")
    return max(1, int(value)) if value else max(1, min(os.cpu_count() or 1, 4))


@contextmanager
def torch_threads(n_threads: int) -> Iterator[None]:
    """Run a block with ``n_threads`` torch threads, then restore the previous count."""
    import torch

    previous = torch.get_num_threads()
    set_torch_threads(n_threads)
    try:
        yield
    finally:
        set_torch_threads(previous)


def cache_dir(*parts: str) -> Path:
    """Return (and create) a cache directory for sb3-plus, ``$SB3PLUS_CACHE`` or ``~/.cache/sb3_plus``."""
    root = Path(os.environ.get("SB3PLUS_CACHE", Path.home() / ".cache" / "sb3_plus"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM (``kill``) into Ctrl-C while the block runs, so that the same cleanup runs for both.

    Both signals also set :data:`INTERRUPTED`, which long loops check (:func:`raise_if_interrupted`):
    a ``KeyboardInterrupt`` raised where Python drops exceptions (a weakref callback, a ``__del__``)
    would otherwise be lost and the command would run on. Outside the main thread (where Python
    cannot set signal handlers) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: Any) -> None:
        INTERRUPTED.set()
        raise KeyboardInterrupt

    on_signal.sb3plus_interrupt = True  # type: ignore[attr-defined]
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if not any(getattr(h, "sb3plus_interrupt", False) for h in previous.values()):  # the outermost block
            INTERRUPTED.clear()


#: Set by SIGINT/SIGTERM inside :func:`sigterm_as_interrupt`; cleared when the outermost block ends.
INTERRUPTED = threading.Event()


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was asked for (even if its first ``KeyboardInterrupt`` was lost)."""
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt


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
