"""Behaviour cloning: sequence batches, feedforward and recurrent BC, spaces, hand-over to PPO."""

from __future__ import annotations

import warnings

import gymnasium as gym
import minari
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from minari.data_collector import EpisodeBuffer
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO

from sb3_plus.data.sequences import Episode, SequenceBatcher, discounted_returns, load_episodes
from sb3_plus.errors import BadOptionError, InputNotFoundError, UserError
from sb3_plus.imitation.bc import (
    BCSettings,
    SpaceMismatchError,
    evaluate_agreement,
    evaluate_value_mse,
    load_policy_into,
    predict_episode_actions,
    train_bc,
)
from sb3_plus.imitation.episodes import split_episodes
from sb3_plus.imitation.space_check import action_fits, observation_transpose
from sb3_plus.policies import RecurrentPPO as OurRecurrentPPO
from sb3_plus.policies import set_lstm_forget_bias

th.set_num_threads(1)

TINY = dict(net_arch=[32])
TINY_LSTM = dict(net_arch=[32], lstm_hidden_size=16)


# --------------------------------------------------------------------------- test envs


class CueEnv(gym.Env):
    """Memory task: the first observation shows a cue (-1 / +1), later ones do not.

    obs = [cue on the first step else 0, 1 on the last step else 0, steps left / 8].
    The expert waits (action 2) and on the last step answers 0 for cue -1, 1 for cue +1.
    """

    observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cue = float(self.np_random.choice([-1.0, 1.0]))
        self.length = int(self.np_random.integers(4, 9))
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        left = self.length - self.t
        return np.array([self.cue if self.t == 0 else 0.0, float(left == 1), left / 8], dtype=np.float32)

    def expert(self, obs):
        if self.t < self.length - 1:
            return 2
        return 0 if self.cue < 0 else 1

    def step(self, action):
        last = self.t == self.length - 1
        reward = 1.0 + float(last and action == (0 if self.cue < 0 else 1))
        self.t += 1
        return self._obs(), reward, last, False, {}


class ChannelEnv(gym.Env):
    """A square lit in one colour channel of an HWC image; the expert names the channel."""

    def __init__(self, size=36, channels=3):
        self.observation_space = spaces.Box(0, 255, (size, size, channels), np.uint8)
        self.action_space = spaces.Discrete(channels)
        self.size, self.channels = size, channels

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._draw(), {}

    def _draw(self):
        img = np.zeros(self.observation_space.shape, np.uint8)
        y, x = self.np_random.integers(0, self.size - 10, size=2)
        self.lit = int(self.np_random.integers(self.channels))
        img[y : y + 10, x : x + 10, self.lit] = 255
        return img

    def expert(self, obs):
        return self.lit

    def step(self, action):
        self.t += 1
        return self._draw(), float(action == self.lit), False, self.t >= 8, {}


class DictEnv(gym.Env):
    """Dict obs (HWC image + vector); MultiDiscrete expert: [square on the right, vec[0] > 0]."""

    observation_space = spaces.Dict(
        {"img": spaces.Box(0, 255, (36, 36, 1), np.uint8), "vec": spaces.Box(-1.0, 1.0, (2,), np.float32)}
    )
    action_space = spaces.MultiDiscrete([2, 2])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        img = np.zeros((36, 36, 1), np.uint8)
        self.right = int(self.np_random.integers(2))
        img[10:26, (20 if self.right else 2) : (34 if self.right else 16)] = 255
        self.vec = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return {"img": img, "vec": self.vec}

    def expert(self, obs):
        return np.array([self.right, int(self.vec[0] > 0)])

    def step(self, action):
        self.t += 1
        return self._obs(), 0.0, False, self.t >= 8, {}


class PointEnv(gym.Env):
    """Continuous actions: the expert pushes back towards the origin, a = -0.8 * obs."""

    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        return self.np_random.uniform(-1, 1, 2).astype(np.float32)

    def expert(self, obs):
        return (-0.8 * obs).astype(np.float32)

    def step(self, action):
        self.t += 1
        return self._obs(), 0.0, False, self.t >= 20, {}


def cartpole_expert(obs):
    x, x_dot, theta, theta_dot = obs
    return int(theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0)


# --------------------------------------------------------------------------- dataset helpers


def _stack(items):
    if isinstance(items[0], dict):
        return {k: np.stack([it[k] for it in items]) for k in items[0]}
    return np.stack(items)


