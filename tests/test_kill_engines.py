"""No ViZDoom engine outlives its Python parent, however the parent dies (real ViZDoom, real command lines).

Every process a test starts carries a mark in its environment (ViZDoom passes its own
environment on to the engine), so the test finds the engines that belong to it even after
they were reparented, and kills whatever is left in its ``finally``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from sb3_plus.envs import make_env, parent_death, vizdoom

REPO = Path(__file__).resolve().parents[1]
MARK = "SB3PLUS_TEST_PROCESS_MARK"
ENGINE = "vizdoom"  # the engine binary's name; the launcher execs it under its own path


# -- processes, read from /proc -------------------------------------------------------------------
def _stat(pid: int) -> tuple[str, int, int] | None:
    """``(state, ppid, start time)`` of a process, or ``None`` when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[19])


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []


def _marked(mark: str) -> dict[int, int]:
    """Live processes (not zombies) whose environment carries ``mark``: pid -> start time."""
    needle = f"{MARK}={mark}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        stat = _stat(int(entry.name))
        if needle in environ and stat is not None and stat[0] != "Z":
            found[int(entry.name)] = stat[2]
    return found


def _instance_id(pid: int) -> str:
    argv = _argv(pid)
    return argv[argv.index("+viz_instance_id") + 1] if "+viz_instance_id" in argv[:-1] else ""


def _is_engine(pid: int) -> bool:
    argv = _argv(pid)
    return bool(argv) and Path(argv[0]).name == ENGINE


def _engines(mark: str) -> dict[int, int]:
    return {pid: start for pid, start in _marked(mark).items() if _is_engine(pid)}


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None:
            parents[int(entry.name)] = stat[1]
    out, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - out
        out |= frontier
    return out


