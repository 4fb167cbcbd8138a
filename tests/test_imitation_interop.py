"""The ``imitation`` package: Minari -> trajectories, GAIL/AIRL on our envs, its BC as a reference for ours."""

from __future__ import annotations

import json

import minari
import numpy as np
import pytest
import torch as th
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.policies import ActorCriticPolicy

from sb3_plus.data.collect import collect_expert
from sb3_plus.data.sequences import load_episodes
from sb3_plus.errors import BadOptionError, UserError
from sb3_plus.imitation.adversarial import minari_to_trajectories, train_adversarial
from sb3_plus.imitation.bc import SpaceMismatchError, evaluate_agreement, split_episodes, train_bc
from sb3_plus.train import train
from sb3_plus.training.envs import make_vec_env_for

DATASET = "sb3plus/mazeeasy/waypoint-v0"
FIXED = {"fixed_layout_seed": 3}


@pytest.fixture
def maze_dataset():
    collect_expert("MazeEasy-v0", episodes=30, env_kwargs=FIXED, dataset_id=DATASET, progress_bar=False)
    return minari.load_dataset(DATASET)


def test_minari_episodes_become_imitation_trajectories(maze_dataset):
    from imitation.data import rollout
    from imitation.data.types import TrajectoryWithRew

    trajectories = minari_to_trajectories(maze_dataset)
    episodes = list(maze_dataset.iterate_episodes())
    assert len(trajectories) == len(episodes) == 30
    for traj, ep in zip(trajectories, episodes):
        assert isinstance(traj, TrajectoryWithRew)
        assert len(traj.obs) == len(traj.acts) + 1 == len(ep.observations)  # the final observation is kept
        assert np.array_equal(traj.obs, ep.observations)
        assert np.array_equal(traj.acts, np.asarray(ep.actions).reshape(-1))
        assert traj.terminal and np.isclose(traj.rews.sum(), 1.0)  # the expert reaches the goal
    transitions = rollout.flatten_trajectories(trajectories)
    assert len(transitions) == sum(len(ep.actions) for ep in episodes)


def test_dataset_ids_are_read_from_sb3_plus_dataset_root(tmp_path, monkeypatch):
    from sb3_plus.errors import InputNotFoundError

    # MINARI_DATASETS_PATH unset: sb3-plus's root is ./datasets (Minari's own default is ~/.minari)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MINARI_DATASETS_PATH")
    collect_expert("MazeEasy-v0", episodes=3, env_kwargs=FIXED, dataset_id=DATASET, progress_bar=False)
    assert (tmp_path / "datasets" / DATASET).is_dir()
    trajectories = minari_to_trajectories(DATASET)
    assert len(trajectories) == 3 and all(t.terminal for t in trajectories)
    with pytest.raises(InputNotFoundError, match="sb3plus/none/waypoint-v0.*collect_expert"):
        minari_to_trajectories("sb3plus/none/waypoint-v0")


def test_image_trajectories_move_channels_first():
    collect_expert("MazeEasyPixels-v0", episodes=2, dataset_id="sb3plus/pix/waypoint-v0", progress_bar=False)
    data = minari.load_dataset("sb3plus/pix/waypoint-v0")
    hwc = minari_to_trajectories(data)[0].obs
    chw = minari_to_trajectories(data, channels_first=True)[0].obs
    assert chw.shape == (hwc.shape[0], hwc.shape[3], hwc.shape[1], hwc.shape[2])
    assert np.array_equal(np.moveaxis(chw, 1, -1), hwc)


def test_our_bc_matches_imitations_bc_on_the_same_data(maze_dataset):
    """An outside reference: both BCs reach comparable held-out action agreement."""
    from imitation.algorithms import bc as imitation_bc
    from imitation.data.types import Transitions

    episodes = load_episodes(maze_dataset)
    train_eps, holdout = split_episodes(episodes, 0.2, seed=0)
    venv = make_vec_env_for("MazeEasy-v0", 1, 0, FIXED)
    ours = PPO("MlpPolicy", venv, policy_kwargs=dict(net_arch=[64, 64]), seed=0).policy
    report = train_bc(ours, train_eps, epochs=40, batch_size=64, holdout_fraction=0.0, progress_bar=False)
    assert report.train_nll[-1] < report.train_nll[0]

    obs = np.concatenate([ep.observations for ep in train_eps])
    acts = np.concatenate([ep.actions for ep in train_eps]).reshape(-1)
    nxt = np.concatenate([np.roll(ep.observations, -1, axis=0) for ep in train_eps])
    dones = np.concatenate([np.eye(1, len(ep), len(ep) - 1, dtype=bool)[0] for ep in train_eps])
    transitions = Transitions(obs=obs, acts=acts, infos=np.array([{}] * len(acts)), next_obs=nxt, dones=dones)
    th.manual_seed(0)
    theirs_policy = ActorCriticPolicy(venv.observation_space, venv.action_space, lambda _: 1e-3,
                                      net_arch=[64, 64])
    theirs = imitation_bc.BC(observation_space=venv.observation_space, action_space=venv.action_space,
                             rng=np.random.default_rng(0), policy=theirs_policy, demonstrations=transitions,
                             batch_size=64, optimizer_kwargs={"lr": 1e-3})
    theirs.train(n_epochs=40, progress_bar=False, log_interval=10**9)
    venv.close()

    ours_agreement = evaluate_agreement(ours, holdout)
    theirs_agreement = evaluate_agreement(theirs.policy, holdout)
    assert ours_agreement > 0.8 and theirs_agreement > 0.8, (ours_agreement, theirs_agreement)
    assert abs(ours_agreement - theirs_agreement) < 0.1, (ours_agreement, theirs_agreement)