def _record(env, expert, n_episodes, seed):
    buffers = []
    for i in range(n_episodes):
        obs, _ = env.reset(seed=seed + i)
        observations, actions, rewards, terms, truncs = [obs], [], [], [], []
        while True:
            action = expert(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            observations.append(obs)
            actions.append(action)
            rewards.append(reward)
            terms.append(terminated)
            truncs.append(truncated)
            if terminated or truncated:
                break
        buffers.append(
            EpisodeBuffer(
                id=i,
                seed=seed + i,
                observations=_stack(observations),
                actions=_stack(actions),
                rewards=rewards,
                terminations=terms,
                truncations=truncs,
            )
        )
    return buffers


def make_dataset(dataset_id, env, expert=None, n_episodes=20, seed=0, env_id=None):
    """Record a scripted expert into a Minari dataset (no jax needed)."""
    buffers = _record(env, expert or env.unwrapped.expert, n_episodes, seed)
    if env_id:
        kwargs = dict(env=env_id)
    else:
        kwargs = dict(observation_space=env.observation_space, action_space=env.action_space)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Minari asks for authors, descriptions, code links
        return minari.create_dataset_from_buffers(
            dataset_id, buffers, data_format="arrow", jpeg_encoding=False, algorithm_name="scripted", **kwargs
        )


@pytest.fixture
def bc_cartpole():
    env = gym.make("CartPole-v1", max_episode_steps=200)
    dataset = make_dataset("sb3plus/cartpole/scripted-v0", env, cartpole_expert, n_episodes=16, env_id="CartPole-v1")
    return env, dataset


@pytest.fixture(scope="module")
def bc_cue(tmp_path_factory):
    env = CueEnv()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MINARI_DATASETS_PATH", str(tmp_path_factory.mktemp("bc_cue")))
        return env, load_episodes(make_dataset("sb3plus/cue/scripted-v0", env, n_episodes=300))


# --------------------------------------------------------------------------- data


def test_load_episodes_drops_final_observation(bc_cartpole):
    env, dataset = bc_cartpole
    episodes = load_episodes("sb3plus/cartpole/scripted-v0")
    assert len(episodes) == dataset.total_episodes == 16
    raw = next(dataset.iterate_episodes([3]))
    ep = episodes[3]
    assert len(ep) == len(raw.rewards) and ep.observations.shape == (len(ep), 4)
    np.testing.assert_array_equal(ep.observations, raw.observations[:-1])
    assert ep.actions.shape == (len(ep),) and np.issubdtype(ep.actions.dtype, np.integer)
    assert ep.metadata["seed"] == 3
    assert ep.observation_space == env.observation_space and ep.action_space == env.action_space


def test_load_episodes_dict_images_and_box_actions():
    ep = load_episodes(make_dataset("sb3plus/dict/scripted-v0", DictEnv(), n_episodes=2))[0]
    assert ep.observations["img"].shape == (8, 36, 36, 1) and ep.observations["img"].dtype == np.uint8
    assert ep.observations["vec"].shape == (8, 2) and ep.actions.shape == (8, 2)
    ep = load_episodes(make_dataset("sb3plus/point/scripted-v0", PointEnv(), n_episodes=2))[0]
    assert ep.actions.shape == (20, 2) and ep.actions.dtype == np.float32
    np.testing.assert_allclose(ep.actions, -0.8 * ep.observations, atol=1e-6)


def _toy_episode(length, offset):
    obs = np.arange(offset, offset + length, dtype=np.float32)[:, None]
    rewards = np.ones(length, np.float32)
    flags = np.zeros(length, bool)
    return Episode(obs, np.arange(length) % 3, rewards, flags, flags)


def test_sequence_batcher_layout():
    episodes = [_toy_episode(5, 0), _toy_episode(3, 100)]
    batcher = SequenceBatcher(episodes, seq_len=4, batch_size=12, gamma=0.5, shuffle=False)
    assert batcher.n_sequences == 3 and len(batcher) == 1
    batch = next(iter(batcher))
    assert batch.n_seq == 3 and batch.seq_len == 4
    obs = batch.observations.reshape(3, 4).numpy()
    np.testing.assert_array_equal(obs, [[0, 1, 2, 3], [4, 0, 0, 0], [100, 101, 102, 0]])
    np.testing.assert_array_equal(batch.mask.reshape(3, 4).numpy(), [[1, 1, 1, 1], [1, 0, 0, 0], [1, 1, 1, 0]])
    np.testing.assert_array_equal(batch.episode_starts.reshape(3, 4).numpy()[:, 0], [1, 0, 1])
    assert batch.episode_starts.sum() == 2 and batch.actions.dtype == th.int64
    np.testing.assert_allclose(batch.returns.reshape(3, 4).numpy()[2, :3], discounted_returns(np.ones(3), 0.5))
    np.testing.assert_allclose(discounted_returns(np.ones(3), 0.5), [1.75, 1.5, 1.0])


def test_sequence_batcher_shuffles_reproducibly_and_covers_every_step():
    episodes = [_toy_episode(n, 1000 * i) for i, n in enumerate([7, 40, 13, 1])]

    def epoch(seed):
        batcher = SequenceBatcher(episodes, seq_len=8, batch_size=16, seed=seed, random_offsets=True)
        steps = []
        for batch in batcher:
            steps.extend(batch.observations.flatten()[batch.mask > 0].tolist())
        return steps

    first = epoch(0)
    assert first == epoch(0) and first != epoch(1)
    assert sorted(first) == sorted(np.concatenate([ep.observations[:, 0] for ep in episodes]).tolist())


# --------------------------------------------------------------------------- feedforward


def test_bc_mlp_cartpole_learns(bc_cartpole):
    env, dataset = bc_cartpole
    model = PPO("MlpPolicy", env, policy_kwargs=TINY, seed=0)
    seen = []
    report = train_bc(
        model.policy, dataset, BCSettings(epochs=30, batch_size=64, lr=5e-3), progress_bar=False, callback=seen.append
    )
    assert report.epochs_run == 30 and len(seen) == 30 and report.n_holdout_episodes == 2
    assert report.train_loss[-1] < 0.5 * report.train_loss[0]
    assert report.holdout_agreement[-1] > 0.9 and report.holdout_agreement[-1] > report.holdout_agreement[0]
    assert report.samples_per_second > 0 and report.total_seconds > 0
    # The trained policy acts like the expert in the env.
    obs, _ = env.reset(seed=123)
    for _ in range(100):
        obs, _, terminated, truncated, _ = env.step(int(model.predict(obs, deterministic=True)[0]))
        assert not terminated
        if truncated:
            break


def test_bc_callback_and_time_budget_stop(bc_cartpole):
    _, dataset = bc_cartpole
    model = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY, seed=0)
    report = train_bc(model.policy, dataset, epochs=10, progress_bar=False, callback=lambda r: r.epochs_run < 2)
    assert report.epochs_run == 2 and report.stop_reason == "callback"
    report = train_bc(model.policy, dataset, epochs=1000, progress_bar=False, max_seconds=0.0)
    assert report.epochs_run == 1 and report.stop_reason == "max_seconds"


