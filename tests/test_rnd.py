"""Random Network Distillation: the bonus, the two return streams, the update, saving, configs, runs and errors."""

import copy

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter, Logger

from sb3_plus.config import ALGOS, ConfigError, load_hyperparams
from sb3_plus.data.collect import collect_expert
from sb3_plus.errors import BadOptionError
from sb3_plus.exploration import PPORND, RecurrentPPORND
from sb3_plus.exploration.rnd_buffers import RNDRolloutBuffer, intrinsic_advantages
from sb3_plus.exploration.rnd_model import RNDModel, discounted_returns
from sb3_plus.imitation.bc import train_bc
from sb3_plus.models import load_model
from sb3_plus.training import train
from sb3_plus.training.envs import make_vec_env_for
from sb3_plus.tuning.spaces import load_search_space

MAZE = {"fixed_layout_seed": 3}
TINY = {"net_arch": {"pi": [16], "vf": [16]}}
TINY_LSTM = {"lstm_hidden_size": 16, "shared_lstm": True, "enable_critic_lstm": False,
             "net_arch": {"pi": [16], "vf": [16]}}
SMALL_RUN = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:2", "norm_init_steps:64", "rnd_features_dim:32"]


def _model(cls, env_id="MazeEasy-v0", env_kwargs=None, **kwargs):
    """A tiny RND model on two maze envs (a rollout is 64 steps)."""
    recurrent = cls is RecurrentPPORND
    pixels = "Pixels" in env_id
    policy_kwargs = dict(TINY_LSTM if recurrent else TINY)
    if pixels:
        policy_kwargs["features_extractor_kwargs"] = {"features_dim": 32}
    policy = ("Cnn" if pixels else "Mlp") + ("LstmPolicy" if recurrent else "Policy")
    venv = make_vec_env_for(env_id, 2, 0, {**MAZE, **(env_kwargs or {})})
    settings = {"n_steps": 32, "batch_size": 32, "n_epochs": 2, "norm_init_steps": 64, "rnd_features_dim": 32,
                "policy_kwargs": policy_kwargs, "seed": 0, "verbose": 0, **kwargs}
    policy = settings.pop("policy", policy)
    return cls(policy, venv, **settings)


class _Rows(KVWriter):
    """Every dump of a logger."""

    def __init__(self):
        self.rows = []

    def write(self, key_values, key_excluded, step=0):
        self.rows.append(dict(key_values))


def _capture_logs(model):
    rows = _Rows()
    model.set_logger(Logger(None, [rows]))
    return rows


# --------------------------------------------------------------------------- the bonus

@pytest.mark.parametrize("space", [spaces.Box(0.0, 1.0, (50,), np.float32), spaces.Box(0, 255, (1, 40, 40), np.uint8)],
                         ids=["vector", "image"])
