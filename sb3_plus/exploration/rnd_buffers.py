"""Rollout buffers with an intrinsic stream beside SB3's extrinsic one.

SB3's buffers compute the extrinsic advantages and returns (episodic, ``gamma``). These
subclasses add the intrinsic rewards, values, advantages and returns (non-episodic, their own
discount: an episode end does not cut the intrinsic return) and replace ``advantages`` with
``ext_coef * A_ext + int_coef * A_int``. Minibatches carry the intrinsic returns and the
intrinsic values of the rollout (for value clipping) next to SB3's fields.
"""

from __future__ import annotations

from typing import Generator, NamedTuple

import numpy as np
import torch as th
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.vec_env import VecNormalize

__all__ = ["RNDRecurrentRolloutBuffer", "RNDRecurrentSamples", "RNDRolloutBuffer", "RNDSamples",
           "intrinsic_advantages"]

#: Arrays of the intrinsic stream, ``(n_steps, n_envs)`` while filling, flattened like SB3's for sampling.
_INTRINSIC = ("int_rewards", "int_values", "int_advantages", "int_returns", "ext_advantages")


class RNDSamples(NamedTuple):
    """A PPO minibatch (SB3's ``RolloutBufferSamples``) with the intrinsic returns and values."""

    observations: th.Tensor
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor
    int_returns: th.Tensor
    old_int_values: th.Tensor


class RNDRecurrentSamples(NamedTuple):
    """A RecurrentPPO minibatch (sb3-contrib's ``RecurrentRolloutBufferSamples``) with the intrinsic returns
    and values."""

    observations: th.Tensor
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor
    lstm_states: RNNStates
    episode_starts: th.Tensor
    mask: th.Tensor
    int_returns: th.Tensor
    old_int_values: th.Tensor


def intrinsic_advantages(rewards: np.ndarray, values: np.ndarray, last_values: np.ndarray, gamma: float,
                         gae_lambda: float) -> np.ndarray:
    """GAE of a non-episodic stream: every step bootstraps from the next one, episode ends included.

    :param rewards: ``(n_steps, n_envs)``.
    :param values: ``(n_steps, n_envs)`` values of the rollout's observations.
    :param last_values: ``(n_envs,)`` values of the observations after the last step.
    :param gamma: the discount.
    :param gae_lambda: GAE's lambda.
    """
    advantages = np.zeros_like(rewards, dtype=np.float32)
    last = np.zeros(rewards.shape[1], dtype=np.float32)
    for t in reversed(range(rewards.shape[0])):
        next_values = last_values if t == rewards.shape[0] - 1 else values[t + 1]
        delta = rewards[t] + gamma * next_values - values[t]
        last = delta + gamma * gae_lambda * last
        advantages[t] = last
    return advantages


class _IntrinsicStream:
    """The intrinsic arrays and the combination of advantages, shared by both buffers."""

    buffer_size: int
    n_envs: int
    gae_lambda: float
    advantages: np.ndarray
    generator_ready: bool

    def reset(self) -> None:
        super().reset()  # type: ignore[misc]
        for name in _INTRINSIC:
            setattr(self, name, np.zeros((self.buffer_size, self.n_envs), dtype=np.float32))

    def add_intrinsic(self, rewards: np.ndarray, values: np.ndarray, last_values: np.ndarray, gamma: float,
                      ext_coef: float, int_coef: float) -> None:
        """Store the intrinsic stream of the full rollout and combine the advantages.

        Call after SB3's ``compute_returns_and_advantage`` (which left the extrinsic advantages in
        ``advantages``); afterwards ``advantages`` is ``ext_coef * A_ext + int_coef * A_int`` and
        ``ext_advantages`` keeps ``A_ext``.

        :param rewards: ``(n_steps, n_envs)`` scaled intrinsic rewards.
        :param values: ``(n_steps, n_envs)`` intrinsic values of the rollout's observations.
        :param last_values: ``(n_envs,)`` intrinsic values after the last step.
        :param gamma: the intrinsic discount.
        :param ext_coef: weight of the extrinsic advantages.
        :param int_coef: weight of the intrinsic advantages.
        """
        self.int_rewards[:] = rewards
        self.int_values[:] = values
        self.int_advantages[:] = intrinsic_advantages(rewards, values, last_values, gamma, self.gae_lambda)
        self.int_returns[:] = self.int_advantages + self.int_values
        self.ext_advantages[:] = self.advantages
        self.advantages = (ext_coef * self.ext_advantages + int_coef * self.int_advantages).astype(np.float32)

    def _flatten_intrinsic(self) -> None:
        if not self.generator_ready:
            for name in _INTRINSIC:
                setattr(self, name, self.swap_and_flatten(getattr(self, name)))  # type: ignore[attr-defined]


class RNDRolloutBuffer(_IntrinsicStream, RolloutBuffer):
    """SB3's ``RolloutBuffer`` with the intrinsic stream; minibatches are :class:`RNDSamples`."""

    def get(self, batch_size: int | None = None) -> Generator[RNDSamples, None, None]:  # type: ignore[override]
        self._flatten_intrinsic()
        yield from super().get(batch_size)  # type: ignore[misc]

    def _get_samples(self, batch_inds: np.ndarray,  # type: ignore[override]
                     env: VecNormalize | None = None) -> RNDSamples:
        base = super()._get_samples(batch_inds, env)
        return RNDSamples(*base, int_returns=self.to_torch(self.int_returns[batch_inds].flatten()),
                          old_int_values=self.to_torch(self.int_values[batch_inds].flatten()))


class RNDRecurrentRolloutBuffer(_IntrinsicStream, RecurrentRolloutBuffer):
    """sb3-contrib's ``RecurrentRolloutBuffer`` with the intrinsic stream; minibatches are
    :class:`RNDRecurrentSamples` (padded like the rest of the sequence minibatch)."""

    def get(self, batch_size: int | None = None  # type: ignore[override]
            ) -> Generator[RNDRecurrentSamples, None, None]:
        self._flatten_intrinsic()
        yield from super().get(batch_size)  # type: ignore[misc]

    def _get_samples(self, batch_inds: np.ndarray, env_change: np.ndarray,  # type: ignore[override]
                     env: VecNormalize | None = None) -> RNDRecurrentSamples:
        base = super()._get_samples(batch_inds, env_change, env)
        # the parent just built pad_and_flatten for this minibatch's sequences
        return RNDRecurrentSamples(*base, int_returns=self.pad_and_flatten(self.int_returns[batch_inds]),
                                   old_int_values=self.pad_and_flatten(self.int_values[batch_inds]))
