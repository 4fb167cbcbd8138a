"""python -m sb3_plus.train / evaluate: run folders, resume, pretraining handover, clear errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sb3_plus.config import load_saved_config
from sb3_plus.data.collect import collect_expert
from sb3_plus.evaluate import evaluate, main as evaluate_main
from sb3_plus.train import main as train_main, train

REPO = Path(__file__).resolve().parents[1]
FAST = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:2"]


def test_run_folder_contents(tmp_path):
    result = train("ppo", "MazeEasy-v0", n_timesteps=512, log_folder=tmp_path, hyperparams=FAST,
                   eval_freq=256, eval_episodes=3, verbose=0)
    run = result.run_dir
    assert run == tmp_path / "ppo" / "MazeEasy-v0_1"
    for name in ("MazeEasy-v0.zip", "config.yml", "command.txt", "run_info.json", "evaluations.npz",
                 "best_model.zip", "learning_curve.png"):
        assert (run / name).exists(), name
    info = json.loads((run / "run_info.json").read_text())
    assert info["algo"] == "ppo" and info["env_id"] == "MazeEasy-v0" and info["num_timesteps"] == 512
    assert "dataset_id" in info
    # in-run evaluations choose best_model.zip: validation seeds, not the held-out report's (10000+)
    assert info["final_eval"]["first_seed"] == 20_000
    with np.load(run / "evaluations.npz") as data:
        assert list(data["timesteps"]) == [256, 512]
        assert data["successes"].shape == (2, 3)
    config = load_saved_config(run / "config.yml", "ppo")
    assert config.n_envs == 2 and config.algo_kwargs["n_steps"] == 64
    assert list((run / "tb").iterdir()), "TensorBoard events are written"
    second = train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST, eval_freq=0, verbose=0)
    assert second.run_dir.name == "MazeEasy-v0_2"


def test_resume_continues_steps_and_schedules(tmp_path):
    first = train("ppo", "MazeEasy-v0", n_timesteps=512, log_folder=tmp_path, save_freq=256,
                  hyperparams=FAST + ["learning_rate:lin_1e-3"], eval_freq=256, eval_episodes=2, verbose=0)
    from stable_baselines3 import PPO

    half = PPO.load(first.model_path)
    assert half.num_timesteps == 512
    assert half._current_progress_remaining == pytest.approx(0.0, abs=0.2)
    # resume the run folder with a bigger budget: step counts and evaluation record continue
    resumed = train("ppo", "MazeEasy-v0", n_timesteps=1024, trained_agent=first.run_dir,
                    hyperparams=FAST + ["learning_rate:lin_1e-3"], eval_freq=256, eval_episodes=2, verbose=0)
    assert resumed.run_dir == first.run_dir and resumed.num_timesteps == 1024
    with np.load(first.run_dir / "evaluations.npz") as data:
        assert list(data["timesteps"]) == [256, 512, 768, 1024]
    final = PPO.load(resumed.model_path)
    assert final.num_timesteps == 1024
    # the linear schedule ran over 0..1024 continuously: it ends at ~0, not restarted at 1.0
    assert final._current_progress_remaining < 0.2
    assert sorted(p.name for p in (first.run_dir / "checkpoints").glob("model_*.zip"))


def test_sigterm_saves_and_run_resumes(tmp_path):
    cmd = [sys.executable, "-m", "sb3_plus.train", "--algo", "ppo", "--env", "MazeEasy-v0", "-n", "10000000",
           "-f", str(tmp_path), "--eval-freq", "0", "--hyperparams", *FAST]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    run = tmp_path / "ppo" / "MazeEasy-v0_1"
    deadline = time.time() + 60
    while time.time() < deadline and not (run / "run_info.json").exists():
        time.sleep(0.2)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert (run / "interrupted.zip").exists(), out
    assert "Resume with" in out
    from stable_baselines3 import PPO

    steps = PPO.load(run / "interrupted.zip").num_timesteps
    assert steps > 0
    resumed = train("ppo", "MazeEasy-v0", n_timesteps=steps + 256, trained_agent=run, hyperparams=FAST,
                    eval_freq=0, verbose=0)
    assert resumed.num_timesteps >= steps + 256


def test_bc_pretraining_hands_over_to_ppo(tmp_path):
    collect_expert("MazeEasy-v0", episodes=60, seed=0, progress_bar=False, dataset_id="sb3plus/mazeeasy/test-v0")
    result = train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path, hyperparams=FAST,
                   pretrain="bc", dataset="sb3plus/mazeeasy/test-v0", pretrain_kwargs={"epochs": 15},
                   eval_freq=128, eval_episodes=20, verbose=0)
    report = result.pretrain
    assert report["dataset_id"] == "sb3plus/mazeeasy/test-v0"
    assert report["holdout_agreement"][-1] > report["holdout_agreement"][0] or report["holdout_agreement"][-1] > 0.8
    assert report["holdout_agreement"][-1] > 0.6
    from stable_baselines3 import PPO

    from sb3_plus.envs import make_env
    from sb3_plus.evaluation import evaluate_model

    env = make_env("MazeEasy-v0")
    untrained = evaluate_model(PPO("MlpPolicy", env, seed=0), env, episodes=20, seed=10_000).success_rate
    env.close()
    # held-out mazes, before any RL: BC must beat an untrained policy clearly
    assert report["eval"]["success_rate"] >= untrained + 0.1
    info = json.loads((result.run_dir / "run_info.json").read_text())
    assert info["dataset_id"] == "sb3plus/mazeeasy/test-v0"


def test_best_model_keeps_the_pretrained_policy_when_rl_undoes_it(tmp_path):
    fixed = {"fixed_layout_seed": 3}  # one maze: BC from a few episodes reaches the goal often
    collect_expert("MazeEasy-v0", episodes=40, seed=0, progress_bar=False, dataset_id="sb3plus/mazeeasy/best-v0",
                   env_kwargs=fixed)
    # RL settings that wreck a policy: a huge entropy bonus at a high learning rate, with no
    # fine-tuning protection (finetune:null: no critic-only start, no anchor to the pretrained policy)
    result = train("ppo", "MazeEasy-v0", n_timesteps=1024, log_folder=tmp_path, env_kwargs=fixed,
                   hyperparams=FAST + ["learning_rate:0.01", "ent_coef:5.0", "n_epochs:10", "finetune:null"],
                   pretrain="bc", dataset="sb3plus/mazeeasy/best-v0", pretrain_kwargs={"epochs": 30},
                   eval_freq=10**9, eval_episodes=20, verbose=0)
    with np.load(result.run_dir / "evaluations.npz") as data:
        assert list(data["timesteps"]) == [0, 1024]       # right after pretraining, and at the end
        after_bc, after_rl = (float(np.mean(s)) for s in data["successes"])
    assert after_bc >= 0.3 and after_rl < after_bc
    from stable_baselines3 import PPO

    best = PPO.load(result.run_dir / "best_model.zip")
    assert best.num_timesteps == 0, "best_model.zip is the policy as pretraining left it"
    again = evaluate(result.run_dir / "best_model.zip", "MazeEasy-v0", episodes=20, seed=20_000)
    assert again.success_rate == after_bc
    assert PPO.load(result.model_path).num_timesteps == 1024


def test_recurrent_bc_then_recurrent_ppo_and_evaluate(tmp_path):
    collect_expert("MazeEasy-v0", episodes=30, seed=0, progress_bar=False, dataset_id="sb3plus/mazeeasy/lstm-v0")
    result = train("ppo_lstm", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path,
                   hyperparams=["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1",
                                "policy_kwargs.lstm_hidden_size:32"],
                   pretrain="bc", dataset="sb3plus/mazeeasy/lstm-v0", pretrain_kwargs={"epochs": 3, "seq_len": 16},
                   eval_freq=0, verbose=0)
    assert result.pretrain["recurrent"] is True
    summary = evaluate(result.model_path, episodes=4, seed=10_000)
    assert summary.seeds == [10_000, 10_001, 10_002, 10_003]
    assert len(summary.lengths) == 4 and 0.0 <= summary.success_rate <= 1.0
    again = evaluate(result.model_path, episodes=4, seed=10_000)
    assert again.returns == summary.returns, "deterministic evaluation on fixed seeds is reproducible"


@pytest.mark.parametrize("algo", ["a2c", "dqn"])
def test_other_algorithms(tmp_path, algo):
    result = train(algo, "CartPole-v1", n_timesteps=300, log_folder=tmp_path, eval_freq=0, verbose=0,
                   hyperparams=["n_envs:1"])
    assert result.model_path.exists()
    assert evaluate(result.model_path, episodes=2).summary()["episodes"] == 2


def test_cli_json_and_errors(tmp_path, capsys):
    result = train_main(["--algo", "ppo", "--env", "MazeEasy-v0", "-n", "128", "-f", str(tmp_path),
                         "--eval-freq", "0", "--hyperparams", *FAST])
    printed = json.loads(capsys.readouterr().out)
    assert printed["num_timesteps"] == 128
    assert (result.run_dir / "command.txt").read_text().startswith("python -m sb3_plus.train --algo ppo")
    summary = evaluate_main(["--model", str(result.model_path), "--episodes", "3"])
    assert summary["episodes"] == 3 and set(summary) >= {"mean_return", "std_return", "success_rate", "mean_length"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "sb3_plus.train", *args, "-f", str(tmp_path)], cwd=REPO,
                              capture_output=True, text=True)

    missing = run("--algo", "ppo", "--env", "MazeEasy-v0", "--pretrain", "bc", "--dataset", "sb3plus/none/x-v0")
    assert missing.returncode == 2 and "not found" in missing.stderr and "collect_expert" in missing.stderr
    bad_key = run("--algo", "ppo", "--env", "MazeEasy-v0", "--hyperparams", "n_stepz:3")
    assert bad_key.returncode == 2 and "n_stepz" in bad_key.stderr and "n_steps" in bad_key.stderr
    bad_env = run("--algo", "ppo", "--env", "Nope-v0")
    assert bad_env.returncode == 2 and "Unknown env id" in bad_env.stderr
    no_model = subprocess.run([sys.executable, "-m", "sb3_plus.evaluate", "--model", "nope.zip"], cwd=REPO,
                              capture_output=True, text=True)
    assert no_model.returncode == 2 and "not found" in no_model.stderr


def test_pretrain_seq_len_flag_takes_steps_or_whole_episodes(capsys):
    from sb3_plus.train import build_parser

    base = ["--algo", "ppo_lstm", "--env", "MazeEasy-v0", "--pretrain-seq-len"]
    assert build_parser().parse_args([*base, "episode"]).pretrain_seq_len == "episode"
    assert build_parser().parse_args([*base, "64"]).pretrain_seq_len == 64
    with pytest.raises(SystemExit):
        build_parser().parse_args([*base, "episodes"])
    assert "neither a whole number of steps nor 'episode'" in capsys.readouterr().err


def test_dataset_policy_space_mismatch_is_clear(tmp_path):
    collect_expert("MazeEasyPixels-v0", episodes=3, progress_bar=False, dataset_id="sb3plus/pixels/x-v0")
    with pytest.raises(ValueError) as err:
        train("ppo", "MazeEasy-v0", n_timesteps=64, log_folder=tmp_path, hyperparams=FAST + ["n_steps:32"],
              pretrain="bc", dataset="sb3plus/pixels/x-v0", eval_freq=0, verbose=0)
    message = str(err.value)
    assert "Box(0, 255, (40, 40, 1), uint8)" in message or "40, 40" in message
    assert "50" in message or "(50,)" in message


def test_finetune_hyperparameters_apply_after_pretraining_only(tmp_path):
    collect_expert("MazeEasy-v0", episodes=4, seed=0, progress_bar=False, dataset_id="sb3plus/mazeeasy/ft-v0")
    conf = tmp_path / "ppo.yml"
    conf.write_text(
        "MazeEasy-v0:\n  policy: MlpPolicy\n  n_timesteps: 128\n  n_envs: 2\n  n_steps: 64\n  batch_size: 64\n"
        "  learning_rate: 0.001\n  ent_coef: 0.01\n"
        "  pretrain:\n    epochs: 1\n    finetune: {learning_rate: 0.00002, ent_coef: 0.0}\n")
    common = dict(n_timesteps=128, log_folder=tmp_path / "logs", conf_file=conf, eval_freq=0, verbose=0,
                  tensorboard=False)
    pretrained = train("ppo", "MazeEasy-v0", pretrain="bc", dataset="sb3plus/mazeeasy/ft-v0", **common)
    scratch = train("ppo", "MazeEasy-v0", **common)
    explicit = train("ppo", "MazeEasy-v0", pretrain="bc", dataset="sb3plus/mazeeasy/ft-v0",
                     hyperparams=["ent_coef:0.05"], **common)
    cfg = {name: load_saved_config(r.run_dir / "config.yml", "ppo") for name, r in
           (("pretrained", pretrained), ("scratch", scratch), ("explicit", explicit))}
    rl = {name: (c.algo_kwargs["learning_rate"](1.0), c.algo_kwargs["ent_coef"]) for name, c in cfg.items()}
    assert rl == {"pretrained": (2e-5, 0.0), "scratch": (0.001, 0.01), "explicit": (2e-5, 0.05)}  # --hyperparams win


def test_updates_and_rollouts_run_on_their_own_torch_threads(tmp_path):
    """Rollouts step the envs on ``torch_threads`` (1); gradient updates use ``update_threads`` while envs wait."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback

    seen = {"rollout": set(), "update": set()}

    class Record(BaseCallback):
        def _on_training_start(self) -> None:
            train = self.model.train

            def recorded_train() -> None:
                seen["update"].add(torch.get_num_threads())
                train()

            self.model.train = recorded_train

        def _on_training_end(self) -> None:
            del self.model.train  # the model is saved next: no function of this test in its data

        def _on_step(self) -> bool:
            seen["rollout"].add(torch.get_num_threads())
            return True

    result = train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=str(tmp_path), eval_freq=0, verbose=0,
                   update_threads=2, callback=Record(), hyperparams={"n_envs": 2, "n_steps": 64, "batch_size": 64})
    assert seen == {"rollout": {1}, "update": {2}}
    assert torch.get_num_threads() == 1, "the thread count is restored after training"
    assert json.loads((result.run_dir / "run_info.json").read_text())["update_threads"] == 2


