"""Whether recorded data or an env fits a policy's spaces: the one check BC and DAgger use.

The one difference allowed between what is given (a dataset's or an env's space, or bare
arrays when a dataset records no space) and what a policy expects is the image layout:
channel-last images become channel-first, as SB3's ``VecTransposeImage`` does when a model
is built on an image env. Any other difference raises :class:`SpaceMismatchError`, naming
both spaces and the fix.

Two strictnesses: ``exact=True`` (datasets) compares whole spaces (shape, bounds, dtype);
``exact=False`` (envs, and datasets whose observations are normalised before the policy
sees them, which changes bounds and dtype by design) compares shapes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.vec_env import VecTransposeImage

from sb3_plus.data.sequences import Episode, TensorObs
from sb3_plus.errors import UserError

#: ``False``: use as is; ``True``: transpose HWC -> CHW; a set: the Dict keys to transpose.
Transpose = bool | frozenset[str]

FIX_HINT = (
    "Fix: collect the dataset with the same env preprocessing (wrappers, frame size, grayscale, "
    "frame stack, action set) as the env the model is built on, or build the model from the "
    "dataset's env (e.g. `minari.load_dataset(id).recover_environment()`)."
)


class SpaceMismatchError(UserError, ValueError):
    """Data or an env whose observation or action space does not fit the policy."""


class PolicyTypeError(UserError, TypeError):
    """A policy of a kind a method cannot train or load (e.g. recurrent where only feedforward works)."""


class ImageTranspose:
    """Turns observation tensors into the layout the policy expects (HWC -> CHW images)."""

    def __init__(self, transpose: Transpose) -> None:
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


def _leaf(given: Any, expected: spaces.Space, exact: bool) -> bool | None:
    """``False``: as is, ``True``: transpose, ``None``: mismatch; ``given`` a space or an ``(N, ...)`` array."""
    if not isinstance(given, spaces.Space):
        shape, dtype = tuple(np.shape(given)[1:]), np.asarray(given[:0]).dtype
        if shape == expected.shape:
            return False
        image = len(shape) == 3 and dtype == np.uint8 and is_image_space(expected, check_channels=False)
        return True if image and (shape[2], shape[0], shape[1]) == expected.shape else None
    if given == expected:
        return False
    boxes = isinstance(given, spaces.Box) and isinstance(expected, spaces.Box)
    if not exact and boxes and given.shape == expected.shape:
        return False
    if _is_channel_last_image(given):
        transposed = VecTransposeImage.transpose_space(given)  # type: ignore[arg-type]
        if transposed == expected or (not exact and boxes and transposed.shape == expected.shape):
            return True
    return None


def _observation_verdict(given: Any, expected: spaces.Space, exact: bool) -> tuple[Transpose | None, str]:
    given_dict = isinstance(given, (spaces.Dict, Mapping))
    if not isinstance(expected, spaces.Dict):
        return (None, "") if given_dict else (_leaf(given, expected, exact), "")
    if not given_dict:
        return None, ""
    parts = given.spaces if isinstance(given, spaces.Dict) else given
    if set(parts) != set(expected.spaces):
        return None, f" (keys {sorted(parts)} vs {sorted(expected.spaces)})"
    keys = set()
    for key, sub in expected.spaces.items():
        verdict = _leaf(parts[key], sub, exact)
        if verdict is None:
            return None, f" (key {key!r})"
        if verdict:
            keys.add(key)
    return frozenset(keys), ""


def observation_transpose(given: Any, expected: spaces.Space, *, exact: bool = True) -> Transpose | None:
    """How observations given in one space reach a policy expecting another; ``None`` if they cannot.

    :param given: a gymnasium space, or observations (``(N, ...)`` arrays, or a dict of them) when
        no space is known
    :param expected: the policy's observation space
    :param exact: compare whole spaces (bounds and dtype too), else shapes
    :return: ``False`` (as is), ``True`` (HWC -> CHW), the Dict keys to transpose, or ``None``
    """
    return _observation_verdict(given, expected, exact)[0]


def action_fits(given: Any, expected: spaces.Space, *, exact: bool = True) -> bool:
    """Whether actions of a space (or ``(N, ...)`` action arrays) are the policy's.

    :param given: a gymnasium space, or an array of actions
    :param expected: the policy's action space
    :param exact: compare whole spaces, else Box shapes
    """
    if not isinstance(given, spaces.Space):
        return tuple(np.shape(given)[1:]) == expected.shape
    if given == expected:
        return True
    return not exact and isinstance(given, spaces.Box) and isinstance(expected, spaces.Box) \
        and given.shape == expected.shape


def spaces_fit(given: spaces.Space, expected: spaces.Space, *, exact: bool = False) -> bool:
    """Whether observations of space ``given`` can be fed to a policy expecting ``expected``."""
    return observation_transpose(given, expected, exact=exact) is not None


def _describe_arrays(obs: Any) -> str:
    if isinstance(obs, dict):
        return "{" + ", ".join(f"{k!r}: {_describe_arrays(v)}" for k, v in obs.items()) + "}"
    obs = np.asarray(obs)
    return f"arrays of shape {tuple(obs.shape[1:])} and dtype {obs.dtype}"


def _mismatch(kind: str, data: str, policy: spaces.Space, detail: str = "") -> SpaceMismatchError:
    return SpaceMismatchError(
        f"The dataset's {kind} space {data} does not match the policy's {kind} space {policy}"
        f"{detail}. BC converts only channel-last uint8 images to the channel-first layout SB3 "
        f"policies see (as VecTransposeImage does). {FIX_HINT}"
    )


def check_episode_fits(policy: Any, episode: Episode, *, exact: bool = True) -> ImageTranspose:
    """Raise :class:`SpaceMismatchError` unless a recorded episode fits the policy; return its layout change.

    :param policy: an SB3 policy (``observation_space`` and ``action_space``)
    :param episode: an episode; its recorded spaces are compared, else its arrays
    :param exact: compare whole observation spaces, else shapes (for normalised observations)
    """
    given = episode.observation_space if episode.observation_space is not None else episode.observations
    shown = str(episode.observation_space) if episode.observation_space is not None \
        else _describe_arrays(episode.observations)
    verdict, detail = _observation_verdict(given, policy.observation_space, exact)
    if verdict is None:
        raise _mismatch("observation", shown, policy.observation_space, detail)
    actions = episode.action_space if episode.action_space is not None else np.asarray(episode.actions)
    if not action_fits(actions, policy.action_space):
        shown = str(actions) if isinstance(actions, spaces.Space) else _describe_arrays(actions)
        raise _mismatch("action", shown, policy.action_space)
    return ImageTranspose(verdict)


def check_env_fits(policy: Any, env: Any, env_id: str) -> None:
    """Raise :class:`SpaceMismatchError` (naming both spaces) when ``policy`` cannot act in ``env``.

    :param policy: an SB3 policy
    :param env: a gymnasium env (not vectorised)
    :param env_id: the env's id, for the message
    """
    for kind, env_space, policy_space, fits in (
        ("observation", env.observation_space, policy.observation_space, spaces_fit),
        ("action", env.action_space, policy.action_space, lambda a, b: action_fits(a, b, exact=False)),
    ):
        if not fits(env_space, policy_space):
            raise SpaceMismatchError(
                f"env {env_id!r} has {kind} space {env_space} but the policy expects {policy_space}. "
                "Fix: build the model on the same env id and env_kwargs as the run")
