"""Behaviour cloning for SB3 actor-critic policies, feedforward and recurrent alike.

One code path: a feedforward policy is trained on sequences of length 1, a recurrent one
(sb3-contrib's ``RecurrentActorCriticPolicy``) on padded sequences whose LSTM states start
at zero, in exactly the batch layout ``RecurrentPPO`` uses. The policy is trained in
place, so the usual flow is to build the RL model first and clone into its policy::

    from sb3_contrib import RecurrentPPO
    from sb3_plus.imitation.bc import train_bc

    model = RecurrentPPO("CnnLstmPolicy", env, policy_kwargs=dict(lstm_hidden_size=128))
    report = train_bc(model.policy, "sb3plus/my_way_home/waypoint-v0", epochs=20)
    print(report.final_agreement)
    model.learn(1_000_000)

Observations go through the policy's own preprocessing (uint8 images are normalized by
the policy, as in PPO). Channel-last image datasets are transposed to the channel-first
layout that SB3 gives the policy through ``VecTransposeImage``; any other difference
between the dataset's spaces and the policy's raises :class:`SpaceMismatchError`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.vec_env import VecTransposeImage
from tqdm import tqdm

from sb3_plus.data.sequences import (
    Episode,
    SequenceBatch,
    SequenceBatcher,
    TensorObs,
    discounted_returns,
    load_episodes,
)

DEFAULT_RECURRENT_SEQ_LEN = 32

# Parameters that only the value estimate uses; everything else is the actor's.
_CRITIC_PREFIXES = ("value_net.", "mlp_extractor.value_net.", "lstm_critic.", "critic.", "vf_features_extractor.")

_FIX_HINT = (
    "Fix: collect the dataset with the same env preprocessing (wrappers, frame size, grayscale, "
    "frame stack, action set) as the env the model is built on, or build the model from the "
    "dataset's env (e.g. `minari.load_dataset(id).recover_environment()`)."
)


class SpaceMismatchError(ValueError):
    """The dataset's observation or action space does not fit the policy."""