def test_intrinsic_reward_falls_on_a_repeated_observation_and_stays_high_on_novel_ones(space):
    th.manual_seed(0)
    space.seed(0)
    rnd = RNDModel(space, value_latent_dim=8, features_dim=32)
    samples = np.stack([space.sample() for _ in range(256)]).astype(np.float32)
    rnd.update_obs_stats(samples)
    seen, novel = samples[:1], samples[128:]
    seen_before, novel_before = rnd.intrinsic_reward(seen)[0], rnd.intrinsic_reward(novel).mean()
    optimizer = th.optim.Adam(rnd.predictor.parameters(), lr=1e-3)
    batch = th.as_tensor(seen).repeat(16, *([1] * (seen.ndim - 1)))
    for _ in range(150):
        loss = rnd.predictor_loss(batch, proportion=1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seen_after, novel_after = rnd.intrinsic_reward(seen)[0], rnd.intrinsic_reward(novel).mean()
    assert seen_after < 0.05 * seen_before, (seen_before, seen_after)
    assert novel_after > 0.25 * novel_before, (novel_before, novel_after)
    assert novel_after > 10 * seen_after


def test_predictor_loss_trains_on_the_given_proportion_and_never_on_padding():
    th.manual_seed(0)
    rnd = RNDModel(spaces.Box(0.0, 1.0, (4,), np.float32), value_latent_dim=8, features_dim=8)
    obs = th.rand(400, 4)
    obs[200:] = 3.0   # padding rows of a recurrent minibatch: their error differs from the samples'
    mask = th.arange(400) < 200
    with th.no_grad():
        per_sample = (rnd.predictor(rnd.normalize(obs)) - rnd.target(rnd.normalize(obs))).pow(2).mean(dim=1)
    full = float(per_sample[:200].mean())
    assert float(per_sample[200:].mean()) != pytest.approx(full, rel=0.1)
    assert float(rnd.predictor_loss(obs, proportion=1.0, mask=mask).detach()) == pytest.approx(full, rel=1e-5)
    draws = [float(rnd.predictor_loss(obs, proportion=0.25, mask=mask).detach()) for _ in range(300)]
    assert np.mean(draws) == pytest.approx(full, rel=0.05) and np.std(draws) > 0.01 * full
    grads = th.autograd.grad(rnd.predictor_loss(obs[:10], proportion=1.0), list(rnd.predictor.parameters()))
    assert all(g is not None for g in grads) and all(not p.requires_grad for p in rnd.target.parameters())


def test_rewards_are_divided_by_the_std_of_the_non_episodic_discounted_intrinsic_return():
    rnd = RNDModel(spaces.Box(0.0, 1.0, (4,), np.float32), value_latent_dim=8, features_dim=8)
    rewards = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 4.0]])
    state = np.array([0.5, 0.0])
    returns, carried = discounted_returns(rewards, state, 0.5)
    by_hand = np.array([[0.5 * 0.5 + 1, 0.0], [0.5 * 1.25 + 2, 1.0], [0.5 * 2.625 + 3, 0.5 * 1.0 + 4]])
    assert np.allclose(returns, by_hand) and np.allclose(carried, by_hand[-1])
    scaled, carried = rnd.scale_rewards(rewards, state, 0.5)
    assert np.allclose(scaled, rewards / by_hand.std(), rtol=1e-5)
    # the next rollout merges into the same statistics and carries the sum on
    more = np.array([[1.0, 1.0]])
    _, _ = rnd.scale_rewards(more, carried, 0.5)
    assert np.isclose(rnd.int_return_rms.var.item(), np.append(by_hand, 0.5 * by_hand[-1] + 1).var())


# --------------------------------------------------------------------------- the two return streams

def _tiny_buffer(gamma, gae_lambda):
    """Three steps of one env; the episode ends after step 1 (step 2 starts a new one)."""
    buffer = RNDRolloutBuffer(3, spaces.Box(-1, 1, (2,)), spaces.Discrete(2), device="cpu", gae_lambda=gae_lambda,
                              gamma=gamma, n_envs=1)
    buffer.reset()
    for reward, start, value in zip([1.0, 2.0, 3.0], [1, 0, 1], [0.5, 0.25, 0.125]):
        buffer.add(np.zeros((1, 2)), np.zeros((1, 1)), np.array([reward]), np.array([start]), th.tensor([value]),
                   th.zeros(1))
    buffer.compute_returns_and_advantage(th.tensor([4.0]), np.array([False]))
    buffer.add_intrinsic(np.array([[0.1], [0.2], [0.3]]), np.array([[1.0], [2.0], [3.0]]), np.array([5.0]),
                         gamma=0.5, ext_coef=2.0, int_coef=0.5)
    return buffer


def test_extrinsic_returns_are_episodic_intrinsic_ones_are_not_each_with_its_own_gamma():
    buffer = _tiny_buffer(gamma=0.9, gae_lambda=1.0)
    # lambda 1: discounted sums, bootstrapped from the value after the last step
    ext = [None, 2.0, 3 + 0.9 * 4.0]          # the episode ends after step 1: no bootstrap there
    ext[0] = 1 + 0.9 * ext[1]
    int2 = 0.3 + 0.5 * 5.0
    int1 = 0.2 + 0.5 * int2                     # carried across the episode end
    int0 = 0.1 + 0.5 * int1
    assert np.allclose(buffer.returns[:, 0], ext)
    assert np.allclose(buffer.int_returns[:, 0], [int0, int1, int2])
    ext_adv = np.array(ext) - [0.5, 0.25, 0.125]
    int_adv = np.array([int0, int1, int2]) - [1.0, 2.0, 3.0]
    assert np.allclose(buffer.ext_advantages[:, 0], ext_adv)
    assert np.allclose(buffer.advantages[:, 0], 2.0 * ext_adv + 0.5 * int_adv)