def test_bc_box_actions():
    env = PointEnv()
    dataset = make_dataset("sb3plus/point/scripted-v0", env, n_episodes=30)
    model = PPO("MlpPolicy", env, policy_kwargs=TINY, seed=0)
    before = evaluate_agreement(model.policy, dataset, box_atol=0.1)
    report = train_bc(model.policy, dataset, epochs=40, batch_size=64, lr=3e-3, progress_bar=False)
    assert before < 0.3 and report.final_agreement > 0.9


# --------------------------------------------------------------------------- recurrent memory


def _final_step_agreement(policy, episodes):
    predictions = predict_episode_actions(policy, episodes)
    return float(np.mean([p[-1] == ep.actions[-1] for p, ep in zip(predictions, episodes)]))


def test_lstm_remembers_the_cue_where_an_mlp_cannot(bc_cue):
    env, episodes = bc_cue
    train, test = episodes[:250], episodes[250:]
    kwargs = dict(epochs=40, batch_size=128, lr=3e-3, holdout_fraction=0.0, progress_bar=False)

    lstm = RecurrentPPO("MlpLstmPolicy", env, policy_kwargs=TINY_LSTM, seed=0).policy
    report = train_bc(lstm, train, **kwargs)
    assert report.recurrent and report.seq_len == 32
    mlp = PPO("MlpPolicy", env, policy_kwargs=TINY, seed=0).policy
    train_bc(mlp, train, **kwargs)

    assert _final_step_agreement(lstm, test) > 0.95
    assert _final_step_agreement(mlp, test) < 0.75
    assert evaluate_agreement(lstm, test) > 0.97

    # Cut the episodes so the cue and the answer are in different sequences: memory is lost.
    cut = RecurrentPPO("MlpLstmPolicy", env, policy_kwargs=TINY_LSTM, seed=0).policy
    train_bc(cut, train, seq_len=2, **kwargs)
    assert _final_step_agreement(cut, test) < 0.75


def _long_cue_episodes(n, seed):
    """CueEnv's task over 40-48 steps, the answer on the last 8 (a walk to the door the cue named):
    the cue and the answer are further apart than the default sequence length of 32."""
    rng, episodes = np.random.default_rng(seed), []
    for _ in range(n):
        cue, length = float(rng.choice([-1.0, 1.0])), int(rng.integers(40, 49))
        t = np.arange(length)
        left = length - t
        obs = np.stack([np.where(t == 0, cue, 0.0), (left <= 8).astype(float), left / 64], axis=1).astype(np.float32)
        actions = np.full(length, 2)
        actions[-8:] = 0 if cue < 0 else 1
        flags = np.zeros(length, bool)
        episodes.append(Episode(obs, actions, np.ones(length, np.float32), flags, flags))
    return episodes


@pytest.mark.parametrize("seed", [0, 1])
def test_whole_episode_sequences_remember_past_the_default_sequence_length(seed):
    env, episodes = CueEnv(), _long_cue_episodes(300, seed=seed)
    train, test = episodes[:250], episodes[250:]
    kwargs = dict(epochs=40, batch_size=480, lr=3e-3, holdout_fraction=0.0, progress_bar=False)

    def lstm_policy():
        policy = OurRecurrentPPO("MlpLstmPolicy", env, policy_kwargs=TINY_LSTM, seed=seed).policy
        assert set_lstm_forget_bias(policy, 1.0) == 2  # actor and critic
        return policy

    whole = lstm_policy()
    report = train_bc(whole, train, seq_len="episode", **kwargs)
    assert report.seq_len == max(len(ep) for ep in train) == 48
    chunked = lstm_policy()
    assert train_bc(chunked, train, **kwargs).seq_len == 32

    assert _final_step_agreement(whole, test) > 0.95
    assert _final_step_agreement(chunked, test) < 0.75
    # a feedforward policy has nothing to carry: 'episode' means one step there
    assert train_bc(PPO("MlpPolicy", env, policy_kwargs=TINY, seed=0).policy, train[:20], seq_len="episode",
                    epochs=1, progress_bar=False).seq_len == 1
    with pytest.raises(BadOptionError, match="seq_len must be a number >= 1 or 'episode'"):
        BCSettings(seq_len="episodes")


