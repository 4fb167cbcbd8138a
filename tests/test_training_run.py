"""The training package: plan before folder, the same wrappers for evaluation, VecNormalize kept with
every saved model, schedules aligned to the total step count, and library errors (never SystemExit)."""

import json
import pickle

import numpy as np
import pytest
from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize

from sb3_plus.errors import BadOptionError, InputNotFoundError, UserError
from sb3_plus.training import TrainOptions, resolve_run, train
from sb3_plus.training.callbacks import AlignedEveryNTimesteps
from sb3_plus.training.envs import make_eval_env, make_training_env

FAST = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1"]


def test_plan_is_pure_and_checks_inputs_before_any_folder(tmp_path):
    logs = tmp_path / "logs"
    plan = resolve_run("ppo", "MazeEasy-v0", TrainOptions(n_timesteps=256, log_folder=logs, hyperparams=FAST))
    assert plan.config.n_timesteps == 256 and plan.config.n_envs == 2 and plan.run_dir is None
    assert not logs.exists(), "resolving a run writes nothing"
    with pytest.raises(InputNotFoundError, match="collect_expert"):
        train("ppo", "MazeEasy-v0", n_timesteps=64, log_folder=logs, hyperparams=FAST + ["n_steps:32"], pretrain="bc",
              dataset="sb3plus/nothing/here-v0", verbose=0)
    assert not logs.exists(), "a missing dataset leaves no run folder behind"


@pytest.mark.parametrize("budget", [0, -5])
def test_budget_below_one_step_is_a_clear_error(tmp_path, budget):
    with pytest.raises(BadOptionError, match="n_timesteps"):
        train("ppo", "MazeEasy-v0", n_timesteps=budget, log_folder=tmp_path / "logs", hyperparams=FAST, verbose=0)
    assert not (tmp_path / "logs").exists()


def test_bad_override_raises_a_user_error_not_system_exit(tmp_path):
    with pytest.raises(UserError):
        train("ppo", "MazeEasy-v0", n_timesteps=64, log_folder=tmp_path, hyperparams=["n_envs"], verbose=0)
    with pytest.raises(BadOptionError, match="unknown training option"):
        train("ppo", "MazeEasy-v0", n_timesteps=64, log_folder=tmp_path, n_timestep=5)


def test_zoo_frame_stack_reaches_the_evaluation_env(tmp_path):
    # a zoo-level frame_stack wraps training in VecFrameStack; evaluation must see the same stacked shape
    result = train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path, hyperparams=FAST + ["frame_stack:3"],
                   eval_freq=128, eval_episodes=2, verbose=0)
    assert result.final_eval["episodes"] == 2
    plan = resolve_run("ppo", "MazeEasy-v0", TrainOptions(hyperparams=FAST + ["frame_stack:3"]))
    train_env, eval_env = make_training_env(plan.config, "MazeEasy-v0", 0), make_eval_env(plan.config, "MazeEasy-v0")
    try:
        assert isinstance(eval_env, VecFrameStack)
        assert eval_env.observation_space.shape == train_env.observation_space.shape
        assert train_env.observation_space.shape[-1] == 3 * make_eval_env_raw_shape()[-1]
    finally:
        train_env.close()
        eval_env.close()


def make_eval_env_raw_shape():
    from sb3_plus.envs import make_env

    env = make_env("MazeEasy-v0")
    try:
        return env.observation_space.shape
    finally:
        env.close()


def test_normalize_on_a_pixel_maze_saves_and_uses_statistics(tmp_path):
    # VecNormalize sits under VecTransposeImage on pixel observations: it must still be found and saved
    result = train("ppo", "MazeEasyPixels-v0", n_timesteps=256, log_folder=tmp_path,
                   hyperparams=FAST + ["normalize:True"], eval_freq=128, eval_episodes=2,
                   verbose=0)
    run = result.run_dir
    for name in ("vecnormalize.pkl", "best_vecnormalize.pkl"):
        assert (run / name).exists(), name
    with open(run / "vecnormalize.pkl", "rb") as handle:
        stats = pickle.load(handle)
    assert stats.obs_rms.count > 256, "statistics were updated by training"
    gamma = json.loads((run / "run_info.json").read_text())
    assert gamma["n_timesteps"] == 256
    assert stats.gamma == pytest.approx(resolve_run("ppo", "MazeEasyPixels-v0", TrainOptions()).config
                                        .algo_kwargs.get("gamma", 0.99))