def test_intrinsic_gae_with_lambda():
    rewards, values = np.array([[0.1], [0.2], [0.3]]), np.array([[1.0], [2.0], [3.0]])
    gamma, lam, last = 0.5, 0.8, 5.0
    delta = [0.1 + gamma * 2.0 - 1.0, 0.2 + gamma * 3.0 - 2.0, 0.3 + gamma * last - 3.0]
    by_hand = [delta[0] + gamma * lam * delta[1] + (gamma * lam) ** 2 * delta[2], delta[1] + gamma * lam * delta[2],
               delta[2]]
    assert np.allclose(intrinsic_advantages(rewards, values, np.array([last]), gamma, lam)[:, 0], by_hand)


class _Steps(BaseCallback):
    """The next observation of every step as the env returned it (terminal observations at episode ends)."""

    def __init__(self):
        super().__init__()
        self.next_obs, self.dones = [], []

    def _on_step(self):
        new_obs, dones, infos = self.locals["new_obs"], self.locals["dones"], self.locals["infos"]
        nxt = np.array(new_obs, dtype=np.float32)
        for i, done in enumerate(dones):
            if done:
                nxt[i] = infos[i]["terminal_observation"]
        self.next_obs.append(nxt)
        self.dones.append(np.array(dones))
        return True


@pytest.mark.parametrize("cls, env_id", [(PPORND, "MazeEasy-v0"), (RecurrentPPORND, "MazeEasy-v0"),
                                         (PPORND, "MazeEasyPixels-v0")])
def test_the_batched_pass_scores_each_steps_next_observation_and_value(cls, env_id, monkeypatch):
    kwargs = {"policy_kwargs": {**TINY_LSTM, "n_lstm_layers": 2}} if cls is RecurrentPPORND else {}
    model = _model(cls, env_id, env_kwargs={"max_episode_steps": 12}, **kwargs)
    # with the intrinsic head a copy of the extrinsic one, the batched pass must give the rollout's own values
    model.rnd.int_value_net.load_state_dict(model.policy.value_net.state_dict())
    scored = {}
    add = model._add_intrinsic_stream

    def spy(buffer, terminal):
        scored["next_obs"] = np.concatenate(list(model._next_observations(buffer, terminal)))
        add(buffer, terminal)

    monkeypatch.setattr(model, "_add_intrinsic_stream", spy)
    steps = _Steps()
    model.learn(model.n_steps * model.n_envs, callback=steps)
    assert np.concatenate(steps.dones).any()     # episodes ended inside the rollout
    expected = np.stack(steps.next_obs)
    assert np.array_equal(scored["next_obs"], expected.reshape(-1, *expected.shape[2:]))
    buffer = model.rollout_buffer
    assert np.allclose(buffer.int_values, buffer.values, atol=1e-5)


# --------------------------------------------------------------------------- the update

@pytest.mark.parametrize("cls", [PPORND, RecurrentPPORND])
def test_learning_trains_both_value_heads_and_the_predictor_and_logs_them(cls):
    model = _model(cls, int_gamma=0.9)
    rows = _capture_logs(model)
    before = {name: p.detach().clone() for name, p in (
        ("value_net", model.policy.value_net.weight), ("int_value_net", model.rnd.int_value_net.weight),
        ("predictor", next(model.rnd.predictor.parameters())), ("target", next(model.rnd.target.parameters())))}
    rollout = model.n_steps * model.n_envs
    model.learn(2 * rollout)
    after = {"value_net": model.policy.value_net.weight, "int_value_net": model.rnd.int_value_net.weight,
             "predictor": next(model.rnd.predictor.parameters()), "target": next(model.rnd.target.parameters())}
    for name in ("value_net", "int_value_net", "predictor"):
        assert not th.equal(before[name], after[name]), name
    assert th.equal(before["target"], after["target"])
    logged = {k: v for row in rows.rows for k, v in row.items()}
    for key in ("rnd/intrinsic_reward", "train/value_loss_ext", "train/value_loss_int", "train/rnd_predictor_loss"):
        assert key in logged and np.isfinite(logged[key]), key
    assert logged["rnd/intrinsic_reward"] > 0 and logged["train/value_loss_int"] > 0
    # the random-action phase started the normaliser without counting as training steps
    assert model.num_timesteps == 2 * rollout
    assert model.rnd.obs_rms.count.item() == 64 + 2 * rollout


def test_the_bonus_fades_as_a_fixed_maze_becomes_familiar():
    model = _model(PPORND, update_proportion=1.0, learning_rate=1e-3)
    rows = _capture_logs(model)
    model.learn(10 * model.n_steps * model.n_envs)
    errors = [row["rnd/prediction_error"] for row in rows.rows if "rnd/prediction_error" in row]
    assert len(errors) == 10 and np.mean(errors[-3:]) < 0.5 * errors[0], errors