def test_lstm_forget_bias_sets_the_forget_gates_of_new_policies(tmp_path):
    from sb3_plus.training import train

    policy = OurRecurrentPPO("MlpLstmPolicy", CueEnv(), policy_kwargs=TINY_LSTM, seed=0).policy
    set_lstm_forget_bias(policy, 2.0)
    for lstm in (policy.lstm_actor, policy.lstm_critic):
        bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()
        assert th.all(bias[16:32] == 2.0) and not th.all(bias[:16] == 2.0)
    with pytest.raises(BadOptionError, match="has no LSTM"):
        set_lstm_forget_bias(PPO("MlpPolicy", CueEnv(), policy_kwargs=TINY).policy, 1.0)
    # the zoo key: the run's new model starts with it (a tiny learning rate leaves it about as it started)
    result = train("ppo_lstm", "CartPole-v1", n_timesteps=64, log_folder=tmp_path, eval_freq=0,
                   hyperparams={"n_envs": 1, "n_steps": 64, "batch_size": 64, "learning_rate": 1e-7,
                                "lstm_forget_bias": 1.5, "policy_kwargs": "dict(lstm_hidden_size=8)"})
    lstm = RecurrentPPO.load(result.model_path).policy.lstm_actor
    np.testing.assert_allclose((lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()[8:16].numpy(), 1.5, atol=1e-3)


def test_sequence_batches_pad_to_their_longest_sequence():
    episodes = [_toy_episode(3, 0), _toy_episode(2, 100), _toy_episode(9, 200)]
    batcher = SequenceBatcher(episodes, seq_len=10, batch_size=20, shuffle=False)
    short = batcher.make_batch(np.array([0, 3]), np.array([3, 2]))
    assert short.n_seq == 2 and short.seq_len == 3 and short.mask.tolist() == [1, 1, 1, 1, 1, 0]
    assert [batch.seq_len for batch in batcher] == [3, 9]  # two sequences a batch, padded to the longest


# --------------------------------------------------------------------------- images and dicts


def test_cnn_policy_on_channel_last_images():
    env = ChannelEnv()
    dataset = make_dataset("sb3plus/channel/scripted-v0", env, n_episodes=40)
    kwargs = dict(net_arch=[32], features_extractor_kwargs=dict(features_dim=32))
    model = PPO("CnnPolicy", env, policy_kwargs=kwargs, seed=0)
    assert model.policy.observation_space.shape == (3, 36, 36)  # VecTransposeImage in PPO
    report = train_bc(model.policy, dataset, epochs=12, batch_size=32, lr=1e-3, progress_bar=False)
    assert report.final_agreement > 0.9
    # BC's HWC -> CHW path gives exactly what the policy sees through PPO's own transposition.
    ep = load_episodes(dataset, episode_indices=[0])[0]
    ours = predict_episode_actions(model.policy, [ep])[0]
    theirs, _ = model.predict(ep.observations, deterministic=True)
    np.testing.assert_array_equal(ours, theirs)


def test_multi_input_policy_dict_observations():
    env = DictEnv()
    dataset = make_dataset("sb3plus/dict/scripted-v0", env, n_episodes=40)
    # ReLU: with tanh, the image features saturate the tiny MLP and the vector is often ignored.
    kwargs = dict(net_arch=[32], activation_fn=th.nn.ReLU, features_extractor_kwargs=dict(cnn_output_dim=16))
    model = PPO("MultiInputPolicy", env, policy_kwargs=kwargs, seed=0)
    report = train_bc(model.policy, dataset, epochs=20, batch_size=16, lr=3e-3, progress_bar=False)
    assert report.final_agreement > 0.85
    ep = load_episodes(dataset, episode_indices=[1])[0]
    theirs, _ = model.predict(ep.observations, deterministic=True)
    np.testing.assert_array_equal(predict_episode_actions(model.policy, [ep])[0], theirs)
    recurrent = RecurrentPPO("MultiInputLstmPolicy", env, policy_kwargs=dict(kwargs, lstm_hidden_size=16), seed=0)
    report = train_bc(recurrent.policy, dataset, epochs=2, seq_len=4, batch_size=32, progress_bar=False)
    assert report.recurrent and report.train_loss[-1] < report.train_loss[0]


# --------------------------------------------------------------------------- spaces


def test_space_mismatch_names_both_spaces(bc_cartpole):
    _, dataset = bc_cartpole
    policy = PPO("MlpPolicy", CueEnv(), policy_kwargs=TINY).policy
    with pytest.raises(SpaceMismatchError) as err:
        train_bc(policy, dataset, epochs=1, progress_bar=False)
    message = str(err.value)
    assert "(4,)" in message and "(3,)" in message and "observation" in message
    assert "preprocessing" in message and "recover_environment" in message
    assert isinstance(err.value, ValueError) and isinstance(err.value, UserError)

    images = make_dataset("sb3plus/channel/scripted-v0", ChannelEnv(channels=3), n_episodes=2)
    gray = PPO("CnnPolicy", ChannelEnv(channels=1), policy_kwargs=dict(net_arch=[8])).policy
    with pytest.raises(SpaceMismatchError, match=r"\(36, 36, 3\).*\(1, 36, 36\)"):
        evaluate_agreement(gray, images)

    episodes = load_episodes(dataset)
    two_actions = PPO("MlpPolicy", PointEnv(), policy_kwargs=TINY).policy
    obs_ok = [
        Episode(ep.observations[:, :2], ep.actions, ep.rewards, ep.terminations, ep.truncations) for ep in episodes
    ]
    with pytest.raises(SpaceMismatchError, match="action space"):
        train_bc(two_actions, obs_ok, epochs=1, progress_bar=False)


# --------------------------------------------------------------------------- hand-over to RL


def test_pretrained_mlp_drops_into_ppo(bc_cartpole):
    env, dataset = bc_cartpole
    pretrained = PPO("MlpPolicy", env, policy_kwargs=TINY, seed=0)
    train_bc(pretrained.policy, dataset, epochs=3, progress_bar=False)
    model = PPO(type(pretrained.policy), env, policy_kwargs=TINY, n_steps=64, batch_size=32, seed=1)
    obs = np.stack([ep.observations[0] for ep in load_episodes(dataset)])
    assert not th.equal(model.policy.action_net.weight, pretrained.policy.action_net.weight)
    load_policy_into(model, pretrained.policy)
    for a, b in zip(model.policy.state_dict().values(), pretrained.policy.state_dict().values()):
        assert th.equal(a, b)
    expected, _ = pretrained.predict(obs, deterministic=True)
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], expected)
    model.learn(64)

    recurrent = RecurrentPPO("MlpLstmPolicy", env, policy_kwargs=TINY_LSTM)
    with pytest.raises(TypeError, match="MlpLstmPolicy|RecurrentActorCriticPolicy"):
        load_policy_into(recurrent, pretrained.policy)
    wider = PPO("MlpPolicy", env, policy_kwargs=dict(net_arch=[64]))
    with pytest.raises(ValueError, match="architectures differ"):
        load_policy_into(wider, pretrained.policy)


