"""A throwaway PostgreSQL server for tests.

Finds Debian's server binaries (``initdb``, ``pg_ctl``: on the PATH or in
``/usr/lib/postgresql/<version>/bin``), installs the ``postgresql`` package with apt-get
when they are absent and the tests run as root, creates a cluster in a fresh temporary
directory, starts it on a free port of 127.0.0.1 (as the ``postgres`` user when running as
root, since ``initdb`` refuses root) and removes everything on :meth:`PostgresServer.stop`.
Anything that cannot be done raises :class:`PostgresUnavailable` with the reason and the fix.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be found, installed or started here."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", path.parent.name)) or (0,)


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest Debian version first), or ``None``."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(os.path.realpath(initdb)).parent
    return None


def ensure_postgres() -> Path:
    """Find the server binaries, installing Debian's ``postgresql`` package when absent (as root).

    :raises PostgresUnavailable: when they are absent and cannot be installed.
    """
    found = find_pg_bin()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed and cannot be installed here "
            "(needs root and apt-get). Fix: sudo apt-get install -y postgresql")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    found = find_pg_bin()
    if found is None:
        raise PostgresUnavailable("apt-get installed postgresql but initdb / pg_ctl are still not found "
                                  "under /usr/lib/postgresql/*/bin")
    return found


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 only, trust auth.

    :param database: a database created after start for the tests.
    """

    def __init__(self, database: str = "optuna") -> None:
        self.database = database
        self.bin = ensure_postgres()
        self.port = free_port()
        self.root: Path | None = None
        self.user: str | None = None
        self.started = False

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def url(self, driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL of the test database."""
        return f"{driver}://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            runuser = shutil.which("runuser")
            if runuser:
                cmd = [runuser, "-u", self.user, "--", *cmd]
            else:
                cmd = ["su", self.user, "-s", "/bin/sh", "-c", " ".join(f"'{c}'" for c in cmd)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            log = ""
            if self.root is not None and (self.root / "server.log").exists():
                log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise PostgresUnavailable(f"{' '.join(cmd)} failed ({done.returncode}): {done.stdout[-1000:]}"
                                      f"{done.stderr[-2000:]}{log}")
        return done

    def start(self) -> "PostgresServer":
        """initdb, start on the free port, create the database."""
        self.root = Path(tempfile.mkdtemp(prefix="sb3plus-pg-", dir="/tmp"))
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
                account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.user = "postgres"
        os.chmod(self.root, 0o700)
        self._run(["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run(["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"), "-w",
                   "-t", "60", "start"])
        self.started = True
        self._run(["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", self.database])
        return self

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        try:
            if self.started:
                self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"], timeout=60)
                self.started = False
        finally:
            if self.root is not None:
                shutil.rmtree(self.root, ignore_errors=True)
                self.root = None
