"""Imitation pretraining: behaviour cloning (feedforward and recurrent) and DAgger."""

from sb3_plus.imitation.bc import (
    BCReport,
    SpaceMismatchError,
    check_spaces,
    evaluate_agreement,
    evaluate_value_mse,
    load_policy_into,
    predict_episode_actions,
    split_episodes,
    train_bc,
)

__all__ = [
    "BCReport",
    "SpaceMismatchError",
    "check_spaces",
    "evaluate_agreement",
    "evaluate_value_mse",
    "load_policy_into",
    "predict_episode_actions",
    "split_episodes",
    "train_bc",
]