def test_pretrained_lstm_drops_into_recurrent_ppo(bc_cue):
    env, episodes = bc_cue
    pretrained = RecurrentPPO("MlpLstmPolicy", env, policy_kwargs=TINY_LSTM, seed=0)
    train_bc(pretrained.policy, episodes[:100], epochs=3, progress_bar=False)
    model = RecurrentPPO("MlpLstmPolicy", env, policy_kwargs=TINY_LSTM, n_steps=64, batch_size=32, seed=1)
    load_policy_into(model, pretrained.policy)
    ep = episodes[0]
    state_a = state_b = None
    for t in range(len(ep)):
        start = np.array([t == 0])
        a, state_a = model.predict(ep.observations[t : t + 1], state_a, start, deterministic=True)
        b, state_b = pretrained.predict(ep.observations[t : t + 1], state_b, start, deterministic=True)
        assert a == b
        np.testing.assert_array_equal(state_a[0], state_b[0])
    model.learn(64)


def test_recurrent_rollout_matches_step_by_step_predict(bc_cue):
    env, episodes = bc_cue
    model = RecurrentPPO("MlpLstmPolicy", env, policy_kwargs=TINY_LSTM, seed=0)
    train_bc(model.policy, episodes[:60], epochs=2, progress_bar=False)
    subset = episodes[60:70]
    batched = predict_episode_actions(model.policy, subset)
    for ep, actions in zip(subset, batched):
        state, expected = None, []
        for t in range(len(ep)):
            action, state = model.predict(ep.observations[t : t + 1], state, np.array([t == 0]), deterministic=True)
            expected.append(int(action[0]))
        np.testing.assert_array_equal(actions, expected)


# --------------------------------------------------------------------------- critic warm-up


def test_critic_warmup_lowers_value_mse_and_keeps_the_actor(bc_cue):
    env, episodes = bc_cue
    for algo, policy_name, kwargs in [(PPO, "MlpPolicy", TINY), (RecurrentPPO, "MlpLstmPolicy", TINY_LSTM)]:
        policy = algo(policy_name, env, policy_kwargs=kwargs, seed=0).policy
        train_bc(policy, episodes[:150], epochs=3, progress_bar=False)
        test = episodes[150:200]
        actions_before = predict_episode_actions(policy, test)
        mse_before = evaluate_value_mse(policy, test, gamma=0.9)
        warmup = dict(epochs=0, critic_warmup_epochs=10, batch_size=32, lr=3e-3, gamma=0.9, progress_bar=False)
        report = train_bc(policy, episodes[:150], **warmup)
        assert report.critic_epochs_run == 10 and len(report.value_mse) == 11
        returns = np.concatenate([discounted_returns(ep.rewards, 0.9) for ep in test])
        mse_after = evaluate_value_mse(policy, test, gamma=0.9)
        # Better than the best constant (the bias shift alone): the head learned from the obs.
        assert mse_after < 0.2 * returns.var() and mse_after < 0.05 * mse_before
        for a, b in zip(actions_before, predict_episode_actions(policy, test)):
            np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- settings