@dataclass
class BCReport:
    """What :func:`train_bc` did.

    :param train_loss: mean training loss per epoch (NLL - ent_coef * entropy + L2 term)
    :param train_nll: mean negative log-likelihood of the expert actions per epoch
    :param holdout_agreement: per epoch, fraction of held-out steps where the policy's
        deterministic action equals the expert's (Box actions: within 0.1 on every
        component; see :func:`evaluate_agreement`), empty without held-out episodes
    :param value_mse: critic warm-up: value MSE against discounted returns before warm-up,
        then after each warm-up epoch (held-out episodes, or training ones if none are held out)
    :param samples_per_second: training throughput in unpadded steps per second
    :param total_seconds: wall-clock time of the whole call
    :param epochs_run: BC epochs run (the last one may be partial when stopped early)
    :param critic_epochs_run: critic warm-up epochs run
    :param seq_len: sequence length used
    :param recurrent: whether the policy is recurrent
    :param n_train_episodes: episodes trained on
    :param n_holdout_episodes: episodes held out for agreement
    :param n_train_steps: steps trained on per epoch
    :param stop_reason: ``None``, ``"max_seconds"`` or ``"callback"``
    """

    train_loss: list[float] = field(default_factory=list)
    train_nll: list[float] = field(default_factory=list)
    holdout_agreement: list[float] = field(default_factory=list)
    value_mse: list[float] = field(default_factory=list)
    samples_per_second: float = 0.0
    total_seconds: float = 0.0
    epochs_run: int = 0
    critic_epochs_run: int = 0
    seq_len: int = 1
    recurrent: bool = False
    n_train_episodes: int = 0
    n_holdout_episodes: int = 0
    n_train_steps: int = 0
    stop_reason: str | None = None

    @property
    def final_agreement(self) -> float:
        """Held-out agreement after the last epoch (NaN when nothing was held out)."""
        return self.holdout_agreement[-1] if self.holdout_agreement else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form, for JSON logs."""
        return asdict(self)


# --------------------------------------------------------------------------- spaces


class _ObsAdapter:
    """Turns dataset observation tensors into what the policy expects (HWC -> CHW images)."""

    def __init__(self, transpose: bool | frozenset[str]) -> None:
        self.transpose = transpose

    def __call__(self, obs: TensorObs) -> TensorObs:
        if isinstance(obs, dict):
            keys = self.transpose if isinstance(self.transpose, frozenset) else frozenset()
            return {k: (v.permute(0, 3, 1, 2) if k in keys else v) for k, v in obs.items()}
        return obs.permute(0, 3, 1, 2) if self.transpose is True else obs


def _is_channel_last_image(space: spaces.Space) -> bool:
    if not is_image_space(space, check_channels=False):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return not is_image_space_channels_first(space)  # type: ignore[arg-type]


def _match_box(data: spaces.Space, policy: spaces.Space) -> bool | None:
    """``False``: use as is, ``True``: transpose HWC -> CHW, ``None``: mismatch."""
    if data == policy:
        return False
    if _is_channel_last_image(data) and VecTransposeImage.transpose_space(data) == policy:  # type: ignore[arg-type]
        return True
    return None


def _match_shape(shape: tuple[int, ...], dtype: np.dtype, policy: spaces.Space) -> bool | None:
    if shape == policy.shape:
        return False
    if (
        len(shape) == 3
        and dtype == np.uint8
        and is_image_space(policy, check_channels=False)
        and (shape[2], shape[0], shape[1]) == policy.shape
    ):
        return True
    return None


def _describe_arrays(obs: Any) -> str:
    if isinstance(obs, dict):
        return "{" + ", ".join(f"{k!r}: {_describe_arrays(v)}" for k, v in obs.items()) + "}"
    return f"arrays of shape {tuple(obs.shape[1:])} and dtype {obs.dtype}"


def _mismatch(kind: str, data: str, policy: spaces.Space, detail: str = "") -> SpaceMismatchError:
    return SpaceMismatchError(
        f"The dataset's {kind} space {data} does not match the policy's {kind} space {policy}"
        f"{detail}. BC converts only channel-last uint8 images to the channel-first layout SB3 "
        f"policies see (as VecTransposeImage does). {_FIX_HINT}"
    )


def _obs_adapter(policy: ActorCriticPolicy, episode: Episode) -> _ObsAdapter:
    policy_space = policy.observation_space
    data_space = episode.observation_space
    shown = str(data_space) if data_space is not None else _describe_arrays(episode.observations)

    if isinstance(policy_space, spaces.Dict):
        obs = episode.observations
        if not isinstance(obs, dict) or (data_space is not None and not isinstance(data_space, spaces.Dict)):
            raise _mismatch("observation", shown, policy_space)
        if set(obs) != set(policy_space.spaces):
            keys = f" (keys {sorted(obs)} vs {sorted(policy_space.spaces)})"
            raise _mismatch("observation", shown, policy_space, keys)
        keys = set()
        for key, sub_policy in policy_space.spaces.items():
            if data_space is not None:
                verdict = _match_box(data_space[key], sub_policy)  # type: ignore[index]
            else:
                verdict = _match_shape(tuple(obs[key].shape[1:]), obs[key].dtype, sub_policy)
            if verdict is None:
                raise _mismatch("observation", shown, policy_space, f" (key {key!r})")
            if verdict:
                keys.add(key)
        return _ObsAdapter(frozenset(keys))

    if isinstance(episode.observations, dict):
        raise _mismatch("observation", shown, policy_space)
    if data_space is not None:
        verdict = _match_box(data_space, policy_space)
    else:
        obs = episode.observations
        verdict = _match_shape(tuple(obs.shape[1:]), obs.dtype, policy_space)
    if verdict is None:
        raise _mismatch("observation", shown, policy_space)
    return _ObsAdapter(verdict)


def _check_actions(policy: ActorCriticPolicy, episode: Episode) -> None:
    policy_space = policy.action_space
    if episode.action_space is not None:
        if episode.action_space != policy_space:
            raise _mismatch("action", str(episode.action_space), policy_space)
        return
    actions = np.asarray(episode.actions)
    if tuple(actions.shape[1:]) != policy_space.shape:
        raise _mismatch("action", _describe_arrays(actions), policy_space)


def check_spaces(policy: ActorCriticPolicy, episodes: Sequence[Episode]) -> None:
    """Raise :class:`SpaceMismatchError` unless the episodes fit the policy.

    :param policy: an SB3 ``ActorCriticPolicy`` (recurrent or not)
    :param episodes: episodes from :func:`sb3_plus.data.sequences.load_episodes`
    """
    _prepare(policy, episodes)


def _prepare(policy: ActorCriticPolicy, episodes: Sequence[Episode]) -> _ObsAdapter:
    if not isinstance(policy, ActorCriticPolicy):
        raise TypeError(
            f"BC needs an SB3 ActorCriticPolicy (or sb3-contrib recurrent one), got {type(policy).__name__}"
        )
    if len(episodes) == 0:
        raise ValueError("no episodes to clone from")
    adapter = _obs_adapter(policy, episodes[0])
    _check_actions(policy, episodes[0])
    return adapter


def _as_episodes(data: Any) -> list[Episode]:
    if isinstance(data, (list, tuple)) and all(isinstance(ep, Episode) for ep in data):
        return list(data)
    return load_episodes(data)


def _to_policy_actions(policy: ActorCriticPolicy, episodes: list[Episode]) -> list[Episode]:
    """Express expert actions the way the policy's distribution scores them."""
    if not (isinstance(policy.action_space, spaces.Box) and policy.squash_output):
        return episodes
    # A squashing policy works in [-1, 1]; keep strictly inside so atanh stays finite.
    eps = 1e-6
    return [
        replace(ep, actions=np.clip(policy.scale_action(np.asarray(ep.actions, dtype=np.float32)), -1 + eps, 1 - eps))
        for ep in episodes
    ]


