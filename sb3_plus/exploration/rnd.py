"""Random Network Distillation (Burda et al. 2018) for PPO and RecurrentPPO: ``ppo_rnd`` and ``ppo_lstm_rnd``.

A fixed, randomly initialised *target* network embeds each next observation; a *predictor*
learns to reproduce that embedding. Its error is large on observations unlike those seen so far
and small on familiar ones, so it is an exploration bonus that fades where the agent has been:

- observations are standardised by running statistics (started from a short random-action
  phase) and clipped to [-5, 5] before both networks;
- the intrinsic reward is the prediction error divided by the running std of the discounted
  intrinsic return; the intrinsic return ignores episode ends (``int_gamma``), the extrinsic one
  is episodic (PPO's ``gamma``);
- two value heads on the same value latent (the policy's ``value_net`` and RND's
  ``int_value_net``) learn their own returns, and the policy follows
  ``ext_coef * A_ext + int_coef * A_int``;
- only ``update_proportion`` of each minibatch trains the predictor.

Defaults follow CleanRL's ``ppo_rnd_envpool.py`` (``ext_coef`` 2, ``int_coef`` 1, ``gamma`` 0.999,
``int_gamma`` 0.99, ``update_proportion`` 0.25); the original RND agent was recurrent (a GRU), hence
:class:`RecurrentPPORND` on sb3-contrib's LSTM policies. Both classes override only what RND
changes (:mod:`~sb3_plus.exploration.rnd_mixin`) and keep their parent's policies, so BC and DAgger
pretrain them as they pretrain PPO / RecurrentPPO, and the intrinsic head stays fresh.

Example::

    from sb3_plus.exploration import PPORND
    model = PPORND("MlpPolicy", venv, int_coef=1.0, ext_coef=2.0, n_steps=128)
    model.learn(100_000)          # TensorBoard: rnd/intrinsic_reward, train/value_loss_int, ...
    model.save("rnd.zip"); model = PPORND.load("rnd.zip", env=venv)   # normalisers included
"""

# No ``from __future__ import annotations`` here: the config reads these constructors' annotations as
# objects, to type the values of a zoo entry (schedules, numbers).
from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.type_aliases import GymEnv, Schedule
from stable_baselines3.common.utils import obs_as_tensor

from sb3_plus.errors import BadOptionError
from sb3_plus.exploration.rnd_buffers import RNDRecurrentRolloutBuffer, RNDRolloutBuffer
from sb3_plus.exploration.rnd_mixin import RNDMixin
from sb3_plus.exploration.rnd_model import ROWS_PER_PASS
from sb3_plus.exploration.rnd_settings import RNDSettings
from sb3_plus.policies.recurrent import RecurrentPPO

__all__ = ["PPORND", "RNDSettings", "RecurrentPPORND"]



def _arguments(values: dict[str, Any]) -> dict[str, Any]:
    """A constructor's arguments from its ``locals()``."""
    return {k: v for k, v in values.items() if k not in ("self", "__class__")}