def test_reward_only_normalization_trains_evaluates_and_publishes(tmp_path):
    # VecNormalize without norm_obs has no obs_rms: evaluation sync and the Hub export must not look for one
    from sb3_plus.hub.layout import export_vecnormalize, read_vecnormalize_json
    from sb3_plus.models import evaluate_saved_model

    result = train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path, eval_freq=128, eval_episodes=2,
                   hyperparams=FAST + ["normalize:{norm_obs: false, norm_reward: true}"], verbose=0)
    with open(result.run_dir / "vecnormalize.pkl", "rb") as handle:
        stats = pickle.load(handle)
    assert not stats.norm_obs and stats.ret_rms.count > 1
    assert evaluate_saved_model(result.model_path, episodes=1, seed=10_000).seeds == [10_000]
    exported = export_vecnormalize(result.run_dir / "vecnormalize.pkl", tmp_path / "vecnormalize.json")
    assert json.loads(exported.read_text())["obs_rms"] is None
    from sb3_plus.envs import make_env

    restored = read_vecnormalize_json(exported, make_env("MazeEasy-v0"))
    assert not restored.norm_obs and restored.ret_rms.count == pytest.approx(stats.ret_rms.count)


def test_evaluation_env_is_frozen_and_synchronised(tmp_path):
    from sb3_plus.training.envs import copy_normalization
    from stable_baselines3 import PPO

    plan = resolve_run("ppo", "MazeEasyPixels-v0", TrainOptions(hyperparams=FAST + ["normalize:True"]))
    venv = make_training_env(plan.config, "MazeEasyPixels-v0", 0)
    eval_env = make_eval_env(plan.config, "MazeEasyPixels-v0")
    try:
        model = PPO(plan.config.policy, venv, **plan.config.model_kwargs())
        model.learn(128)
        assert copy_normalization(model.get_vec_normalize_env(), eval_env)
        assert isinstance(eval_env, VecNormalize) and not eval_env.training and not eval_env.norm_reward
        source = model.get_vec_normalize_env()
        assert np.allclose(eval_env.obs_rms.mean, source.obs_rms.mean) and source.obs_rms.mean.std() > 0
        assert eval_env.obs_rms is not source.obs_rms, "a copy: evaluation never changes the training statistics"
    finally:
        venv.close()
        eval_env.close()


def test_resume_keeps_commands_save_freq_and_aligned_schedules(tmp_path):
    first = train("ppo", "MazeEasy-v0", n_timesteps=384, log_folder=tmp_path, save_freq=256, hyperparams=FAST,
                  eval_freq=256, eval_episodes=1, verbose=0, command="first command")
    run = first.run_dir
    resumed = train("ppo", "MazeEasy-v0", n_timesteps=1024, trained_agent=run, eval_freq=256, eval_episodes=1,
                    verbose=0, command="second command")
    assert (run / "command.txt").read_text().splitlines() == ["first command", "second command"]
    steps = sorted(int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("model_*_steps.zip"))
    assert steps and all(s % 256 == 0 for s in steps) and max(steps) >= 768, steps
    with np.load(run / "evaluations.npz") as data:
        timesteps = list(data["timesteps"])
    # evaluations at multiples of 256 of the total count (384 is the first run's final evaluation)
    assert timesteps[:3] == [256, 384, 512] and timesteps[-1] == resumed.num_timesteps, timesteps


