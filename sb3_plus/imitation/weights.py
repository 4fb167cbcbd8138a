"""Weights BC handles besides the live ones: the action head's starting scale, a running average, the best epoch's.

**Why the action head is rescaled.** SB3 initialises ``action_net`` orthogonally with gain
0.01 so that RL starts from a near-uniform policy. For supervised learning that is a
saddle point: the logits barely depend on the features, so the gradient reaching the
features extractor and the LSTM is 100x smaller than the head's own (measured: 0.008 and
0.009 against 0.65; 0.8 and 0.96 with gain 1), and its direction is set by a head that
Adam changes by more than its own size every step. The LSTM's small outputs (|h| about
0.06 from SmallCNN features) make it worse than in a feedforward policy. Measured on
MyWayHome (CnnLstmPolicy, SmallCNN, 100 expert episodes): held-out agreement sat at the
majority action's share (0.502, loss = entropy of the action marginal) for 14 epochs with
seed 0 and all 15 with seed 1; with only the head rescaled to gain 1 it was 0.60 after
one epoch and 0.82 after 15. On the hysteresis expert's data the old path never left the
majority share (0.375, 20 epochs). Learning rate (3e-4, 3e-3), no gradient clipping,
sequence length (1, 8), a separate critic LSTM: still stuck after 15 epochs; 4x more,
smaller batches only moved the escape from epoch 14 to 10. A head still at that
initialisation (zero bias, equal singular values) is rescaled once, before BC; a trained
head is left alone, so DAgger's later rounds and fine-tuned policies keep theirs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch as th
from stable_baselines3.common.policies import ActorCriticPolicy

# singular values of an orthogonal matrix times a gain are all equal to the gain
_EQUAL_SINGULAR_VALUES = 1e-4


def untouched_head_gain(policy: ActorCriticPolicy) -> float | None:
    """The gain of ``policy.action_net`` if it is still an orthogonal initialisation with zero bias, else ``None``."""
    head = getattr(policy, "action_net", None)
    if not isinstance(head, th.nn.Linear):
        return None
    if head.bias is not None and bool(th.any(head.bias != 0)):
        return None
    singular = th.linalg.svdvals(head.weight.detach().double())
    if float(singular.min()) <= 0 or float(singular.max() / singular.min()) - 1 > _EQUAL_SINGULAR_VALUES:
        return None
    return float(singular.max())


def rescale_untouched_head(policy: ActorCriticPolicy, gain: float) -> float | None:
    """Scale an untouched, smaller orthogonal action head up to ``gain`` (same directions, no random draw).

    :param policy: the policy, changed in place
    :param gain: the head's gain afterwards
    :return: the gain it had, or ``None`` when it was left alone (trained, or already as large)
    """
    before = untouched_head_gain(policy)
    if before is None or before >= gain:
        return None
    with th.no_grad():
        policy.action_net.weight.mul_(gain / before)
    return before


class Snapshot:
    """A copy of some parameters' values, to put back later."""

    def __init__(self, params: Sequence[th.nn.Parameter]) -> None:
        self.values = [p.detach().clone() for p in params]

    def load_into(self, params: Sequence[th.nn.Parameter]) -> None:
        """Copy the saved values into ``params`` (the same list they were taken from)."""
        with th.no_grad():
            for p, v in zip(params, self.values):
                p.copy_(v)


class WeightAverage:
    """Exponential moving average of parameters (Polyak averaging), updated after every optimizer step.

    The average of the last few hundred steps generalises better than the last step's weights
    (MyWayHome, mean held-out agreement of the last five of 40 epochs: 0.854 against 0.833 on the
    waypoint expert's data, 0.910 against 0.897 on the hysteresis expert's).
    The decay ramps up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so that on a
    small dataset the average follows the early, fast changes instead of lagging by many epochs.

    :param params: the parameters to average
    :param decay: weight of the old average at every update once ramped up
    """

    def __init__(self, params: Sequence[th.nn.Parameter], decay: float) -> None:
        self.params = list(params)
        self.decay = float(decay)
        self.average = Snapshot(self.params).values
        self.updates = 0

    def update(self) -> None:
        """Move the average towards the current parameters."""
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        with th.no_grad():
            for avg, p in zip(self.average, self.params):
                avg.lerp_(p.detach(), 1.0 - decay)
        self.updates += 1

    def _swap(self) -> None:
        with th.no_grad():
            for avg, p in zip(self.average, self.params):
                live = p.detach().clone()
                p.copy_(avg)
                avg.copy_(live)

    @contextmanager
    def applied(self) -> Iterator[None]:
        """Within the block the parameters hold the average; the live values come back afterwards."""
        self._swap()
        try:
            yield
        finally:
            self._swap()

    def load_into_params(self) -> None:
        """Make the average the parameters' values for good."""
        with th.no_grad():
            for avg, p in zip(self.average, self.params):
                p.copy_(avg)
