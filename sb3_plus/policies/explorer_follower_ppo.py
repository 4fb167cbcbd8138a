"""RecurrentPPO for the explorer/follower policy: each head learns from its own reward, values and advantages.

Per step, the head that acts (:class:`~sb3_plus.policies.explorer_follower.ExplorerFollowerPolicy`
decides from the step's index in the episode) owns the step:

- an **explorer** step is rewarded ``bonus_coef * bonus + explorer_task_coef * task reward``, the bonus
  from the pose (:mod:`sb3_plus.policies.explorer_follower_bonus`); the explorer's return ends at the
  handover, where it may keep ``handover_coef`` times the follower's value (credit for a handover
  from which the task goes well);
- a **follower** step is rewarded by the task.

The value stored for a step is the acting head's value, and GAE is cut at the handover, so the
advantages of one head never hold the other's values or rewards; they are standardised per head
(the bonus and the task have different scales). The update is RecurrentPPO's.

The horizon is fixed, or scheduled: with ``horizon_end`` it moves linearly from ``horizon`` to
``horizon_end`` over ``horizon_steps`` env steps, changing between rollouts (each rollout and its
update use one horizon). A horizon that shrinks hands the follower more of each episode as training
goes on, so it learns to start with less exploration behind it.

Registered as ``ppo_explorer_follower`` (``zoo_configs/ppo_explorer_follower.yml``)::

    python -m sb3_plus.train --algo ppo_explorer_follower --env VizdoomMonsterRoomEasy-v0
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.buffers import RecurrentDictRolloutBuffer, RecurrentRolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import VecEnv

from sb3_plus.errors import BadOptionError
from sb3_plus.policies.explorer_follower import (CnnExplorerFollowerPolicy, ExplorerFollowerPolicy,
                                                 MultiInputExplorerFollowerPolicy)
from sb3_plus.policies.explorer_follower_bonus import PoseBonus
from sb3_plus.policies.recurrent import RecurrentPPO

__all__ = ["ExplorerFollowerPPO", "episode_step_limit"]


class _HeadGAE:
    """Mixin for sb3-contrib's recurrent buffers: per-step phases (0 explorer, 1 follower), GAE cut at the
    handover, advantages standardised per head."""

    handover_coef = 0.0
    per_head_normalization = True

    def reset(self) -> None:
        super().reset()  # type: ignore[misc]
        self.phases = np.zeros((self.buffer_size, self.n_envs), dtype=np.float32)  # type: ignore[attr-defined]

    def add(self, *args: Any, phase: np.ndarray, **kwargs: Any) -> None:
        self.phases[self.pos] = phase  # type: ignore[attr-defined]
        super().add(*args, **kwargs)  # type: ignore[misc]

    def compute_head_returns(self, last_values: th.Tensor, dones: np.ndarray, last_phases: np.ndarray) -> None:
        """GAE per head (see the module docstring); ``last_phases``: who acts on the step after the rollout."""
        last_values = last_values.clone().cpu().numpy().flatten()
        gae = np.zeros(self.n_envs, dtype=np.float32)  # type: ignore[attr-defined]
        for step in reversed(range(self.buffer_size)):  # type: ignore[attr-defined]
            if step == self.buffer_size - 1:  # type: ignore[attr-defined]
                go_on, next_values, next_phase = 1.0 - dones.astype(np.float32), last_values, last_phases
            else:
                go_on = 1.0 - self.episode_starts[step + 1]  # type: ignore[attr-defined]
                next_values, next_phase = self.values[step + 1], self.phases[step + 1]  # type: ignore[attr-defined]
            handover = (self.phases[step] == 0) & (next_phase == 1)
            bootstrap = np.where(handover, self.handover_coef * next_values, next_values)
            delta = self.rewards[step] + self.gamma * bootstrap * go_on - self.values[step]  # type: ignore[attr-defined]
            gae = delta + self.gamma * self.gae_lambda * go_on * (1.0 - handover) * gae  # type: ignore[attr-defined]
            self.advantages[step] = gae  # type: ignore[attr-defined]
        self.returns = self.advantages + self.values  # type: ignore[attr-defined]
        if self.per_head_normalization:
            for phase in (0.0, 1.0):
                mine = self.phases == phase
                if mine.sum() > 1:
                    part = self.advantages[mine]  # type: ignore[attr-defined]
                    self.advantages[mine] = (part - part.mean()) / (part.std() + 1e-8)  # type: ignore[attr-defined]


class HeadRolloutBuffer(_HeadGAE, RecurrentRolloutBuffer):
    """sb3-contrib's ``RecurrentRolloutBuffer`` with per-head GAE."""


