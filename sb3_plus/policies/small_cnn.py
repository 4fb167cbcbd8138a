"""A small, fast CNN for low-resolution pixels (64x64 grayscale and similar)."""

from __future__ import annotations

import gymnasium as gym
import torch as th
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


class ConvFeatures(BaseFeaturesExtractor):
    """A convolutional trunk, then one linear layer with ReLU; the convolutions run channels-last.

    :param observation_space: channel-first image space (SB3 transposes HWC images).
    :param features_dim: size of the output features.
    :param cnn: the trunk, ending in ``nn.Flatten()``.
    """

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int, cnn: nn.Module) -> None:
        super().__init__(observation_space, features_dim)
        self.cnn = cnn
        with th.no_grad():
            n_flat = self.cnn(th.as_tensor(observation_space.sample()[None]).float()).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flat, features_dim), nn.ReLU())
        self._channels_last = False

    def forward(self, observations: th.Tensor) -> th.Tensor:
        # channels-last (NHWC) convolutions: about twice as fast on CPU for stacked frames, the same for one
        # channel; the flattened features keep the usual (C, H, W) order. The weights switch layout on the
        # first call, after SB3's initialisation (orthogonal init needs the usual layout); values are unchanged.
        if not self._channels_last:
            self.cnn.to(memory_format=th.channels_last)
            self._channels_last = True
        return self.linear(self.cnn(observations.contiguous(memory_format=th.channels_last)))


class SmallCNN(ConvFeatures):
    """Three strided convolutions and one linear layer.

    About a tenth of NatureCNN's compute at 64x64, which is what makes PPO fast on two CPU
    cores; enough capacity for ViZDoom navigation and mazes.

    :param observation_space: channel-first image space (SB3 transposes HWC images).
    :param features_dim: size of the output features.
    :param channels: output channels of the three convolutions.
    """

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 256,
                 channels: tuple[int, int, int] = (16, 32, 32)) -> None:
        n_input = observation_space.shape[0]
        c1, c2, c3 = channels
        super().__init__(observation_space, features_dim, nn.Sequential(
            nn.Conv2d(n_input, c1, kernel_size=8, stride=4), nn.ReLU(),
            nn.Conv2d(c1, c2, kernel_size=4, stride=2), nn.ReLU(),
            nn.Conv2d(c2, c3, kernel_size=3, stride=1), nn.ReLU(),
            nn.Flatten(),
        ))