# --------------------------------------------------------------------------- saving

@pytest.mark.parametrize("cls", [PPORND, RecurrentPPORND])
def test_save_load_keeps_normalisers_and_predictions_and_learning_continues(cls, tmp_path):
    model = _model(cls, int_coef=0.5, int_gamma=0.9, update_proportion=0.5)
    rollout = model.n_steps * model.n_envs
    model.learn(rollout)
    model.save(tmp_path / "rnd.zip")
    loaded = cls.load(tmp_path / "rnd.zip", env=make_vec_env_for("MazeEasy-v0", 2, 1, MAZE), device="cpu")
    saved, restored = model.rnd.state_dict(), loaded.rnd.state_dict()
    assert saved.keys() == restored.keys() and all(th.equal(saved[k], restored[k]) for k in saved)
    assert loaded.rnd.obs_rms.count.item() == 64 + rollout and loaded.rnd.int_return_rms.count.item() == rollout
    assert np.array_equal(model._int_return_filter, loaded._int_return_filter)
    assert (loaded.int_coef, loaded.int_gamma, loaded.update_proportion) == (0.5, 0.9, 0.5)
    probe = np.random.default_rng(0).random((16, *model.observation_space.shape), dtype=np.float32)
    assert np.array_equal(model.rnd.intrinsic_reward(probe), loaded.rnd.intrinsic_reward(probe))
    states = model.rnd_optimizer.state_dict()["state"], loaded.rnd_optimizer.state_dict()["state"]
    assert states[0] and all(th.equal(states[0][i]["exp_avg"], states[1][i]["exp_avg"]) for i in states[0])
    loaded.learn(rollout, reset_num_timesteps=False)
    assert loaded.num_timesteps == 2 * rollout
    assert loaded.rnd.obs_rms.count.item() == 64 + 2 * rollout   # no second random phase


# --------------------------------------------------------------------------- pretraining

def test_bc_trains_the_policy_and_leaves_the_intrinsic_heads_fresh():
    collect_expert("MazeEasy-v0", episodes=4, seed=0, env_kwargs=MAZE, dataset_id="sb3plus/mazeeasy/rnd-v0",
                   progress_bar=False)
    model = _model(PPORND)
    fresh = copy.deepcopy(model.rnd.state_dict())
    policy = copy.deepcopy(model.policy.state_dict())
    train_bc(model.policy, "sb3plus/mazeeasy/rnd-v0", epochs=2, progress_bar=False)
    assert not th.equal(policy["action_net.weight"], model.policy.state_dict()["action_net.weight"])
    assert all(th.equal(fresh[k], v) for k, v in model.rnd.state_dict().items())
    # a policy cloned into plain PPO drops into PPORND; RND stays as it was built
    ppo = PPO("MlpPolicy", make_vec_env_for("MazeEasy-v0", 1, 0, MAZE), policy_kwargs=TINY, seed=1)
    train_bc(ppo.policy, "sb3plus/mazeeasy/rnd-v0", epochs=1, progress_bar=False)
    target = _model(PPORND)
    fresh = copy.deepcopy(target.rnd.state_dict())
    target.set_parameters({"policy": ppo.policy.state_dict()}, exact_match=False)
    assert all(th.equal(v, target.policy.state_dict()[k]) for k, v in ppo.policy.state_dict().items())
    assert all(th.equal(fresh[k], v) for k, v in target.rnd.state_dict().items())


# --------------------------------------------------------------------------- runs, configs, spaces

def test_train_runs_ppo_rnd_and_ppo_lstm_rnd_after_bc_and_writes_models_that_load(tmp_path):
    common = {"log_folder": tmp_path, "env_kwargs": MAZE, "eval_freq": 0, "verbose": 0, "tensorboard": False,
              "hyperparams": SMALL_RUN, "n_timesteps": 256}
    result = train("ppo_rnd", "MazeEasy-v0", **common)
    assert type(load_model(result.model_path)) is PPORND     # the run records its algo
    assert PPORND.load(result.model_path).num_timesteps == 256
    assert "rnd/intrinsic_reward" in (result.run_dir / "progress.csv").read_text()
    counted = PPORND.load(result.model_path).rnd.obs_rms.count.item()
    resumed = train("ppo_rnd", "MazeEasy-v0", trained_agent=result.run_dir, **{**common, "n_timesteps": 384})
    final = PPORND.load(resumed.model_path)
    assert resumed.run_dir == result.run_dir and final.num_timesteps == 384
    assert final.rnd.obs_rms.count.item() == counted + 128   # the normaliser went on: no second random phase

    collect_expert("MazeEasy-v0", episodes=3, seed=0, env_kwargs=MAZE, dataset_id="sb3plus/mazeeasy/rnd-bc-v0",
                   progress_bar=False)
    result = train("ppo_lstm_rnd", "MazeEasy-v0", pretrain="bc", dataset="sb3plus/mazeeasy/rnd-bc-v0",
                   pretrain_kwargs={"epochs": 1}, **common)
    assert result.pretrain["finished"] is True
    loaded = RecurrentPPORND.load(result.model_path)
    assert loaded.num_timesteps == 256 and loaded.rnd.obs_rms.initialized