def test_keyword_settings_are_the_same_as_a_settings_object(bc_cartpole):
    _, dataset = bc_cartpole
    reports = []
    for call in (lambda p: train_bc(p, dataset, BCSettings(epochs=3, batch_size=64, lr=3e-3, seed=2),
                                    progress_bar=False),
                 lambda p: train_bc(p, dataset, epochs=3, batch_size=64, lr=3e-3, seed=2, progress_bar=False),
                 lambda p: train_bc(p, dataset, BCSettings(epochs=9, lr=3e-3), epochs=3, batch_size=64, seed=2,
                                    progress_bar=False)):
        reports.append(call(PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY, seed=0).policy))
    assert reports[0].epochs_run == 3
    assert reports[0].train_loss == reports[1].train_loss == reports[2].train_loss
    assert reports[0].holdout_agreement == reports[1].holdout_agreement


def test_bad_settings_name_the_field_and_the_fix(bc_cartpole):
    _, dataset = bc_cartpole
    policy = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY).policy
    with pytest.raises(BadOptionError, match=r"unknown BCSettings field\(s\) \['epoch'\].*'epochs'"):
        train_bc(policy, dataset, epoch=3, progress_bar=False)
    with pytest.raises(BadOptionError, match="batch_size must be >= 1"):
        BCSettings(batch_size=0)
    with pytest.raises(BadOptionError, match="holdout_fraction"):
        BCSettings.from_dict({"holdout_fraction": 1.5})
    with pytest.raises(InputNotFoundError, match="collect_expert"):
        train_bc(policy, "sb3plus/nothing/here-v0", progress_bar=False)


def test_a_dataset_id_is_read_from_the_dataset_root(tmp_path, monkeypatch):
    # without MINARI_DATASETS_PATH the root is ./datasets (sb3-plus's), not Minari's ~/.minari
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))
    make_dataset("sb3plus/cartpole/scripted-v0", gym.make("CartPole-v1", max_episode_steps=200), cartpole_expert,
                 n_episodes=5, env_id="CartPole-v1")
    monkeypatch.delenv("MINARI_DATASETS_PATH")
    policy = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY).policy
    report = train_bc(policy, "sb3plus/cartpole/scripted-v0", epochs=1, progress_bar=False)
    assert report.n_train_episodes + report.n_holdout_episodes == 5
    assert len(predict_episode_actions(policy, "sb3plus/cartpole/scripted-v0")) == 5


# --------------------------------------------------------------------------- one space check


def test_space_check_rules():
    hwc = spaces.Box(0, 255, (36, 36, 3), np.uint8)
    chw = spaces.Box(0, 255, (3, 36, 36), np.uint8)
    vec = spaces.Box(-1.0, 1.0, (3,), np.float32)
    assert observation_transpose(vec, vec) is False and observation_transpose(hwc, hwc) is False
    assert observation_transpose(hwc, chw) is True
    assert observation_transpose(chw, hwc) is None  # only channel-last -> channel-first
    wider = spaces.Box(-5.0, 5.0, (3,), np.float32)
    assert observation_transpose(vec, wider) is None and observation_transpose(vec, wider, exact=False) is False
    normalised = spaces.Box(-10.0, 10.0, (3, 36, 36), np.float32)  # what VecNormalize makes of an image space
    assert observation_transpose(hwc, normalised) is None and observation_transpose(hwc, normalised, exact=False)
    both = spaces.Dict({"img": hwc, "vec": vec})
    assert observation_transpose(both, spaces.Dict({"img": chw, "vec": vec})) == frozenset({"img"})
    assert observation_transpose(both, spaces.Dict({"img": chw})) is None
    assert observation_transpose(vec, both) is None
    # bare arrays when a dataset records no space: shapes and the uint8 image rule
    assert observation_transpose(np.zeros((4, 36, 36, 3), np.uint8), chw) is True
    assert observation_transpose(np.zeros((4, 36, 36, 3), np.float32), chw) is None
    assert action_fits(spaces.Discrete(3), spaces.Discrete(3)) and not action_fits(spaces.Discrete(2), spaces.Discrete(3))
    assert action_fits(np.zeros((5, 2)), spaces.Box(-1, 1, (2,))) and not action_fits(np.zeros(5), spaces.Box(-1, 1, (2,)))


# --------------------------------------------------------------------------- observation normalisation


@pytest.fixture
def maze_dataset():
    from sb3_plus.data.collect import collect_expert

    collect_expert("MazeEasy-v0", episodes=20, env_kwargs={"fixed_layout_seed": 3},
                   dataset_id="sb3plus/mazeeasy/waypoint-v0", progress_bar=False)
    return load_episodes("sb3plus/mazeeasy/waypoint-v0")


def _normalised_maze_model(n_envs=1):
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_plus.training.envs import make_vec_env_for

    venv = VecNormalize(make_vec_env_for("MazeEasy-v0", n_envs, 0, {"fixed_layout_seed": 3}), norm_reward=False)
    return PPO("MlpPolicy", venv, policy_kwargs=dict(net_arch=[64, 64]), n_steps=64, batch_size=64, seed=0)


