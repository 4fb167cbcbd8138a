"""The networks and statistics of Random Network Distillation: target, predictor, normalisers, intrinsic value head.

:class:`RNDModel` is one ``nn.Module`` whose ``state_dict`` holds everything RND learns or counts:
the frozen random target, the trained predictor, the running mean and variance of observations
(:class:`RunningMeanStd`, as buffers) and of the discounted intrinsic return, and the intrinsic
value head (a linear layer on the policy's value latent, beside the policy's own ``value_net``).
The policy itself stays an ordinary SB3 policy, so imitation pretraining (which trains the
policy) never touches any of this: a pretrained policy gets fresh intrinsic heads.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch as th
from gymnasium import spaces
from torch import nn

__all__ = ["OBS_CLIP", "ROWS_PER_PASS", "RNDModel", "RunningMeanStd", "discounted_returns"]

#: Normalised observations are clipped to [-OBS_CLIP, OBS_CLIP] before the target and the predictor.
OBS_CLIP = 5.0
#: Smallest image side that the convolutional networks take (8x8 stride 4, 4x4 stride 2, 3x3).
_MIN_IMAGE_SIDE = 36
#: Observations per forward pass when a whole rollout is scored (bounds the memory of one pass).
ROWS_PER_PASS = 2048


class RunningMeanStd(nn.Module):
    """Mean and variance of a stream of arrays, merged batch by batch (Chan et al.), kept as buffers.

    :param shape: the shape of one sample (``()`` for scalars).
    """

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.register_buffer("mean", th.zeros(shape, dtype=th.float64))
        self.register_buffer("var", th.ones(shape, dtype=th.float64))
        self.register_buffer("count", th.zeros((), dtype=th.float64))

    @property
    def initialized(self) -> bool:
        """Whether any sample was seen."""
        return bool(self.count.item() > 0)

    @th.no_grad()
    def update(self, batch: th.Tensor) -> None:
        """Merge a batch of samples (first dimension: samples)."""
        batch = batch.to(device=self.mean.device, dtype=th.float64)
        if batch.shape[0] == 0:
            return
        self.update_from_moments(batch.mean(dim=0), batch.var(dim=0, unbiased=False), batch.shape[0])

    @th.no_grad()
    def update_from_moments(self, mean: th.Tensor | float, var: th.Tensor | float, count: int) -> None:
        """Merge the moments of ``count`` samples."""
        mean = th.as_tensor(mean, dtype=th.float64, device=self.mean.device)
        var = th.as_tensor(var, dtype=th.float64, device=self.mean.device)
        total = self.count + count
        delta = mean - self.mean
        m2 = self.var * self.count + var * count + delta.pow(2) * self.count * count / total
        self.mean.add_(delta * count / total)
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def std(self, eps: float = 1e-8) -> th.Tensor:
        """The standard deviation (``eps`` keeps it above 0)."""
        return self.var.sqrt() + eps


def discounted_returns(rewards: np.ndarray, state: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Running discounted sums of ``rewards`` per env that ignore episode ends (RND's reward filter).

    :param rewards: ``(n_steps, n_envs)``.
    :param state: the sum carried from the previous rollout, ``(n_envs,)``.
    :param gamma: the intrinsic discount.
    :return: the sum after each step ``(n_steps, n_envs)``, and the state to carry on.
    """
    out = np.empty_like(rewards, dtype=np.float64)
    running = state.astype(np.float64).copy()
    for t in range(rewards.shape[0]):
        running = running * gamma + rewards[t]
        out[t] = running
    return out, running


def _init(layer: nn.Module, gain: float = float(np.sqrt(2))) -> nn.Module:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class _ChannelsLast(nn.Sequential):
    """Convolutions in channels-last (NHWC) layout: faster on CPU; the flattened output keeps the (C, H, W) order."""

    def forward(self, x: th.Tensor) -> th.Tensor:
        return super().forward(x.contiguous(memory_format=th.channels_last))


def _conv_trunk(channels: int) -> nn.Sequential:
    return _ChannelsLast(
        _init(nn.Conv2d(channels, 32, 8, stride=4)), nn.LeakyReLU(),
        _init(nn.Conv2d(32, 64, 4, stride=2)), nn.LeakyReLU(),
        _init(nn.Conv2d(64, 64, 3, stride=1)), nn.LeakyReLU(),
        nn.Flatten(),
    )


def _networks(shape: tuple[int, ...], features_dim: int) -> tuple[nn.Module, nn.Module]:
    """Target and predictor for observations of ``shape``: convolutional for channel-first images
    of at least 36x36, an MLP on the flattened observation otherwise. The predictor is deeper than the target."""
    if len(shape) == 3 and min(shape[1:]) >= _MIN_IMAGE_SIDE:
        trunks = _conv_trunk(shape[0]), _conv_trunk(shape[0])
        for trunk in trunks:  # after the orthogonal init, which needs the usual layout
            trunk.to(memory_format=th.channels_last)
        with th.no_grad():
            flat = trunks[0](th.zeros((1, *shape))).shape[1]
        target = nn.Sequential(trunks[0], _init(nn.Linear(flat, features_dim)))
        predictor = nn.Sequential(trunks[1], _init(nn.Linear(flat, features_dim)), nn.ReLU(),
                                  _init(nn.Linear(features_dim, features_dim)), nn.ReLU(),
                                  _init(nn.Linear(features_dim, features_dim)))
        return target, predictor
    size, hidden = int(np.prod(shape)), 256
    target = nn.Sequential(nn.Flatten(), _init(nn.Linear(size, hidden)), nn.LeakyReLU(),
                           _init(nn.Linear(hidden, hidden)), nn.LeakyReLU(), _init(nn.Linear(hidden, features_dim)))
    predictor = nn.Sequential(nn.Flatten(), _init(nn.Linear(size, hidden)), nn.LeakyReLU(),
                              _init(nn.Linear(hidden, hidden)), nn.LeakyReLU(),
                              _init(nn.Linear(hidden, hidden)), nn.ReLU(), _init(nn.Linear(hidden, features_dim)))
    return target, predictor