class PPORND(RNDMixin, PPO):
    """PPO with Random Network Distillation. Arguments are PPO's (``gamma`` is the extrinsic discount) plus
    those of :class:`~sb3_plus.exploration.rnd_settings.RNDSettings`; the defaults that differ from PPO's are
    CleanRL's for RND: ``n_steps`` 128, ``batch_size`` 256, ``n_epochs`` 4, ``gamma`` 0.999, ``clip_range`` 0.1,
    ``ent_coef`` 0.001."""

    def __init__(self, policy: str | type, env: GymEnv | str, learning_rate: float | Schedule = 3e-4,
                 n_steps: int = 128, batch_size: int = 256, n_epochs: int = 4, gamma: float = 0.999,
                 gae_lambda: float = 0.95, clip_range: float | Schedule = 0.1,
                 clip_range_vf: float | Schedule | None = None, normalize_advantage: bool = True,
                 ent_coef: float = 0.001, vf_coef: float = 0.5, max_grad_norm: float = 0.5, use_sde: bool = False,
                 sde_sample_freq: int = -1, rollout_buffer_class: type[RolloutBuffer] | None = None,
                 rollout_buffer_kwargs: dict[str, Any] | None = None, target_kl: float | None = None,
                 stats_window_size: int = 100, tensorboard_log: str | None = None,
                 policy_kwargs: dict[str, Any] | None = None, verbose: int = 0, seed: int | None = None,
                 device: th.device | str = "auto", _init_setup_model: bool = True, int_coef: float = 1.0,
                 ext_coef: float = 2.0, int_gamma: float = 0.99, update_proportion: float = 0.25,
                 norm_init_steps: int = 2048, rnd_features_dim: int = 512) -> None:
        arguments = _arguments(locals())
        if rollout_buffer_class is None:
            arguments["rollout_buffer_class"] = RNDRolloutBuffer
        elif not (isinstance(rollout_buffer_class, type) and issubclass(rollout_buffer_class, RNDRolloutBuffer)):
            raise BadOptionError(f"PPORND needs a rollout buffer with the intrinsic stream, got "
                                 f"{rollout_buffer_class!r}. "
                                 "Fix: leave rollout_buffer_class unset, or subclass "
                                 "sb3_plus.exploration.rnd_buffers.RNDRolloutBuffer")
        super().__init__(**arguments)

    def _intrinsic_values(self, buffer: RNDRolloutBuffer) -> tuple[np.ndarray, np.ndarray]:
        n_steps, n_envs = buffer.buffer_size, buffer.n_envs
        obs = buffer.observations.reshape(n_steps * n_envs, *buffer.obs_shape)
        values = []
        for start in range(0, len(obs), ROWS_PER_PASS):
            chunk = th.as_tensor(obs[start:start + ROWS_PER_PASS], device=self.device)
            values.append(self._intrinsic_value_of(lambda: self.policy.predict_values(chunk)))
        last = self._intrinsic_value_of(lambda: self.policy.predict_values(obs_as_tensor(self._last_obs, self.device)))
        return np.concatenate(values).reshape(n_steps, n_envs), last

    def _evaluate(self, batch: Any, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        return self.policy.evaluate_actions(batch.observations, actions)


class RecurrentPPORND(RNDMixin, RecurrentPPO):
    """RecurrentPPO (sb3-contrib, LSTM policies) with Random Network Distillation. Arguments are
    RecurrentPPO's (``gamma`` is the extrinsic discount) plus those of
    :class:`~sb3_plus.exploration.rnd_settings.RNDSettings`, with the defaults of :class:`PPORND`. The
    intrinsic value head sits on the LSTM's value latent, beside ``value_net``."""

    def __init__(self, policy: str | type, env: GymEnv | str, learning_rate: float | Schedule = 3e-4,
                 n_steps: int = 128, batch_size: int | None = 256, n_epochs: int = 4, gamma: float = 0.999,
                 gae_lambda: float = 0.95, clip_range: float | Schedule = 0.1,
                 clip_range_vf: float | Schedule | None = None, normalize_advantage: bool = True,
                 ent_coef: float = 0.001, vf_coef: float = 0.5, max_grad_norm: float = 0.5, use_sde: bool = False,
                 sde_sample_freq: int = -1, target_kl: float | None = None, stats_window_size: int = 100,
                 tensorboard_log: str | None = None, policy_kwargs: dict[str, Any] | None = None, verbose: int = 0,
                 seed: int | None = None, device: th.device | str = "auto", _init_setup_model: bool = True,
                 int_coef: float = 1.0, ext_coef: float = 2.0, int_gamma: float = 0.99,
                 update_proportion: float = 0.25, norm_init_steps: int = 2048, rnd_features_dim: int = 512) -> None:
        super().__init__(**_arguments(locals()))

    def _setup_model(self) -> None:
        super()._setup_model()
        # RecurrentPPO builds its buffer itself: swap in the same one with RND's arrays
        base = self.rollout_buffer
        self.rollout_buffer = RNDRecurrentRolloutBuffer(
            base.buffer_size, base.observation_space, base.action_space, base.hidden_state_shape, base.device,
            gamma=base.gamma, gae_lambda=base.gae_lambda, n_envs=base.n_envs)

    def _intrinsic_values(self, buffer: RNDRecurrentRolloutBuffer) -> tuple[np.ndarray, np.ndarray]:
        n_steps, n_envs = buffer.buffer_size, buffer.n_envs
        rows = max(1, ROWS_PER_PASS // n_envs)
        values = []
        for start in range(0, n_steps, rows):
            end = min(n_steps, start + rows)
            k = end - start

            def states(array: np.ndarray) -> th.Tensor:
                # (k, layers, n_envs, hidden) -> (layers, k * n_envs, hidden): one sequence of length 1 per step
                layers, hidden = array.shape[1], array.shape[3]
                return th.as_tensor(array[start:end].transpose(1, 0, 2, 3).reshape(layers, k * n_envs, hidden),
                                    device=self.device).contiguous()

            obs = th.as_tensor(buffer.observations[start:end].reshape(k * n_envs, *buffer.obs_shape),
                               device=self.device)
            starts = th.as_tensor(buffer.episode_starts[start:end].reshape(k * n_envs), device=self.device)
            lstm = (states(buffer.hidden_states_vf), states(buffer.cell_states_vf))
            values.append(self._intrinsic_value_of(lambda: self.policy.predict_values(obs, lstm, starts)))
        starts = th.as_tensor(self._last_episode_starts, dtype=th.float32, device=self.device)
        last = self._intrinsic_value_of(lambda: self.policy.predict_values(
            obs_as_tensor(self._last_obs, self.device), self._last_lstm_states.vf, starts))
        return np.concatenate(values).reshape(n_steps, n_envs), last

    def _evaluate(self, batch: Any, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        return self.policy.evaluate_actions(batch.observations, actions, batch.lstm_states, batch.episode_starts)

    def _sample_mask(self, batch: Any) -> th.Tensor:
        return batch.mask > 1e-8
