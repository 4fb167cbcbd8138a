"""Files written whole or not at all: atomic paths, temporaries owned by a process, and the sweep of
what killed processes left behind (named with their owner's pid and start time)."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import stat
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from sb3_plus.utils import json_safe


#: Leftovers whose owner cannot be checked (names without an owner, or another machine's) are removed after this.
STALE_AGE_S = 24 * 3600.0

# <pid>-<start time in clock ticks after boot>-<scope>: the start time tells a reused pid from the owner,
# the scope (machine and pid namespace) tells whether that pid can be looked up here at all
_OWNER = r"(?P<pid>\d+)-(?P<start>\d+)-(?P<scope>[0-9a-f]{6})"
_RANDOM = r"[a-z0-9_]{8}"  # our random part, and tempfile's in names written before owners were recorded
_TEMP_PREFIX, _TEMP_SUFFIX = r"\..+\.", r"\.tmp"  # atomic_path's ".<name>.<owner>-<random>.tmp"
_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # elsewhere reading it means setting it: keep the window short and single
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_mode(is_dir: bool = False) -> int:
    """The permission bits a plain ``open(path, "w")`` (or ``mkdir``) gives under the current umask."""
    return (0o777 if is_dir else 0o666) & ~current_umask()


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks after boot) of ``pid`` from ``/proc``; ``None`` if it has no entry."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[19])


@lru_cache(maxsize=None)
def _scope() -> str:
    """Where a pid means something: this machine's boot and pid namespace (a container has its own)."""
    parts = [socket.gethostname()]
    for path in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            parts.append(os.readlink(path) if path.endswith("/pid") else Path(path).read_text().strip())
        except OSError:
            pass
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:6]


def owner_token() -> str:
    """``<pid>-<start>-<scope>``: names this process in the temporary names it creates.

    :func:`owner_alive` reads it back; the start time keeps a reused pid from passing for the owner.
    """
    pid = os.getpid()
    stat_ = _proc_stat(pid)
    return f"{pid}-{stat_[1] if stat_ else 0}-{_scope()}"


def owner_alive(pid: int, start: int, scope: str) -> bool | None:
    """Whether the process that wrote an :func:`owner_token` still runs; ``None`` when this machine cannot tell.

    :param pid: its process id.
    :param start: its start time in clock ticks after boot (0: not recorded).
    :param scope: its machine and pid namespace; another one's pids cannot be looked up here.
    """
    if scope != _scope() or os.name == "nt":  # on Windows os.kill(pid, 0) would send Ctrl-C
        return None
    found = _proc_stat(pid)
    if found is not None:  # a zombie waiting to be reaped is gone; a different start time is another process
        return found[0] not in ("Z", "X") and (start == 0 or found[1] == start)
    try:  # no /proc, or /proc hides other users' processes (hidepid)
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def make_owned_dir(parent: str | os.PathLike, prefix: str, suffix: str = "") -> Path:
    """Create the private folder ``<parent>/<prefix><owner token>-<random><suffix>`` and return it.

    :func:`sweep_stale` removes it once its owner is gone, even after a SIGKILL.

    :param parent: where (it must exist).
    :param prefix: start of the name, e.g. ``.staging-``.
    :param suffix: end of the name, e.g. ``.tmp``.
    """
    token = owner_token()
    while True:
        path = Path(parent) / f"{prefix}{token}-{secrets.token_hex(4)}{suffix}"
        try:
            path.mkdir(mode=0o700)
            return path
        except FileExistsError:
            continue


def remove_path(path: str | os.PathLike) -> None:
    """Remove a file or a folder tree; a Ctrl-C (or SIGTERM) arriving meanwhile is raised once it is gone."""
    path = Path(path)
    interrupt: BaseException | None = None
    for _ in range(10):
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            break
        except KeyboardInterrupt as exc:  # finish the removal first: nothing half-deleted stays behind
            interrupt = exc
    if interrupt is not None:
        raise interrupt


