"""The log lines that close a PPO-style update, as SB3's ``PPO.train`` writes them (shared by our updates)."""

from __future__ import annotations

from typing import Any

import torch as th
from stable_baselines3.common.utils import explained_variance


def record_update_end(model: Any, loss: float, clip_range: float, clip_range_vf: float | None) -> None:
    """``train/loss``, ``explained_variance`` (of the rollout buffer's values), ``std``, ``n_updates`` and the clip
    ranges, into ``model.logger``."""
    buffer = model.rollout_buffer
    model.logger.record("train/loss", loss)
    model.logger.record("train/explained_variance",
                        explained_variance(buffer.values.flatten(), buffer.returns.flatten()))
    if hasattr(model.policy, "log_std"):
        model.logger.record("train/std", th.exp(model.policy.log_std).mean().item())
    model.logger.record("train/n_updates", model._n_updates, exclude="tensorboard")
    model.logger.record("train/clip_range", clip_range)
    if clip_range_vf is not None:
        model.logger.record("train/clip_range_vf", clip_range_vf)