class HeadDictRolloutBuffer(_HeadGAE, RecurrentDictRolloutBuffer):
    """sb3-contrib's ``RecurrentDictRolloutBuffer`` with per-head GAE."""


def episode_step_limit(env: VecEnv) -> int | None:
    """The most steps an episode of ``env`` lasts, when the env says (``episode_step_limit``,
    ``max_episode_steps``, ``spec.max_episode_steps``), else ``None``."""
    for name in ("episode_step_limit", "max_episode_steps", "_max_episode_steps"):
        if not env.has_attr(name):
            continue
        value = env.get_attr(name, indices=[0])[0]
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
            return int(value)
    spec = env.get_attr("spec", indices=[0])[0] if env.has_attr("spec") else None
    limit = getattr(spec, "max_episode_steps", None)
    return int(limit) if limit else None


class ExplorerFollowerPPO(RecurrentPPO):
    """RecurrentPPO with an explorer head rewarded by exploration and a follower head rewarded by the task.

    :param policy: ``ExplorerFollowerPolicy`` (vectors), ``CnnExplorerFollowerPolicy`` (images) or
        ``MultiInputExplorerFollowerPolicy`` (Dict), or a policy class.
    :param env: the training env (a pose in ``info["pose"]`` for the pose bonuses).
    :param horizon: steps of each episode the explorer acts; must be shorter than the env's episodes.
    :param explorer_bonus: ``bbox``, ``distance``, ``headings`` or ``none``.
    :param bonus_coef: weight of the bonus in the explorer's reward.
    :param bonus_scale: map units per unit of bonus.
    :param explorer_task_coef: weight of the task reward earned during the explorer's steps in its reward.
    :param handover_coef: share of the follower's value at the handover that the explorer's return keeps.
    :param horizon_end: the horizon ``horizon_steps`` env steps into training (linear from ``horizon``);
        ``None``: the horizon stays fixed.
    :param horizon_steps: env steps over which the horizon moves to ``horizon_end``.
    :param kwargs: RecurrentPPO's arguments (``n_steps``, ``batch_size``, ``learning_rate``, ``policy_kwargs``, ...).
    """

    policy_aliases: ClassVar[dict[str, Any]] = {
        "ExplorerFollowerPolicy": ExplorerFollowerPolicy,
        "MlpExplorerFollowerPolicy": ExplorerFollowerPolicy,
        "CnnExplorerFollowerPolicy": CnnExplorerFollowerPolicy,
        "MultiInputExplorerFollowerPolicy": MultiInputExplorerFollowerPolicy,
        "MlpLstmPolicy": ExplorerFollowerPolicy,
        "CnnLstmPolicy": CnnExplorerFollowerPolicy,
        "MultiInputLstmPolicy": MultiInputExplorerFollowerPolicy,
    }

    def __init__(self, policy: str | type[ExplorerFollowerPolicy], env: Any, horizon: int = 32,
                 explorer_bonus: str = "bbox", bonus_coef: float = 1.0, bonus_scale: float = 64.0,
                 explorer_task_coef: float = 1.0, handover_coef: float = 0.0, horizon_end: int | None = None,
                 horizon_steps: int = 1_000_000, **kwargs: Any) -> None:
        for name, value in (("horizon", horizon), ("horizon_end", 1 if horizon_end is None else horizon_end),
                            ("horizon_steps", horizon_steps)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise BadOptionError(f"{name} {value!r} must be an integer >= 1 (the horizon: the explorer's steps "
                                     f"per episode). Fix: e.g. {name}: {32 if name != 'horizon_steps' else 1000000}")
        PoseBonus(explorer_bonus, bonus_scale)  # checks both
        for name, value in (("bonus_coef", bonus_coef), ("explorer_task_coef", explorer_task_coef),
                            ("handover_coef", handover_coef)):
            if not value >= 0:
                raise BadOptionError(f"{name} {value!r} must be >= 0. Fix: e.g. {name}: 1.0")
        if (explorer_bonus == "none" or bonus_coef == 0) and explorer_task_coef == 0 and handover_coef == 0:
            raise BadOptionError("the explorer head has no reward: no bonus (explorer_bonus none or bonus_coef 0), "
                                 "explorer_task_coef 0 and handover_coef 0. Fix: set explorer_bonus: bbox with "
                                 "bonus_coef > 0, or explorer_task_coef or handover_coef > 0")
        self.horizon, self.explorer_bonus, self.bonus_coef = int(horizon), explorer_bonus, float(bonus_coef)
        self.bonus_scale, self.explorer_task_coef = float(bonus_scale), float(explorer_task_coef)
        self.handover_coef = float(handover_coef)
        self.horizon_start, self.horizon_steps = int(horizon), int(horizon_steps)
        self.horizon_end = None if horizon_end is None else int(horizon_end)
        policy_kwargs = dict(kwargs.pop("policy_kwargs", None) or {})
        if policy_kwargs.get("horizon", self.horizon) != self.horizon:
            raise BadOptionError(f"policy_kwargs horizon {policy_kwargs['horizon']} differs from horizon "
                                 f"{self.horizon}. Fix: set horizon once, as the algorithm's horizon")
        policy_kwargs["horizon"] = self.horizon
        super().__init__(policy, env, policy_kwargs=policy_kwargs, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        if not isinstance(self.policy, ExplorerFollowerPolicy):
            raise BadOptionError(f"{type(self).__name__} needs an ExplorerFollowerPolicy, got "
                                 f"{type(self.policy).__name__}. Fix: policy: CnnExplorerFollowerPolicy (images) or "
                                 "ExplorerFollowerPolicy (vectors)")
        self._check_horizon()
        old = self.rollout_buffer
        cls = HeadDictRolloutBuffer if isinstance(self.observation_space, spaces.Dict) else HeadRolloutBuffer
        self.rollout_buffer = cls(self.n_steps, self.observation_space, self.action_space, old.hidden_state_shape,
                                  self.device, gamma=self.gamma, gae_lambda=self.gae_lambda, n_envs=self.n_envs)
        self.rollout_buffer.handover_coef = self.handover_coef
        self.rollout_buffer.per_head_normalization = bool(self.normalize_advantage)
        self._bonuses = [PoseBonus(self.explorer_bonus, self.bonus_scale) for _ in range(self.n_envs)]

    def _check_horizon(self) -> None:
        limit = episode_step_limit(self.env) if self.env is not None else None
        for name in ("horizon", "horizon_end"):
            value = self.horizon if name == "horizon" else self.horizon_end
            if limit is not None and value is not None and value >= limit:
                raise BadOptionError(f"{name} {value} is not shorter than the env's episodes ({limit} steps): the "
                                     f"follower would never act. Fix: {name} < {limit} (e.g. {max(1, limit // 4)})")

    def horizon_at(self, steps: int) -> int:
        """The horizon ``steps`` env steps into training (the schedule of the module docstring)."""
        if self.horizon_end is None:  # fixed (and so in a model saved before schedules existed)
            return self.horizon
        done = min(1.0, steps / self.horizon_steps)
        return int(round(self.horizon_start + (self.horizon_end - self.horizon_start) * done))

    def _schedule_horizon(self) -> None:
        """Before a rollout: the horizon of this point of training, for the policy and what is saved."""
        horizon = self.horizon_at(self.num_timesteps)
        if horizon != self.horizon:
            self.horizon = self.policy.horizon = horizon
            self.policy_kwargs["horizon"] = horizon  # a loaded model builds its policy with it
        self.logger.record("rollout/horizon", horizon)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_bonuses"]

    def _step_rewards(self, task: np.ndarray, infos: list[dict[str, Any]], follower: np.ndarray,
                      starts: np.ndarray) -> np.ndarray:
        """Each env's reward for the acting head; the bonus trackers follow every step."""
        bonus = np.zeros(len(infos), dtype=np.float32)
        for i, info in enumerate(infos):
            if starts[i]:
                self._bonuses[i].reset()
            bonus[i] = self._bonuses[i].step(info.get("pose"))
        explorer = self.bonus_coef * bonus + self.explorer_task_coef * task
        if (~follower).any():
            self._bonus_sum += float(bonus[~follower].sum())
            self._explorer_steps += int((~follower).sum())
        return np.where(follower, task, explorer).astype(np.float32)

    def collect_rollouts(self, env: VecEnv, callback: BaseCallback, rollout_buffer: Any, n_rollout_steps: int) -> bool:
        """sb3-contrib's collection, with the acting head's reward and each step's phase stored."""
        assert self._last_obs is not None, "No previous observation was provided"
        self._schedule_horizon()
        self.policy.set_training_mode(False)
        n_steps = 0
        rollout_buffer.reset()
        callback.on_rollout_start()
        lstm_states = deepcopy(self._last_lstm_states)
        self._bonus_sum, self._explorer_steps = 0.0, 0
        while n_steps < n_rollout_steps:
            with th.no_grad():
                obs_tensor = obs_as_tensor(self._last_obs, self.device)
                episode_starts = th.tensor(self._last_episode_starts, dtype=th.float32, device=self.device)
                follower = self.policy.follower_acts(lstm_states.pi, episode_starts).cpu().numpy()
                actions, values, log_probs, lstm_states = self.policy(obs_tensor, lstm_states, episode_starts)
            actions = actions.cpu().numpy()
            new_obs, task_rewards, dones, infos = env.step(actions)
            self.num_timesteps += env.num_envs
            callback.update_locals(locals())
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            n_steps += 1
            rewards = self._step_rewards(task_rewards, infos, follower, self._last_episode_starts)
            if isinstance(self.action_space, spaces.Discrete):
                actions = actions.reshape(-1, 1)
            self._bootstrap_timeouts(rewards, dones, infos, lstm_states)
            rollout_buffer.add(self._last_obs, actions, rewards, self._last_episode_starts, values, log_probs,
                               lstm_states=self._last_lstm_states, phase=follower.astype(np.float32))
            self._last_obs, self._last_episode_starts, self._last_lstm_states = new_obs, dones, lstm_states
        with th.no_grad():
            episode_starts = th.tensor(dones, dtype=th.float32, device=self.device)
            values = self.policy.predict_values(obs_as_tensor(new_obs, self.device), lstm_states.vf, episode_starts)
            last_phases = self.policy.follower_acts(lstm_states.vf, episode_starts).cpu().numpy().astype(np.float32)
        rollout_buffer.compute_head_returns(values, dones, last_phases)
        self._record_heads(rollout_buffer)
        callback.on_rollout_end()
        return True

    def _bootstrap_timeouts(self, rewards: np.ndarray, dones: np.ndarray, infos: list[dict[str, Any]],
                            lstm_states: Any) -> None:
        """A truncated episode keeps the value of its last observation (SB3's timeout handling)."""
        for idx, done in enumerate(dones):
            if done and infos[idx].get("terminal_observation") is not None and infos[idx].get("TimeLimit.truncated"):
                terminal_obs = self.policy.obs_to_tensor(infos[idx]["terminal_observation"])[0]
                state = (lstm_states.vf[0][:, idx:idx + 1, :].contiguous(),
                         lstm_states.vf[1][:, idx:idx + 1, :].contiguous())
                with th.no_grad():
                    start = th.tensor([False], dtype=th.float32, device=self.device)
                    rewards[idx] += self.gamma * float(self.policy.predict_values(terminal_obs, state, start)[0])

    def _record_heads(self, buffer: Any) -> None:
        explorer = buffer.phases == 0
        self.logger.record("rollout/explorer_share", float(explorer.mean()))
        if self._explorer_steps:
            self.logger.record("rollout/explorer_bonus", self._bonus_sum / self._explorer_steps)
        for name, mine in (("explorer", explorer), ("follower", ~explorer)):
            if mine.any():
                self.logger.record(f"rollout/{name}_value", float(buffer.values[mine].mean()))
                self.logger.record(f"rollout/{name}_return", float(buffer.returns[mine].mean()))


def _register() -> None:
    from sb3_plus.config.registry import register_algo

    register_algo("ppo_explorer_follower", ExplorerFollowerPPO)


_register()