def test_aligned_every_n_timesteps_fires_on_multiples():
    from stable_baselines3.common.callbacks import BaseCallback

    class Record(BaseCallback):
        def __init__(self):
            super().__init__()
            self.fired = []

        def _on_step(self):
            self.fired.append(self.num_timesteps)
            return True

    class FakeModel:
        num_timesteps = 1200

    inner = Record()
    cb = AlignedEveryNTimesteps(500, inner)
    cb.model = inner.model = FakeModel()
    cb.num_timesteps = 1200
    cb._on_training_start()
    for step in range(1201, 2601, 7):
        cb.num_timesteps = inner.num_timesteps = step
        cb.model.num_timesteps = step
        cb._on_step()
    assert [s // 500 for s in inner.fired] == [3, 4, 5]
    assert all(s - (s // 500) * 500 < 7 for s in inner.fired)


def test_resumed_run_appends_to_progress_csv(tmp_path):
    import csv

    first = train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path, hyperparams=FAST, eval_freq=0,
                  verbose=0)
    progress = first.run_dir / "tb" / "progress.csv"
    with open(progress) as handle:
        before = [row["time/total_timesteps"] for row in csv.DictReader(handle)]
    assert before == ["128", "256"]
    train("ppo", "MazeEasy-v0", n_timesteps=512, trained_agent=first.run_dir, eval_freq=128, eval_episodes=1,
          verbose=0)
    with open(progress) as handle:
        rows = list(csv.DictReader(handle))
    steps = [row["time/total_timesteps"] for row in rows if row.get("time/total_timesteps")]
    assert steps[:2] == before and steps[-1] == "512", steps
    assert any(row.get("eval/success_rate") not in (None, "") for row in rows), "a new column joined the old rows"


def test_batches_larger_than_a_rollout_are_refused(tmp_path):
    with pytest.raises(BadOptionError, match="batch_size:128"):
        train("ppo", "MazeEasy-v0", n_timesteps=1024, log_folder=tmp_path / "logs",
              hyperparams=FAST[:2] + ["batch_size:512"], verbose=0)
    assert not (tmp_path / "logs").exists()


def test_zoo_env_wrapper_and_action_noise_are_applied(tmp_path):
    from stable_baselines3.common.noise import NormalActionNoise

    # env_wrapper (rl-zoo3 form: a dotted class with kwargs) wraps training and evaluation envs alike
    wrapped = ["env_wrapper:[{gymnasium.wrappers.TimeLimit: {max_episode_steps: 5}}]"]
    result = train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST + wrapped,
                   eval_freq=128, eval_episodes=3, verbose=0)
    assert result.final_eval["mean_length"] <= 5
    plan = resolve_run("ppo", "MazeEasy-v0", TrainOptions(hyperparams=FAST + wrapped))
    venv = make_training_env(plan.config, "MazeEasy-v0", 0)
    try:
        venv.reset()
        dones = [bool(venv.step(np.array([2, 2]))[2][0]) for _ in range(10)]
        assert dones[4] and dones[9], "every fifth step ends the episode (truncated by the wrapper)"
    finally:
        venv.close()
    # noise_type / noise_std give an off-policy algorithm its action noise
    from sb3_plus.training.run import build_model

    conf = tmp_path / "td3.yml"
    conf.write_text("Pendulum-v1:\n  policy: MlpPolicy\n  n_timesteps: 1000\n  noise_type: normal\n"
                    "  noise_std: 0.3\n")
    plan = resolve_run("td3", "Pendulum-v1", TrainOptions(conf_file=conf))
    venv = make_training_env(plan.config, "Pendulum-v1", 0)
    try:
        model = build_model(plan, venv)
        assert isinstance(model.action_noise, NormalActionNoise)
        assert np.allclose(model.action_noise._sigma, 0.3)
    finally:
        venv.close()


def test_bc_prints_a_summary_line_without_progress_bars(tmp_path, capsys):
    from sb3_plus.data.collect import collect_expert

    collect_expert("MazeEasy-v0", episodes=6, seed=0, dataset_id="sb3plus/mazeeasy/summary-v0", progress_bar=False)
    train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST, pretrain="bc",
          dataset="sb3plus/mazeeasy/summary-v0", pretrain_kwargs={"epochs": 2}, eval_freq=0, verbose=1)
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("BC: held-out agreement"))
    assert "after 2 epochs" in line and "samples/s" in line


def test_dataset_env_options_mismatch_names_the_env_kwargs_that_fix_it(tmp_path):
    from sb3_plus.data.collect import collect_expert
    from sb3_plus.imitation.space_check import SpaceMismatchError

    collect_expert("MazeEasy-v0", episodes=3, seed=0, dataset_id="sb3plus/mazeeasy/view7-v0",
                   env_kwargs={"view_size": 7}, progress_bar=False)
    with pytest.raises(SpaceMismatchError, match="Fix: train with --env-kwargs view_size:7"):
        train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path / "logs", hyperparams=FAST, pretrain="bc",
              dataset="sb3plus/mazeeasy/view7-v0", eval_freq=0, verbose=0)
    assert not (tmp_path / "logs").exists(), "a mismatched dataset leaves no run folder behind"
    collect_expert("MazeEasy-v0", episodes=3, seed=0, dataset_id="sb3plus/mazeeasy/view5-v0", progress_bar=False)
    with pytest.raises(SpaceMismatchError, match="without the option.s. view_size"):
        train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST, pretrain="bc",
              dataset="sb3plus/mazeeasy/view5-v0", env_kwargs={"view_size": 7}, eval_freq=0, verbose=0)
