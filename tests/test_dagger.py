"""DAgger: expert labels in info, rounds that raise agreement on the learner's own states, resume, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import minari
import numpy as np
import pytest
import torch as th
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO

from sb3_plus.data.collect import collect_expert
from sb3_plus.data.storage import minari_root
from sb3_plus.envs import make_env
from sb3_plus.envs.wrappers import ExpertLabels
from sb3_plus.errors import BadOptionError, UserError
from sb3_plus.experts import ExpertActionError, ExpertController
from sb3_plus.imitation.bc import SpaceMismatchError
from sb3_plus.imitation.dagger import DaggerResumeError, DAggerSettings, rollout, train_dagger
from sb3_plus.imitation.settings import config_settings
from sb3_plus.training.envs import make_vec_env_for

FIXED = {"fixed_layout_seed": 3}  # one maze, random starts: learnable from few episodes


def _model(algo=PPO, policy="MlpPolicy", env_id="MazeEasy-v0", env_kwargs=FIXED, **kw):
    venv = make_vec_env_for(env_id, 1, 0, dict(env_kwargs))
    kwargs = dict(policy_kwargs=dict(net_arch=[64, 64]), n_steps=64, batch_size=64, seed=0, verbose=0)
    if algo is RecurrentPPO:
        kwargs["policy_kwargs"] = dict(net_arch=[64], lstm_hidden_size=32)
    kwargs.update(kw)
    return algo(policy, venv, **kwargs)


# --------------------------------------------------------------------------- expert labels


def test_labels_are_the_experts_action_for_the_current_pose():
    env = ExpertLabels(make_env("MazeEasy-v0"))
    reference = ExpertController(make_env("MazeEasy-v0"))
    obs, info = env.reset(seed=5)
    ref_env = reference.env
    ref_env.reset(seed=5)
    reference.reset()
    assert info["expert_action"] == reference.act(info)
    rng = np.random.default_rng(0)
    differing = 0
    for _ in range(40):  # the learner (random here) drives; labels follow the state it reaches
        action = int(rng.integers(3))
        differing += action != info["expert_action"]
        obs, reward, term, trunc, info = env.step(action)
        ref_env.step(action)
        assert info["expert_action"] == reference.act(info)
        assert env.action_space.contains(info["expert_action"])
        if term or trunc:
            break
    assert differing > 0
    env.close()


def test_labels_accept_a_callable_expert_and_dict_observations():
    env = ExpertLabels(make_env("MazeEasy-v0", obs_type="dict"), expert=lambda info: 2 if info["pose"]["x"] > 2 else 0)
    obs, info = env.reset(seed=1)
    assert isinstance(obs, dict) and info["expert_action"] == (2 if info["pose"]["x"] > 2 else 0)
    _, _, _, _, info = env.step(1)
    assert info["expert_action"] == (2 if info["pose"]["x"] > 2 else 0)


def test_expert_that_cannot_act_gets_a_clear_error():
    with pytest.raises(ExpertActionError, match="expert_action_map"):
        ExpertLabels(make_env("CartPole-v1"))
    env = ExpertLabels(make_env("MazeEasy-v0"), expert=lambda info: 7)
    with pytest.raises(ExpertActionError, match="not in the env's action space"):
        env.reset(seed=0)
    env = ExpertLabels(make_env("CartPole-v1"), expert=lambda info: info["pose"]["x"])
    with pytest.raises(KeyError):
        env.reset(seed=0)


# --------------------------------------------------------------------------- rounds


def _agreement_on_own_states(policy, seeds):
    envs = [ExpertLabels(make_env("MazeEasy-v0", **FIXED)) for _ in range(2)]
    played = rollout(policy, envs, seeds, 0.0, record=False)
    for env in envs:
        env.close()
    return played.agree / played.steps


def test_dagger_rounds_raise_agreement_on_learner_states(tmp_path):
    model = _model()
    seeds = list(range(500, 510))
    before = _agreement_on_own_states(model.policy, seeds)
    settings = DAggerSettings(rounds=3, episodes_per_round=10, epochs=15, batch_size=64, eval_episodes=10)
    lines = []
    report = train_dagger(model.policy, "MazeEasy-v0", tmp_path / "dagger", settings, env_kwargs=FIXED,
                          progress_bar=False, verbose=0, callback=lambda r: lines.append(r.line()))
    first, last = report.rounds[0], report.rounds[-1]
    assert [r.round for r in report.rounds] == [0, 1, 2]
    assert [r.beta for r in report.rounds] == [1.0, 0.5, 0.25]
    after = _agreement_on_own_states(model.policy, seeds)
    assert after > before + 0.5 and after > 0.9, (before, after)
    # the learner's own choices on the states it reaches improve round by round
    assert last.learner_agreement > first.learner_agreement + 0.1
    assert last.eval_success >= 0.8 and last.eval_success > first.eval_success
    assert first.dataset_episodes == 10 and last.dataset_episodes == 30
    assert last.dataset_steps > first.dataset_steps
    assert len(lines) == 3 and lines[-1].startswith("DAgger round 2: beta 0.250")

    # each round is a Minari dataset: learner observations, expert labels as actions
    with minari_root(tmp_path / "dagger" / "datasets"):
        data = minari.load_dataset("dagger/round2-v0")
    episode = next(data.iterate_episodes())
    labels = np.asarray(episode.infos["expert_action"]).reshape(-1)
    executed = np.asarray(episode.infos["executed_action"]).reshape(-1)
    assert np.array_equal(np.asarray(episode.actions).reshape(-1), labels[:-1])
    assert len(executed) == len(episode.actions) + 1
    meta = data.storage.metadata["sb3plus"]
    assert meta["method"] == "dagger" and meta["round"] == 2 and meta["actions"] == "expert labels"
    state = json.loads((tmp_path / "dagger" / "state.json").read_text())
    assert len(state["rounds"]) == 3 and (tmp_path / "dagger" / state["policy"]).exists()


def test_beta_one_executes_only_expert_actions_and_beta_zero_only_the_learners():
    model = _model()
    envs = [ExpertLabels(make_env("MazeEasy-v0", **FIXED)) for _ in range(2)]
    expert_run = rollout(model.policy, envs, [0, 1, 2], 1.0)
    learner_run = rollout(model.policy, envs, [0, 1, 2], 0.0)
    for played in (expert_run, learner_run):
        assert sorted(played.seeds) == [0, 1, 2]
    assert all(expert_run.successes)  # the expert always reaches the goal
    for rec in expert_run.episodes:
        infos = {k: np.asarray(v).reshape(-1) for k, v in _stacked(rec.infos).items()}
        assert np.array_equal(infos["executed_action"][1:], np.asarray(rec.actions))
    for rec in learner_run.episodes:
        infos = {k: np.asarray(v).reshape(-1) for k, v in _stacked(rec.infos).items()}
        assert np.array_equal(infos["executed_action"][1:], infos["learner_action"][1:])
    for env in envs:
        env.close()


def _stacked(infos):
    return {k: np.stack([i[k] for i in infos]) for k in infos[0]}


def test_recurrent_dagger_with_lstm_policy(tmp_path):
    model = _model(RecurrentPPO, "MlpLstmPolicy")
    before = [p.detach().clone() for p in model.policy.parameters()]
    settings = DAggerSettings(rounds=3, episodes_per_round=10, epochs=15, seq_len=16, eval_episodes=10)
    report = train_dagger(model.policy, "MazeEasy-v0", tmp_path / "dagger", settings, env_kwargs=FIXED,
                          progress_bar=False, verbose=0)
    assert report.rounds[-1].eval_success >= 0.5
    assert report.rounds[-1].bc_agreement > 0.75
    assert any(not th.equal(a, b) for a, b in zip(before, model.policy.parameters()))
    # the pretrained policy drops into RecurrentPPO as is
    model.learn(128)
    assert model.num_timesteps >= 128


def test_dagger_with_dict_observations(tmp_path):
    model = _model(PPO, "MultiInputPolicy", env_kwargs={**FIXED, "obs_type": "dict"})
    report = train_dagger(model.policy, "MazeEasy-v0", tmp_path / "d", env_kwargs={**FIXED, "obs_type": "dict"},
                          rounds=1, episodes_per_round=4, epochs=2, eval_episodes=2, progress_bar=False, verbose=0)
    assert report.rounds[0].dataset_episodes == 4
    with minari_root(tmp_path / "d" / "datasets"):
        data = minari.load_dataset("dagger/round0-v0")
    assert set(next(data.iterate_episodes()).observations) == {"image", "vector"}


# --------------------------------------------------------------------------- resume and errors


def test_dagger_resumes_after_the_last_finished_round(tmp_path):
    work = tmp_path / "dagger"
    model = _model()
    train_dagger(model.policy, "MazeEasy-v0", work, env_kwargs=FIXED, rounds=1, episodes_per_round=6, epochs=5,
                 eval_episodes=0, progress_bar=False, verbose=0)
    trained = {k: v.clone() for k, v in model.policy.state_dict().items()}
    round0 = work / "datasets" / "dagger" / "round0-v0"
    stamp = round0.stat().st_mtime_ns

    fresh = _model(seed=1)
    again = train_dagger(fresh.policy, "MazeEasy-v0", work, env_kwargs=FIXED, rounds=1, episodes_per_round=6,
                         epochs=5, eval_episodes=0, progress_bar=False, verbose=0)
    assert len(again.rounds) == 1  # nothing left to do: the weights of round 0 are loaded
    assert all(th.equal(trained[k], v) for k, v in fresh.policy.state_dict().items())

    more = train_dagger(fresh.policy, "MazeEasy-v0", work, env_kwargs=FIXED, rounds=2, episodes_per_round=6,
                        epochs=5, eval_episodes=0, progress_bar=False, verbose=0)
    assert [r.round for r in more.rounds] == [0, 1]
    assert more.rounds[1].dataset_episodes == 12  # round 0's data was aggregated, not replayed
    assert round0.stat().st_mtime_ns == stamp

    other = _model(env_id="MazeMedium-v0")
    with pytest.raises(DaggerResumeError, match="belongs to another run") as err:
        train_dagger(other.policy, "MazeMedium-v0", work, env_kwargs=FIXED, rounds=3, progress_bar=False, verbose=0)
    assert isinstance(err.value, UserError) and "Fix" in str(err.value)


def test_dagger_space_mismatches_name_both_spaces(tmp_path):
    collect_expert("MazeEasyPixels-v0", episodes=2, dataset_id="sb3plus/mazeeasypixels/waypoint-v0",
                   progress_bar=False)
    model = _model()
    with pytest.raises(SpaceMismatchError, match="Box"):
        train_dagger(model.policy, "MazeEasy-v0", tmp_path / "a", initial_dataset="sb3plus/mazeeasypixels/waypoint-v0",
                     rounds=1, progress_bar=False, verbose=0)
    with pytest.raises(SpaceMismatchError, match="observation space .* but the policy expects"):
        train_dagger(model.policy, "MazeMediumPixels-v0", tmp_path / "b", rounds=1, progress_bar=False, verbose=0)
    with pytest.raises(BadOptionError, match="beta must be within"):
        train_dagger(model.policy, "MazeEasy-v0", tmp_path / "c", betas=[1.5], rounds=1, progress_bar=False)
    with pytest.raises(BadOptionError, match="beta must be within"):  # beta * beta_decay ** k leaves [0, 1]
        train_dagger(model.policy, "MazeEasy-v0", tmp_path / "c", DAggerSettings(beta=0.8, beta_decay=2.0))
    with pytest.raises(BadOptionError, match="betas lists 1 values for 2 rounds"):
        DAggerSettings(rounds=2, betas=[1.0])
    with pytest.raises(BadOptionError, match="unknown DAggerSettings field"):
        train_dagger(model.policy, "MazeEasy-v0", tmp_path / "c", round=2)
    assert not (tmp_path / "c").exists()  # settings are checked before anything is written


def test_train_cli_dagger_killed_mid_pretraining_resumes_its_rounds(tmp_path):
    log = tmp_path / "logs"
    cmd = [sys.executable, "-m", "sb3_plus.train", "--algo", "ppo", "--env", "MazeEasy-v0", "-n", "256",
           "-f", str(log), "--pretrain", "dagger", "--dagger-rounds", "3", "--dagger-episodes", "40",
           "--pretrain-epochs", "5", "--eval-episodes", "2", "--env-kwargs", "fixed_layout_seed:3",
           "--hyperparams", "n_envs:2", "n_steps:64", "batch_size:64", "--verbose", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run = log / "ppo" / "MazeEasy-v0_1"
    deadline = time.time() + 120
    while not (run / "dagger" / "state.json").exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline, "DAgger round 0 did not finish in time"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    info = json.loads((run / "run_info.json").read_text())
    assert info["pretrain"]["finished"] is False and info["pretrain"]["method"] == "dagger"
    done_before = len(json.loads((run / "dagger" / "state.json").read_text())["rounds"])
    assert done_before < 3
    round0 = run / "dagger" / "datasets" / "dagger" / "round0-v0"
    stamp = round0.stat().st_mtime_ns

    resumed = subprocess.run([sys.executable, "-m", "sb3_plus.train", "--algo", "ppo", "--env", "MazeEasy-v0",
                              "-i", str(run)], env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming {run}" in resumed.stdout or "DAgger: resuming" in resumed.stdout
    info = json.loads((run / "run_info.json").read_text())
    assert info["pretrain"]["finished"] is True
    assert [r["round"] for r in info["pretrain"]["rounds"]] == [0, 1, 2]
    assert round0.stat().st_mtime_ns == stamp
    # the resumed run kept its resolved config: budget, env options, overrides
    assert info["n_timesteps"] == 256 and 256 <= info["num_timesteps"] < 1000
    assert info["env_kwargs"] == {"fixed_layout_seed": 3}


# --------------------------------------------------------------------------- settings and normalisation


def test_dagger_settings_are_bc_settings_plus_dagger_knobs():
    from sb3_plus.imitation.bc import BCSettings
    from sb3_plus.training.pretrain import PRETRAIN_SETTINGS, pretrain_settings_for

    settings = DAggerSettings.from_dict({"rounds": 6, "epochs": 8, "lr": 3e-4, "betas": [1, 0.5, 0.5, 0.2, 0.1, 0]})
    assert settings.bc() == BCSettings(epochs=8, lr=3e-4)
    assert settings.schedule(has_initial_data=False) == [1.0, 0.5, 0.5, 0.2, 0.1, 0.0]
    assert DAggerSettings(rounds=3).schedule(has_initial_data=True) == [0.5, 0.25, 0.125]
    # one list: what configs may set is the dataclass fields, less the run's own (seed, budget)
    assert PRETRAIN_SETTINGS["bc"] == config_settings(BCSettings) == {
        "epochs", "batch_size", "seq_len", "lr", "ent_coef", "l2_coef", "max_grad_norm", "critic_warmup_epochs",
        "gamma", "holdout_fraction", "max_seconds", "head_gain", "ema_decay", "patience", "keep_best", "augment"}
    assert PRETRAIN_SETTINGS["dagger"] == (PRETRAIN_SETTINGS["bc"] - {"max_seconds"}) | {
        "rounds", "episodes_per_round", "beta", "beta_decay", "betas", "n_envs", "eval_episodes", "deterministic",
        "rollout_max_steps", "initial_epochs"}
    entry = {"epochs": 30, "seed": 4, "dagger": {"rounds": 4, "epochs": 8}}
    assert pretrain_settings_for("dagger", entry) == {"epochs": 8, "rounds": 4}
    assert pretrain_settings_for("bc", entry, {"lr": 1e-4}) == {"epochs": 30, "lr": 1e-4}


def test_pretrain_policy_errors_name_the_fix(tmp_path):
    from sb3_plus.errors import InputNotFoundError
    from sb3_plus.training.pretrain import pretrain_policy

    model = _model()
    with pytest.raises(BadOptionError, match="unknown pretraining method 'vail'. Fix: choose from bc, dagger"):
        pretrain_policy(model, "vail", None, {}, False, 0)
    with pytest.raises(BadOptionError, match=r"unknown bc setting\(s\) \['rounds'\]. Fix: use one of"):
        pretrain_policy(model, "bc", "sb3plus/x/y-v0", {"rounds": 2}, False, 0)
    with pytest.raises(InputNotFoundError, match="sb3plus/x/y-v0.*collect_expert"):
        pretrain_policy(model, "bc", "sb3plus/x/y-v0", {"epochs": 1}, False, 0)


def test_rollouts_show_the_learner_normalised_observations():
    model = _model()
    envs = [ExpertLabels(make_env("MazeEasy-v0", **FIXED)) for _ in range(2)]
    seen = []

    def blank(obs):  # the learner sees only what the normaliser gives it
        seen.append(obs.shape)
        return np.zeros_like(obs)

    played = rollout(model.policy, envs, [0, 1, 2], 0.0, normalizer=blank, max_steps=20)
    blind, _ = model.predict(np.zeros((1, *envs[0].observation_space.shape), np.float32), deterministic=True)
    learner = np.concatenate([np.asarray([i["learner_action"] for i in rec.infos[1:]]).reshape(-1)
                              for rec in played.episodes])
    assert (learner == blind[0]).all() and seen[0] == (2, *envs[0].observation_space.shape)
    for env in envs:
        env.close()


def test_dagger_with_a_fresh_vecnormalize(tmp_path):
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_plus.data.sequences import load_episodes
    from sb3_plus.imitation.bc import split_episodes

    venv = VecNormalize(make_vec_env_for("MazeEasy-v0", 1, 0, dict(FIXED)), norm_reward=False)
    model = PPO("MlpPolicy", venv, policy_kwargs=dict(net_arch=[64, 64]), n_steps=64, batch_size=64, seed=0)
    report = train_dagger(model.policy, "MazeEasy-v0", tmp_path / "d", env_kwargs=FIXED, rounds=2,
                          episodes_per_round=6, epochs=10, batch_size=64, eval_episodes=4, normalizer=venv,
                          progress_bar=False, verbose=0)
    # round 0's BC set the statistics from its training episodes (expert play); round 1 used them as they were
    with minari_root(tmp_path / "d" / "datasets"):
        round0 = load_episodes(minari.load_dataset("dagger/round0-v0"))
    train, _ = split_episodes(round0, 0.1, seed=0)
    observations = np.concatenate([ep.observations for ep in train])
    assert venv.obs_rms.count == pytest.approx(len(observations), abs=1e-3)
    np.testing.assert_allclose(venv.obs_rms.mean, observations.mean(axis=0), atol=1e-4)
    assert report.rounds[-1].bc_agreement > 0.6 and report.rounds[-1].eval_success is not None
