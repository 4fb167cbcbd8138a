"""Imitation pretraining: behaviour cloning (feedforward and recurrent), DAgger, critic warm-up, GAIL/AIRL.

Modules: ``settings`` (every knob), ``space_check`` (does data or an env fit a policy),
``normalize`` (RL's observation normalisation), ``episodes`` (datasets -> episodes), ``bc``
(the training loop), ``weights`` (the action head's starting scale, weight averaging, the best
epoch's weights), ``agreement`` (how well a policy imitates recorded episodes),
``critic_warmup``, ``handover`` (weights into an RL model), ``dagger`` and ``dagger_state``,
``adversarial`` (the ``imitation`` package's GAIL and AIRL).

Names below are loaded on first use, so ``sb3_plus.imitation.settings`` stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BCReport": "bc",
    "train_bc": "bc",
    "BCSettings": "settings",
    "DAggerSettings": "settings",
    "SpaceMismatchError": "space_check",
    "check_spaces": "episodes",
    "split_episodes": "episodes",
    "evaluate_agreement": "agreement",
    "evaluate_value_mse": "agreement",
    "predict_episode_actions": "agreement",
    "load_policy_into": "handover",
    "ObservationNormalizer": "normalize",
    "train_dagger": "dagger",
    "DaggerReport": "dagger_state",
    "DaggerResumeError": "dagger_state",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