# --------------------------------------------------------------------------- evaluation


def _zero_states(policy: RecurrentActorCriticPolicy, n_seq: int) -> RNNStates:
    n_layers, _, hidden = policy.lstm_hidden_state_shape

    def zeros() -> th.Tensor:
        return th.zeros((n_layers, n_seq, hidden), device=policy.device)

    return RNNStates((zeros(), zeros()), (zeros(), zeros()))


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


def _rollout(
    policy: ActorCriticPolicy,
    episodes: Sequence[Episode],
    adapter: _ObsAdapter,
    max_batch_steps: int = 4096,
    window: int = 256,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Deterministic actions and values for every step, LSTM states carried through each episode."""
    device = policy.device
    results: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(episodes)
    policy.set_training_mode(False)
    with th.no_grad():
        if isinstance(policy, RecurrentActorCriticPolicy):
            order = sorted(range(len(episodes)), key=lambda i: -len(episodes[i]))
            group_size = max(1, max_batch_steps // window)
            for g in range(0, len(order), group_size):
                group = order[g : g + group_size]
                n = len(group)
                states = _zero_states(policy, n)
                acts: list[list[np.ndarray]] = [[] for _ in group]
                vals: list[list[np.ndarray]] = [[] for _ in group]
                longest = len(episodes[group[0]])
                for t0 in range(0, longest, window):
                    length = min(window, longest - t0)
                    parts = [_obs_slice(episodes[i].observations, t0, t0 + length) for i in group]
                    obs = adapter(_to_tensor(_stack_padded(parts, length), device))
                    starts = th.zeros(n * length, device=device)
                    actions, values, _, states = policy(obs, states, starts, deterministic=True)
                    actions = actions.cpu().numpy().reshape((n, length, *policy.action_space.shape))
                    values = values.cpu().numpy().reshape(n, length)
                    for j, i in enumerate(group):
                        valid = max(0, min(length, len(episodes[i]) - t0))
                        if valid:
                            acts[j].append(actions[j, :valid])
                            vals[j].append(values[j, :valid])
                for j, i in enumerate(group):
                    results[i] = (_env_actions(policy, np.concatenate(acts[j])), np.concatenate(vals[j]))
        else:
            for i, ep in enumerate(episodes):
                acts_ff, vals_ff = [], []
                for t0 in range(0, len(ep), max_batch_steps):
                    obs = adapter(_to_tensor(_obs_slice(ep.observations, t0, t0 + max_batch_steps), device))
                    actions, values, _ = policy(obs, deterministic=True)
                    acts_ff.append(actions.cpu().numpy())
                    vals_ff.append(values.cpu().numpy().reshape(-1))
                results[i] = (_env_actions(policy, np.concatenate(acts_ff)), np.concatenate(vals_ff))
    return results  # type: ignore[return-value]


def predict_episode_actions(policy: ActorCriticPolicy, episodes: Any) -> list[np.ndarray]:
    """Deterministic actions of the policy on every recorded step.

    Recurrent policies start each episode from zero LSTM states and carry them through the
    whole episode, as when acting in the env.

    :param policy: an SB3 ``ActorCriticPolicy`` or sb3-contrib ``RecurrentActorCriticPolicy``
    :param episodes: episodes, a ``MinariDataset`` or a dataset id
    :return: one ``(T, *action_shape)`` array per episode, in env action units
    """
    episodes = _as_episodes(episodes)
    adapter = _prepare(policy, episodes)
    return [actions for actions, _ in _rollout(policy, episodes, adapter)]


def _agreeing_steps(space: spaces.Space, predicted: np.ndarray, expert: np.ndarray, box_atol: float) -> np.ndarray:
    expert = np.asarray(expert).reshape(predicted.shape)
    if isinstance(space, spaces.Box):
        close = np.abs(predicted.astype(np.float64) - expert.astype(np.float64)) <= box_atol
        return close.reshape(len(close), -1).all(axis=1)
    return (predicted == expert).reshape(len(predicted), -1).all(axis=1)


def evaluate_agreement(policy: ActorCriticPolicy, episodes: Any, *, box_atol: float = 0.1) -> float:
    """Fraction of steps where the policy's deterministic action equals the expert's.

    Discrete, MultiDiscrete and MultiBinary actions must match exactly; Box actions count as
    agreeing when every component is within ``box_atol`` of the expert's. Recurrent policies
    carry their LSTM states through whole episodes.

    :param policy: the policy to evaluate
    :param episodes: episodes, a ``MinariDataset`` or a dataset id
    :param box_atol: tolerance for Box actions, in action units
    :return: agreement in [0, 1] (NaN for no steps)
    """
    episodes = _as_episodes(episodes)
    predictions = predict_episode_actions(policy, episodes)
    return _agreement(policy, episodes, predictions, box_atol)


def _agreement(
    policy: ActorCriticPolicy, episodes: Sequence[Episode], predictions: list[np.ndarray], box_atol: float
) -> float:
    space = policy.action_space
    hits = sum(int(_agreeing_steps(space, p, ep.actions, box_atol).sum()) for p, ep in zip(predictions, episodes))
    total = sum(len(ep) for ep in episodes)
    return hits / total if total else math.nan


def _value_mse(values: list[np.ndarray], episodes: Sequence[Episode], gamma: float) -> float:
    errors = [np.square(v - discounted_returns(ep.rewards, gamma)) for v, ep in zip(values, episodes)]
    return float(np.concatenate(errors).mean())


def evaluate_value_mse(policy: ActorCriticPolicy, episodes: Any, *, gamma: float = 0.99) -> float:
    """Mean squared error of the policy's value estimate against the discounted returns.

    :param policy: the policy to evaluate
    :param episodes: episodes, a ``MinariDataset`` or a dataset id
    :param gamma: discount of the returns (use the RL algorithm's gamma)
    :return: the MSE over all steps
    """
    episodes = _as_episodes(episodes)
    adapter = _prepare(policy, episodes)
    return _value_mse([v for _, v in _rollout(policy, episodes, adapter)], episodes, gamma)


# --------------------------------------------------------------------------- training


def split_episodes(
    episodes: Sequence[Episode], holdout_fraction: float, seed: int = 0
) -> tuple[list[Episode], list[Episode]]:
    """Split episodes (not steps) into a training and a held-out set.

    :param episodes: all episodes
    :param holdout_fraction: fraction of episodes to hold out; at least one is held out when
        the fraction is positive and there are two episodes or more
    :param seed: seed of the split
    :return: ``(train, holdout)``
    """
    n = len(episodes)
    n_hold = 0
    if holdout_fraction > 0 and n >= 2:
        n_hold = min(max(1, int(round(holdout_fraction * n))), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    hold = set(perm[:n_hold].tolist())
    return [ep for i, ep in enumerate(episodes) if i not in hold], [ep for i, ep in enumerate(episodes) if i in hold]


def _split_parameters(policy: ActorCriticPolicy) -> tuple[list[th.nn.Parameter], list[th.nn.Parameter]]:
    actor, critic = [], []
    for name, param in policy.named_parameters():
        (critic if name.startswith(_CRITIC_PREFIXES) else actor).append(param)
    return actor, critic


def _evaluate_batch(
    policy: ActorCriticPolicy, batch: SequenceBatch, adapter: _ObsAdapter
) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
    obs = adapter(batch.observations)
    # As in PPO: Discrete actions as a flat long tensor, everything else as float.
    if isinstance(policy.action_space, spaces.Discrete):
        actions = batch.actions.long().flatten()
    else:
        actions = batch.actions.float()
    if isinstance(policy, RecurrentActorCriticPolicy):
        # Sequences start from zero states and never cross an episode boundary, so resets are
        # no-ops; all-zero starts let sb3-contrib run each LSTM in one call instead of per step.
        starts = th.zeros_like(batch.episode_starts)
        values, log_prob, entropy = policy.evaluate_actions(obs, actions, _zero_states(policy, batch.n_seq), starts)
    else:
        values, log_prob, entropy = policy.evaluate_actions(obs, actions)
    return values.flatten(), log_prob, entropy


def _masked_mean(x: th.Tensor, mask: th.Tensor, n_valid: th.Tensor) -> th.Tensor:
    # where, not multiply: a padded step's log-prob may be infinite, and inf * 0 is NaN.
    return th.where(mask > 0, x, th.zeros_like(x)).sum() / n_valid


def train_bc(
    policy: ActorCriticPolicy,
    dataset_or_episodes: Any,
    *,
    epochs: int = 10,
    batch_size: int = 256,
    seq_len: int | None = None,
    lr: float = 1e-3,
    ent_coef: float = 0.0,
    l2_coef: float = 0.0,
    max_grad_norm: float | None = 1.0,
    critic_warmup_epochs: int = 0,
    gamma: float = 0.99,
    holdout_fraction: float = 0.1,
    seed: int = 0,
    progress_bar: bool = True,
    callback: Callable[[BCReport], bool | None] | None = None,
    max_seconds: float | None = None,
) -> BCReport:
    """Clone the expert actions of a dataset into an SB3 policy, in place.

    Loss per step: ``-log pi(a_expert | history) - ent_coef * entropy`` (mean over unpadded
    steps) plus ``l2_coef * sum of squared actor weights``, through ``policy.evaluate_actions``
    exactly as PPO / RecurrentPPO call it. Recurrent policies see sequences of ``seq_len``
    steps starting from zero LSTM states (chunk boundaries move randomly every epoch).

    The optional critic warm-up runs after BC: it regresses the value head on the
    dataset's discounted returns (MSE) for ``critic_warmup_epochs`` epochs with the actor
    frozen, i.e. only parameters used by the value estimate alone (value head, critic MLP,
    critic LSTM, separate critic features extractor) are trained, so the cloned actions do
    not change. With a shared features extractor the value head learns on the actor's
    features. The value head's output bias is first moved to the mean return.

    Example::

        model = PPO("CnnPolicy", env, policy_kwargs=dict(net_arch=[64]))
        report = train_bc(model.policy, "sb3plus/maze/waypoint-v0", epochs=10, critic_warmup_epochs=2,
                          gamma=model.gamma)
        model.learn(100_000)

    :param policy: ``model.policy`` of a PPO / A2C (``MlpPolicy``, ``CnnPolicy``,
        ``MultiInputPolicy``) or RecurrentPPO (``MlpLstmPolicy``, ``CnnLstmPolicy``,
        ``MultiInputLstmPolicy``) model
    :param dataset_or_episodes: a ``MinariDataset``, a dataset id, or a list of :class:`Episode`
    :param epochs: passes over the training episodes
    :param batch_size: steps per minibatch (``batch_size // seq_len`` sequences)
    :param seq_len: sequence length; default 1 for feedforward and 32 for recurrent policies
    :param lr: Adam learning rate (a fresh optimizer; ``policy.optimizer`` is left alone)
    :param ent_coef: entropy bonus weight
    :param l2_coef: weight of the sum of squared actor parameters
    :param max_grad_norm: gradient norm clip (``None``: no clipping)
    :param critic_warmup_epochs: epochs of value regression after BC
    :param gamma: discount of the returns for the critic warm-up (use the RL algorithm's)
    :param holdout_fraction: fraction of EPISODES held out to measure agreement
    :param seed: seed of the held-out split and of the shuffling
    :param progress_bar: show a tqdm bar with loss and agreement
    :param callback: called with the report after every epoch; return ``False`` to stop
    :param max_seconds: wall-clock budget for the whole call (checked between minibatches)
    :return: a :class:`BCReport`
    """
    t_begin = time.perf_counter()
    episodes = _as_episodes(dataset_or_episodes)
    adapter = _prepare(policy, episodes)
    recurrent = isinstance(policy, RecurrentActorCriticPolicy)
    seq_len = int(seq_len) if seq_len is not None else (DEFAULT_RECURRENT_SEQ_LEN if recurrent else 1)

    train_eps, holdout_eps = split_episodes(episodes, holdout_fraction, seed)
    batcher = SequenceBatcher(
        _to_policy_actions(policy, train_eps),
        seq_len=seq_len,
        batch_size=batch_size,
        gamma=gamma,
        seed=seed,
        random_offsets=recurrent,
        device=policy.device,
    )
    report = BCReport(
        seq_len=seq_len,
        recurrent=recurrent,
        n_train_episodes=len(train_eps),
        n_holdout_episodes=len(holdout_eps),
        n_train_steps=batcher.n_steps,
    )

    def out_of_time() -> bool:
        return max_seconds is not None and time.perf_counter() - t_begin > max_seconds

    actor_params, critic_params = _split_parameters(policy)
    optimizer = th.optim.Adam(policy.parameters(), lr=lr)
    train_seconds, train_samples = 0.0, 0
    shown: dict[str, str] = {}
    bar = tqdm(total=epochs * batcher.n_steps, desc="BC", unit="step", disable=not progress_bar, dynamic_ncols=True)
    try:
        for _ in range(epochs):
            policy.set_training_mode(True)
            loss_sum = nll_sum = 0.0
            epoch_samples = 0
            t_epoch = time.perf_counter()
            for batch in batcher:
                mask = batch.mask
                n_valid = mask.sum()
                _, log_prob, entropy = _evaluate_batch(policy, batch, adapter)
                nll = -_masked_mean(log_prob, mask, n_valid)
                loss = nll
                if ent_coef:
                    ent = _masked_mean(entropy, mask, n_valid) if entropy is not None else nll
                    loss = loss - ent_coef * ent
                if l2_coef:
                    loss = loss + l2_coef * sum(th.sum(p.square()) for p in actor_params)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if max_grad_norm is not None:
                    th.nn.utils.clip_grad_norm_(actor_params, max_grad_norm)
                optimizer.step()

                n = int(n_valid.item())
                loss_sum += float(loss.item()) * n
                nll_sum += float(nll.item()) * n
                epoch_samples += n
                shown["loss"] = f"{loss.item():.4f}"
                bar.update(n)
                bar.set_postfix(shown, refresh=False)
                if out_of_time():
                    report.stop_reason = "max_seconds"
                    break
            train_seconds += time.perf_counter() - t_epoch
            train_samples += epoch_samples
            report.epochs_run += 1
            report.train_loss.append(loss_sum / max(epoch_samples, 1))
            report.train_nll.append(nll_sum / max(epoch_samples, 1))
            if holdout_eps:
                predictions = [a for a, _ in _rollout(policy, holdout_eps, adapter)]
                report.holdout_agreement.append(_agreement(policy, holdout_eps, predictions, box_atol=0.1))
                shown["agree"] = f"{report.holdout_agreement[-1]:.3f}"
                bar.set_postfix(shown)
            report.samples_per_second = train_samples / train_seconds if train_seconds > 0 else 0.0
            report.total_seconds = time.perf_counter() - t_begin
            if report.stop_reason is None and callback is not None and callback(report) is False:
                report.stop_reason = "callback"
            if report.stop_reason is not None:
                break
    finally:
        bar.close()

    if critic_warmup_epochs > 0 and report.stop_reason is None:
        _critic_warmup(
            policy,
            batcher,
            adapter,
            holdout_eps or train_eps,
            critic_params,
            report,
            epochs=critic_warmup_epochs,
            lr=lr,
            gamma=gamma,
            max_grad_norm=max_grad_norm,
            out_of_time=out_of_time,
            progress_bar=progress_bar,
        )

    policy.set_training_mode(False)
    report.total_seconds = time.perf_counter() - t_begin
    return report


def _critic_warmup(
    policy: ActorCriticPolicy,
    batcher: SequenceBatcher,
    adapter: _ObsAdapter,
    eval_episodes: Sequence[Episode],
    critic_params: list[th.nn.Parameter],
    report: BCReport,
    *,
    epochs: int,
    lr: float,
    gamma: float,
    max_grad_norm: float | None,
    out_of_time: Callable[[], bool],
    progress_bar: bool,
) -> None:
    if not critic_params:
        raise ValueError("critic warm-up: the policy has no parameters used only by the value estimate")

    values = [v for _, v in _rollout(policy, eval_episodes, adapter)]
    report.value_mse.append(_value_mse(values, eval_episodes, gamma))
    # Returns are often far from a fresh value head's outputs (e.g. ~100 for long episodes);
    # moving the output bias to the mean return first saves the many small Adam steps
    # that would otherwise be spent on the offset alone.
    value_bias = getattr(policy.value_net, "bias", None)
    if value_bias is not None:
        with th.no_grad():
            value_bias += float(batcher.returns.mean()) - float(np.concatenate(values).mean())

    def value_mse() -> float:
        return _value_mse([v for _, v in _rollout(policy, eval_episodes, adapter)], eval_episodes, gamma)

    critic_ids = {id(p) for p in critic_params}
    frozen = [p for p in policy.parameters() if id(p) not in critic_ids and p.requires_grad]
    optimizer = th.optim.Adam(critic_params, lr=lr)
    bar = tqdm(
        total=epochs * batcher.n_steps, desc="BC critic", unit="step", disable=not progress_bar, dynamic_ncols=True
    )
    for p in frozen:
        p.requires_grad_(False)
    try:
        for _ in range(epochs):
            policy.set_training_mode(True)
            for batch in batcher:
                values, _, _ = _evaluate_batch(policy, batch, adapter)
                loss = _masked_mean(th.square(values - batch.returns), batch.mask, batch.mask.sum())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if max_grad_norm is not None:
                    th.nn.utils.clip_grad_norm_(critic_params, max_grad_norm)
                optimizer.step()
                bar.update(batch.n_valid)
                bar.set_postfix(value_loss=f"{loss.item():.4f}", refresh=False)
                if out_of_time():
                    report.stop_reason = "max_seconds"
                    break
            report.critic_epochs_run += 1
            report.value_mse.append(value_mse())
            bar.set_postfix(value_mse=f"{report.value_mse[-1]:.4f}")
            if report.stop_reason is not None:
                break
    finally:
        for p in frozen:
            p.requires_grad_(True)
        bar.close()


# --------------------------------------------------------------------------- hand-over


def load_policy_into(model: BaseAlgorithm, policy: ActorCriticPolicy) -> None:
    """Copy a (pretrained) policy's weights into ``model.policy``.

    :param model: a PPO / RecurrentPPO (or other on-policy) model built on the training env
    :param policy: a policy of the same class, spaces and architecture
    :raises TypeError: different policy classes
    :raises SpaceMismatchError: different observation or action spaces
    :raises ValueError: different architectures (state dict keys or shapes)
    """
    target = model.policy
    if type(target) is not type(policy):
        raise TypeError(
            f"cannot load a {type(policy).__name__} into a model whose policy is a {type(target).__name__}; "
            f"build the model with policy={type(policy).__name__} (e.g. PPO(type(policy), env, ...) or the "
            "matching policy string such as 'CnnLstmPolicy' with RecurrentPPO)"
        )
    if target.observation_space != policy.observation_space:
        raise SpaceMismatchError(
            f"the model's observation space {target.observation_space} differs from the policy's "
            f"{policy.observation_space}. {_FIX_HINT}"
        )
    if target.action_space != policy.action_space:
        raise SpaceMismatchError(
            f"the model's action space {target.action_space} differs from the policy's "
            f"{policy.action_space}. {_FIX_HINT}"
        )
    source, dest = policy.state_dict(), target.state_dict()
    if source.keys() != dest.keys() or any(source[k].shape != dest[k].shape for k in source):
        diff = sorted(
            k
            for k in source.keys() | dest.keys()
            if k not in source or k not in dest or source[k].shape != dest[k].shape
        )
        raise ValueError(
            f"policy architectures differ (parameters {diff[:8]}{'...' if len(diff) > 8 else ''}); "
            "build the model with the same policy_kwargs (net_arch, lstm_hidden_size, features extractor) "
            "as the pretrained policy"
        )
    target.load_state_dict(source)
