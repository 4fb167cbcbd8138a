"""What one BC call did: losses, held-out agreement per epoch, the weights it returned, time to each target."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

#: Held-out agreements whose time and epoch of first reaching :class:`BCReport` records.
AGREEMENT_TARGETS = (0.9, 0.95)


@dataclass
class BCReport:
    """What :func:`train_bc` did.

    :param train_loss: mean training loss per epoch (NLL - ent_coef * entropy + L2 term)
    :param train_nll: mean negative log-likelihood of the expert actions per epoch
    :param holdout_agreement: per epoch, fraction of held-out steps where the policy's
        deterministic action equals the expert's (Box actions: within 0.1 on every
        component; see :func:`evaluate_agreement`), empty without held-out episodes; measured
        on the weight average when ``ema_decay`` is set
    :param best_agreement: the best of ``holdout_agreement`` (NaN without held-out episodes);
        ``best_epoch``: its epoch (1-based, 0 before any)
    :param returned: which weights the policy holds afterwards: ``"best"`` (the best epoch's),
        ``"average"`` (the weight average at the end) or ``"last"``
    :param seconds_to: per target of :data:`AGREEMENT_TARGETS` reached (keys ``"0.9"``, ``"0.95"``),
        seconds from the call's start to the end of the epoch that first reached it;
        ``epochs_to``: that epoch
    :param head_rescaled_from: the action head's gain before BC rescaled it to ``head_gain``
        (``None``: left as it was)
    :param value_mse: critic warm-up: value MSE against discounted returns before warm-up,
        then after each warm-up epoch (held-out episodes, or training ones if none are held out)
    :param samples_per_second: training throughput in unpadded steps per second
    :param total_seconds: wall-clock time of the whole call
    :param epochs_run: BC epochs run (the last one may be partial when stopped early)
    :param critic_epochs_run: critic warm-up epochs run
    :param seq_len: sequence length used
    :param recurrent: whether the policy is recurrent
    :param n_train_episodes: episodes trained on
    :param n_holdout_episodes: episodes held out for agreement
    :param n_train_steps: steps trained on per epoch
    :param stop_reason: ``None``, ``"max_seconds"``, ``"callback"`` or ``"patience"`` (no better
        held-out agreement for ``patience`` epochs)
    :param normalized: whether observations were normalised; ``fitted_normalizer``: whether BC set
        the normaliser's statistics from the training episodes
    """

    train_loss: list[float] = field(default_factory=list)
    train_nll: list[float] = field(default_factory=list)
    holdout_agreement: list[float] = field(default_factory=list)
    best_agreement: float = math.nan
    best_epoch: int = 0
    returned: str = "last"
    seconds_to: dict[str, float] = field(default_factory=dict)
    epochs_to: dict[str, int] = field(default_factory=dict)
    head_rescaled_from: float | None = None
    value_mse: list[float] = field(default_factory=list)
    samples_per_second: float = 0.0
    total_seconds: float = 0.0
    epochs_run: int = 0
    critic_epochs_run: int = 0
    seq_len: int = 1
    recurrent: bool = False
    n_train_episodes: int = 0
    n_holdout_episodes: int = 0
    n_train_steps: int = 0
    stop_reason: str | None = None
    normalized: bool = False
    fitted_normalizer: bool = False

    @property
    def final_agreement(self) -> float:
        """Held-out agreement of the weights the policy holds afterwards (NaN when nothing was held out)."""
        if self.returned == "best":
            return self.best_agreement
        return self.holdout_agreement[-1] if self.holdout_agreement else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form, for JSON logs (with ``final_agreement``)."""
        return {**asdict(self), "final_agreement": self.final_agreement}
