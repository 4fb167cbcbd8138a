"""What imitation trains on: episodes from a Minari dataset (by id, object or list), checked and split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy

from sb3_plus.data.sequences import Episode, load_episodes
from sb3_plus.errors import BadOptionError
from sb3_plus.imitation.space_check import ImageTranspose, PolicyTypeError, check_episode_fits


def open_dataset(dataset_id: str) -> Any:
    """Load a local Minari dataset from sb3-plus's dataset root (see :func:`sb3_plus.data.storage.load_dataset`).

    :param dataset_id: e.g. ``"sb3plus/mazeeasy/waypoint-v0"``
    :raises InputNotFoundError: no such dataset under the root
    """
    from sb3_plus.data.storage import load_dataset

    return load_dataset(dataset_id)


def as_episodes(data: Any) -> list[Episode]:
    """Episodes from a list of :class:`Episode`, a ``MinariDataset`` or a local dataset id."""
    if isinstance(data, (list, tuple)) and all(isinstance(ep, Episode) for ep in data):
        return list(data)
    return load_episodes(open_dataset(data) if isinstance(data, str) else data)


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


def to_policy_actions(policy: Any, episodes: list[Episode]) -> list[Episode]:
    """Express expert actions the way the policy's distribution scores them (squashed Box actions in [-1, 1])."""
    if not (isinstance(policy.action_space, spaces.Box) and policy.squash_output):
        return episodes
    # A squashing policy works in [-1, 1]; keep strictly inside so atanh stays finite.
    eps = 1e-6
    return [
        replace(ep, actions=np.clip(policy.scale_action(np.asarray(ep.actions, dtype=np.float32)), -1 + eps, 1 - eps))
        for ep in episodes
    ]


def check_spaces(policy: Any, episodes: Sequence[Episode], *, exact: bool = True) -> ImageTranspose:
    """Raise unless ``episodes`` fit ``policy``; return the image layout change they need.

    :param policy: an SB3 ``ActorCriticPolicy`` (recurrent or not)
    :param episodes: episodes from :func:`sb3_plus.data.sequences.load_episodes`
    :param exact: compare whole observation spaces, else shapes (normalised observations)
    :raises SpaceMismatchError: the dataset's spaces are not the policy's
    """
    if not isinstance(policy, ActorCriticPolicy):
        raise PolicyTypeError(
            f"BC needs an SB3 ActorCriticPolicy (or sb3-contrib recurrent one), got {type(policy).__name__}"
        )
    if len(episodes) == 0:
        raise BadOptionError("no episodes to clone from. Fix: pass a dataset with at least one episode")
    return check_episode_fits(policy, episodes[0], exact=exact)
