"""Who acts in :func:`sb3_plus.rollout.play_episodes`: a policy, a scripted expert, or DAgger's mixture."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from sb3_plus.errors import BadOptionError


def is_recurrent(policy_or_model: Any) -> bool:
    """Whether an SB3 model or policy carries LSTM states (sb3-contrib's ``RecurrentActorCriticPolicy``).

    :param policy_or_model: a model (``RecurrentPPO``, ``PPO``, ...) or its ``policy``.
    """
    from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
    from stable_baselines3.common.base_class import BaseAlgorithm

    policy = policy_or_model.policy if isinstance(policy_or_model, BaseAlgorithm) else policy_or_model
    return isinstance(policy, RecurrentActorCriticPolicy)


def is_maskable(policy_or_model: Any) -> bool:
    """Whether an SB3 model or policy takes action masks (sb3-contrib's ``MaskableActorCriticPolicy``)."""
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
    from stable_baselines3.common.base_class import BaseAlgorithm

    policy = policy_or_model.policy if isinstance(policy_or_model, BaseAlgorithm) else policy_or_model
    return isinstance(policy, MaskableActorCriticPolicy)


def stack_steps(items: Sequence[Any]) -> Any:
    """Stack per-step (or per-env) values into arrays; dicts and tuples are stacked per key."""
    first = items[0]
    if isinstance(first, dict):
        return {k: stack_steps([it[k] for it in items]) for k in first}
    if isinstance(first, tuple):
        return tuple(stack_steps([it[i] for it in items]) for i in range(len(first)))
    return np.asarray(items)


def success_of(info: dict[str, Any]) -> bool:
    """The step's success flag: ``info["success"]`` or ``info["is_success"]`` (SB3's name) is true."""
    return bool(info.get("success") or info.get("is_success"))


class Actor(Protocol):
    """Chooses one action per env at every step (see the module docstring)."""

    def reset(self, n_envs: int) -> None: ...

    def act(self, obs: Any, infos: Sequence[dict[str, Any]], episode_starts: np.ndarray) -> Sequence[Any]: ...


class PolicyActor:
    """An SB3 model or policy acting through ``predict``; LSTM states are carried per env.

    :param policy: a model (``PPO``, ``RecurrentPPO``, ...) or its ``policy``.
    :param deterministic: greedy actions.
    :param obs_transform: applied to the batched observations first (e.g. ``VecNormalize.normalize_obs``
        when the env itself does not normalize).

    ``recurrent`` tells whether the policy carries LSTM states; ``state`` holds them (per env).
    ``maskable`` tells whether it takes action masks; then ``masks`` (set by the loop) gives the envs'
    current ``action_masks()`` and a masked action is never chosen.
    """

    def __init__(self, policy: Any, deterministic: bool = True,
                 obs_transform: Callable[[Any], Any] | None = None) -> None:
        self.policy = policy
        self.deterministic = deterministic
        self.obs_transform = obs_transform
        self.recurrent = is_recurrent(policy)
        self.maskable = is_maskable(policy)
        self.masks: Callable[[], np.ndarray] | None = None
        self.state: Any = None

    def reset(self, n_envs: int) -> None:
        self.state = None  # zero LSTM states for every env on the first predict

    def act(self, obs: Any, infos: Sequence[dict[str, Any]], episode_starts: np.ndarray) -> Sequence[Any]:
        if self.obs_transform is not None:
            obs = self.obs_transform(obs)
        # predict resets the LSTM state of every env whose episode_start is true; feedforward
        # policies ignore both arguments, so one call serves both kinds
        if self.maskable and self.masks is not None:
            actions, self.state = self.policy.predict(obs, state=self.state, episode_start=episode_starts,
                                                      deterministic=self.deterministic, action_masks=self.masks())
            return actions
        actions, self.state = self.policy.predict(obs, state=self.state, episode_start=episode_starts,
                                                  deterministic=self.deterministic)
        return actions


class ExpertActor:
    """A scripted expert acting from ``info``.

    :param experts: an object with ``act(info)`` (and an optional ``reset()``, called when
        an episode begins), one such object per env, or ``None`` to execute
        ``info["expert_action"]`` (envs wrapped in :class:`sb3_plus.envs.wrappers.ExpertLabels`).
    """

    uses_obs = False  # acts from infos: the loop need not batch observations

    def __init__(self, experts: Any = None) -> None:
        self.experts = experts
        self._per_env: list[Any] = []
        self._resets: list[Any] = []

    def reset(self, n_envs: int) -> None:
        experts = self.experts
        self._per_env = [] if experts is None else list(experts) if isinstance(experts, (list, tuple)) else [experts]
        self._resets = [getattr(expert, "reset", None) for expert in self._per_env]
        if self._per_env and len(self._per_env) != n_envs:
            raise BadOptionError(f"{len(self._per_env)} expert(s) for {n_envs} envs (an expert keeps per-episode "
                                 "state). Fix: pass one expert per env, or None to use info['expert_action']")

    def act(self, obs: Any, infos: Sequence[dict[str, Any]], episode_starts: np.ndarray) -> Sequence[Any]:
        if not self._per_env:
            try:
                return [info["expert_action"] for info in infos]
            except KeyError:
                raise BadOptionError("the env gives no info['expert_action']. Fix: wrap it in "
                                     "sb3_plus.envs.wrappers.ExpertLabels, or pass the expert to ExpertActor") from None
        if len(infos) == 1:  # the common case, without a loop (collection speed)
            if episode_starts[0] and self._resets[0] is not None:
                self._resets[0]()
            return [self._per_env[0].act(infos[0])]
        for j, start in enumerate(episode_starts.tolist()):
            if start and self._resets[j] is not None:
                self._resets[j]()
        return [expert.act(info) for expert, info in zip(self._per_env, infos)]


class MixtureActor:
    """DAgger's beta-mixture: per env and step, the expert's label with probability ``beta``, else the learner's.

    After each :meth:`act`, ``learner_actions``, ``labels`` and ``executed`` hold that step's
    actions per env. Recorded steps store the label as the action and ``executed_action`` /
    ``learner_action`` in the info.

    :param learner: the acting policy (usually a :class:`PolicyActor`).
    :param expert: the labelling expert (default: ``ExpertActor()``, i.e. ``info["expert_action"]``).
    :param beta: probability of executing the expert's label.
    :param rng: random generator of the per-step draws (default seeded with 0).
    """

    def __init__(self, learner: Actor, expert: Actor | None = None, beta: float = 0.0,
                 rng: np.random.Generator | None = None) -> None:
        if not 0.0 <= beta <= 1.0:
            raise BadOptionError(f"beta must be within [0, 1], got {beta}")
        self.learner = learner
        self.expert = expert if expert is not None else ExpertActor()
        self.beta = float(beta)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.learner_actions: list[Any] = []
        self.labels: list[Any] = []
        self.executed: list[Any] = []

    @property
    def maskable(self) -> bool:
        """Whether the learner takes action masks (the loop then hands them over through :attr:`masks`)."""
        return bool(getattr(self.learner, "maskable", False))

    @property
    def masks(self) -> Callable[[], np.ndarray] | None:
        return getattr(self.learner, "masks", None)

    @masks.setter
    def masks(self, value: Callable[[], np.ndarray] | None) -> None:
        self.learner.masks = value  # type: ignore[attr-defined]

    def reset(self, n_envs: int) -> None:
        self.learner.reset(n_envs)
        self.expert.reset(n_envs)

    def act(self, obs: Any, infos: Sequence[dict[str, Any]], episode_starts: np.ndarray) -> Sequence[Any]:
        self.learner_actions = list(self.learner.act(obs, infos, episode_starts))
        self.labels = list(self.expert.act(obs, infos, episode_starts))
        if self.beta <= 0.0:
            self.executed = list(self.learner_actions)
        else:
            take_label = self.rng.random(len(self.labels)) < self.beta
            self.executed = [lab if t else own for t, lab, own in zip(take_label, self.labels, self.learner_actions)]
        return self.executed

    def record_fields(self, env_index: int) -> tuple[Any, dict[str, Any]]:
        """The label as the recorded action; the executed and the learner's action as info."""
        return self.labels[env_index], {"executed_action": self.executed[env_index],
                                        "learner_action": self.learner_actions[env_index]}
