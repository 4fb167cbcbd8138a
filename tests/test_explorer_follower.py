"""The explorer/follower policy: head switching at the horizon, separate values, one shared memory, the
per-head returns, saving, a training run, and refused settings."""

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from sb3_plus.config import ALGOS, load_hyperparams
from sb3_plus.errors import BadOptionError
from sb3_plus.policies.explorer_follower import ExplorerFollowerPolicy
from sb3_plus.policies.explorer_follower_bonus import PoseBonus
from sb3_plus.policies.explorer_follower_ppo import ExplorerFollowerPPO, HeadRolloutBuffer
from sb3_plus.training import train
from sb3_plus.training.envs import make_vec_env_for

MAZE = {"fixed_layout_seed": 3, "max_episode_steps": 30}
POLICY = {"lstm_hidden_size": 16, "head_arch": [16]}


def _model(horizon=3, n_envs=1, **kwargs):
    venv = make_vec_env_for("MazeEasy-v0", n_envs, 0, MAZE)
    settings = {"n_steps": 16, "batch_size": 16, "n_epochs": 1, "policy_kwargs": POLICY, "seed": 0, "verbose": 0,
                **kwargs}
    return ExplorerFollowerPPO("ExplorerFollowerPolicy", venv, horizon=horizon, **settings)


def _mark_heads(policy, explorer_action=1, follower_action=2):
    """Make each head pick one fixed action, so the action says which head acted."""
    with th.no_grad():
        for head, action in (("explorer", explorer_action), ("follower", follower_action)):
            policy.action_net[head].weight.zero_()
            policy.action_net[head].bias.fill_(-10.0)
            policy.action_net[head].bias[action] = 10.0


def _states(policy, n=1):
    shape = (policy.lstm_hidden_state_shape[0], n, policy.lstm_hidden_state_shape[2])
    return th.zeros(shape), th.zeros(shape)


def test_heads_switch_at_the_horizon_and_back_at_an_episode_start():
    model = _model(horizon=3)
    _mark_heads(model.policy)
    obs = model.env.reset()
    state, actions = None, []
    for t in range(8):
        start = np.array([t in (0, 5)])
        action, state = model.policy.predict(obs, state=state, episode_start=start, deterministic=True)
        actions.append(int(action[0]))
    assert actions == [1, 1, 1, 2, 2, 1, 1, 1]
    assert state[0][-1, 0, -1] == 3  # the step counter rides in the recurrent state


def test_each_step_takes_the_value_of_the_head_that_acts_and_the_heads_have_their_own():
    model = _model(horizon=2)
    policy = model.policy
    obs = th.as_tensor(np.stack([model.env.reset()[0]] * 5), dtype=th.float32)
    states, starts = policy.states_at([0]), th.zeros(5)
    values = policy.head_values(obs, states.pi, starts)
    assert values["steps"].tolist() == [0, 1, 2, 3, 4]
    with th.no_grad():
        policy.value_net["explorer"].bias.add_(5.0)
    after = policy.head_values(obs, states.pi, starts)
    assert th.allclose(after["explorer"], values["explorer"] + 5.0) and th.equal(after["follower"], values["follower"])
    acting = policy.evaluate_actions(obs, th.zeros(5, dtype=th.long), states, starts)[0].flatten()
    assert th.allclose(acting[:2], after["explorer"][:2]) and th.allclose(acting[2:], after["follower"][2:])


def test_the_follower_acts_on_what_only_the_explorer_saw_through_the_shared_memory():
    model = _model(horizon=4)
    policy = model.policy
    first = model.env.reset()[0]
    obs = th.as_tensor(np.stack([first] * 7), dtype=th.float32).requires_grad_(True)
    states, starts = policy.states_at([0]), th.zeros(7)
    latent, steps, _ = policy._memory(obs, states.pi, starts)
    logits, _ = policy.head_outputs(latent, "follower")
    assert steps[6] > policy.horizon
    logits[6].sum().backward()
    assert obs.grad[0].abs().sum() > 0  # step 0 is the explorer's, step 6 the follower's
    changed = obs.detach().clone()
    changed[0] = 1.0 - changed[0]
    with th.no_grad():
        after = policy.head_outputs(policy._memory(changed, states.pi, starts)[0], "follower")
        before = policy.head_outputs(policy._memory(obs, states.pi, starts)[0], "follower")
    assert all((a[6] - b[6]).abs().max() > 1e-6 for a, b in zip(after, before))  # its logits and its value


