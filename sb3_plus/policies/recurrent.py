"""RecurrentPPO with one LSTM call per training minibatch instead of one per time step.

sb3-contrib's recurrent policies run the LSTM step by step, in Python, whenever any
``episode_start`` in the batch is set, so that a reset can zero the state mid-sequence. Its
rollout buffer cuts sequences at episode starts, so in a training minibatch an episode start
only ever falls on a sequence's first step: zeroing the initial states of those sequences and
running the whole padded batch through the LSTM at once gives the same outputs (padding
follows the real steps and an LSTM looks only backwards). On the shipped MyWayHome config this
is 15x faster for the LSTM part of the update (a loop of up to ``n_steps`` small calls per
minibatch becomes one call). Batches with a reset after their first step still take the
step-by-step path.

The policies are sb3-contrib's with that one method replaced; :class:`RecurrentPPO` only points
its policy names at them, so its zips are ordinary RecurrentPPO zips
(``sb3_contrib.RecurrentPPO.load`` reads them).
"""

from __future__ import annotations

from typing import Any, ClassVar

import sb3_contrib
import torch as th
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.ppo_recurrent import policies as contrib_policies
from torch import nn


class _OneLstmCall:
    """Mixin: ``_process_sequence`` in one LSTM call when resets only fall on sequence starts."""

    @staticmethod
    def _process_sequence(features: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor,
                          lstm: nn.LSTM) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        n_seq = lstm_states[0].shape[1]
        starts = episode_starts.reshape((n_seq, -1))
        if starts.shape[1] > 1 and bool((starts[:, 1:] != 0).any()):
            return RecurrentActorCriticPolicy._process_sequence(features, lstm_states, episode_starts, lstm)
        keep = (1.0 - starts[:, 0]).view(1, n_seq, 1)
        sequence = features.reshape((n_seq, -1, lstm.input_size)).swapaxes(0, 1)
        output, states = lstm(sequence, (keep * lstm_states[0], keep * lstm_states[1]))
        return th.flatten(output.transpose(0, 1), start_dim=0, end_dim=1), states


def set_lstm_forget_bias(policy: nn.Module, value: float) -> int:
    """Start every LSTM of ``policy`` with forget gates biased to ``value`` (and the input-to-hidden
    and hidden-to-hidden biases' other gates left as they are): with 1.0 a new LSTM keeps about 73% of
    its cell a step instead of 50%, so an early observation still reaches the loss tens of steps
    later and BC or RL can learn to remember it (Gers et al. 2000; Jozefowicz et al. 2015).

    :return: the number of LSTMs changed.
    :raises BadOptionError: the policy has no LSTM.
    """
    from sb3_plus.errors import BadOptionError

    lstms = [m for m in policy.modules() if isinstance(m, nn.LSTM)]
    if not lstms:
        raise BadOptionError(f"lstm_forget_bias: {type(policy).__name__} has no LSTM. Fix: remove lstm_forget_bias, "
                             "or use a recurrent policy (ppo_lstm's CnnLstmPolicy, the explorer/follower policy)")
    with th.no_grad():
        for lstm in lstms:
            size = lstm.hidden_size
            for name, param in lstm.named_parameters():
                # PyTorch orders the gates input, forget, cell, output; the two biases add up
                if name.startswith("bias_ih"):
                    param[size:2 * size].fill_(float(value))
                elif name.startswith("bias_hh"):
                    param[size:2 * size].zero_()
    return len(lstms)


class MlpLstmPolicy(_OneLstmCall, contrib_policies.MlpLstmPolicy):
    """sb3-contrib's ``MlpLstmPolicy``, one LSTM call per training minibatch."""


class CnnLstmPolicy(_OneLstmCall, contrib_policies.CnnLstmPolicy):
    """sb3-contrib's ``CnnLstmPolicy``, one LSTM call per training minibatch."""


class MultiInputLstmPolicy(_OneLstmCall, contrib_policies.MultiInputLstmPolicy):
    """sb3-contrib's ``MultiInputLstmPolicy``, one LSTM call per training minibatch."""


class RecurrentPPO(sb3_contrib.RecurrentPPO):
    """sb3-contrib's RecurrentPPO whose policy names resolve to the policies above (same arguments, same zips)."""

    policy_aliases: ClassVar[dict[str, Any]] = {
        "MlpLstmPolicy": MlpLstmPolicy,
        "CnnLstmPolicy": CnnLstmPolicy,
        "MultiInputLstmPolicy": MultiInputLstmPolicy,
    }
