"""The kill matrix: collect, train, DAgger and tune, each stopped with SIGINT (Ctrl-C), SIGTERM and SIGKILL while
working. Whatever stops them, nothing half-written is kept under a final name, no staging or temporary folder
outlives the next start, and running the command again (resuming a training run) finishes with its logs kept."""

from __future__ import annotations

import csv
import importlib
import json
import os
import random
import re
import secrets
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sb3_plus.cli_common import run_cli
from sb3_plus.files import owner_token

REPO = Path(__file__).resolve().parents[1]
FAST = ["n_envs:2", "n_steps:32", "batch_size:64", "n_epochs:1"]
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
STOP_TIMEOUT_S = 30
INTERRUPTED = "interrupted: nothing half-written was kept"  # every command's last line on Ctrl-C / SIGTERM
# all a cleanly stopped command may print to stderr: a traceback or "Exception ignored in ..." means the stop
# was not handled
CLEAN_STOP = re.compile(rf"{re.escape(INTERRUPTED)}|interrupted at \d+ steps; saved .+\. Resume with: "
                        r"python -m sb3_plus\.train .+")
DATASET_ID = "sb3plus/kill/matrix-v0"
STUDY = "kill"


@dataclass
class Folders:
    """Where a case writes: everything lies under ``tmp``."""

    tmp: Path
    datasets: Path   # MINARI_DATASETS_PATH
    logs: Path       # -f

    @property
    def run(self) -> Path:
        """The training run folder of the train and DAgger cases."""
        return self.logs / "ppo" / "MazeEasy-v0_1"

    @property
    def trial_run(self) -> Path:
        """The run folder of the tuning study's first trial."""
        return self.logs / "tune" / STUDY / "trials" / "0000" / "seed_0" / "ppo" / "MazeEasy-v0_1"

    @property
    def study_db(self) -> Path:
        return self.logs / "tune" / f"{STUDY}.db"


@dataclass
class Command:
    """One row of the matrix: what runs, when it is doing real work, how it is run again."""

    module: str
    argv: Callable[[Folders], list[str]]
    busy: Callable[[Folders], bool]
    again: Callable[[Folders, int], list[str]]   # (folders, the most steps a saved model has) -> argv
    # a file whose atomic write a SIGKILL may have caught (None: it always leaves its staging folder)
    writing: Callable[[Folders], Path | None]


# ----------------------------------------------------------------------------------------------- the commands


def _collect_argv(f: Folders) -> list[str]:
    return ["--env", "MazeEasy-v0", "--episodes", "100000", "--no-progress", "--dataset-id", DATASET_ID]


def _staging_has_episodes(f: Folders) -> bool:
    return any(any(data.iterdir()) for data in f.datasets.glob(f".staging-*/{DATASET_ID}/data"))


def _train_argv(f: Folders) -> list[str]:
    return ["--algo", "ppo", "--env", "MazeEasy-v0", "-n", "100000000", "-f", str(f.logs), "--eval-freq", "512",
            "--eval-episodes", "2", "--save-freq", "512", "--no-progress", "--hyperparams", *FAST]


def _training(f: Folders) -> bool:
    # a checkpoint too, so that what a SIGKILL leaves can be resumed (-i takes the newest checkpoint)
    return (f.run / "run_info.json").exists() and any((f.run / "checkpoints").glob("model_*_steps.zip"))


def _resume_argv(f: Folders, steps: int) -> list[str]:
    return ["--algo", "ppo", "--env", "MazeEasy-v0", "-i", str(f.run), "-n", str(steps + 128), "--no-progress"]


def _dagger_argv(f: Folders) -> list[str]:
    return ["--algo", "ppo", "--env", "MazeEasy-v0", "-n", "128", "-f", str(f.logs), "--pretrain", "dagger",
            "--dagger-rounds", "4", "--dagger-episodes", "6", "--pretrain-epochs", "1", "--eval-episodes", "2",
            "--no-progress", "--hyperparams", *FAST]