def test_bc_fits_a_fresh_vecnormalize_and_trains_on_normalised_observations(maze_dataset):
    model = _normalised_maze_model()
    vec_normalize = model.get_vec_normalize_env()
    settings = BCSettings(epochs=30, batch_size=64, holdout_fraction=0.2, seed=0)
    report = train_bc(model.policy, maze_dataset, settings, normalizer=vec_normalize, progress_bar=False)
    assert report.normalized and report.fitted_normalizer
    # the statistics are the training episodes' (the held-out ones are not looked at)
    from sb3_plus.imitation.episodes import split_episodes

    train, holdout = split_episodes(maze_dataset, 0.2, seed=0)
    observations = np.concatenate([ep.observations for ep in train])
    np.testing.assert_allclose(vec_normalize.obs_rms.mean, observations.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(vec_normalize.obs_rms.var, observations.var(axis=0), atol=1e-4)
    assert vec_normalize.obs_rms.count == pytest.approx(len(observations), abs=1e-3)
    assert report.final_agreement > 0.8

    # agreement is measured as RL will act: on VecNormalize's observations
    ep = holdout[0]
    acting, _ = model.predict(vec_normalize.normalize_obs(ep.observations), deterministic=True)
    np.testing.assert_array_equal(predict_episode_actions(model.policy, [ep], normalizer=vec_normalize)[0], acting)
    assert evaluate_agreement(model.policy, holdout, normalizer=vec_normalize) == pytest.approx(report.final_agreement)
    blank, _ = model.predict(np.zeros_like(ep.observations[:1]), deterministic=True)
    blind = predict_episode_actions(model.policy, [ep], normalizer=np.zeros_like)[0]  # any function normalises
    assert (blind == blank[0]).all()

    # the same BC without the normaliser learns on other inputs
    plain = _normalised_maze_model().policy
    assert train_bc(plain, maze_dataset, settings, progress_bar=False).train_loss != report.train_loss

    # statistics that have seen data are used as they are
    mean = vec_normalize.obs_rms.mean.copy()
    again = train_bc(model.policy, maze_dataset[:5], settings.replace(epochs=1), normalizer=vec_normalize,
                     progress_bar=False)
    assert again.normalized and not again.fitted_normalizer
    np.testing.assert_array_equal(vec_normalize.obs_rms.mean, mean)


def test_pretrain_policy_normalises_as_rl_will(maze_dataset):
    from sb3_plus.training.pretrain import pretrain_policy

    model = _normalised_maze_model(n_envs=2)
    out = pretrain_policy(model, "bc", "sb3plus/mazeeasy/waypoint-v0", {"epochs": 2}, False, 0)
    assert out["normalized"] and out["fitted_normalizer"] and out["method"] == "bc"
    assert model.get_vec_normalize_env().obs_rms.count > 100
    model.learn(128)  # RL goes on with the statistics BC saw


def test_train_with_normalize_config_starts_rl_from_the_statistics_bc_saw(maze_dataset, tmp_path):
    import json
    import pickle

    from sb3_plus.train import train

    result = train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path, pretrain="bc",
                   dataset="sb3plus/mazeeasy/waypoint-v0", pretrain_kwargs={"epochs": 3},
                   env_kwargs={"fixed_layout_seed": 3}, eval_freq=0, verbose=0, tensorboard=False,
                   hyperparams={"n_envs": 2, "n_steps": 64, "batch_size": 64, "normalize": True})
    pretrain = json.loads((result.run_dir / "run_info.json").read_text())["pretrain"]
    assert pretrain["normalized"] and pretrain["fitted_normalizer"] and pretrain["finished"]
    with open(result.run_dir / "vecnormalize.pkl", "rb") as f:
        stats = pickle.load(f).obs_rms
    bc_steps = pretrain["n_train_steps"]
    assert stats.count >= bc_steps + result.num_timesteps  # BC's statistics, then RL's observations on top


def test_bc_normalises_images_in_the_layout_vecnormalize_keeps_them():
    # SB3 puts VecTransposeImage under VecNormalize: statistics are channel-first, datasets channel-last.
    # Before, the (T, H, W, 1) batch broadcast against (1, H, W) statistics and the CNN got 40 channels.
    from stable_baselines3.common.vec_env import VecNormalize, VecTransposeImage

    from sb3_plus.data.collect import collect_expert
    from sb3_plus.imitation.normalize import as_normalizer
    from sb3_plus.training.envs import make_vec_env_for

    options = {"fixed_layout_seed": 3}
    collect_expert("MazeEasyPixels-v0", episodes=8, env_kwargs=options, dataset_id="sb3plus/mazepixels/waypoint-v0",
                   progress_bar=False)
    venv = VecNormalize(VecTransposeImage(make_vec_env_for("MazeEasyPixels-v0", 1, 0, options)), norm_reward=False)
    model = PPO("CnnPolicy", venv, n_steps=64, batch_size=64, seed=0, policy_kwargs=dict(
        net_arch=[32], normalize_images=False, features_extractor_kwargs=dict(features_dim=32)))
    report = train_bc(model.policy, "sb3plus/mazepixels/waypoint-v0", epochs=3, holdout_fraction=0.25,
                      normalizer=venv, progress_bar=False)
    assert report.fitted_normalizer and venv.obs_rms.mean.shape == (1, 40, 40)
    assert report.final_agreement > 0
    ep = load_episodes("sb3plus/mazepixels/waypoint-v0")[0]
    normalised = as_normalizer(venv)(ep.observations)  # what DAgger's rollouts feed predict
    assert normalised.shape == (len(ep), 1, 40, 40)
    np.testing.assert_allclose(normalised, venv.normalize_obs(np.moveaxis(ep.observations, -1, 1)), atol=1e-6)
    acting, _ = model.predict(normalised, deterministic=True)
    np.testing.assert_array_equal(predict_episode_actions(model.policy, [ep], normalizer=venv)[0], acting)


