"""Keep the value loss out of the features a policy shares with its critic (``finetune: {detach_critic: true}``).

An SB3 policy with a shared features extractor (the default for CNN policies, and RecurrentPPO's CNN
before its two LSTMs) trains those features with the sum of the policy loss and ``vf_coef`` times the
value loss. After pretraining, the features are what the cloned policy acts on, and the value loss of
the first RL updates (large: the critic has just met the returns) moves them far more than the policy's
own small gradients do, which can undo the clone within a few updates. With the critic's input detached,
the value loss trains only what the critic alone uses (its MLP, LSTM or linear layer, and the value head).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch as th

__all__ = ["critic_entry", "detached_critic"]


def critic_entry(policy: th.nn.Module) -> th.nn.Module | None:
    """The first module of ``policy`` that only the critic uses and that reads the shared features, or
    ``None`` when no value gradient reaches shared features (a critic with its own features extractor, or a
    recurrent critic that reads the actor's LSTM output detached)."""
    if not getattr(policy, "share_features_extractor", True):
        return None
    if hasattr(policy, "lstm_actor"):  # sb3-contrib's recurrent policy
        if getattr(policy, "lstm_critic", None) is not None:
            return policy.lstm_critic
        if getattr(policy, "shared_lstm", False):
            return None
        return getattr(policy, "critic", None)
    extractor = getattr(policy, "mlp_extractor", None)
    return getattr(extractor, "value_net", None)


def _detach_input(module: th.nn.Module, args: tuple) -> tuple:
    return (args[0].detach(), *args[1:])


@contextmanager
def detached_critic(policy: th.nn.Module, active: bool = True) -> Iterator[bool]:
    """Within the block, the critic reads the shared features detached (no effect when ``active`` is false or
    the policy shares none). Yields whether a detach is in place."""
    entry = critic_entry(policy) if active else None
    if entry is None:
        yield False
        return
    handle = entry.register_forward_pre_hook(_detach_input)
    try:
        yield True
    finally:
        handle.remove()
