"""How well a policy imitates recorded episodes: its actions and values replayed step by step.

Replaying gives the policy's deterministic action and value on every recorded step, LSTM
states carried through each episode from zero, as when acting in the env. Agreement is the
fraction of steps where that action is the expert's; the value MSE is measured against the
discounted returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy

from sb3_plus.data.sequences import Episode, TensorObs, discounted_returns
from sb3_plus.imitation.episodes import as_episodes, check_spaces
from sb3_plus.imitation.normalize import NormalizerLike, as_normalizer
from sb3_plus.imitation.scoring import zero_states
from sb3_plus.imitation.space_check import ImageTranspose
from sb3_plus.rollout import is_recurrent

Replay = list[tuple[np.ndarray, np.ndarray]]


def _obs_slice(obs: Any, start: int, stop: int) -> Any:
    if isinstance(obs, dict):
        return {k: v[start:stop] for k, v in obs.items()}
    return obs[start:stop]


def _stack_padded(parts: list[Any], length: int) -> Any:
    """Stack per-episode windows into (n * length, ...) arrays, zero-padding short ones."""
    if isinstance(parts[0], dict):
        return {k: _stack_padded([p[k] for p in parts], length) for k in parts[0]}
    first = parts[0]
    out = np.zeros((len(parts), length, *first.shape[1:]), dtype=first.dtype)
    for i, part in enumerate(parts):
        out[i, : len(part)] = part
    return out.reshape(len(parts) * length, *first.shape[1:])


def _to_tensor(obs: Any, device: th.device) -> TensorObs:
    if isinstance(obs, dict):
        return {k: th.as_tensor(v, device=device) for k, v in obs.items()}
    return th.as_tensor(obs, device=device)


def _env_actions(policy: ActorCriticPolicy, actions: np.ndarray) -> np.ndarray:
    """Deterministic policy actions in env units (what ``policy.predict`` would return)."""
    actions = actions.reshape((-1, *policy.action_space.shape))
    if isinstance(policy.action_space, spaces.Box):
        if policy.squash_output:
            return policy.unscale_action(actions)
        return np.clip(actions, policy.action_space.low, policy.action_space.high)
    return actions


def _replay_group(
    policy: RecurrentActorCriticPolicy, group: list[Episode], transpose: ImageTranspose, window: int
) -> Replay:
    """Episodes side by side (longest first), ``window`` steps per policy call, LSTM states carried."""
    n, device = len(group), policy.device
    states = zero_states(policy, n)
    acts: list[list[np.ndarray]] = [[] for _ in group]
    vals: list[list[np.ndarray]] = [[] for _ in group]
    longest = len(group[0])
    for t0 in range(0, longest, window):
        length = min(window, longest - t0)
        parts = [_obs_slice(ep.observations, t0, t0 + length) for ep in group]
        obs = transpose(_to_tensor(_stack_padded(parts, length), device))
        starts = th.zeros(n * length, device=device)
        actions, values, _, states = policy(obs, states, starts, deterministic=True)
        actions = actions.cpu().numpy().reshape((n, length, *policy.action_space.shape))
        values = values.cpu().numpy().reshape(n, length)
        for j, ep in enumerate(group):
            valid = max(0, min(length, len(ep) - t0))
            if valid:
                acts[j].append(actions[j, :valid])
                vals[j].append(values[j, :valid])
    return [(_env_actions(policy, np.concatenate(a)), np.concatenate(v)) for a, v in zip(acts, vals)]


def _replay_recurrent(
    policy: RecurrentActorCriticPolicy, episodes: Sequence[Episode], transpose: ImageTranspose,
    max_batch_steps: int, window: int,
) -> Replay:
    results: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(episodes)
    order = sorted(range(len(episodes)), key=lambda i: -len(episodes[i]))
    group_size = max(1, max_batch_steps // window)
    for g in range(0, len(order), group_size):
        group = order[g : g + group_size]
        for i, result in zip(group, _replay_group(policy, [episodes[i] for i in group], transpose, window)):
            results[i] = result
    return results  # type: ignore[return-value]


def _replay_feedforward(
    policy: ActorCriticPolicy, episodes: Sequence[Episode], transpose: ImageTranspose, max_batch_steps: int
) -> Replay:
    results = []
    for ep in episodes:
        acts, vals = [], []
        for t0 in range(0, len(ep), max_batch_steps):
            obs = transpose(_to_tensor(_obs_slice(ep.observations, t0, t0 + max_batch_steps), policy.device))
            actions, values, _ = policy(obs, deterministic=True)
            acts.append(actions.cpu().numpy())
            vals.append(values.cpu().numpy().reshape(-1))
        results.append((_env_actions(policy, np.concatenate(acts)), np.concatenate(vals)))
    return results


def replay(
    policy: ActorCriticPolicy,
    episodes: Sequence[Episode],
    transpose: ImageTranspose,
    max_batch_steps: int = 4096,
    window: int = 256,
) -> Replay:
    """Deterministic actions (env units) and values on every step of every episode.

    :param policy: the policy; recurrent ones carry LSTM states through each episode from zero
    :param episodes: episodes whose observations the policy sees as they are (already normalised)
    :param transpose: the image layout change from :func:`check_spaces`
    :param max_batch_steps: steps per policy call
    :param window: steps per call of a recurrent policy (episodes side by side)
    :return: one ``(actions, values)`` pair per episode
    """
    policy.set_training_mode(False)
    with th.no_grad():
        if is_recurrent(policy):
            return _replay_recurrent(policy, episodes, transpose, max_batch_steps, window)
        return _replay_feedforward(policy, episodes, transpose, max_batch_steps)


def _prepared(policy: ActorCriticPolicy, data: Any, normalizer: NormalizerLike) -> tuple[list[Episode], ImageTranspose]:
    episodes = as_episodes(data)
    norm = as_normalizer(normalizer)
    transpose = check_spaces(policy, episodes, exact=norm is None)
    if norm is None:
        return episodes, transpose
    # normalised images are in the statistics' (the policy's) layout already
    normalised = norm.episodes(episodes)
    return normalised, check_spaces(policy, normalised, exact=False)


def predict_episode_actions(
    policy: ActorCriticPolicy, episodes: Any, *, normalizer: NormalizerLike = None
) -> list[np.ndarray]:
    """Deterministic actions of the policy on every recorded step.

    Recurrent policies start each episode from zero LSTM states and carry them through the
    whole episode, as when acting in the env.

    :param policy: an SB3 ``ActorCriticPolicy`` or sb3-contrib ``RecurrentActorCriticPolicy``
    :param episodes: episodes, a ``MinariDataset`` or a dataset id
    :param normalizer: observation normaliser (see :mod:`sb3_plus.imitation.normalize`), if RL uses one
    :return: one ``(T, *action_shape)`` array per episode, in env action units
    """
    prepared, transpose = _prepared(policy, episodes, normalizer)
    return [actions for actions, _ in replay(policy, prepared, transpose)]


def _agreeing_steps(space: spaces.Space, predicted: np.ndarray, expert: np.ndarray, box_atol: float) -> np.ndarray:
    expert = np.asarray(expert).reshape(predicted.shape)
    if isinstance(space, spaces.Box):
        close = np.abs(predicted.astype(np.float64) - expert.astype(np.float64)) <= box_atol
        return close.reshape(len(close), -1).all(axis=1)
    return (predicted == expert).reshape(len(predicted), -1).all(axis=1)


def agreement(
    policy: ActorCriticPolicy, episodes: Sequence[Episode], predictions: list[np.ndarray], box_atol: float
) -> float:
    """Fraction of steps whose predicted action agrees with the recorded one (NaN for no steps)."""
    space = policy.action_space
    hits = sum(int(_agreeing_steps(space, p, ep.actions, box_atol).sum()) for p, ep in zip(predictions, episodes))
    total = sum(len(ep) for ep in episodes)
    return hits / total if total else math.nan


def evaluate_agreement(
    policy: ActorCriticPolicy, episodes: Any, *, box_atol: float = 0.1, normalizer: NormalizerLike = None
) -> float:
    """Fraction of steps where the policy's deterministic action equals the expert's.

    Discrete, MultiDiscrete and MultiBinary actions must match exactly; Box actions count as
    agreeing when every component is within ``box_atol`` of the expert's. Recurrent policies
    carry their LSTM states through whole episodes.

    :param policy: the policy to evaluate
    :param episodes: episodes, a ``MinariDataset`` or a dataset id
    :param box_atol: tolerance for Box actions, in action units
    :param normalizer: observation normaliser, if RL uses one
    :return: agreement in [0, 1] (NaN for no steps)
    """
    episodes = as_episodes(episodes)
    predictions = predict_episode_actions(policy, episodes, normalizer=normalizer)
    return agreement(policy, episodes, predictions, box_atol)


def value_mse(values: list[np.ndarray], episodes: Sequence[Episode], gamma: float) -> float:
    """Mean squared error of per-episode values against the discounted returns."""
    errors = [np.square(v - discounted_returns(ep.rewards, gamma)) for v, ep in zip(values, episodes)]
    return float(np.concatenate(errors).mean())


def evaluate_value_mse(
    policy: ActorCriticPolicy, episodes: Any, *, gamma: float = 0.99, normalizer: NormalizerLike = None
) -> float:
    """Mean squared error of the policy's value estimate against the discounted returns.

    :param policy: the policy to evaluate
    :param episodes: episodes, a ``MinariDataset`` or a dataset id
    :param gamma: discount of the returns (use the RL algorithm's gamma)
    :param normalizer: observation normaliser, if RL uses one
    :return: the MSE over all steps
    """
    prepared, transpose = _prepared(policy, episodes, normalizer)
    return value_mse([v for _, v in replay(policy, prepared, transpose)], prepared, gamma)