class RNDModel(nn.Module):
    """Target, predictor, normalisers and the intrinsic value head of one RND learner.

    :param observation_space: the (channel-first, as SB3 gives images to policies) ``Box`` observations.
    :param value_latent_dim: width of the policy's value latent (``policy.value_net.in_features``).
    :param features_dim: output width of the target and the predictor.
    """

    def __init__(self, observation_space: spaces.Box, value_latent_dim: int, features_dim: int = 512) -> None:
        super().__init__()
        shape = tuple(int(s) for s in observation_space.shape)
        self.target, self.predictor = _networks(shape, features_dim)
        self.target.requires_grad_(False)
        self.obs_rms = RunningMeanStd(shape)
        self.int_return_rms = RunningMeanStd(())
        # a separate head on the same latent as the extrinsic value_net (SB3 initialises that one with gain 1)
        self.int_value_net = _init(nn.Linear(value_latent_dim, 1), gain=1.0)

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """The predictor's and the intrinsic value head's parameters (the target is frozen)."""
        yield from self.predictor.parameters()
        yield from self.int_value_net.parameters()

    def normalize(self, obs: th.Tensor) -> th.Tensor:
        """Observations standardised by the running statistics and clipped to [-5, 5], as float32."""
        mean = self.obs_rms.mean.to(th.float32)
        std = self.obs_rms.std().to(th.float32)
        return ((obs.to(th.float32) - mean) / std).clamp(-OBS_CLIP, OBS_CLIP)

    def prediction_error(self, obs: th.Tensor) -> th.Tensor:
        """Half the squared distance between predictor and target features, per observation (with gradients)."""
        normalized = self.normalize(obs)
        with th.no_grad():
            target = self.target(normalized)
        return (self.predictor(normalized) - target).pow(2).sum(dim=1) / 2

    @th.no_grad()
    def intrinsic_reward(self, obs: np.ndarray | th.Tensor) -> np.ndarray:
        """The raw (unscaled) intrinsic reward of each observation, in chunks.

        :param obs: ``(n, *obs_shape)`` next observations.
        """
        device = self.obs_rms.mean.device
        rewards = [self.prediction_error(th.as_tensor(obs[i:i + ROWS_PER_PASS], device=device)).cpu().numpy()
                   for i in range(0, len(obs), ROWS_PER_PASS)]
        return np.concatenate(rewards) if rewards else np.zeros(0, dtype=np.float32)

    def predictor_loss(self, obs: th.Tensor, proportion: float, mask: th.Tensor | None = None) -> th.Tensor:
        """Mean squared prediction error on a random ``proportion`` of the (unpadded) observations.

        Only the chosen rows go through the networks, so a proportion of 0.25 costs a quarter of 1.

        :param obs: a minibatch of observations.
        :param proportion: the chance that a sample trains the predictor, in (0, 1].
        :param mask: which rows are real samples (recurrent minibatches are padded); ``None``: all.
        """
        keep = th.rand(obs.shape[0], device=obs.device) < proportion
        if mask is not None:
            keep = keep & mask
        if not bool(keep.any()):
            return sum((p.sum() * 0.0 for p in self.predictor.parameters()), th.zeros((), device=obs.device))
        normalized = self.normalize(obs[keep])
        with th.no_grad():
            target = self.target(normalized)
        return (self.predictor(normalized) - target).pow(2).mean(dim=1).mean()

    @th.no_grad()
    def update_obs_stats(self, obs: np.ndarray | th.Tensor) -> None:
        """Merge observations into the running statistics, in chunks."""
        for i in range(0, len(obs), ROWS_PER_PASS):
            self.obs_rms.update(th.as_tensor(obs[i:i + ROWS_PER_PASS]))

    def scale_rewards(self, rewards: np.ndarray, filter_state: np.ndarray,
                      gamma: float) -> tuple[np.ndarray, np.ndarray]:
        """Divide a rollout's raw intrinsic rewards by the running std of the discounted intrinsic return.

        The running statistics first take this rollout's discounted returns (non-episodic, per env).

        :param rewards: ``(n_steps, n_envs)`` raw rewards.
        :param filter_state: the discounted sum carried from the previous rollout, ``(n_envs,)``.
        :param gamma: the intrinsic discount.
        :return: the scaled rewards (float32) and the new filter state.
        """
        returns, state = discounted_returns(rewards, filter_state, gamma)
        self.int_return_rms.update_from_moments(float(returns.mean()), float(returns.var()), returns.size)
        return (rewards / float(self.int_return_rms.std())).astype(np.float32), state
