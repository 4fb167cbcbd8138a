"""Nothing half-written is kept and nothing is left behind: SIGTERM cleans up like Ctrl-C, what a SIGKILL
leaves is removed at the next start (never a running process's), and atomic writes get the umask's mode."""

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sb3_plus.data.collect import collect_expert
from sb3_plus.files import STALE_AGE_S, atomic_path, make_owned_dir, owner_token, sweep_stale_temps, write_json_atomic

REPO = Path(__file__).resolve().parents[1]
FAST = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1"]

# a process killed (SIGKILL) in the middle of an atomic write: its temporary folder stays behind
KILLED_WHILE_WRITING = """
import os, signal, sys
from sb3_plus.files import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a file")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _spawn(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for(found, what: str, proc: subprocess.Popen, timeout: float = 45.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = found()
        if result:
            return result
        if proc.poll() is not None:
            pytest.fail(f"the process ended before {what}: {proc.communicate()[0]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}")


def _collect(dataset_id: str) -> subprocess.Popen:
    return _spawn("-m", "sb3_plus.collect_expert", "--env", "MazeEasy-v0", "--episodes", "100000", "--no-progress",
                  "--dataset-id", dataset_id)


def _staging_with_data(root: Path, dataset_id: str) -> list[Path]:
    """Staging folders into which a collection of ``dataset_id`` has started writing episodes."""
    return [data.parents[len(Path(dataset_id).parts)] for data in root.glob(f".staging-*/{dataset_id}/data")
            if any(data.iterdir())]


def _killed_while_writing(target: Path) -> Path:
    subprocess.run([sys.executable, "-c", KILLED_WHILE_WRITING, str(target)], cwd=REPO, check=False)
    [left] = target.parent.glob(f".{target.name}.*.tmp")
    return left


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    for item in [path, *path.rglob("*")]:
        os.utime(item, (old, old))


def test_sigterm_during_collection_leaves_no_staging_folder(minari_datasets_path):
    proc = _collect("sb3plus/test/term-v0")
    try:
        _wait_for(lambda: _staging_with_data(minari_datasets_path, "sb3plus/test/term-v0"), "episodes were staged", proc)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "interrupted" in out, out
    assert list(minari_datasets_path.glob(".staging-*")) == []
    assert not (minari_datasets_path / "sb3plus/test/term-v0").exists()


def test_sigkill_staging_is_swept_by_the_next_collection_but_a_running_one_is_kept(minari_datasets_path):
    killed = _collect("sb3plus/test/killed-v0")
    try:
        [stale] = _wait_for(lambda: _staging_with_data(minari_datasets_path, "sb3plus/test/killed-v0"),
                            "episodes were staged", killed)
    finally:
        killed.kill()
    killed.wait(timeout=30)
    assert stale.is_dir(), "SIGKILL runs no cleanup: the staging folder is still there"

    running = _collect("sb3plus/test/running-v0")
    try:
        [live] = _wait_for(lambda: _staging_with_data(minari_datasets_path, "sb3plus/test/running-v0"),
                           "the second collection staged episodes", running)
        assert not stale.exists(), "the next collection removes the staging folder of the killed one"
        # a third collection into the same root, while the second still runs
        report = collect_expert("MazeEasy-v0", episodes=2, dataset_id="sb3plus/test/short-v0", progress_bar=False)
        assert Path(report.path).is_dir()
        assert live.is_dir() and running.poll() is None, "a running collection's staging folder is never removed"
        running.send_signal(signal.SIGTERM)
        running.communicate(timeout=30)
    finally:
        running.kill()
    assert list(minari_datasets_path.glob(".staging-*")) == []


def test_train_sigkill_leftovers_are_swept_on_resume_and_checkpoints_load(tmp_path):
    from stable_baselines3 import PPO

    from sb3_plus.training import train
    from sb3_plus.training.callbacks import checkpoint_steps

    proc = _spawn("-m", "sb3_plus.train", "--algo", "ppo", "--env", "MazeEasy-v0", "-n", "100000000",
                  "--eval-freq", "0", "--save-freq", "128", "--hyperparams", *FAST, "-f", str(tmp_path))
    run = tmp_path / "ppo" / "MazeEasy-v0_1"
    checkpoints = run / "checkpoints"
    try:
        _wait_for(lambda: list(checkpoints.glob("model_*_steps.zip")), "a checkpoint was saved", proc)
        # kill it while it saves a checkpoint if we catch one in the act, else a moment later
        deadline = time.time() + 5
        while time.time() < deadline and not list(checkpoints.glob(".model_*.zip.*.tmp")):
            time.sleep(0.001)
    finally:
        proc.kill()
    proc.wait(timeout=30)
    # what a kill in the middle of a save leaves (made here where the kill above did not catch a save)
    leftovers = list(checkpoints.glob(".model_*.zip.*.tmp")) or \
        [_killed_while_writing(checkpoints / "model_999999_steps.zip")]
    leftovers.append(_killed_while_writing(run / "interrupted.zip"))
    assert all(path.is_dir() for path in leftovers)

    steps = max(checkpoint_steps(path) for path in checkpoints.glob("model_*_steps.zip"))
    resumed = train("ppo", "MazeEasy-v0", n_timesteps=steps + 256, trained_agent=run, hyperparams=FAST,
                    eval_freq=0, verbose=0)
    assert resumed.num_timesteps >= steps + 256
    assert list(run.rglob("*.tmp")) == [], "the resumed run removed the killed run's temporaries"
    assert not (run / "interrupted.zip").exists() and not (checkpoints / "model_999999_steps.zip").exists()
    for path in checkpoints.glob("model_*_steps.zip"):  # each one whole: it loads, at the step count of its name
        assert PPO.load(path).num_timesteps == checkpoint_steps(path)
    assert PPO.load(resumed.model_path).num_timesteps == resumed.num_timesteps


def test_atomic_writes_get_the_mode_of_a_plain_open_under_the_umask(tmp_path):
    from sb3_plus.training import train

    old = os.umask(0o027)  # 0640 / 0750: neither mkstemp's 0600 nor a hard-coded 0644
    try:
        result = train("ppo", "MazeEasy-v0", n_timesteps=128, hyperparams=FAST, eval_freq=0, save_freq=128,
                       log_folder=tmp_path, verbose=0, tensorboard=False)
        with atomic_path(tmp_path / "folder") as tmp:
            tmp.mkdir(mode=0o700)
            (tmp / "inside.txt").write_text("x")
        write_json_atomic(tmp_path / "data.json", {"a": 1})
    finally:
        os.umask(old)
    checkpoints = list((result.run_dir / "checkpoints").glob("model_*.zip"))
    assert checkpoints
    files = [result.run_dir / "config.yml", result.run_dir / "run_info.json", result.model_path, *checkpoints,
             tmp_path / "data.json"]
    assert {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in files} == \
        {path.name: oct(0o640) for path in files}
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == 0o750


def test_sweep_removes_only_what_a_dead_owner_or_an_old_ownerless_writer_left(tmp_path):
    pid, start, scope = owner_token().split("-")
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    live = make_owned_dir(tmp_path, ".mine.zip.", ".tmp")                      # this process: running
    dead = tmp_path / f".dead.zip.{finished.pid}-1-{scope}-0123abcd.tmp"        # its process has ended
    reused = tmp_path / f".reused.zip.{pid}-{int(start) + 1}-{scope}-0123abcd.tmp"  # same pid, other process
    elsewhere = tmp_path / ".elsewhere.zip.1-1-abcdef-0123abcd.tmp"  # another machine: only its age counts
    elsewhere_old = tmp_path / ".elsewhere_old.zip.1-1-abcdef-0123abcd.tmp"
    ownerless = tmp_path / ".config.yml.k2j4_x9q.tmp"                 # an older version's temporary file
    ownerless_old = tmp_path / ".run_info.json.a8b7c6d5.tmp"
    unrelated = [tmp_path / ".hidden", tmp_path / "notes.tmp", tmp_path / "model.zip"]
    for path in (dead, reused, elsewhere, elsewhere_old):
        path.mkdir()
        (path / "model.zip").write_bytes(b"half")
    for path in (ownerless, ownerless_old, *unrelated):
        path.write_text("x")
    for path in (elsewhere_old, ownerless_old, *unrelated):
        _age(path, STALE_AGE_S + 60)
    removed = sweep_stale_temps(tmp_path)
    assert sorted(removed) == sorted([dead, reused, elsewhere_old, ownerless_old])
    assert all(path.exists() for path in (live, elsewhere, ownerless, *unrelated))
    # an atomic write into the folder sweeps it too
    dead.mkdir()
    write_json_atomic(tmp_path / "run_info.json", {})
    assert not dead.exists() and live.exists()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_path_keeps_the_old_target_on_error_and_replaces_it_whole_on_success(tmp_path, error):
    final = tmp_path / "out" / "folder"
    final.mkdir(parents=True)
    (final / "old.txt").write_text("old")
    with pytest.raises(error):
        with atomic_path(final) as tmp:
            tmp.mkdir()
            (tmp / "new.txt").write_text("new")
            raise error
    assert [p.name for p in final.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in final.parent.iterdir()) == ["folder"], "no temporary left"
    with atomic_path(final) as tmp:
        tmp.mkdir()
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in final.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in final.parent.iterdir()) == ["folder"]


def test_a_stop_while_the_temporary_is_being_created_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C between the temporary folder's mkdir and ``atomic_path`` taking it over: it is still removed."""
    from sb3_plus import files

    real = files.make_owned_dir

    def made_then_stopped(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "make_owned_dir", made_then_stopped)
    folder = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        with files.atomic_path(folder / "model.zip") as tmp:
            tmp.write_text("never")
    assert list(folder.iterdir()) == []


def test_an_interrupted_run_removes_its_own_temporaries_and_no_one_elses(tmp_path):
    from sb3_plus import files

    mine = files.make_owned_dir(tmp_path, ".model_10_steps.zip.", ".tmp")
    other = tmp_path / ".model_10_steps.zip.1-2-otherscope-abcd1234.tmp"
    other.mkdir()
    assert files.remove_own_temps(tmp_path) == [mine]
    assert not mine.exists() and other.exists()
