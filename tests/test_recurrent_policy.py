"""RecurrentPPO's one-LSTM-call sequences give sb3-contrib's results, and its zips are plain RecurrentPPO zips."""

from __future__ import annotations

import numpy as np
import sb3_contrib
import torch as th
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy

from sb3_plus.config import ALGOS
from sb3_plus.policies.recurrent import MlpLstmPolicy, RecurrentPPO
from sb3_plus.training.envs import make_vec_env_for


def _model(n_envs=3, n_steps=48):
    venv = make_vec_env_for("MazeEasy-v0", n_envs, 0, {}, "dummy")
    return RecurrentPPO("MlpLstmPolicy", venv, n_steps=n_steps, batch_size=64, n_epochs=1, seed=0,
                        policy_kwargs={"lstm_hidden_size": 16})


def test_ppo_lstm_is_the_one_call_recurrent_ppo():
    assert ALGOS["ppo_lstm"] is RecurrentPPO and issubclass(RecurrentPPO, sb3_contrib.RecurrentPPO)
    model = _model()
    try:
        assert type(model.policy) is MlpLstmPolicy
    finally:
        model.env.close()


def test_training_minibatches_match_the_step_by_step_lstm():
    model = _model()
    try:
        model.learn(3 * 48)
        policy = model.policy
        with_resets = 0
        for batch in model.rollout_buffer.get(64):
            starts = batch.episode_starts.reshape(batch.lstm_states.pi[0].shape[1], -1)
            with_resets += int(starts.any())
            actions = batch.actions.long().flatten()  # a Discrete space, as RecurrentPPO.train passes them
            assert not starts[:, 1:].any(), "sb3-contrib cuts sequences at episode starts"
            with th.no_grad():
                ours = policy.evaluate_actions(batch.observations, actions, batch.lstm_states,
                                               batch.episode_starts)
                policy._process_sequence = RecurrentActorCriticPolicy._process_sequence  # sb3-contrib's loop
                try:
                    theirs = policy.evaluate_actions(batch.observations, actions, batch.lstm_states,
                                                     batch.episode_starts)
                finally:
                    del policy._process_sequence
            mask = batch.mask > 1e-8
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(a.flatten()[mask].numpy() if a.dim() else a.numpy(),
                                           b.flatten()[mask].numpy() if b.dim() else b.numpy(), rtol=1e-5, atol=1e-5)
        assert with_resets > 0, "the rollout must hold episode starts for the test to mean anything"
    finally:
        model.env.close()


def test_a_reset_inside_a_sequence_takes_the_step_by_step_path():
    lstm = th.nn.LSTM(4, 3)
    features = th.randn(2 * 5, 4)
    states = (th.randn(1, 2, 3), th.randn(1, 2, 3))
    starts = th.zeros(2, 5)
    starts[0, 2] = 1.0   # a reset in the middle of the first sequence
    ours = MlpLstmPolicy._process_sequence(features, states, starts.flatten(), lstm)[0]
    theirs = RecurrentActorCriticPolicy._process_sequence(features, states, starts.flatten(), lstm)[0]
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-6)
    starts[0, 2] = 0.0
    starts[:, 0] = 1.0   # resets on the first steps only: the one-call path, the same outputs
    ours = MlpLstmPolicy._process_sequence(features, states, starts.flatten(), lstm)[0]
    theirs = RecurrentActorCriticPolicy._process_sequence(features, states, starts.flatten(), lstm)[0]
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_zips_load_in_plain_sb3_contrib(tmp_path):
    model = _model()
    try:
        model.learn(3 * 48)
        model.save(tmp_path / "m.zip")
        obs = model.env.reset()
    finally:
        model.env.close()
    plain = sb3_contrib.RecurrentPPO.load(tmp_path / "m.zip")
    starts = np.ones(3, dtype=bool)
    a, _ = model.predict(obs, episode_start=starts, deterministic=True)
    b, _ = plain.predict(obs, episode_start=starts, deterministic=True)
    np.testing.assert_array_equal(a, b)