def _dagger_round_done(f: Folders) -> bool:
    return (f.run / "dagger" / "datasets" / "dagger" / "round0-v0").is_dir()


def _dagger_writing(f: Folders) -> Path:
    pretrain = json.loads((f.run / "run_info.json").read_text()).get("pretrain") or {}
    return f.run / "dagger" / "state.json" if pretrain.get("finished") is False else f.run / "run_info.json"


def _tune_argv(f: Folders) -> list[str]:
    return ["--algo", "ppo", "--env", "MazeEasy-v0", "--study-name", STUDY, "-f", str(f.logs), "--n-trials", "1",
            "--seeds", "1", "-n", "2048", "--eval-freq", "512", "--eval-episodes", "2", "--sampler", "random",
            "--sampler-seed", "0", "--pruner", "none", "--heartbeat-interval", "1", "--grace-period", "2",
            "--hyperparams", *FAST]


def _trial_states(db: Path) -> list[str]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return [row[0] for row in conn.execute("SELECT state FROM trials ORDER BY number")]
    except sqlite3.Error:  # the study's tables are being created
        return []


def _trial_training(f: Folders) -> bool:
    # a RUNNING trial whose training has started (before that a trial only samples and imports)
    return "RUNNING" in _trial_states(f.study_db) and (f.trial_run / "run_info.json").exists()


COMMANDS = {
    "collect": Command("sb3_plus.collect_expert", _collect_argv, _staging_has_episodes,
                       lambda f, steps: [*_collect_argv(f), "--episodes", "2", "--overwrite"], lambda f: None),
    "train": Command("sb3_plus.train", _train_argv, _training, _resume_argv, lambda f: f.run / "run_info.json"),
    # the same run with its envs in worker processes: Ctrl-C reaches them too, they must end with the run
    "train_workers": Command("sb3_plus.train", lambda f: [*_train_argv(f), "--vec-env", "workers"], _training,
                             _resume_argv, lambda f: f.run / "run_info.json"),
    "dagger": Command("sb3_plus.train", _dagger_argv, _dagger_round_done, lambda f, steps: _resume_argv(f, 64),
                      _dagger_writing),
    "tune": Command("sb3_plus.tune", _tune_argv, _trial_training, lambda f, steps: _tune_argv(f),
                    lambda f: f.trial_run / "run_info.json"),
}


# ----------------------------------------------------------------------------------------------- processes


def _spawn(module: str, argv: list[str], f: Folders, name: str) -> subprocess.Popen:
    """Start ``python -m module argv`` in its own process group (so that nothing it starts can outlive the test)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", MINARI_DATASETS_PATH=str(f.datasets))
    with open(f.tmp / f"{name}.out", "w") as out, open(f.tmp / f"{name}.err", "w") as err:
        return subprocess.Popen([sys.executable, "-m", module, *argv], cwd=REPO, env=env, stdout=out, stderr=err,
                                start_new_session=True)


def _end_group(proc: subprocess.Popen) -> None:
    """SIGKILL whatever is left of the process group of ``proc`` (the process itself and its children)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait(timeout=STOP_TIMEOUT_S)


def _output(f: Folders, name: str) -> tuple[str, str]:
    return (f.tmp / f"{name}.out").read_text(), (f.tmp / f"{name}.err").read_text()


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks after boot (what its temporary names record)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rindex(")") + 2:].split()[19])