def _newest_mtime(path: str) -> float:
    """The newest modification time in a tree: a folder still written into is not old."""
    try:
        newest = os.lstat(path).st_mtime
    except OSError:
        return time.time()
    for folder, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            try:
                newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
            except OSError:
                pass
    return newest


def sweep_stale(folder: str | os.PathLike, prefix: str, suffix: str = "", max_age: float = STALE_AGE_S) -> list[Path]:
    """Remove leftovers of processes that were killed before they could clean up (SIGKILL, power loss).

    A name ``<prefix><owner token>-<random><suffix>`` (:func:`make_owned_dir`) is removed when its owner
    process is gone, never while it runs: two processes may share ``folder``. A name without an owner
    (written by older versions), or one whose owner this machine cannot look up, is removed when
    nothing in it changed for ``max_age`` seconds.

    :param folder: the folder to clean (a missing one is fine).
    :param prefix: regular expression for the start of the names, e.g. ``\\.staging-``.
    :param suffix: regular expression for their end.
    :param max_age: seconds without change after which an ownerless leftover goes.
    :return: the paths removed.
    """
    owned = re.compile(f"^{prefix}{_OWNER}-{_RANDOM}{suffix}$")
    ownerless = re.compile(f"^{prefix}{_RANDOM}{suffix}$")
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for entry in entries:
        match = owned.match(entry.name)
        if match:
            alive = owner_alive(int(match["pid"]), int(match["start"]), match["scope"])
        elif ownerless.match(entry.name):
            alive = None
        else:
            continue
        if alive or (alive is None and time.time() - _newest_mtime(entry.path) < max_age):
            continue
        remove_path(entry.path)
        removed.append(Path(entry.path))
    return removed


def remove_own_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove the :func:`atomic_path` temporaries of this process in ``folder``.

    For the end of an interrupted run: a Ctrl-C landing inside ``atomic_path``'s own clean-up (Python
    runs signal handlers between any two bytecodes, ``finally`` blocks included) can leave one behind.
    """
    removed = []
    for left in Path(folder).glob(".*." + glob.escape(owner_token()) + "-*.tmp"):
        remove_path(left)
        removed.append(left)
    return removed


def sweep_stale_temps(folder: str | os.PathLike, max_age: float = STALE_AGE_S) -> list[Path]:
    """Remove the temporaries :func:`atomic_path` left in ``folder`` when its process was killed (see :func:`sweep_stale`)."""
    return sweep_stale(folder, _TEMP_PREFIX, _TEMP_SUFFIX, max_age)


def _give_default_mode(path: Path) -> None:
    """Give what was written the mode a plain ``open``/``mkdir`` would have (a ``mkstemp`` file has 0600)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        return
    mode = default_mode(stat.S_ISDIR(info.st_mode))
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(path, mode)


@contextmanager
def atomic_path(final: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``final``; move it into place only on success.

    Works for files and directories. On success ``final`` appears complete, with the mode a plain
    ``open(final, "w")`` (or ``mkdir``) gives under the umask. On any exception (Ctrl-C included) the
    temporary path is removed and ``final`` is left untouched. The temporary folder is named after
    this process (:func:`make_owned_dir`); the leftovers of killed processes in the same folder
    are removed first (:func:`sweep_stale_temps`).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(final.parent)
    tmp: Path | None = None
    try:
        tmp = make_owned_dir(final.parent, f".{final.name}.", ".tmp")
        target = tmp / (final.name + suffix)
        yield target
        _give_default_mode(target)
        old = None
        if final.is_dir() and not final.is_symlink():
            old = tmp / ".replaced"  # moved aside, not deleted first: no moment with half a folder at `final`
            os.replace(final, old)
        try:
            os.replace(target, final)
        except BaseException:
            if old is not None:
                os.replace(old, final)
            raise
    finally:
        if tmp is not None:
            remove_path(tmp)
        else:  # stopped while creating it (a Ctrl-C between mkdir and return): found by this process's name
            for left in final.parent.glob(glob.escape(f".{final.name}.{owner_token()}-") + "*.tmp"):
                remove_path(left)


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_safe(data), indent=2, sort_keys=True, default=str, allow_nan=False) + "\n")