def _alive(pid: int, start: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z" and stat[2] == start


def _wait_until_dead(procs: dict[int, int], seconds: float) -> dict[int, int]:
    """Wait up to ``seconds`` for every process in ``procs`` to end; return those still alive."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        left = {pid: start for pid, start in procs.items() if _alive(pid, start)}
        if not left:
            return {}
        time.sleep(0.1)
    return {pid: start for pid, start in procs.items() if _alive(pid, start)}


def _kill_marked(mark: str) -> None:
    """SIGKILL every process that carries ``mark`` (all started by the test)."""
    for _ in range(3):  # a child may be starting a child of its own
        left = _marked(mark)
        for pid, start in left.items():
            if _alive(pid, start):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not left:
            return
        time.sleep(0.2)


class Marked:
    """A command line started with a mark in its environment; ``close()`` kills all it left."""

    def __init__(self, args: list[str], tmp_path: Path) -> None:
        self.mark = uuid.uuid4().hex
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **{MARK: self.mark})
        self.log = tmp_path / f"out-{self.mark}.txt"
        self.instances: set[str] = set()  # ViZDoom instance ids of its engines, to remove their shared memory
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text()[-3000:]

    def wait_for_engines(self, count: int, seconds: float = 45.0) -> dict[int, int]:
        """Wait until ``count`` engines run under this process (its descendants), then a moment more."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            assert self.proc.poll() is None, f"the command ended before it was killed:\n{self.output()}"
            mine = {pid for pid in _descendants(self.proc.pid) if _is_engine(pid)}
            if len(mine) >= count:
                time.sleep(1.0)  # let it play a little: killed mid-run, not mid-start
                assert self.proc.poll() is None, f"the command ended before it was killed:\n{self.output()}"
                engines = self._engines()
                assert mine <= set(engines), "the engines under the command do not carry its mark"
                return engines
            time.sleep(0.2)
        pytest.fail(f"{count} engine(s) never ran under the command:\n{self.output()}")

    def kill_and_check(self, victim: int, engines: dict[int, int], seconds: float = 10.0) -> None:
        """SIGKILL ``victim``; every engine in ``engines`` and every engine of the mark must be gone soon."""
        os.kill(victim, signal.SIGKILL)
        left = _wait_until_dead(engines, seconds)
        assert not left, f"engine(s) {sorted(left)} outlived the SIGKILLed process {victim}"
        if victim == self.proc.pid:
            self.proc.wait(timeout=30)
            late = _wait_until_dead(self._engines(), seconds)  # engines started after the snapshot
            assert not late, f"engine(s) {sorted(late)} outlived the SIGKILLed process {victim}"

    def _engines(self) -> dict[int, int]:
        engines = _engines(self.mark)
        self.instances.update(filter(None, map(_instance_id, engines)))
        return engines

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._engines()
        _kill_marked(self.mark)
        names = tuple(f"{prefix}{i}" for i in self.instances for prefix in vizdoom._IPC_PREFIXES)
        if names:
            parent_death.remove_orphaned_shared_memory(names, min_age=-1)


@pytest.fixture
def marked(tmp_path):
    started: list[Marked] = []

    def start(*args: str) -> Marked:
        run = Marked([sys.executable, "-m", *args], tmp_path)
        started.append(run)
        return run

    yield start
    for run in started:
        run.close()


TRAIN = ["sb3_plus.train", "--algo", "ppo", "--env", "VizdoomMyWayHome-v1", "-n", "1000000", "--eval-freq", "0",
         "--hyperparams", "n_steps:32", "batch_size:64", "n_epochs:1", "--verbose", "0"]


# -- the command lines ------------------------------------------------------------------------------
def test_sigkilled_collection_leaves_no_engine(marked):
    run = marked("sb3_plus.collect_expert", "--env", "VizdoomMyWayHome-v1", "--episodes", "50",
                 "--dataset-id", "sb3plus/test/killed-v0", "--no-progress")
    engines = run.wait_for_engines(1)
    ipc = [f"{prefix}{_instance_id(pid)}" for pid in engines for prefix in vizdoom._IPC_PREFIXES]
    run.kill_and_check(run.proc.pid, engines)
    # the killed run's shared memory stays behind, mapped by nobody: the next game start removes it
    assert all((Path("/dev/shm") / name).exists() for name in ipc)
    assert sorted(parent_death.remove_orphaned_shared_memory(tuple(ipc), min_age=-1)) == sorted(ipc)
    assert not any((Path("/dev/shm") / name).exists() for name in ipc)


def test_sigkilled_training_with_envs_in_process_leaves_no_engine(marked, tmp_path):
    run = marked(*TRAIN, "--vec-env", "dummy", "--n-envs", "2", "-f", str(tmp_path / "logs"))
    engines = run.wait_for_engines(2)
    assert all(_stat(pid)[1] == run.proc.pid for pid in engines), "dummy envs run their engines in the main process"
    run.kill_and_check(run.proc.pid, engines)


@pytest.mark.parametrize("vec_env", ["subproc", "workers"])
@pytest.mark.parametrize("victim", ["main", "worker"])
def test_sigkilled_training_with_worker_envs_leaves_no_engine(marked, tmp_path, victim, vec_env):
    run = marked(*TRAIN, "--vec-env", vec_env, "--n-envs", "2", "-f", str(tmp_path / "logs"))
    engines = run.wait_for_engines(2)
    owner = {pid: _stat(pid)[1] for pid in engines}
    workers = {ppid: _stat(ppid)[2] for ppid in owner.values()}
    assert len(workers) == 2 and run.proc.pid not in workers, "each worker runs one engine"
    if victim == "main":
        # the workers end on the closed pipe (or when they next write to it), their engines with them
        run.kill_and_check(run.proc.pid, engines, seconds=20)
        assert not _wait_until_dead(workers, 10), "a worker outlived the SIGKILLed main process"
    else:
        worker = min(workers)
        run.kill_and_check(worker, {pid: start for pid, start in engines.items() if owner[pid] == worker})


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stopped_training_with_worker_envs_ends_workers_and_engines(marked, tmp_path, sig):
    run = marked(*TRAIN, "--vec-env", "workers", "--n-envs", "4", "-f", str(tmp_path / "logs"))
    engines = run.wait_for_engines(4)
    workers = {ppid: _stat(ppid)[2] for ppid in {_stat(pid)[1] for pid in engines}}
    assert len(workers) == 2 and run.proc.pid not in workers, "two workers, two engines each"
    os.kill(run.proc.pid, sig)
    assert run.proc.wait(timeout=60) != -signal.SIGKILL
    assert "interrupted" in run.output() and "Traceback" not in run.output(), run.output()
    assert not _wait_until_dead({**engines, **workers}, 10), "a worker or engine outlived the stopped run"
    assert not _wait_until_dead(_marked(run.mark), 10), "a process the run started is still running"


def test_sigkilled_tuning_worker_leaves_no_engine(marked, tmp_path):
    run = marked("sb3_plus.tune", "--algo", "ppo", "--env", "VizdoomMyWayHome-v1", "--n-trials", "1", "--seeds", "1",
                 "-n", "100000", "--hyperparams", "n_envs:1", "n_steps:32", "batch_size:32", "n_epochs:1",
                 "--verbose", "0", "-f", str(tmp_path / "logs"))
    engines = run.wait_for_engines(1, seconds=50)
    run.kill_and_check(run.proc.pid, engines)


# -- the mechanism ----------------------------------------------------------------------------------
def _children(pid: int) -> set[int]:
    return {int(k) for task in Path(f"/proc/{pid}/task").iterdir() for k in (task / "children").read_text().split()}


def test_close_ends_the_engine_started_through_the_launcher():
    before = _children(os.getpid())
    env = make_env("VizdoomBasic-v1")
    try:
        env.reset(seed=0)
        launcher = Path(env.unwrapped.game.get_vizdoom_path())
        assert launcher.parent.name == "launchers" and os.access(launcher, os.X_OK)
        engines = {pid: _stat(pid)[2] for pid in _children(os.getpid()) - before if _is_engine(pid)}
        assert len(engines) == 1, "the launcher hands its pid to the engine (exec), so close() reaches it"
    finally:
        env.close()
    assert not _wait_until_dead(engines, 5), "close() left the engine running"


SLEEPER = textwrap.dedent(
    """
    import subprocess, sys, time
    from sb3_plus.envs.parent_death import dying_with_parent
    child = subprocess.Popen([dying_with_parent(sys.argv[1]), "120"])
    print(child.pid, flush=True)
    time.sleep(120)
    """
)


def test_any_child_started_through_the_launcher_dies_with_a_sigkilled_parent(tmp_path):
    env = dict(os.environ, **{MARK: uuid.uuid4().hex})
    parent = subprocess.Popen([sys.executable, "-c", SLEEPER, shutil.which("sleep")], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"the parent started no child: {line!r}"
        child = int(line)
        deadline = time.time() + 10
        while time.time() < deadline and Path(_argv(child)[0] if _argv(child) else "").name != "sleep":
            time.sleep(0.05)
        assert Path(_argv(child)[0]).name == "sleep", "the launcher did not exec the program"
        start = _stat(child)[2]
        parent.kill()
        parent.wait(timeout=10)
        assert not _wait_until_dead({child: start}, 5), "the child outlived its SIGKILLed parent"
    finally:
        parent.kill()
        parent.wait(timeout=10)
        _kill_marked(env[MARK])


def test_launcher_starts_nothing_for_a_parent_that_already_died():
    launcher = parent_death.dying_with_parent(shutil.which("echo"))
    assert launcher != shutil.which("echo")
    # the parent it was told about is not its parent: as if that parent died before the launcher ran
    env = dict(os.environ, **{parent_death.PARENT_VARIABLE: str(os.getpid() + 1_000_000)})
    done = subprocess.run([launcher, "started"], env=env, check=False, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and done.stdout == "" and "already exited" in done.stderr
    ok = subprocess.run([launcher, "started"], check=False, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and ok.stdout == "started\n"


def test_without_a_working_launcher_the_program_starts_as_before(tmp_path, monkeypatch):
    echo = shutil.which("echo")
    monkeypatch.setenv(parent_death.SWITCH_VARIABLE, "0")
    assert parent_death.dying_with_parent(echo) == echo
    monkeypatch.delenv(parent_death.SWITCH_VARIABLE)
    monkeypatch.setenv("SB3PLUS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(parent_death, "_checked", {})
    monkeypatch.setattr(parent_death.sys, "executable", str(tmp_path / "no-such-python"))
    with pytest.warns(RuntimeWarning, match="outlive a killed parent"):
        assert parent_death.dying_with_parent(echo) == echo


def test_only_shared_memory_nobody_maps_is_removed(tmp_path):
    import mmap

    shm = tmp_path / "shm"
    shm.mkdir()
    for name in ("GameSMdead", "GameSMlive", "OtherSMdead"):
        (shm / name).write_bytes(b"\0" * 4096)
    with open(shm / "GameSMlive", "r+b") as live, mmap.mmap(live.fileno(), 4096):
        assert parent_death.remove_orphaned_shared_memory(("GameSM",), folder=shm) == [], "too young to tell"
        assert parent_death.remove_orphaned_shared_memory(("GameSM",), min_age=-1, folder=shm) == ["GameSMdead"]
    assert sorted(p.name for p in shm.iterdir()) == ["GameSMlive", "OtherSMdead"]