def _stop_while_busy(command: Command, sig: signal.Signals, f: Folders, delay: float) -> tuple[int, str]:
    """Start the command, wait until it does real work, wait ``delay`` more, send ``sig``; return the exit
    code and the owner token of the stopped process."""
    proc = _spawn(command.module, command.argv(f), f, "killed")
    try:
        deadline = time.monotonic() + 90
        while not command.busy(f):
            assert proc.poll() is None, f"it ended before doing the work to interrupt: {_output(f, 'killed')}"
            assert time.monotonic() < deadline, f"it did not get to work in time: {_output(f, 'killed')}"
            time.sleep(0.02)
        token = f"{proc.pid}-{_start_time(proc.pid)}-{owner_token().split('-')[2]}"
        time.sleep(delay)
        assert proc.poll() is None, f"its budget ran out before the signal: {_output(f, 'killed')}"
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)   # Ctrl-C signals the terminal's whole foreground process group
        else:
            proc.send_signal(sig)      # `kill [-9] PID`
        try:
            code = proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {STOP_TIMEOUT_S} s after {sig.name}: {_output(f, 'killed')}")
    finally:
        _end_group(proc)
    return code, token


def _run_again(command: Command, argv: list[str], f: Folders, monkeypatch, capsys) -> None:
    """Run the command again, in this process: its own ``main`` under the command line's error handling (a bug
    raises here with its traceback). A fresh interpreter would only add its imports to the test's time."""
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(f.datasets))
    code = run_cli(importlib.import_module(command.module).main, argv)
    out, err = capsys.readouterr()
    assert code == 0, f"running {argv} again failed ({code}):\n{out}\n{err}"


def _leave_what_a_kill_mid_write_leaves(final: Path, token: str) -> Path:
    """What ``atomic_path`` leaves when the process named by ``token`` is SIGKILLed while writing ``final``.

    A SIGKILL lands inside an atomic write only by chance; this makes the sweep promise testable every time.
    """
    tmp = final.parent / f".{final.name}.{token}-{secrets.token_hex(4)}.tmp"
    tmp.mkdir()
    (tmp / final.name).write_text('{"half": "writ')
    return tmp


# ----------------------------------------------------------------------------------------------- checks


def _is_temporary(name: str) -> bool:
    """A staging folder (``storage.staged_dataset``) or an ``atomic_path`` temporary."""
    return name.startswith((".staging-", ".trash-")) or (name.startswith(".") and name.endswith(".tmp"))


def _leftovers(root: Path) -> list[Path]:
    """Every staging folder and temporary under ``root`` (not looking inside them)."""
    found = []
    for folder, dirs, files in os.walk(root):
        found += [Path(folder) / name for name in (*dirs, *files) if _is_temporary(name)]
        dirs[:] = [d for d in dirs if not _is_temporary(d)]
    return sorted(found)


def _final(root: Path, pattern: str) -> list[Path]:
    """Files matching ``pattern`` under their final names (not inside a temporary)."""
    return [p for p in sorted(root.rglob(pattern)) if not any(map(_is_temporary, p.relative_to(root).parts))]


def _dataset_root(dataset: Path) -> Path:
    """The Minari root of a dataset folder: above its namespaces (folders with ``namespace_metadata.json``)."""
    root = dataset.parent
    while (root / "namespace_metadata.json").exists():
        root = root.parent
    return root


def _assert_nothing_half_written(root: Path, monkeypatch) -> int:
    """Every zip under ``root`` loads, every JSON parses, every Minari dataset loads; return the most steps of
    a saved model."""
    import minari
    from stable_baselines3 import PPO

    steps = 0
    for path in _final(root, "*.zip"):
        try:
            steps = max(steps, PPO.load(path, device="cpu").num_timesteps)
        except Exception as exc:  # noqa: BLE001 - any failure to load is what this looks for
            pytest.fail(f"{path} is under its final name but does not load: {exc!r}")
    for path in _final(root, "*.json"):
        try:
            json.loads(path.read_text())
        except ValueError as exc:
            pytest.fail(f"{path} is under its final name but is not JSON: {exc}")
    for meta in _final(root, "metadata.json"):
        if meta.parent.name != "data":   # data/<episode>/metadata.json belong to a dataset found here
            continue
        dataset = meta.parent.parent
        minari_root = _dataset_root(dataset)
        dataset_id = dataset.relative_to(minari_root).as_posix()
        monkeypatch.setenv("MINARI_DATASETS_PATH", str(minari_root))
        try:  # every episode read back: Minari opens its files only when they are read
            dataset = minari.load_dataset(dataset_id)
            assert 0 < dataset.total_episodes == sum(1 for _ in dataset.iterate_episodes())
        except Exception as exc:  # noqa: BLE001 - whatever stops it from loading
            pytest.fail(f"dataset {dataset_id!r} in {minari_root} is under its final id but does not load: {exc!r}")
    return steps


