"""Observation normalisation for imitation: the policy sees what RL's ``VecNormalize`` gives it.

A config with ``normalize: true`` wraps the RL env in SB3's ``VecNormalize``, so the policy
acts on ``(obs - mean) / std`` (clipped). BC and DAgger then normalise the same way: in
training, in the agreement checks and in DAgger's rollouts.

Statistics: when the ``VecNormalize`` has seen no observation yet (a fresh model), BC first
sets its running statistics from the training episodes' observations, so BC learns on
normalised data and RL starts with the statistics BC saw (``VecNormalize`` keeps updating
them during RL, as usual). Statistics that have seen data (a resumed run, a loaded
``vecnormalize.pkl``) are used as they are. A plain function normalises and is never fitted.

Layout: SB3 puts ``VecTransposeImage`` under ``VecNormalize`` (images normalised channel-first,
as the policy sees them), while datasets and single envs give channel-last images. A
``VecNormalize``-backed normaliser therefore first moves a channel-last image to its
statistics' channel-first layout and returns it that way; without this the ``(H, W, C)``
batch broadcast against ``(C, H, W)`` statistics into nonsense (or a shape error).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Union

import numpy as np

from sb3_plus.data.sequences import Episode, ObsArray

NormalizerLike = Union["ObservationNormalizer", Callable[[ObsArray], ObsArray], Any, None]


class ObservationNormalizer:
    """Normalises observation arrays (a batch, or a dict of batches) before the policy sees them.

    :param normalize: ``obs -> normalised obs`` (e.g. ``VecNormalize.normalize_obs``)
    :param vec_normalize: the SB3 ``VecNormalize`` whose statistics :meth:`fit` may set
    """

    def __init__(self, normalize: Callable[[ObsArray], ObsArray], vec_normalize: Any = None) -> None:
        self.normalize = normalize
        self.vec_normalize = vec_normalize

    def __call__(self, obs: ObsArray) -> ObsArray:
        return self.normalize(self.in_stats_layout(obs))

    def in_stats_layout(self, obs: ObsArray) -> ObsArray:
        """``obs`` with channel-last images moved to the channel-first layout of the statistics, if they are."""
        stats = self._running_stats()
        if not stats:
            return obs
        if isinstance(obs, dict):
            return {k: _channels_first_if(v, stats[k].mean.shape) if k in stats else v for k, v in obs.items()}
        return _channels_first_if(obs, stats[None].mean.shape) if None in stats else obs

    def _running_stats(self) -> dict[str | None, Any]:
        venv = self.vec_normalize
        if venv is None or not getattr(venv, "norm_obs", False):
            return {}
        rms = venv.obs_rms
        return dict(rms) if isinstance(rms, dict) else {None: rms}

    @property
    def has_seen_data(self) -> bool:
        """Whether the statistics have seen an observation (always true for a plain function)."""
        stats = self._running_stats()
        # RunningMeanStd starts with a count of 1e-4; every observation adds 1
        return not stats or any(rms.count >= 1 for rms in stats.values())

    def fit(self, observations: Sequence[ObsArray]) -> bool:
        """Set the running statistics from raw observations when they have seen nothing yet.

        :param observations: batches of raw observations (one per episode, say)
        :return: whether the statistics were set
        """
        if self.has_seen_data or not observations:
            return False
        for key, rms in self._running_stats().items():
            parts = [obs[key] if key is not None else obs for obs in observations]  # type: ignore[index]
            rms.update(_channels_first_if(np.concatenate(parts), rms.mean.shape).astype(np.float64))
        return True

    def episodes(self, episodes: Sequence[Episode]) -> list[Episode]:
        """Copies of ``episodes`` with normalised observations.

        With running statistics the copies record no observation space: the dataset's no longer
        describes them (images come back in the statistics' channel-first layout), so space
        checks look at the arrays. A plain function keeps the dataset's layout and space.
        """
        space_still_fits = not self._running_stats()
        return [replace(ep, observations=self(ep.observations),
                        observation_space=ep.observation_space if space_still_fits else None) for ep in episodes]


def _channels_first_if(batch: np.ndarray, stats_shape: tuple[int, ...]) -> np.ndarray:
    """A batch of channel-last images as channel-first when that is the statistics' shape; else as it is."""
    batch = np.asarray(batch)
    shape = batch.shape[1:]
    if shape != tuple(stats_shape) and len(shape) == 3 and (shape[2], shape[0], shape[1]) == tuple(stats_shape):
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
    return batch


def as_normalizer(normalizer: NormalizerLike) -> ObservationNormalizer | None:
    """An :class:`ObservationNormalizer` from a ``VecNormalize``, a function or ``None``.

    :param normalizer: an SB3 ``VecNormalize`` (its statistics, fitted when fresh), a function
        ``obs -> obs``, an :class:`ObservationNormalizer`, or ``None`` (raw observations)
    """
    if normalizer is None or isinstance(normalizer, ObservationNormalizer):
        return normalizer
    if hasattr(normalizer, "obs_rms") and hasattr(normalizer, "normalize_obs"):
        return ObservationNormalizer(normalizer.normalize_obs, normalizer)
    if callable(normalizer):
        return ObservationNormalizer(normalizer)
    raise TypeError(f"an observation normaliser is a VecNormalize or a function, got {type(normalizer).__name__}")