def test_gae_is_cut_at_the_handover_and_advantages_are_standardised_per_head():
    space = spaces.Box(0, 1, (2,), np.float32)
    buffer = HeadRolloutBuffer(4, space, spaces.Discrete(2), (4, 1, 1, 3), "cpu", gae_lambda=1.0, gamma=1.0, n_envs=1)
    buffer.per_head_normalization = False
    buffer.reset()
    zeros = (th.zeros(1, 1, 3), th.zeros(1, 1, 3))
    from sb3_contrib.common.recurrent.type_aliases import RNNStates

    for t, (reward, value, phase) in enumerate([(1.0, 0.0, 0), (1.0, 0.0, 0), (10.0, 5.0, 1), (10.0, 5.0, 1)]):
        buffer.add(np.zeros((1, 2)), np.zeros((1, 1)), np.array([reward]), np.array([t == 0]), th.tensor([value]),
                   th.zeros(1), lstm_states=RNNStates(zeros, zeros), phase=np.array([phase], np.float32))
    buffer.compute_head_returns(th.tensor([0.0]), np.array([True]), np.array([1.0], np.float32))
    assert buffer.returns[:, 0].tolist() == [2.0, 1.0, 20.0, 10.0]  # the explorer's return stops at the handover
    buffer.handover_coef = 0.5
    buffer.compute_head_returns(th.tensor([0.0]), np.array([True]), np.array([1.0], np.float32))
    assert buffer.returns[:, 0].tolist() == [4.5, 3.5, 20.0, 10.0]  # ... keeping half the follower's value


def test_a_rollout_rewards_the_explorer_with_the_bonus_and_the_follower_with_the_task():
    model = _model(horizon=3, n_envs=2, n_steps=12, explorer_bonus="distance", bonus_scale=1.0,
                   explorer_task_coef=0.0)
    _, callback = model._setup_learn(24)
    assert model.collect_rollouts(model.env, callback, model.rollout_buffer, 12)
    buffer = model.rollout_buffer  # as collected, (steps, envs), before the update flattens it
    steps = buffer.hidden_states_pi[:, -1, :, -1] * (1 - buffer.episode_starts)
    assert np.array_equal(buffer.phases, (steps >= 3).astype(np.float32))
    explorer = buffer.phases == 0
    assert set(np.unique(buffer.rewards[explorer])) <= {0.0, 1.0}  # maze moves are one cell: the distance bonus
    assert buffer.rewards[explorer].sum() > 0


def test_bonuses_from_the_pose():
    box = PoseBonus("bbox", scale=1.0)
    assert [box.step({"x": x, "y": y}) for x, y in [(0, 0), (2, 0), (1, 0), (1, 3)]] == [0.0, 2.0, 0.0, 3.0]
    turn = PoseBonus("headings")
    assert [turn.step({"x": 0, "y": 0, "heading": h}) for h in (0, 90, 95, 0)] == [0.0, 1 / 12, 0.0, 0.0]
    with pytest.raises(BadOptionError, match="info\\['pose'\\]"):
        PoseBonus("distance").step({})


def test_save_load_keeps_the_heads_the_horizon_and_the_actions(tmp_path):
    model = _model(horizon=5)
    model.learn(16)
    model.save(tmp_path / "ef.zip")
    loaded = ALGOS["ppo_explorer_follower"].load(tmp_path / "ef.zip", device="cpu")
    assert type(loaded) is ExplorerFollowerPPO and loaded.policy.horizon == 5 and loaded.horizon == 5
    obs = np.stack([model.env.reset()[0]] * 7)
    for policy in (model.policy, loaded.policy):
        policy.set_training_mode(False)
    with th.no_grad():
        a = model.policy.head_values(th.as_tensor(obs), model.policy.states_at([0]).pi, th.zeros(7))
        b = loaded.policy.head_values(th.as_tensor(obs), loaded.policy.states_at([0]).pi, th.zeros(7))
    assert all(th.allclose(a[k], b[k]) for k in a)


def test_train_runs_the_registered_algorithm_from_its_zoo_config(tmp_path):
    config = load_hyperparams("ppo_explorer_follower", "MazeEasy-v0")
    assert config.algo_kwargs["horizon"] == 16
    result = train("ppo_explorer_follower", "MazeEasy-v0", log_folder=tmp_path, env_kwargs=MAZE, eval_freq=0,
                   verbose=0, tensorboard=False, n_timesteps=256,
                   hyperparams=["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1", "horizon:8"])
    loaded = ExplorerFollowerPPO.load(result.model_path)
    assert loaded.num_timesteps == 256 and loaded.policy.horizon == 8
    assert "rollout/explorer_share" in (result.run_dir / "progress.csv").read_text()


