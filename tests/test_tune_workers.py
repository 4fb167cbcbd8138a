"""Workers: a SIGKILLed worker's trial is failed and retried (also by a re-run right after the kill), a live
worker's trial is not waited for, and two workers share one PostgreSQL study."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback

from pg_server import PostgresServer, PostgresUnavailable
from sb3_plus.tune import main as tune_main

REPO = Path(__file__).resolve().parents[1]
FAST = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1"]


def _cmd(*args):
    return [sys.executable, "-m", "sb3_plus.tune", "--algo", "ppo", "--env", "CartPole-v1", "--metric", "return",
            "--sampler", "random", "--pruner", "none", "--hyperparams", *FAST, *args]


def _spawn(args, log_path):
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)


def _kill_mid_trial(args, study_name, storage, log_path):
    """Start a worker, SIGKILL it while trial 0 trains its first seed; return when it is dead."""
    worker = _spawn(_cmd(*args), log_path)
    try:
        deadline = time.time() + 90
        trial = None
        while time.time() < deadline and worker.poll() is None:
            try:
                trials = optuna.load_study(study_name=study_name, storage=storage).trials
            except Exception:   # the study does not exist yet
                trials = []
            if trials and trials[0].intermediate_values:   # trial 0 is mid-way through its first seed
                trial = trials[0]
                break
            time.sleep(0.2)
        assert trial is not None, log_path.read_text()
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(30)
    study = optuna.load_study(study_name=study_name, storage=storage)
    assert study.trials[0].state.name == "RUNNING"   # left behind by the dead worker


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_killed_worker_trial_is_failed_and_the_study_goes_on(tmp_path, capsys):
    args = ["--study-name", "killed", "-f", str(tmp_path), "--n-trials", "2", "--seeds", "2", "-n", "1536",
            "--eval-freq", "256", "--eval-episodes", "1", "--heartbeat-interval", "1", "--grace-period", "2"]
    storage = f"sqlite:///{tmp_path / 'tune' / 'killed.db'}"
    _kill_mid_trial(args, "killed", storage, tmp_path / "worker.log")
    killed_at = time.time()
    time.sleep(max(0.0, killed_at + 3.5 - time.time()))   # the grace period (2 s) passes without a heartbeat

    result = tune_main(_cmd(*args)[3:])   # the same command, in this process
    assert result.trials_run == 2
    trials = optuna.load_study(study_name="killed", storage=storage).trials
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert RetryHeartbeatStaleTrialCallback.retried_trial_number(trials[1]) == 0   # same params, run again
    assert trials[1].params == trials[0].params
    assert trials[1].user_attrs["worker"] != trials[0].user_attrs["worker"]
    out = capsys.readouterr().out
    assert "trial 0 was RUNNING without a heartbeat for over 2 s (its worker died): marked FAIL; its params run " \
           "again as trial 1" in out
    assert "resumed (1 fail, 1 waiting)" in out and "trial   2 COMPLETE" in out


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_rerun_right_after_a_kill_waits_for_the_dead_trial_and_reaches_the_target(tmp_path, capsys):
    args = ["--study-name", "rerun", "-f", str(tmp_path), "--n-trials", "1", "--seeds", "1", "-n", "1536",
            "--eval-freq", "256", "--eval-episodes", "1", "--heartbeat-interval", "1", "--grace-period", "2"]
    storage = f"sqlite:///{tmp_path / 'tune' / 'rerun.db'}"
    _kill_mid_trial(args, "rerun", storage, tmp_path / "worker.log")

    # at once: trial 0 is RUNNING with a recent heartbeat; it must not count as one of the study's trials
    result = tune_main(_cmd(*args)[3:])
    trials = optuna.load_study(study_name="rerun", storage=storage).trials
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    assert result.trials_run == 1 and result.counts == {"FAIL": 1, "COMPLETE": 1}
    assert RetryHeartbeatStaleTrialCallback.retried_trial_number(trials[1]) == 0
    assert trials[1].params == trials[0].params
    out = capsys.readouterr().out
    assert "trials [0] are RUNNING but their heartbeat has stopped" in out
    assert "trial 0 was RUNNING without a heartbeat for over 2 s (its worker died): marked FAIL; its params run " \
           "again as trial 1" in out


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
def test_a_live_workers_running_trial_is_not_waited_for(tmp_path):
    """A running trial whose heartbeat moves belongs to a live worker: it counts, and nobody waits for it."""
    from optuna.storages._heartbeat import HeartbeatThread

    from sb3_plus.tuning import TuneSettings, tune
    from sb3_plus.tuning.storage import open_storage

    settings = TuneSettings("ppo", "CartPole-v1", n_trials=1, log_folder=tmp_path, seeds=1, n_timesteps=64,
                            eval_freq=32, eval_episodes=1, sampler="random", pruner="none", hyperparams=FAST,
                            heartbeat_interval=1, grace_period=20, verbose=0)
    assert tune(settings, train_fn=_fake_train).trials_run == 1
    other = optuna.load_study(study_name=settings.name, storage=open_storage(settings.storage_url(), 1, 20))
    trial = other.ask()   # another worker's trial, beating every second
    beating = HeartbeatThread(trial._trial_id, other._storage)
    beating.start()
    try:
        start = time.monotonic()
        result = tune(replace(settings, n_trials=2), train_fn=_fake_train)
        waited = time.monotonic() - start
    finally:
        beating.join()
    assert result.trials_run == 0 and result.counts == {"COMPLETE": 1, "RUNNING": 1}
    assert waited < 10, f"waited {waited:.1f} s for a live worker's trial (grace period 20 s)"
    other.tell(trial, 1.0)


def _fake_train(algo, env_id, *, n_timesteps, seed, log_folder, eval_freq, on_eval, **kwargs):
    for step in range(0, n_timesteps + 1, eval_freq):
        on_eval(step, SimpleNamespace(success_rate=0.5, mean_return=1.0))
    return SimpleNamespace(final_eval={"success_rate": 0.5, "mean_return": 1.0}, num_timesteps=n_timesteps,
                           run_dir=log_folder)


@pytest.fixture(scope="module")
def postgres():
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        pytest.fail(f"a PostgreSQL server is needed for the shared-study test and could not be started: {exc}")
    try:
        yield server
    finally:
        server.stop()


def test_two_workers_share_one_postgresql_study(tmp_path, postgres):
    url = postgres.url()
    workers = []
    for index in range(2):   # separate log folders, as on two machines
        args = _cmd("--storage", url, "--study-name", "shared", "-f", str(tmp_path / f"machine{index}"),
                    "--n-trials", "4", "--seeds", "1", "-n", "512", "--eval-freq", "256", "--eval-episodes", "1",
                    "--sampler-seed", str(index))
        workers.append(_spawn(args, tmp_path / f"worker{index}.log"))
    try:
        for worker in workers:
            worker.wait(240)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(30)
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert [w.returncode for w in workers] == [0, 0], logs
    study = optuna.load_study(study_name="shared", storage=url)
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 4, logs                     # the shared target, not 4 per worker
    extra = [t for t in study.trials if t.state.name != "COMPLETE"]
    assert all(t.user_attrs.get("surplus") for t in extra), [(t.number, t.state.name) for t in extra]
    pids = {int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in done}
    assert pids == {w.pid for w in workers}, logs   # both workers ran trials
    for index in range(2):   # each worker wrote its report from the shared study
        report = tmp_path / f"machine{index}" / "tune" / "shared" / "report.json"
        assert report.exists()
    assert study.user_attrs["sb3_plus"]["n_timesteps"] == 512
