"""Budgets are budgets: tuning and training train what ``-n`` says, or refuse with the fix."""

import json
from pathlib import Path

import optuna
import pytest
from stable_baselines3 import PPO

from sb3_plus.cli_common import run_cli
from sb3_plus.config import load_hyperparams
from sb3_plus.errors import BadOptionError
from sb3_plus.training import TrainOptions, resolve_run, train
from sb3_plus.tune import main as tune_main
from sb3_plus.tuning import TuneError, TuneSettings, apply_constraints, tune


def test_tune_shrinks_a_rollout_larger_than_the_budget(tmp_path):
    space = tmp_path / "space.yml"
    space.write_text("default:\n  n_steps: {type: categorical, choices: [256]}\n")   # 2 x 256 >> the budget
    lines = []
    result = tune(TuneSettings(
        "ppo", "CartPole-v1", n_trials=2, log_folder=tmp_path, seeds=1, n_timesteps=100, eval_freq=50,
        eval_episodes=1, space=space, sampler="random", pruner="none",
        hyperparams={"n_envs": 2, "n_epochs": 1}), print_fn=lines.append)
    study = optuna.load_study(study_name="ppo-CartPole-v1", storage=result.storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    for trial in study.trials:
        assert trial.params["n_steps"] == 256
        # n_steps 100 // 2 envs; the config's batch of 256 becomes a divisor of the new rollout
        assert trial.user_attrs["adjusted"] == {"n_steps": [256, 50], "batch_size": [256, 100]}
        run = trial.user_attrs["seeds"][0]
        assert run["num_timesteps"] == 100                      # not 512: one rollout of 2 x 256
        info = json.loads((Path(run["run_dir"]) / "run_info.json").read_text())
        assert info["num_timesteps"] == 100
        model = PPO.load(Path(run["run_dir"]) / "CartPole-v1.zip")
        assert model.num_timesteps == 100 and model.n_steps == 50 and model.batch_size == 100
    notes = [line for line in lines if "larger than the budget" in line]
    assert len(notes) == 1, lines                                 # said once, not per trial
    assert "n_steps 256 -> 50" in notes[0] and "100 steps per seed" in notes[0]


def test_budget_shrink_covers_fixed_rollouts_and_only_on_policy_algorithms():
    ppo = load_hyperparams("ppo", "CartPole-v1")                  # 8 envs x 32 steps
    assert apply_constraints(ppo, {}, n_timesteps=512) == ({}, {})                     # it fits: untouched
    out, adjusted = apply_constraints(ppo, {}, n_timesteps=100)                         # the config's own rollout
    assert out == {"n_steps": 12, "batch_size": 96} and adjusted["n_steps"] == [32, 12]
    out, adjusted = apply_constraints(ppo, {}, n_timesteps=5)     # fewer steps than envs
    assert out["n_envs"] * out["n_steps"] == 5 and adjusted["n_envs"] == [8, 5]
    dqn = load_hyperparams("dqn", "CartPole-v1")                  # n_steps means n-step returns there
    assert apply_constraints(dqn, {"n_steps": 3, "batch_size": 64}, n_timesteps=2) == (
        {"n_steps": 3, "batch_size": 64}, {})


def test_tune_refuses_a_budget_below_one_step_before_the_study_opens(tmp_path, capsys):
    base = ["--algo", "ppo", "--env", "CartPole-v1", "-f", str(tmp_path), "--n-trials", "1"]
    assert run_cli(tune_main, base + ["-n", "0"]) == 2           # was: the config's 100,000 steps
    err = capsys.readouterr().err
    assert "n_timesteps must be >= 1, got 0" in err and "--n-timesteps" in err
    for bad, needle in [({"n_timesteps": -3}, "n_timesteps must be >= 1"), ({"eval_freq": 0}, "eval_freq must be"),
                        ({"eval_episodes": 0}, "eval_episodes must be")]:
        with pytest.raises(TuneError, match=needle):
            TuneSettings("ppo", "CartPole-v1", log_folder=tmp_path, **bad)
    assert not (tmp_path / "tune").exists()


def test_train_refuses_a_budget_below_one_rollout(tmp_path):
    logs = tmp_path / "logs"
    with pytest.raises(BadOptionError) as info:                   # the maze config: 8 envs x 256 steps
        train("ppo", "MazeEasy-v0", n_timesteps=100, log_folder=logs, verbose=0)
    message = str(info.value)
    assert "budget of 100 env steps is smaller than one rollout" in message and "= 2048" in message
    assert "Fix: pass -n 2048, or --hyperparams n_steps:12 batch_size:96" in message
    assert not logs.exists()
    # the suggested fix is accepted, and a budget of whole rollouts is too
    plan = resolve_run("ppo", "MazeEasy-v0", TrainOptions(n_timesteps=100, hyperparams=["n_steps:12", "batch_size:96"]))
    assert plan.config.algo_kwargs["n_steps"] * plan.config.n_envs == 96
    resolve_run("ppo", "MazeEasy-v0", TrainOptions(n_timesteps=2048))
    # off-policy algorithms have no rollout to fit
    resolve_run("dqn", "CartPole-v1", TrainOptions(n_timesteps=10, hyperparams=["n_steps:3"]))
