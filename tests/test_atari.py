"""The Atari family over ale-py: preprocessing, training-only parts, restore, and a short run."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.atari_wrappers import ClipRewardEnv, EpisodicLifeEnv

from sb3_plus.config import load_hyperparams
from sb3_plus.envs import family_of, make_env
from sb3_plus.errors import BadOptionError
from sb3_plus.exploration.restore import make_restorer
from sb3_plus.training import train
from sb3_plus.training.envs import make_eval_env, make_training_env


def _wrappers(env: gym.Env) -> list[type]:
    kinds = []
    while isinstance(env, gym.Wrapper):
        kinds.append(type(env))
        env = env.env
    return kinds


def test_preprocessed_frames_ram_and_ids() -> None:
    env = make_env("ALE/Pong-v5", ram_info=True)
    obs, info = env.reset(seed=0)
    assert obs.shape == (84, 84, 1) and obs.dtype == np.uint8 and env.observation_space.contains(obs)
    assert info["ram"].shape == (128,) and env.action_space.n == 6
    obs, _, _, _, info = env.step(0)
    assert obs.std() > 0 and info["ram"].dtype == np.uint8
    env.close()
    assert family_of("PongNoFrameskip-v4") == family_of("ALE/Breakout-v5") == "atari"
    small = make_env("BreakoutNoFrameskip-v4", screen_size=42, frame_skip=2)
    assert small.reset(seed=0)[0].shape == (42, 42, 1)
    small.close()


def test_unknown_game_and_bad_option_are_clear() -> None:
    with pytest.raises(BadOptionError, match="unknown Atari game 'ALE/Pongg-v5'.*ALE/"):
        make_env("ALE/Pongg-v5")
    with pytest.raises(BadOptionError, match="frame_skip"):
        make_env("ALE/Pong-v5", frame_skip=0)


def test_episodic_life_and_clipping_are_for_training_envs_only() -> None:
    config = load_hyperparams("ppo", "ALE/Breakout-v5", overrides={"n_envs": 1, "vec_env_class": "dummy"})
    train_env = make_training_env(config, "ALE/Breakout-v5", 0)
    eval_env = make_eval_env(config, "ALE/Breakout-v5")
    try:
        assert {EpisodicLifeEnv, ClipRewardEnv} <= set(_wrappers(train_env.envs[0]))
        assert not {EpisodicLifeEnv, ClipRewardEnv} & set(_wrappers(eval_env.envs[0]))
    finally:
        train_env.close()
        eval_env.close()
    # a config that turns one off keeps it off for training
    config = load_hyperparams("ppo", "ALE/Breakout-v5", overrides={"n_envs": 1, "vec_env_class": "dummy",
                                                                   "env_kwargs": {"clip_reward": False}})
    train_env = make_training_env(config, "ALE/Breakout-v5", 0)
    assert ClipRewardEnv not in _wrappers(train_env.envs[0]) and EpisodicLifeEnv in _wrappers(train_env.envs[0])
    train_env.close()


def test_a_lost_life_ends_a_training_episode_not_the_game() -> None:
    env = make_env("ALE/Breakout-v5", episodic_life=True, sticky_actions=0.0)
    env.reset(seed=0)
    lives = env.unwrapped.ale.lives()
    for _ in range(2000):  # no FIRE after the reset's: the ball is lost quickly
        _, _, terminated, truncated, _ = env.step(0)
        if terminated or truncated:
            break
    assert terminated and env.unwrapped.ale.lives() == lives - 1 and not env.unwrapped.ale.game_over()
    env.close()


def test_restore_replays_the_same_frames() -> None:
    env = make_env("ALE/Pong-v5")  # sticky actions: the snapshot carries the random generator
    env.reset(seed=1)
    restorer = make_restorer(env)
    snapshot = restorer.decode(restorer.encode(restorer.snapshot()))
    actions = [2, 3, 2, 2, 3, 0, 1, 2] * 5
    first = [env.step(a)[0] for a in actions]
    restorer.restore(snapshot)
    again = [env.step(a)[0] for a in actions]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(first[0], f) for f in first)  # the frames do change
    env.close()


def test_ppo_trains_and_evaluates_on_pong(tmp_path) -> None:
    result = train("ppo", "ALE/Pong-v5", n_timesteps=256, log_folder=tmp_path, eval_freq=0, verbose=0,
                   hyperparams=["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1", "vec_env_class:'dummy'"])
    assert result.num_timesteps == 256 and result.model_path.exists()
    from sb3_plus.models import evaluate_saved_model

    evaluation = evaluate_saved_model(result.model_path, episodes=1, seed=10_000, env_kwargs={"frame_skip": 16})
    # a whole game to 21 with the real score (evaluation envs neither clip nor stop at a lost point)
    assert evaluation.returns[0] <= -1 and len(evaluation.returns) == 1
