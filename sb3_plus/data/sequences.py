"""Minari episodes -> (padded) sequence minibatches in sb3-contrib's recurrent layout.

A feedforward learner is the special case ``seq_len=1``: every sequence is one step and
nothing is padded, so one batcher serves both kinds of policy.

Layout of a minibatch (the one ``RecurrentPPO`` feeds to ``evaluate_actions``): ``n_seq``
sequences of ``seq_len`` steps (the longest sequence of the batch), flattened sequence-major,
i.e. row ``i * seq_len + t`` is step ``t`` of sequence ``i``. Shorter sequences (the tail of an
episode, a short episode) are padded with zeros at the end and ``mask`` is 0 there.
``episode_starts`` is 1 on the first step of a sequence that begins an episode. Sequences never
cross an episode boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union

import numpy as np
import torch as th
from gymnasium import spaces

from sb3_plus.errors import BadOptionError

ObsArray = Union[np.ndarray, dict[str, np.ndarray]]
TensorObs = Union[th.Tensor, dict[str, th.Tensor]]


@dataclass
class Episode:
    """One recorded episode of ``T`` steps.

    ``observations[t]`` is the observation the action ``actions[t]`` was taken on; the
    observation after the last action (which Minari also stores) is dropped.

    :param observations: array of shape ``(T, *obs_shape)``, or a dict of such arrays
    :param actions: array of shape ``(T, *action_shape)`` (``(T,)`` for Discrete)
    :param rewards: ``(T,)`` rewards
    :param terminations: ``(T,)`` termination flags
    :param truncations: ``(T,)`` truncation flags
    :param metadata: episode metadata as stored by the dataset (seed, success, expert...)
    :param infos: step infos as stored by Minari (``T + 1`` entries, reset first), when loaded
    :param observation_space: the dataset's observation space, when known
    :param action_space: the dataset's action space, when known
    """

    observations: ObsArray
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    infos: dict[str, Any] | None = None
    observation_space: spaces.Space | None = None
    action_space: spaces.Space | None = None

    def __len__(self) -> int:
        return len(self.rewards)


def load_episodes(
    dataset: Any,
    *,
    episode_indices: Iterable[int] | None = None,
    with_infos: bool = False,
) -> list[Episode]:
    """Load episodes from a Minari dataset into memory as numpy arrays.

    :param dataset: a ``minari.MinariDataset``, a dataset id (``"sb3plus/env/expert-v0"``, read from
        :func:`sb3_plus.data.storage.datasets_root`) or an iterable of ``minari.EpisodeData``
    :param episode_indices: load only these episodes (default: all)
    :param with_infos: keep the per-step infos (memory heavy for large infos)
    :return: one :class:`Episode` per dataset episode, in dataset order
    """
    import minari

    from sb3_plus.data.storage import load_dataset

    if isinstance(dataset, str):
        dataset = load_dataset(dataset)

    if isinstance(dataset, minari.MinariDataset):
        obs_space, act_space = dataset.observation_space, dataset.action_space
        indices = dataset.episode_indices if episode_indices is None else np.asarray(list(episode_indices))
        raw_episodes: Iterable[Any] = dataset.iterate_episodes(indices)
        try:
            metadatas: list[dict[str, Any]] = [dict(m) for m in dataset.storage.get_episode_metadata(indices)]
        except (NotImplementedError, OSError, KeyError):
            metadatas = [{} for _ in indices]
    else:
        if episode_indices is not None:
            raise BadOptionError("episode_indices needs a MinariDataset or a dataset id. Fix: pass one of those")
        obs_space = act_space = None
        raw_episodes = list(dataset)
        metadatas = [{} for _ in raw_episodes]

    episodes = []
    for raw, meta in zip(raw_episodes, metadatas):
        n_steps = len(raw.rewards)
        observations = _trim_observations(raw.observations, n_steps, obs_space)
        actions = _fit_shape(np.asarray(raw.actions)[:n_steps], act_space)
        if len(actions) != n_steps:
            raise ValueError(f"episode {raw.id}: {len(actions)} actions for {n_steps} rewards")
        episodes.append(
            Episode(
                observations=observations,
                actions=actions,
                rewards=np.asarray(raw.rewards, dtype=np.float32).reshape(-1),
                terminations=np.asarray(raw.terminations, dtype=bool).reshape(-1),
                truncations=np.asarray(raw.truncations, dtype=bool).reshape(-1),
                metadata=meta,
                infos=raw.infos if with_infos else None,
                observation_space=obs_space,
                action_space=act_space,
            )
        )
    return episodes


def _trim_observations(obs: Any, n_steps: int, space: spaces.Space | None) -> ObsArray:
    if isinstance(obs, dict):
        sub = space.spaces if isinstance(space, spaces.Dict) else {}
        return {key: _trim_observations(value, n_steps, sub.get(key)) for key, value in obs.items()}
    if isinstance(obs, tuple):
        raise BadOptionError("Tuple observation spaces are not supported by SB3 policies. Fix: use a Dict space")
    array = np.asarray(obs)
    if len(array) == n_steps + 1:
        array = array[:n_steps]
    elif len(array) != n_steps:
        raise ValueError(f"{len(array)} observations for {n_steps} steps (expected {n_steps + 1})")
    return _fit_shape(array, space)


def _fit_shape(array: np.ndarray, space: spaces.Space | None) -> np.ndarray:
    # Minari's JPEG path decodes one-channel images as (H, W): restore the space's shape.
    if space is not None and space.shape is not None and array.shape[1:] != space.shape:
        if array.size == len(array) * int(np.prod(space.shape)):
            array = array.reshape((len(array), *space.shape))
    return array


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """Per-step discounted return ``G_t = r_t + gamma * G_{t+1}`` within one episode.

    Truncated episodes are not bootstrapped (the recorded rewards are all there is).

    :param rewards: ``(T,)`` rewards of one episode
    :param gamma: discount factor
    :return: ``(T,)`` float32 returns
    """
    out = np.empty(len(rewards), dtype=np.float64)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = float(rewards[t]) + gamma * running
        out[t] = running
    return out.astype(np.float32)


class SequenceBatch(NamedTuple):
    """A minibatch of ``n_seq`` padded sequences of ``seq_len`` steps, flattened sequence-major."""

    observations: TensorObs
    actions: th.Tensor
    returns: th.Tensor
    episode_starts: th.Tensor
    mask: th.Tensor
    n_seq: int
    seq_len: int

    @property
    def n_valid(self) -> int:
        """Number of real (unpadded) steps in the batch."""
        return int(self.mask.sum().item())


def _concat_obs(parts: list[ObsArray]) -> ObsArray:
    if isinstance(parts[0], dict):
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}  # type: ignore[index]
    return np.concatenate(parts)  # type: ignore[arg-type]


def _action_to_tensor(actions: np.ndarray) -> th.Tensor:
    if np.issubdtype(actions.dtype, np.integer) or actions.dtype == bool:
        return th.from_numpy(actions.astype(np.int64, copy=False))
    return th.from_numpy(actions.astype(np.float32, copy=False))


class SequenceBatcher:
    """Cut episodes into sequences of ``seq_len`` steps and yield shuffled, padded minibatches.

    Data stays on the CPU as numpy; only the minibatch becomes torch tensors (observations
    keep their dtype, e.g. uint8 images, so the policy normalizes them as in PPO; integer
    actions become int64, others float32).

    :param episodes: the episodes to draw from
    :param seq_len: steps per sequence (1 for feedforward policies)
    :param batch_size: steps (sequence slots) per minibatch; a batch holds
        ``max(1, batch_size // seq_len)`` sequences
    :param gamma: discount for the per-step returns (``batch.returns``)
    :param shuffle: shuffle the sequences every epoch
    :param seed: seed of the shuffling (and of the random offsets)
    :param random_offsets: shift the chunk boundaries of each episode longer than
        ``seq_len`` by a random amount every epoch, so that no step is always at the same
        position of its sequence (and so always sees the same amount of context)
    :param device: device of the returned tensors
    """

    def __init__(
        self,
        episodes: Sequence[Episode],
        seq_len: int = 1,
        batch_size: int = 256,
        *,
        gamma: float = 0.99,
        shuffle: bool = True,
        seed: int = 0,
        random_offsets: bool = False,
        device: th.device | str = "cpu",
    ) -> None:
        if len(episodes) == 0:
            raise BadOptionError("SequenceBatcher needs at least one episode. Fix: pass a non-empty dataset")
        if seq_len < 1 or batch_size < 1:
            raise BadOptionError(f"seq_len and batch_size must be >= 1, got {seq_len} and {batch_size}")
        self.seq_len = int(seq_len)
        self.batch_size = int(batch_size)
        self.n_seq_per_batch = max(1, self.batch_size // self.seq_len)
        self.shuffle = shuffle
        self.random_offsets = random_offsets and self.seq_len > 1
        self.device = th.device(device)
        self._rng = np.random.default_rng(seed)

        lengths = np.array([len(ep) for ep in episodes], dtype=np.int64)
        if np.any(lengths == 0):
            raise ValueError("episodes must have at least one step")
        self.episode_lengths = lengths
        self.episode_offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        self.observations = _concat_obs([ep.observations for ep in episodes])
        self.actions = np.concatenate([np.asarray(ep.actions) for ep in episodes])
        self.returns = np.concatenate([discounted_returns(ep.rewards, gamma) for ep in episodes])
        self.episode_start_flags = np.zeros(int(lengths.sum()), dtype=np.float32)
        self.episode_start_flags[self.episode_offsets] = 1.0
        self._starts, self._lengths = self._chunk(offsets=None)

    @property
    def n_steps(self) -> int:
        """Total number of steps."""
        return len(self.actions)

    @property
    def n_sequences(self) -> int:
        """Number of sequences in the current chunking."""
        return len(self._starts)

    def __len__(self) -> int:
        """Minibatches per epoch (for the current chunking)."""
        return -(-self.n_sequences // self.n_seq_per_batch)

    def _chunk(self, offsets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if self.seq_len == 1:
            starts = np.arange(self.n_steps, dtype=np.int64)
            return starts, np.ones_like(starts)
        all_starts, all_lengths = [], []
        for i, (first, length) in enumerate(zip(self.episode_offsets, self.episode_lengths)):
            # Episodes that fit in one sequence stay whole: cutting them only loses context.
            shift = 0 if offsets is None or length <= self.seq_len else int(offsets[i])
            cuts = np.arange(shift, length, self.seq_len, dtype=np.int64)
            if shift > 0:
                cuts = np.concatenate([[0], cuts])
            ends = np.append(cuts[1:], length)
            all_starts.append(first + cuts)
            all_lengths.append(ends - cuts)
        return np.concatenate(all_starts), np.concatenate(all_lengths)

    def __iter__(self) -> Iterator[SequenceBatch]:
        """One epoch of minibatches."""
        if self.random_offsets:
            offsets = self._rng.integers(0, self.seq_len, size=len(self.episode_lengths))
            self._starts, self._lengths = self._chunk(offsets)
        order = self._rng.permutation(self.n_sequences) if self.shuffle else np.arange(self.n_sequences)
        for first in range(0, len(order), self.n_seq_per_batch):
            chosen = order[first : first + self.n_seq_per_batch]
            yield self.make_batch(self._starts[chosen], self._lengths[chosen])

    def make_batch(self, starts: np.ndarray, lengths: np.ndarray) -> SequenceBatch:
        """Build the padded minibatch of the sequences ``[starts[i], starts[i] + lengths[i])``.

        :param starts: flat index of each sequence's first step
        :param lengths: length of each sequence (at most ``seq_len``); the batch is padded to the longest
        """
        n_seq, seq_len = len(starts), int(lengths.max()) if len(lengths) else self.seq_len
        steps = np.arange(seq_len, dtype=np.int64)
        valid = (steps[None, :] < lengths[:, None]).reshape(-1)
        # Padded slots read the sequence's first step and are zeroed afterwards.
        index = (starts[:, None] + np.where(steps[None, :] < lengths[:, None], steps[None, :], 0)).reshape(-1)
        padded = ~valid
        any_padding = bool(padded.any())

        def gather(array: np.ndarray) -> np.ndarray:
            out = array[index]
            if any_padding:
                out[padded] = 0
            return out

        if isinstance(self.observations, dict):
            obs: TensorObs = {k: th.from_numpy(gather(v)).to(self.device) for k, v in self.observations.items()}
        else:
            obs = th.from_numpy(gather(self.observations)).to(self.device)
        return SequenceBatch(
            observations=obs,
            actions=_action_to_tensor(gather(self.actions)).to(self.device),
            returns=th.from_numpy(gather(self.returns)).to(self.device),
            episode_starts=th.from_numpy(gather(self.episode_start_flags)).to(self.device),
            mask=th.from_numpy(valid.astype(np.float32)).to(self.device),
            n_seq=n_seq,
            seq_len=seq_len,
        )