@pytest.mark.parametrize("algo", ["ppo_rnd", "ppo_lstm_rnd"])
@pytest.mark.parametrize("env_id", ["VizdoomMyWayHome-v1", "VizdoomDefendLine-v1", "MazeEasy-v0", "MazeEasyPixels-v0",
                                    "CartPole-v1"])
def test_zoo_configs_and_search_spaces_have_the_rnd_knobs(algo, env_id):
    config = load_hyperparams(algo, env_id)
    assert config.algo_class is ALGOS[algo]
    assert callable(config.algo_kwargs["learning_rate"])   # typed from the constructor's annotations
    assert {"int_coef", "ext_coef", "int_gamma", "update_proportion"} <= set(config.algo_kwargs)
    space = load_search_space(algo, env_id, base=config)   # every value of every param is a valid config
    assert {"int_coef", "ext_coef", "int_gamma", "update_proportion", "rnd_features_dim"} <= set(space.names())


def test_tune_samples_the_rnd_knobs_and_writes_a_config_that_trains(tmp_path):
    from sb3_plus.tuning import TuneSettings, tune

    result = tune(TuneSettings("ppo_rnd", "MazeEasy-v0", n_trials=2, log_folder=tmp_path, seeds=1, n_timesteps=128,
                               eval_freq=128, eval_episodes=1, sampler="random", pruner="none", env_kwargs=MAZE,
                               hyperparams=["n_envs:2", "n_epochs:1", "norm_init_steps:32"], verbose=0))
    assert result.counts.get("COMPLETE") == 2
    assert {"int_coef", "ext_coef", "int_gamma", "update_proportion"} <= set(result.best_params)
    best = load_hyperparams("ppo_rnd", "MazeEasy-v0", conf_file=result.outputs["best_config"])
    assert best.algo_kwargs["int_coef"] == pytest.approx(result.best_params["int_coef"])


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("kwargs, words", [
    ({"int_coef": -1.0}, "int_coef=-1.0"), ({"ext_coef": float("nan")}, "ext_coef"),
    ({"int_coef": 0.0, "ext_coef": 0.0}, "both 0"), ({"update_proportion": 0.0}, r"update_proportion=0.0 .*\(0, 1\]"),
    ({"update_proportion": 1.5}, "update_proportion=1.5"), ({"int_gamma": 1.2}, "int_gamma=1.2"),
    ({"norm_init_steps": -5}, "norm_init_steps"), ({"rnd_features_dim": 0}, "rnd_features_dim")])
def test_bad_settings_are_refused_with_the_fix(kwargs, words):
    for cls in (PPORND, RecurrentPPORND):
        with pytest.raises(BadOptionError, match=words) as info:
            _model(cls, **kwargs)
        assert "Fix:" in str(info.value)


def test_unusable_inputs_are_refused_before_a_run_folder_exists(tmp_path):
    with pytest.raises(BadOptionError, match="Box observations.*Fix:"):
        _model(PPORND, env_kwargs={"obs_type": "dict"}, policy="MultiInputPolicy")
    common = {"log_folder": tmp_path, "env_kwargs": MAZE, "n_timesteps": 256, "verbose": 0, "tensorboard": False}
    with pytest.raises(BadOptionError, match="update_proportion"):
        train("ppo_rnd", "MazeEasy-v0", hyperparams=[*SMALL_RUN, "update_proportion:2"], **common)
    with pytest.raises(ConfigError, match="int_coef"):
        train("ppo_rnd", "MazeEasy-v0", hyperparams=[*SMALL_RUN, "int_coef:lots"], **common)
    assert not any(tmp_path.rglob("*.zip")) and not (tmp_path / "ppo_rnd").exists()
