"""WorkerVecEnv: envs in a few processes with shared-memory observations give the same rollouts as DummyVecEnv."""

from __future__ import annotations

import numpy as np
import pytest
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO

from sb3_plus.envs.vec_workers import WorkerVecEnv
from sb3_plus.training.envs import make_vec_env_for


def _rollout(algo_cls, policy, env_id, vec_env, n_envs=4, n_steps=32, iterations=2, env_kwargs=None, **kwargs):
    venv = make_vec_env_for(env_id, n_envs, 3, env_kwargs or {}, vec_env)
    try:
        model = algo_cls(policy, venv, n_steps=n_steps, batch_size=n_steps * n_envs // 2, n_epochs=1, seed=0,
                         **kwargs)
        model.learn(iterations * n_steps * n_envs)
        buffer = model.rollout_buffer
        return {name: np.array(getattr(buffer, name)) for name in
                ("observations", "actions", "rewards", "episode_starts", "values")}
    finally:
        venv.close()


def _assert_same(a, b):
    for name in ("observations", "actions", "rewards", "episode_starts"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    np.testing.assert_allclose(a["values"], b["values"], rtol=1e-5, atol=1e-6)


def test_same_rollouts_as_dummy_on_a_maze_with_episode_ends():
    dummy = _rollout(PPO, "MlpPolicy", "MazeEasy-v0", "dummy", n_steps=64)
    workers = _rollout(PPO, "MlpPolicy", "MazeEasy-v0", "workers", n_steps=64)
    assert dummy["episode_starts"][1:].sum() > 0, "the rollout must cross episode ends to test auto-reset"
    _assert_same(dummy, workers)


def test_same_recurrent_rollouts_as_dummy_on_pixels():
    kwargs = {"policy_kwargs": {"lstm_hidden_size": 16}}
    dummy = _rollout(RecurrentPPO, "CnnLstmPolicy", "MazeEasyPixels-v0", "dummy", n_envs=3, **kwargs)
    workers = _rollout(RecurrentPPO, "CnnLstmPolicy", "MazeEasyPixels-v0", "workers", n_envs=3, **kwargs)
    _assert_same(dummy, workers)


def test_same_rollouts_as_dummy_on_vizdoom():
    dummy = _rollout(PPO, "CnnPolicy", "VizdoomMyWayHome-v1", "dummy", n_steps=16, iterations=1)
    workers = _rollout(PPO, "CnnPolicy", "VizdoomMyWayHome-v1", "workers", n_steps=16, iterations=1)
    assert dummy["observations"].std() > 0, "the screens are not blank"
    _assert_same(dummy, workers)


def test_envs_are_spread_over_workers_and_attributes_reach_each_env():
    venv = make_vec_env_for("MazeEasy-v0", 5, 0, {}, "workers")
    try:
        assert isinstance(venv, WorkerVecEnv) and len(venv._processes) == 2
        assert venv._starts == [0, 2, 5]
        venv.reset()
        assert len(venv.get_attr("heading", indices=[4])) == 1
        venv.set_attr("marker", 7, indices=[1, 3])
        assert venv.get_attr("marker", indices=[1, 3]) == [7, 7]
        cells = venv.get_attr("agent_cell")
        layouts = venv.env_method("layout", indices=[0, 4])
        assert len(cells) == 5 and all(len(c) == 2 for c in cells)
        assert [tuple(layout.start) for layout in layouts] == [cells[0], cells[4]], "reset puts the agent at the start"
        pids = [p.pid for p in venv._processes]
    finally:
        venv.close()
    assert all(not p.is_alive() for p in venv._processes) and len(pids) == 2


def _broken_env():
    import gymnasium as gym

    class Broken(gym.Wrapper):
        def step(self, action):
            raise ValueError("this env breaks on step")

    from sb3_plus.envs import make_env

    return Broken(make_env("MazeEasy-v0"))


def test_an_env_error_in_a_worker_is_raised_with_its_traceback():
    venv = WorkerVecEnv([_broken_env, _broken_env])
    try:
        venv.reset()
        with pytest.raises(RuntimeError, match="(?s)env worker 0 failed.*this env breaks on step"):
            venv.step(np.array([0, 0]))
    finally:
        venv.close()


def test_models_trained_on_workers_load_in_plain_sb3(tmp_path):
    from sb3_plus.training import train

    for algo, cls in (("ppo", PPO), ("ppo_lstm", RecurrentPPO)):
        result = train(algo, "MazeEasy-v0", n_timesteps=256, log_folder=str(tmp_path), vec_env="workers",
                       eval_freq=0, verbose=0, hyperparams={"n_envs": 2, "n_steps": 64, "batch_size": 64})
        model = cls.load(result.model_path)
        assert model.num_timesteps >= 256
