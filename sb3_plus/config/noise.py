"""rl_zoo3's ``noise_type`` / ``noise_std`` keys: Stable-Baselines3 action noise for off-policy algorithms."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.noise import ActionNoise, NormalActionNoise, OrnsteinUhlenbeckActionNoise

from sb3_plus.config.errors import Invalid

#: The ``noise_type`` values, as rl_zoo3 spells them.
NOISE_TYPES: dict[str, type[ActionNoise]] = {
    "normal": NormalActionNoise,
    "ornstein-uhlenbeck": OrnsteinUhlenbeckActionNoise,
}


def build_action_noise(noise_type: str, noise_std: float | None, action_space: spaces.Space) -> ActionNoise:
    """SB3's action noise with mean 0 and ``sigma = noise_std`` for every action dimension.

    :param noise_type: a key of :data:`NOISE_TYPES`.
    :param noise_std: the noise scale.
    :param action_space: the env's action space; a ``Box``.
    :raises Invalid: for an unknown type, a missing scale or an action space that is no ``Box``.
    """
    if noise_type not in NOISE_TYPES:
        raise Invalid(f"{noise_type!r} is not a noise type", f"use one of {', '.join(NOISE_TYPES)}", "noise_type")
    if noise_std is None:
        raise Invalid("noise_type is set without noise_std", "add `noise_std: 0.1` (the noise scale)", "noise_std")
    if not isinstance(action_space, spaces.Box):
        raise Invalid(f"action noise needs continuous (Box) actions, the env has {action_space}",
                      "remove noise_type and noise_std for this env", "noise_type")
    # the shape of the action space, which for the usual 1-D Box is ones(n_actions) as in rl_zoo3
    sigma = float(noise_std) * np.ones(action_space.shape)
    return NOISE_TYPES[noise_type](mean=np.zeros(action_space.shape), sigma=sigma)
