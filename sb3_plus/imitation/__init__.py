"""Imitation pretraining: behaviour cloning (feedforward and recurrent) and DAgger."""

from sb3_plus.imitation.bc import (
    BCReport,
    SpaceMismatchError,
    evaluate_agreement,
    load_policy_into,
    predict_episode_actions,
    train_bc,
)

__all__ = [
    "BCReport",
    "SpaceMismatchError",
    "evaluate_agreement",
    "load_policy_into",
    "predict_episode_actions",
    "train_bc",
]
