"""Serve a study with optuna-dashboard: ``optuna-dashboard sqlite:///logs/tune/<study>.db``.

:func:`start_dashboard` runs that command as a child process and waits until it answers;
:func:`serving_dashboard` keeps one up while a tuning run goes on (``tune --dashboard``);
:func:`dashboard_command` is the one-liner to print.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["dashboard_command", "dashboard_executable", "keep_serving", "serving_dashboard", "start_dashboard",
           "stop_dashboard", "wait_for_http"]


def dashboard_executable() -> list[str]:
    """The optuna-dashboard command of this Python environment.

    :raises InputNotFoundError: when optuna-dashboard is not installed.
    """
    from sb3_plus.errors import InputNotFoundError

    beside = Path(sys.executable).with_name("optuna-dashboard")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("optuna-dashboard")
    if found:
        return [found]
    raise InputNotFoundError("optuna-dashboard is not installed. Fix: pip install optuna-dashboard")


def dashboard_command(storage_url: str, host: str = "127.0.0.1", port: int = 8080) -> str:
    """The shell one-liner that serves ``storage_url``."""
    args = ["optuna-dashboard", storage_url]
    if port != 8080:
        args += ["--port", str(port)]
    if host != "127.0.0.1":
        args += ["--host", host]
    return " ".join(shlex.quote(a) for a in args)


def wait_for_http(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    """Wait until ``url`` answers HTTP 200.

    :raises RuntimeError: when it does not within ``timeout`` s or ``process`` exits first.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the dashboard exited with code {process.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            last = exc
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s ({last})")


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, end the server when the process that started it dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        except OSError:
            pass


def start_dashboard(storage_url: str, host: str = "127.0.0.1", port: int = 8080, log_path: str | Path | None = None,
                    timeout: float = 60.0) -> subprocess.Popen:
    """Start ``optuna-dashboard STORAGE --host HOST --port PORT`` and wait until its API answers.

    :param storage_url: the study storage.
    :param host: interface to listen on (``0.0.0.0`` to reach it from other machines).
    :param port: the port.
    :param log_path: where the server's output goes (default: discarded).
    :param timeout: seconds to wait for it.
    :return: the process; stop it with :func:`stop_dashboard`.
    :raises TuneError: when the port is taken or the server does not come up.
    """
    from sb3_plus.tuning.errors import TuneError

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise TuneError(f"the dashboard cannot listen on {host}:{port} ({exc.strerror or exc}). Fix: pick a "
                            "free port with --dashboard-port, or stop what uses this one") from None
    cmd = dashboard_executable() + [storage_url, "--host", host, "--port", str(port)]
    out: Any = subprocess.DEVNULL
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "ab")
    try:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    finally:
        if out is not subprocess.DEVNULL:
            out.close()
    try:
        wait_for_http(f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/api/studies", timeout,
                      process)
    except RuntimeError as exc:
        stop_dashboard(process)
        raise TuneError(f"optuna-dashboard did not start ({exc}). Fix: see "
                        f"{log_path or 'its output'}; check the storage URL and the port") from None
    except BaseException:
        stop_dashboard(process)
        raise
    return process


def stop_dashboard(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a dashboard started by :func:`start_dashboard`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def serving_dashboard(storage_url: str, host: str = "127.0.0.1", port: int = 8080,
                      log_path: str | Path | None = None,
                      say: Callable[[str], None] = print) -> Iterator[subprocess.Popen]:
    """Serve ``storage_url`` while the ``with`` block runs; SIGTERM stops the block like Ctrl-C.

    :param storage_url: the study storage (its tables are created first, so the server can read it).
    :param host: interface to listen on.
    :param port: the port.
    :param log_path: where the server's output goes.
    :param say: where the dashboard's address is printed.
    :raises TuneError: when the storage cannot be opened or the server does not start.
    """
    from sb3_plus.tuning.storage import open_storage

    previous = signal.signal(signal.SIGTERM, _interrupt)   # `kill` stops the dashboard too, like Ctrl-C
    server = None
    try:
        open_storage(storage_url, heartbeat_interval=None)
        server = start_dashboard(storage_url, host, port, log_path=log_path)
        say(f"dashboard: http://{host}:{port}/dashboard (serving {dashboard_command(storage_url, host, port)})")
        yield server
    finally:
        if server is not None:
            stop_dashboard(server)
        signal.signal(signal.SIGTERM, previous)


def keep_serving(server: subprocess.Popen, host: str, port: int, log_path: str | Path | None = None,
                 say: Callable[[str], None] = print) -> None:
    """Wait until Ctrl-C (or SIGTERM inside :func:`serving_dashboard`), or until the server exits by itself."""
    say(f"dashboard still serving http://{host}:{port}/dashboard; Ctrl-C to stop")
    try:
        while server.poll() is None:
            time.sleep(0.5)
        say(f"the dashboard stopped (exit code {server.returncode}); see its log in {log_path or 'its output'}")
    except KeyboardInterrupt:
        pass