def _progress_rows(run: Path) -> list[dict[str, str]]:
    """The rows of ``tb/progress.csv``, each checked whole (as many fields as the header)."""
    path = run / "tb" / "progress.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        lines = list(csv.reader(handle))
    if not lines:
        return []
    header, rows = lines[0], lines[1:]
    torn = [i for i, row in enumerate(rows) if len(row) != len(header)]
    assert not torn, f"{path}: rows {torn} do not have the header's {len(header)} fields"
    return [dict(zip(header, row)) for row in rows]


def _assert_logs_kept(f: Folders, before: list[dict[str, str]], commands: list[list[str]]) -> None:
    after = _progress_rows(f.run)
    assert len(after) >= len(before), f"progress.csv lost rows: {len(before)} before the kill, {len(after)} after"
    for i, (old, new) in enumerate(zip(before, after)):
        assert {k: new.get(k, "") for k in old} == old, f"progress.csv row {i} changed on resume"
    lines = (f.run / "command.txt").read_text().splitlines()
    assert lines == [f"python -m sb3_plus.train {shlex.join(argv)}" for argv in commands], lines


# ----------------------------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("signame", list(SIGNALS))
@pytest.mark.parametrize("name", list(COMMANDS))
def test_kill_matrix(name, signame, tmp_path, minari_datasets_path, monkeypatch, capsys):
    command, sig = COMMANDS[name], SIGNALS[signame]
    f = Folders(tmp_path, minari_datasets_path, tmp_path / "logs")
    delay = random.Random(f"{name}-{signame}").uniform(0.05, 0.6)   # somewhere in the work, the same every run
    code, token = _stop_while_busy(command, sig, f, delay)
    out, err = _output(f, "killed")

    planted = None
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
        final = command.writing(f)
        planted = _leave_what_a_kill_mid_write_leaves(final, token) if final is not None else None
        assert _leftovers(tmp_path), "a SIGKILL runs no cleanup: its staging folder stays until the next start"
    else:
        assert code == 130, f"exit code {code} after {signame}:\n{out}\n{err}"
        assert _leftovers(tmp_path) == [], f"{signame} left temporaries behind"
    if name == "collect":
        assert not (minari_datasets_path / DATASET_ID).exists(), "an unfinished dataset appeared under its id"
    steps = _assert_nothing_half_written(tmp_path, monkeypatch)
    rows_before = _progress_rows(f.run)

    again = command.again(f, steps)
    _run_again(command, again, f, monkeypatch, capsys)
    assert _leftovers(tmp_path) == [], f"left after running again (made for the killed process: {planted})"
    _assert_nothing_half_written(tmp_path, monkeypatch)
    if name in ("train", "train_workers", "dagger"):
        _assert_logs_kept(f, rows_before, [command.argv(f), again])
        info = json.loads((f.run / "run_info.json").read_text())
        assert info["num_timesteps"] >= int(again[again.index("-n") + 1])
    elif name == "collect":
        assert (minari_datasets_path / DATASET_ID).is_dir()
    else:
        assert "COMPLETE" in _trial_states(f.study_db)
    if sig != signal.SIGKILL:  # last, so that a noisy stop does not hide the checks above
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines and lines[-1] == INTERRUPTED and all(CLEAN_STOP.fullmatch(line) for line in lines), \
            f"{signame} should end with one line, without a traceback; stderr:\n{err}"
