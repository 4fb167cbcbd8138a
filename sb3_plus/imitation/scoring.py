"""How a policy scores a sequence minibatch: values, log-probabilities and entropies, as PPO calls it."""

from __future__ import annotations

from typing import Any, Callable

import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.policies import ActorCriticPolicy

from sb3_plus.data.sequences import SequenceBatch
from sb3_plus.imitation.space_check import ImageTranspose
from sb3_plus.rollout import is_recurrent


def zero_states(policy: RecurrentActorCriticPolicy, n_seq: int) -> RNNStates:
    """Zero LSTM states (actor and critic) for ``n_seq`` sequences, in sb3-contrib's layout."""
    n_layers, _, hidden = policy.lstm_hidden_state_shape

    def zeros() -> th.Tensor:
        return th.zeros((n_layers, n_seq, hidden), device=policy.device)

    return RNNStates((zeros(), zeros()), (zeros(), zeros()))


def evaluate_batch(
    policy: ActorCriticPolicy, batch: SequenceBatch, transpose: ImageTranspose,
    augment: Callable[[Any], Any] | None = None,
) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
    """``(values, log_prob, entropy)`` of the batch's actions, through ``policy.evaluate_actions``
    (observations augmented by ``augment`` first, channel-first, when given)."""
    obs = transpose(batch.observations)
    if augment is not None:
        obs = augment(obs)
    # As in PPO: Discrete actions as a flat long tensor, everything else as float.
    if isinstance(policy.action_space, spaces.Discrete):
        actions = batch.actions.long().flatten()
    else:
        actions = batch.actions.float()
    if is_recurrent(policy):
        # Sequences start from zero states and never cross an episode boundary, so resets are
        # no-ops; all-zero starts let sb3-contrib run each LSTM in one call instead of per step.
        starts = th.zeros_like(batch.episode_starts)
        values, log_prob, entropy = policy.evaluate_actions(obs, actions, zero_states(policy, batch.n_seq), starts)
    else:
        values, log_prob, entropy = policy.evaluate_actions(obs, actions)
    return values.flatten(), log_prob, entropy


def masked_mean(x: th.Tensor, mask: th.Tensor, n_valid: th.Tensor) -> th.Tensor:
    """Mean of ``x`` over the unpadded steps (``mask > 0``)."""
    # where, not multiply: a padded step's log-prob may be infinite, and inf * 0 is NaN.
    return th.where(mask > 0, x, th.zeros_like(x)).sum() / n_valid
