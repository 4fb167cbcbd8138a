"""Procgen on this stack's numpy 2: the gymnasium adapter, seeds and levels, restore, and a short run."""

from __future__ import annotations

import numpy as np
import pytest

from sb3_plus.envs import family_of, make_env
from sb3_plus.errors import BadOptionError
from sb3_plus.exploration.restore import make_restorer
from sb3_plus.policies import ImpalaCNN
from sb3_plus.training import train


def test_frames_actions_and_seeded_levels() -> None:
    env = make_env("Procgen-coinrun-v0", num_levels=200, start_level=0)
    obs, info = env.reset(seed=3)
    assert obs.shape == (64, 64, 3) and obs.dtype == np.uint8 and env.action_space.n == 15
    assert 0 <= info["level_seed"] < 200 and family_of("Procgen-coinrun-v0") == "procgen"
    again, info2 = env.reset(seed=3)
    assert np.array_equal(obs, again) and info2["level_seed"] == info["level_seed"]  # a seed is a level sequence
    levels = {env.reset(seed=s)[1]["level_seed"] for s in range(12)}
    assert len(levels) > 3 and all(0 <= level < 200 for level in levels)
    unseen = make_env("Procgen-coinrun-v0", num_levels=0)
    assert unseen.reset(seed=10_000)[1]["level_seed"] >= 0
    # an episode ends and the next level follows without a seed
    env.reset(seed=1)
    for _ in range(1500):
        _, reward, terminated, truncated, info = env.step(int(np.random.default_rng(0).integers(15)))
        if terminated:
            break
    assert terminated and isinstance(info["success"], bool)
    assert env.reset()[0].shape == (64, 64, 3)


def test_restore_returns_to_the_same_frames() -> None:
    env = make_env("Procgen-starpilot-v0")
    env.reset(seed=0)
    restorer = make_restorer(env)
    snapshot = restorer.decode(restorer.encode(restorer.snapshot()))
    actions = [1, 5, 7, 2, 2, 9] * 4
    first = [env.step(a)[0] for a in actions]
    restorer.restore(snapshot)
    assert all(np.array_equal(a, env.step(b)[0]) for a, b in zip(first, actions))


def test_bad_ids_and_options() -> None:
    with pytest.raises(BadOptionError, match="unknown Procgen id 'Procgen-mario-v0'"):
        make_env("Procgen-mario-v0")
    with pytest.raises(BadOptionError, match="distribution_mode"):
        make_env("Procgen-coinrun-v0", distribution_mode="medium")


def test_ppo_with_the_impala_cnn_trains_on_procgen(tmp_path) -> None:
    result = train("ppo", "Procgen-coinrun-v0", n_timesteps=128, log_folder=tmp_path, eval_freq=0, verbose=0,
                   hyperparams=["policy:'CnnPolicy'", "n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1",
                                "policy_kwargs:dict(features_extractor_class=ImpalaCNN, "
                                "features_extractor_kwargs=dict(blocks=1))", "augment:[crop, flip]"])
    from sb3_plus.models import evaluate_saved_model, load_model

    assert isinstance(load_model(result.model_path).policy.features_extractor, ImpalaCNN)
    evaluation = evaluate_saved_model(result.model_path, episodes=1, seed=10_000, env_kwargs={"num_levels": 0})
    assert len(evaluation.returns) == 1