def test_a_stop_that_surfaces_as_another_error_is_still_a_stop(tmp_path):
    """Ctrl-C inside a C extension's import comes out as an ImportError: the run still saves and stops as on Ctrl-C."""
    from stable_baselines3.common.callbacks import BaseCallback

    from sb3_plus.utils import INTERRUPTED, sigterm_as_interrupt

    class StopInsideAnImport(BaseCallback):
        def _on_step(self) -> bool:
            INTERRUPTED.set()
            raise ImportError("initialization failed")

    with sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt):
        train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=str(tmp_path), eval_freq=0, verbose=0,
              callback=StopInsideAnImport(), hyperparams={"n_envs": 2, "n_steps": 64, "batch_size": 64})
    assert not INTERRUPTED.is_set(), "the outermost block clears the stop"
    assert (tmp_path / "ppo" / "MazeEasy-v0_1" / "interrupted.zip").exists()

    class Broken(BaseCallback):
        def _on_step(self) -> bool:
            raise ImportError("a real import error")

    with sigterm_as_interrupt(), pytest.raises(ImportError, match="a real import error"):  # no stop: the error
        train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=str(tmp_path), eval_freq=0, verbose=0,
              callback=Broken(), hyperparams={"n_envs": 2, "n_steps": 64, "batch_size": 64})