# --------------------------------------------------------------------------- learning dynamics


def test_bc_scales_up_an_untouched_rl_action_head_once():
    from sb3_plus.imitation.weights import untouched_head_gain

    episodes = load_episodes(make_dataset("sb3plus/cartpole/scripted-v0", gym.make("CartPole-v1", max_episode_steps=50),
                                          cartpole_expert, n_episodes=6, env_id="CartPole-v1"))
    policy = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY, seed=0).policy
    assert untouched_head_gain(policy) == pytest.approx(0.01, rel=1e-4)  # SB3's RL initialisation
    before = policy.action_net.weight.detach().clone()
    report = train_bc(policy, episodes, epochs=1, ema_decay=None, progress_bar=False)
    assert report.head_rescaled_from == pytest.approx(0.01, rel=1e-4)
    assert untouched_head_gain(policy) is None  # trained now
    # the same directions, 100x larger, then one epoch of small Adam steps
    assert th.nn.functional.cosine_similarity(policy.action_net.weight.flatten(), before.flatten(), dim=0) > 0.9
    # a trained head (DAgger's later rounds, a fine-tuned model) is never rescaled
    assert train_bc(policy, episodes, epochs=1, progress_bar=False).head_rescaled_from is None
    # opted out, or not SB3's orthogonal initialisation: left alone
    kept = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY, seed=0).policy
    assert train_bc(kept, episodes, epochs=1, head_gain=None, progress_bar=False).head_rescaled_from is None
    plain = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=dict(TINY, ortho_init=False), seed=0).policy
    assert untouched_head_gain(plain) is None
    assert train_bc(plain, episodes, epochs=0, progress_bar=False).head_rescaled_from is None


def test_bc_returns_the_best_epoch_and_times_each_target(bc_cartpole):
    _, dataset = bc_cartpole
    holdout = split_episodes(load_episodes(dataset), 0.1, seed=0)[1]
    policy = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY, seed=0).policy
    report = train_bc(policy, dataset, epochs=12, batch_size=64, lr=5e-3, ema_decay=0.99, progress_bar=False)
    agreement = report.holdout_agreement
    assert report.returned == "best" and report.best_agreement == max(agreement) == report.final_agreement
    # ties go to the later epoch (trained longer, as good on the held-out steps)
    assert report.best_epoch == len(agreement) - agreement[::-1].index(max(agreement))
    # the policy holds the best epoch's (averaged) weights, whatever the last epoch did
    assert evaluate_agreement(policy, holdout) == pytest.approx(report.best_agreement)
    assert report.to_dict()["final_agreement"] == report.final_agreement
    # time and epoch of first reaching each target
    assert set(report.epochs_to) == set(report.seconds_to) == {"0.9", "0.95"}
    for key, epoch in report.epochs_to.items():
        assert agreement[epoch - 1] >= float(key) and all(a < float(key) for a in agreement[: epoch - 1])
    assert 0 < report.seconds_to["0.9"] <= report.seconds_to["0.95"] <= report.total_seconds

    last = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY, seed=0).policy
    plain = train_bc(last, dataset, epochs=3, batch_size=64, keep_best=False, ema_decay=None, progress_bar=False)
    assert plain.returned == "last" and plain.final_agreement == plain.holdout_agreement[-1]
    assert evaluate_agreement(last, holdout) == pytest.approx(plain.final_agreement)
    averaged = train_bc(PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY, seed=0).policy, dataset, epochs=2,
                        keep_best=False, ema_decay=0.99, progress_bar=False)
    assert averaged.returned == "average"


def test_bc_stops_when_held_out_agreement_stops_improving(bc_cartpole):
    _, dataset = bc_cartpole
    policy = PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY, seed=0).policy
    report = train_bc(policy, dataset, epochs=500, batch_size=64, lr=5e-3, patience=3, progress_bar=False)
    assert report.stop_reason == "patience" and report.epochs_run < 500
    agreement = report.holdout_agreement
    assert max(agreement[-3:]) <= max(agreement[:-3])  # three epochs without a better agreement
    assert max(agreement[-4:]) > max(agreement[:-4])  # ... after one that was
    # stopping for patience is BC done: the critic warm-up still runs
    warmed = train_bc(PPO("MlpPolicy", "CartPole-v1", policy_kwargs=TINY, seed=0).policy, dataset, epochs=500,
                      batch_size=64, lr=5e-3, patience=2, critic_warmup_epochs=1, progress_bar=False)
    assert warmed.stop_reason == "patience" and warmed.critic_epochs_run == 1
    # no held-out episodes: nothing to be patient about
    report = train_bc(policy, dataset, epochs=4, patience=1, holdout_fraction=0.0, ema_decay=0.99, progress_bar=False)
    assert report.stop_reason is None and report.epochs_run == 4 and report.returned == "average"


def test_new_bc_settings_are_checked():
    for bad, match in (({"ema_decay": 1.0}, "ema_decay must be below 1"), ({"patience": 0}, "patience must be >= 1"),
                       ({"keep_best": "yes"}, "keep_best must be true or false"), ({"head_gain": -1}, "head_gain")):
        with pytest.raises(BadOptionError, match=match):
            BCSettings.from_dict(bad)
