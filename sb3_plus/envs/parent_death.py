"""Child processes that die with their parent, by construction.

A SIGKILLed Python process runs no cleanup (no ``atexit``, no signal handler), and a
ViZDoom engine ignores SIGTERM, so an engine started the ordinary way outlives a killed
parent, reparented to init. Linux can signal a process when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), but only the process itself can ask for it, and ViZDoom
forks its engine from its own C++ thread. So the engine is started through a launcher:
ViZDoom runs a small script instead of the engine binary; the script asks the kernel for
SIGKILL on its parent's death, then ``exec``s the engine. ``exec`` keeps the pid (closing
the game works as before), the death signal, and ``argv[0]`` (the engine finds its data
next to its binary); it costs one interpreter start per engine start and nothing per step.

The kernel watches the *thread* that forked: ViZDoom's launch thread, which waits on the
engine for the engine's whole life and dies only with the engine or the process. A parent
killed between the fork and the ``prctl`` would be missed, so the launcher then checks that
its parent is still the process named in ``SB3PLUS_ENGINE_PARENT`` and exits if not.

Where this cannot work (not Linux, no ``prctl``, a cache folder where scripts cannot run)
the executable is started as before; ``SB3PLUS_ENGINE_LAUNCHER=0`` asks for that too.

A process killed outright also leaves its shared memory behind (a ViZDoom game: about
10 MB of ``/dev/shm`` per engine); :func:`remove_orphaned_shared_memory` removes such files
once no process maps them.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

from sb3_plus.utils import cache_dir

PARENT_VARIABLE = "SB3PLUS_ENGINE_PARENT"
SWITCH_VARIABLE = "SB3PLUS_ENGINE_LAUNCHER"
_PROBE_ARG = "--sb3plus-launcher-probe"

# Runs as `python -I -S -c CODE EXECUTABLE ARGS...`: standard library only, nothing from the
# working directory or site-packages, so it starts fast and cannot be shadowed.
_LAUNCHER_CODE = f"""\
import ctypes, os, signal, sys
PR_SET_PDEATHSIG, PR_GET_PDEATHSIG = 1, 2
try:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
except Exception:
    libc = None
parent = os.environ.get("{PARENT_VARIABLE}", "")
if parent.isdigit() and os.getppid() != int(parent):
    sys.exit("engine not started: its parent process {{}} has already exited".format(parent))
if sys.argv[2:] == ["{_PROBE_ARG}"]:
    sig = ctypes.c_int(0)
    if libc is not None:
        libc.prctl(PR_GET_PDEATHSIG, ctypes.byref(sig), 0, 0, 0)
    print(sig.value)
    sys.exit(0)
os.execv(sys.argv[1], sys.argv[1:])
"""

_checked: dict[str, str] = {}  # executable -> what to start (after a fork too: the file stays valid)


def _write_launcher(executable: str) -> Path:
    script = (f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -S -c {shlex.quote(_LAUNCHER_CODE)} "
              f"{shlex.quote(executable)} \"$@\"\n")
    folder = cache_dir("launchers")
    # Named by content: different engines or interpreters never share a launcher, and an
    # existing file is complete (written beside it, then renamed into place).
    path = folder / f"{Path(executable).name}-{hashlib.sha256(script.encode()).hexdigest()[:16]}.sh"
    if not path.is_file() or not os.access(path, os.X_OK):
        tmp = folder / f".{path.name}.{os.getpid()}.tmp"
        tmp.write_bytes(os.fsencode(script))
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return path


def _probe(launcher: Path) -> str | None:
    """Why ``launcher`` cannot give its child a death signal, or ``None`` when it can."""
    try:
        done = subprocess.run([str(launcher), _PROBE_ARG], check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{launcher} does not run ({exc})"
    if done.returncode != 0 or done.stdout.strip() != str(int(signal.SIGKILL)):
        return f"{launcher} answered {done.returncode}: {(done.stdout + done.stderr).strip()[-300:]!r}"
    return None


def dying_with_parent(executable: str | os.PathLike) -> str:
    """The path to start ``executable`` through so that it is killed when its parent dies.

    Call it in the process that starts the child, right before starting it: it records
    this process as the expected parent. The launcher is written once into the cache
    folder and checked once per process; where it cannot work (see the module docstring)
    this returns ``executable`` itself and warns once.

    :param executable: absolute path of the program to start.
    :return: the launcher's path, or ``executable`` where no launcher can be used.
    """
    executable = os.fspath(executable)
    if sys.platform != "linux" or os.environ.get(SWITCH_VARIABLE, "1") == "0":
        return executable
    pid = os.getpid()
    if os.environ.get(PARENT_VARIABLE) != str(pid):
        os.environ[PARENT_VARIABLE] = str(pid)
    if executable in _checked.values():
        return executable  # already a launcher: a game whose path was set before
    if executable not in _checked:
        try:
            launcher = _write_launcher(executable)
            problem = _probe(launcher)
        except OSError as exc:
            launcher, problem = Path(executable), f"cannot write a launcher ({exc})"
        if problem:
            warnings.warn(f"{Path(executable).name} processes will outlive a killed parent: {problem}",
                          RuntimeWarning, stacklevel=2)
            _checked[executable] = executable
        else:
            _checked[executable] = str(launcher)
    return _checked[executable]


def _mapped_shared_memory(folder: Path) -> set[str]:
    """Names of the files in ``folder`` that some readable process maps."""
    names: set[str] = set()
    prefix = f"{folder}/"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            with open(proc / "maps", "rb") as maps:
                for line in maps:
                    path = line.rstrip(b"\n").split(maxsplit=5)[-1].decode(errors="replace")
                    if path.startswith(prefix):
                        names.add(path[len(prefix):].split(" ")[0])
        except OSError:
            # gone, or another user's: such a process cannot write-map this user's files
            continue
    return names


def remove_orphaned_shared_memory(prefixes: tuple[str, ...], min_age: float = 60.0,
                                  folder: str | os.PathLike = "/dev/shm") -> list[str]:
    """Remove this user's shared-memory files that a killed process left behind.

    A file counts as left behind when its name starts with one of ``prefixes``, this user
    owns it, it is older than ``min_age`` seconds (a file being created is not mapped yet)
    and no process maps it (whoever still uses one keeps it mapped).

    :param prefixes: name prefixes of the files, e.g. ViZDoom's ``ViZDoomSM``.
    :param min_age: seconds since the file last changed before it may be removed.
    :param folder: the shared-memory folder.
    :return: the names removed.
    """
    folder = Path(folder)
    if sys.platform != "linux" or not folder.is_dir():
        return []
    now, uid = time.time(), os.getuid()
    candidates = []
    for entry in os.scandir(folder):
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if entry.name.startswith(prefixes) and info.st_uid == uid and now - max(info.st_mtime, info.st_ctime) > min_age:
            candidates.append(entry.name)
    if not candidates:
        return []
    in_use = _mapped_shared_memory(folder)
    removed = []
    for name in candidates:
        if name not in in_use:
            try:
                os.unlink(folder / name)
                removed.append(name)
            except OSError:
                pass
    return removed
