"""What RND changes in PPO and RecurrentPPO, written once for both.

SB3's ``collect_rollouts`` runs unchanged; RND only watches it and works on the finished rollout:

1. ``_update_info_buffer`` (called by SB3 after every env step) keeps the terminal observation
   of each env whose episode just ended; the other next observations are the buffer's
   ``obs[t + 1]`` and, after the last step, ``_last_obs``;
2. after ``super().collect_rollouts(...)``, one batched pass scores every next observation
   (prediction error of the predictor against the frozen target on normalised, clipped
   observations), divides the scores by the running std of the discounted intrinsic return,
   computes the intrinsic values (a second head on the policy's value latent, captured with a
   forward hook on ``value_net``), the non-episodic intrinsic advantages with ``int_gamma``, and
   leaves ``ext_coef * A_ext + int_coef * A_int`` in the buffer; then the observation statistics
   take the rollout;
3. ``train()`` is PPO's update with the intrinsic value loss and the predictor loss added.

The observation normaliser starts from ``norm_init_steps`` random-action steps at the first
``learn()`` (not counted as training steps). Everything RND learns or counts lives in
``self.rnd`` (:class:`~sb3_plus.exploration.rnd_model.RNDModel`), saved in the zip with its
optimizer; the per-env state of the reward filter is a plain attribute saved with the data.
"""

from __future__ import annotations

import math
from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.utils import explained_variance
from tqdm import trange

from sb3_plus.errors import BadOptionError
from sb3_plus.exploration.rnd_model import ROWS_PER_PASS, RNDModel
from sb3_plus.exploration.rnd_settings import RNDSettings
from sb3_plus.update_log import record_update_end
from sb3_plus.utils import raise_if_interrupted

__all__ = ["RNDMixin", "value_latent"]



class _Captured:
    latent: th.Tensor | None = None


@contextmanager
def value_latent(policy: th.nn.Module) -> Iterator[_Captured]:
    """Keep the input of ``policy.value_net`` (the value latent) of the forward passes made meanwhile.

    :param policy: an SB3 actor-critic policy, feedforward or recurrent.
    """
    captured = _Captured()

    def keep(module: th.nn.Module, inputs: tuple[th.Tensor, ...], output: th.Tensor) -> None:
        captured.latent = inputs[0]

    handle = policy.value_net.register_forward_hook(keep)
    try:
        yield captured
    finally:
        handle.remove()


def _clipped(values: th.Tensor, old: th.Tensor, clip: float | None) -> th.Tensor:
    return values if clip is None else old + th.clamp(values - old, -clip, clip)