def test_a_scheduled_horizon_moves_between_rollouts_and_is_saved(tmp_path):
    model = _model(horizon=9, horizon_end=3, horizon_steps=64)
    assert [model.horizon_at(s) for s in (0, 32, 64, 1000)] == [9, 6, 3, 3]
    seen = []
    model.learn(96, callback=lambda *_: seen.append(model.policy.horizon) or True)
    assert seen[0] == 9 and seen[-1] == 3 and seen == sorted(seen, reverse=True)
    assert model.horizon == model.policy.horizon == 3
    model.save(tmp_path / "ef.zip")
    loaded = ALGOS["ppo_explorer_follower"].load(tmp_path / "ef.zip", device="cpu")
    assert loaded.policy.horizon == loaded.horizon == 3 and loaded.horizon_at(10**6) == 3
    fixed = _model(horizon=5)
    assert fixed.horizon_at(10**6) == 5


@pytest.mark.parametrize("kwargs, words", [
    ({"horizon": 30}, "not shorter than the env's episodes \\(30 steps\\)"),
    ({"horizon_end": 40}, "horizon_end 40 is not shorter than the env's episodes"),
    ({"horizon_end": 0}, "horizon_end 0 must be an integer >= 1"),
    ({"horizon_steps": 0.5}, "horizon_steps 0.5 must be an integer >= 1"),
    ({"horizon": 0}, "horizon 0 must be an integer >= 1"),
    ({"explorer_bonus": "none", "explorer_task_coef": 0.0}, "the explorer head has no reward"),
    ({"bonus_coef": 0.0, "explorer_task_coef": 0.0}, "the explorer head has no reward"),
    ({"explorer_bonus": "novelty"}, "explorer_bonus 'novelty' is unknown"),
    ({"policy_kwargs": {**POLICY, "shared_lstm": False}}, "share one LSTM"),
    ({"policy_kwargs": {**POLICY, "horizon": 4}}, "differs from horizon"),
])
def test_bad_settings_are_refused_with_the_fix(kwargs, words):
    with pytest.raises(BadOptionError, match=words) as err:
        _model(**{"horizon": 3, **kwargs})
    assert "Fix:" in str(err.value)


def test_a_continuous_action_space_is_refused():
    with pytest.raises(BadOptionError, match="not discrete"):
        ExplorerFollowerPolicy(spaces.Box(0, 1, (3,)), spaces.Box(-1, 1, (2,)), lambda _: 1e-3, horizon=2)


def _expert_episodes(env, runs):
    from sb3_plus.data.sequences import Episode

    expert = env.get_wrapper_attr("scripted_expert")()
    episodes = []
    for seed, monster in runs:
        obs, info = env.reset(seed=seed, options={"monster": monster})
        expert.reset()
        observations, actions = [], []
        while True:
            action = expert.act(info)
            observations.append(obs)
            actions.append(action)
            obs, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        n = len(actions)
        episodes.append(Episode(np.stack(observations), np.array(actions), np.zeros(n, np.float32),
                                np.arange(n) == n - 1, np.zeros(n, bool), observation_space=env.observation_space,
                                action_space=env.action_space))
    return episodes


def test_bc_on_whole_episodes_teaches_the_explorer_the_look_and_the_follower_the_rest():
    from sb3_plus.envs import make_env
    from sb3_plus.imitation.bc import train_bc
    from sb3_plus.policies import SmallCNN

    env = make_env("VizdoomMonsterRoom-v0", mode="turn")
    try:
        episodes = _expert_episodes(env, [(0, True), (1, False), (2, True), (3, False)])
        look = 14  # steps the expert turns to face the window in this mode
        model = ExplorerFollowerPPO("CnnExplorerFollowerPolicy", env, horizon=look, n_steps=16, batch_size=16, seed=0,
                                    policy_kwargs={"features_extractor_class": SmallCNN, "lstm_hidden_size": 32,
                                                   "features_extractor_kwargs": {"features_dim": 32},
                                                   "head_arch": [32]})
        # a sequence longer than any episode: each starts at its episode's first step, so the step counter is right
        train_bc(model.policy, episodes, epochs=30, seq_len=300, batch_size=300, lr=3e-3, holdout_fraction=0.0,
                 progress_bar=False)
        agree = {"explorer": [], "follower": []}
        for episode in episodes:
            state = None
            for t, expected in enumerate(episode.actions):
                action, state = model.policy.predict(episode.observations[t], state=state,
                                                     episode_start=np.array([t == 0]), deterministic=True)
                agree["explorer" if t < look else "follower"].append(int(action) == int(expected))
        later = np.concatenate([e.actions[look:] for e in episodes])
        majority = np.bincount(later).max() / len(later)
        assert np.mean(agree["explorer"]) >= 0.9
        assert np.mean(agree["follower"]) > majority + 0.1, "the follower learned more than the commonest action"
    finally:
        env.close()
