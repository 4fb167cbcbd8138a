"""The IMPALA CNN (Espeholt et al. 2018), the network that generalised best in the Procgen competition.

Each stage is a 3x3 convolution, a 3x3 max-pool with stride 2, and residual blocks of two 3x3
convolutions with ReLUs before them; after the stages, ReLU, flatten and one linear layer. No batch
norm (the competition found it hurt). ``width`` multiplies every stage's channels (2 was the
competition's best), ``blocks`` sets the residual blocks per stage (the depth).
"""

from __future__ import annotations

from typing import Sequence

import gymnasium as gym
import torch as th
from torch import nn

from sb3_plus.policies.small_cnn import ConvFeatures

__all__ = ["ImpalaCNN"]


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: th.Tensor) -> th.Tensor:
        return x + self.conv1(th.relu(self.conv0(th.relu(x))))


def _stage(in_channels: int, out_channels: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1),
                         nn.MaxPool2d(3, stride=2, padding=1),
                         *[_Residual(out_channels) for _ in range(blocks)])


class ImpalaCNN(ConvFeatures):
    """IMPALA's residual CNN as an SB3 features extractor (``features_extractor_class: ImpalaCNN``).

    :param observation_space: channel-first image space (SB3 transposes HWC images); 1, 3 or stacked channels.
    :param features_dim: size of the output features.
    :param channels: output channels of the stages (before ``width``).
    :param width: multiplier of every stage's channels.
    :param blocks: residual blocks per stage.
    """

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 256,
                 channels: Sequence[int] = (16, 32, 32), width: int = 1, blocks: int = 2) -> None:
        if width < 1 or blocks < 0 or not channels:
            raise ValueError(f"ImpalaCNN needs width >= 1, blocks >= 0 and at least one stage, got width={width}, "
                             f"blocks={blocks}, channels={channels}")
        stages, previous = [], observation_space.shape[0]
        for c in channels:
            stages.append(_stage(previous, int(c) * width, blocks))
            previous = int(c) * width
        super().__init__(observation_space, features_dim, nn.Sequential(*stages, nn.ReLU(), nn.Flatten()))