class RNDMixin:
    """Random Network Distillation for an on-policy SB3 algorithm (see the module for the flow).

    Subclasses say how a minibatch is evaluated (:meth:`_evaluate`, :meth:`_sample_mask`) and how
    the intrinsic values of a rollout are computed (:meth:`_intrinsic_values`).

    :param int_coef: see :class:`~sb3_plus.exploration.rnd_settings.RNDSettings` for these
    :param ext_coef:
    :param int_gamma:
    :param update_proportion:
    :param norm_init_steps:
    :param rnd_features_dim:
    :param kwargs: the algorithm's arguments (its ``gamma`` is the extrinsic discount)
    """

    rnd: RNDModel
    rnd_optimizer: th.optim.Optimizer

    def __init__(self, policy: Any, env: Any, *, int_coef: float = 1.0, ext_coef: float = 2.0, int_gamma: float = 0.99,
                 update_proportion: float = 0.25, norm_init_steps: int = 2048, rnd_features_dim: int = 512,
                 **kwargs: Any) -> None:
        settings = RNDSettings(int_coef, ext_coef, int_gamma, update_proportion, norm_init_steps,
                               rnd_features_dim).check()
        for name, value in settings.to_dict().items():
            setattr(self, name, value)
        self._int_return_filter: np.ndarray | None = None
        self._rnd_terminal: dict[tuple[int, int], np.ndarray] | None = None
        self._rnd_collecting: Any = None
        super().__init__(policy, env, **kwargs)  # type: ignore[call-arg]

    @property
    def rnd_settings(self) -> RNDSettings:
        """The model's RND settings."""
        return RNDSettings(self.int_coef, self.ext_coef, self.int_gamma, self.update_proportion,
                           self.norm_init_steps, self.rnd_features_dim)

    # ------------------------------------------------------------------ set-up, saving
    def _setup_model(self) -> None:
        if not isinstance(self.observation_space, spaces.Box):
            raise BadOptionError(f"RND needs Box observations (images or vectors), not {self.observation_space}. "
                                 "Fix: use the env's image or vector observations (e.g. the maze's obs_type "
                                 "vector or pixels)")
        super()._setup_model()  # type: ignore[misc]
        self.rnd = RNDModel(self.observation_space, self.policy.value_net.in_features,
                            int(self.rnd_features_dim)).to(self.device)
        self.rnd_optimizer = self.policy.optimizer_class(list(self.rnd.trainable_parameters()), lr=self.lr_schedule(1),
                                                         **self.policy.optimizer_kwargs)
        if self._int_return_filter is None or self._int_return_filter.shape != (self.n_envs,):
            self._int_return_filter = np.zeros(self.n_envs, dtype=np.float64)

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()  # type: ignore[misc]
        return [*state_dicts, "rnd", "rnd_optimizer"], variables

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_rnd_terminal", "_rnd_collecting"]  # type: ignore[misc]

    # ------------------------------------------------------------------ the observation normaliser's start
    def _setup_learn(self, total_timesteps: int, callback: Any = None, reset_num_timesteps: bool = True,
                     tb_log_name: str = "run", progress_bar: bool = False) -> tuple[int, Any]:
        out = super()._setup_learn(total_timesteps, callback, reset_num_timesteps,  # type: ignore[misc]
                                   tb_log_name, progress_bar)
        if self.norm_init_steps > 0 and not self.rnd.obs_rms.initialized:
            self._init_obs_normalizer(progress_bar)
        return out

    def _init_obs_normalizer(self, progress_bar: bool = False) -> None:
        """Random actions for ``norm_init_steps`` env steps; their observations start the normaliser."""
        steps = math.ceil(self.norm_init_steps / self.n_envs)
        seen: list[np.ndarray] = []
        obs, dones = self._last_obs, self._last_episode_starts
        for _ in trange(steps, desc="RND observation statistics", disable=not progress_bar, leave=False):
            raise_if_interrupted()
            actions = np.array([self.action_space.sample() for _ in range(self.n_envs)])
            obs, _, dones, _ = self.env.step(actions)
            seen.append(np.asarray(obs, dtype=np.float32))
            if len(seen) * self.n_envs >= ROWS_PER_PASS:
                self.rnd.update_obs_stats(np.concatenate(seen))
                seen = []
        if seen:
            self.rnd.update_obs_stats(np.concatenate(seen))
        self._last_obs, self._last_episode_starts = obs, dones  # the envs moved on: act from where they are

    # ------------------------------------------------------------------ the rollout
    def _update_info_buffer(self, infos: list[dict[str, Any]], dones: np.ndarray | None = None) -> None:
        super()._update_info_buffer(infos, dones)  # type: ignore[misc]
        if self._rnd_terminal is None or dones is None:
            return
        step = self._rnd_collecting.pos  # the row this step is about to take
        for env_index, done in enumerate(dones):
            terminal = infos[env_index].get("terminal_observation") if done else None
            if terminal is not None:
                self._rnd_terminal[(step, env_index)] = np.asarray(terminal, dtype=np.float32)

    def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: Any, n_rollout_steps: int) -> bool:
        """SB3's collection, then the intrinsic stream of the whole rollout (see the module)."""
        self._rnd_terminal, self._rnd_collecting = {}, rollout_buffer
        try:
            complete = super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)  # type: ignore[misc]
            terminal = self._rnd_terminal
        finally:
            self._rnd_terminal = self._rnd_collecting = None
        if complete:
            self._add_intrinsic_stream(rollout_buffer, terminal)
        return complete

    def _next_observations(self, buffer: Any, terminal: dict[tuple[int, int], np.ndarray]) -> Iterator[np.ndarray]:
        """The observation after each step of the rollout, in chunks of rows flattened to ``(rows * n_envs, *shape)``
        (the buffer's next row, ``_last_obs`` after the last step, the terminal observation at an episode end)."""
        obs, n_steps, n_envs = buffer.observations, buffer.buffer_size, buffer.n_envs
        rows = max(1, ROWS_PER_PASS // n_envs)
        for start in range(0, n_steps, rows):
            end = min(n_steps, start + rows)
            chunk = np.empty((end - start, *obs.shape[1:]), dtype=np.float32)
            inner = min(end, n_steps - 1)
            chunk[:inner - start] = obs[start + 1:inner + 1]
            if end == n_steps:
                chunk[-1] = self._last_obs
            for (step, env_index), observation in terminal.items():
                if start <= step < end:
                    chunk[step - start, env_index] = observation
            yield chunk.reshape(-1, *obs.shape[2:])

    def _add_intrinsic_stream(self, buffer: Any, terminal: dict[tuple[int, int], np.ndarray]) -> None:
        """Intrinsic rewards, values, advantages and returns of the full rollout; combined advantages."""
        shape = (buffer.buffer_size, buffer.n_envs)
        raw = np.concatenate([self.rnd.intrinsic_reward(c) for c in self._next_observations(buffer, terminal)])
        rewards, self._int_return_filter = self.rnd.scale_rewards(raw.reshape(shape), self._int_return_filter,
                                                                  self.int_gamma)
        values, last_values = self._intrinsic_values(buffer)
        buffer.add_intrinsic(rewards, values, last_values, self.int_gamma, self.ext_coef, self.int_coef)
        for chunk in self._next_observations(buffer, terminal):
            self.rnd.update_obs_stats(chunk)
        self.logger.record("rnd/intrinsic_reward", float(rewards.mean()))
        self.logger.record("rnd/intrinsic_reward_max", float(rewards.max()))
        self.logger.record("rnd/prediction_error", float(raw.mean()))
        self.logger.record("rnd/intrinsic_return_std", float(self.rnd.int_return_rms.std().item()))
        self.logger.record("rnd/intrinsic_value", float(values.mean()))

    @th.no_grad()
    def _intrinsic_value_of(self, predict: Callable[[], Any]) -> np.ndarray:
        """The intrinsic values of what ``predict`` (a call of ``policy.predict_values``) evaluates."""
        with value_latent(self.policy) as captured:
            predict()
        return self.rnd.int_value_net(captured.latent).flatten().cpu().numpy()

    def _intrinsic_values(self, buffer: Any) -> tuple[np.ndarray, np.ndarray]:
        """Intrinsic values of the rollout's observations ``(n_steps, n_envs)`` and of those after its last step
        ``(n_envs,)``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the update
    def _evaluate(self, batch: Any, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        """``policy.evaluate_actions`` on a minibatch: values, log-probabilities, entropy."""
        raise NotImplementedError

    def _sample_mask(self, batch: Any) -> th.Tensor | None:
        """Which rows of a minibatch are samples (``None``: all; recurrent minibatches are padded)."""
        return None

    def train(self) -> None:
        """PPO's clipped update with two value losses and the predictor's loss (one backward pass)."""
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.policy.optimizer, self.rnd_optimizer])
        clip_range = self.clip_range(self._current_progress_remaining)
        clip_range_vf = None if self.clip_range_vf is None else self.clip_range_vf(self._current_progress_remaining)
        logs: dict[str, list[float]] = defaultdict(list)
        loss = th.zeros(())
        for epoch in range(self.n_epochs):
            approx_kls: list[float] = []
            stop = False
            for batch in self.rollout_buffer.get(self.batch_size):
                loss, approx_kl = self._minibatch_loss(batch, clip_range, clip_range_vf, logs)
                approx_kls.append(approx_kl)
                if self.target_kl is not None and approx_kl > 1.5 * self.target_kl:
                    stop = True
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: {approx_kl:.2f}")
                    break
                self._optimizer_step(loss)
            self._n_updates += 1
            if stop:
                break
        logs["approx_kl"] = approx_kls
        self._log_train(logs, float(loss.item()), clip_range, clip_range_vf)

    def _minibatch_loss(self, batch: Any, clip_range: float, clip_range_vf: float | None,
                        logs: dict[str, list[float]]) -> tuple[th.Tensor, float]:
        """The loss of one minibatch and its approximate KL; the parts go to ``logs``."""
        actions = batch.actions
        if isinstance(self.action_space, spaces.Discrete):
            actions = actions.long().flatten()
        mask = self._sample_mask(batch)

        def mean(x: th.Tensor) -> th.Tensor:
            return x.mean() if mask is None else x[mask].mean()

        with value_latent(self.policy) as captured:
            values, log_prob, entropy = self._evaluate(batch, actions)
        int_values = self.rnd.int_value_net(captured.latent).flatten()
        advantages = batch.advantages
        if self.normalize_advantage and len(advantages) > 1:
            real = advantages if mask is None else advantages[mask]
            advantages = (advantages - real.mean()) / (real.std() + 1e-8)
        ratio = th.exp(log_prob - batch.old_log_prob)
        policy_loss = -mean(th.min(advantages * ratio, advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)))
        value_loss_ext = mean((batch.returns - _clipped(values.flatten(), batch.old_values, clip_range_vf)) ** 2)
        value_loss_int = mean((batch.int_returns - _clipped(int_values, batch.old_int_values, clip_range_vf)) ** 2)
        entropy_loss = -mean(-log_prob) if entropy is None else -mean(entropy)
        predictor_loss = self.rnd.predictor_loss(batch.observations, self.update_proportion, mask)
        loss = (policy_loss + self.ent_coef * entropy_loss + self.vf_coef * (value_loss_ext + value_loss_int)
                + predictor_loss)
        with th.no_grad():
            log_ratio = log_prob - batch.old_log_prob
            approx_kl = float(mean(th.exp(log_ratio) - 1 - log_ratio).item())
            logs["clip_fraction"].append(float(mean((th.abs(ratio - 1) > clip_range).float()).item()))
        for name, value in (("policy_gradient_loss", policy_loss), ("value_loss_ext", value_loss_ext),
                            ("value_loss_int", value_loss_int), ("entropy_loss", entropy_loss),
                            ("rnd_predictor_loss", predictor_loss)):
            logs[name].append(float(value.item()))
        return loss, approx_kl

    def _optimizer_step(self, loss: th.Tensor) -> None:
        """One step of the policy's and RND's optimizers, gradients clipped together."""
        self.policy.optimizer.zero_grad()
        self.rnd_optimizer.zero_grad()
        loss.backward()
        th.nn.utils.clip_grad_norm_([*self.policy.parameters(), *self.rnd.trainable_parameters()], self.max_grad_norm)
        self.policy.optimizer.step()
        self.rnd_optimizer.step()

    def _log_train(self, logs: dict[str, list[float]], loss: float, clip_range: float,
                   clip_range_vf: float | None) -> None:
        buffer = self.rollout_buffer
        for name, values in logs.items():
            if values:
                self.logger.record(f"train/{name}", float(np.mean(values)))
        if logs.get("value_loss_ext"):
            self.logger.record("train/value_loss", float(np.mean(logs["value_loss_ext"])))
        record_update_end(self, loss, clip_range, clip_range_vf)
        self.logger.record("train/explained_variance_int", explained_variance(buffer.int_values.flatten(),
                                                                              buffer.int_returns.flatten()))