@pytest.mark.parametrize("method", ["gail", "airl"])
def test_short_adversarial_run_trains_discriminator_and_generator(maze_dataset, tmp_path, method):
    venv = make_vec_env_for("MazeEasy-v0", 2, 0, FIXED)
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=64, n_epochs=2, seed=0, verbose=0)
    before = [p.detach().clone() for p in model.policy.parameters()]
    report = train_adversarial(model, maze_dataset, method, timesteps=1024, log_dir=tmp_path / method,
                               progress_bar=False)
    assert report["rounds"] == 4 and report["generator_steps"] == 1024 == model.num_timesteps
    assert 0.0 <= report["disc"]["disc_acc"] <= 1.0 and report["disc"]["n_expert"] > 0
    assert any(not th.equal(a, b) for a, b in zip(before, model.policy.parameters()))
    assert model.get_env() is venv  # RL goes on with the env's own reward
    model.learn(256, reset_num_timesteps=False)
    assert model.num_timesteps >= 1024 + 256


def test_adversarial_errors_name_the_fix(maze_dataset, tmp_path):
    venv = make_vec_env_for("MazeEasy-v0", 1, 0, FIXED)
    lstm = RecurrentPPO("MlpLstmPolicy", venv, n_steps=64, batch_size=64)
    with pytest.raises(TypeError, match="feedforward policy") as err:
        train_adversarial(lstm, maze_dataset, "gail", log_dir=tmp_path)
    assert isinstance(err.value, UserError)
    pixels = PPO("CnnPolicy", make_vec_env_for("MazeEasyPixels-v0", 1, 0, {}), n_steps=64, batch_size=64)
    with pytest.raises(SpaceMismatchError, match="Fix"):
        train_adversarial(pixels, maze_dataset, "gail", log_dir=tmp_path)
    with pytest.raises(BadOptionError, match="choose from gail, airl"):
        train_adversarial(PPO("MlpPolicy", venv), maze_dataset, "vail", log_dir=tmp_path)
    with pytest.raises(BadOptionError, match="unknown AdversarialSettings field"):
        train_adversarial(PPO("MlpPolicy", venv), maze_dataset, "gail", log_dir=tmp_path, rounds=3)
    collect_expert("MazeEasy-v0", episodes=2, env_kwargs={**FIXED, "obs_type": "dict"},
                   dataset_id="sb3plus/mazedict/waypoint-v0", progress_bar=False)
    with pytest.raises(SpaceMismatchError, match="Box observations"):
        minari_to_trajectories("sb3plus/mazedict/waypoint-v0")


def test_train_with_pretrain_gail(maze_dataset, tmp_path):
    result = train("ppo", "MazeEasy-v0", n_timesteps=2048, log_folder=tmp_path, pretrain="gail", dataset=DATASET,
                   pretrain_kwargs={"timesteps": 512}, env_kwargs=FIXED, eval_episodes=2, eval_freq=0,
                   hyperparams={"n_envs": 2, "n_steps": 128, "batch_size": 64}, verbose=0, tensorboard=False)
    info = json.loads((result.run_dir / "run_info.json").read_text())
    assert info["pretrain"]["method"] == "gail" and info["pretrain"]["finished"] is True
    assert info["pretrain"]["generator_steps"] == 512
    assert result.num_timesteps >= 2048
    assert (result.run_dir / "gail").is_dir()
    with pytest.raises(ValueError, match="unknown gail setting"):
        train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path, pretrain="gail", dataset=DATASET,
              pretrain_kwargs={"rounds": 3}, verbose=0)


def test_demonstrations_are_normalised_as_the_generator_sees_its_env(maze_dataset):
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_plus.imitation.adversarial import demonstrations_for

    venv = VecNormalize(make_vec_env_for("MazeEasy-v0", 1, 0, FIXED), norm_reward=False)
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64)
    raw = minari_to_trajectories(maze_dataset)
    demos = demonstrations_for(model, maze_dataset)
    all_obs = np.concatenate([t.obs for t in raw])
    assert venv.obs_rms.count == pytest.approx(len(all_obs), abs=1e-3)  # fitted from the demonstrations
    np.testing.assert_allclose(demos[0].obs, venv.normalize_obs(raw[0].obs))
    np.testing.assert_allclose(venv.obs_rms.mean, all_obs.mean(axis=0), atol=1e-4)
    assert all(np.array_equal(d.acts, r.acts) for d, r in zip(demos, raw))
