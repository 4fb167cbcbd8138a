"""Critic warm-up after BC: regress the value head on discounted returns with the actor frozen.

Only parameters used by the value estimate alone (value head, critic MLP, critic LSTM, a
separate critic features extractor) are trained, so the cloned actions do not change. With a
shared features extractor the value head learns on the actor's features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch as th
from stable_baselines3.common.policies import ActorCriticPolicy
from tqdm import tqdm

from sb3_plus.data.sequences import Episode, SequenceBatcher
from sb3_plus.errors import BadOptionError
from sb3_plus.imitation.agreement import replay, value_mse
from sb3_plus.imitation.scoring import evaluate_batch, masked_mean
from sb3_plus.imitation.space_check import ImageTranspose

# Parameters that only the value estimate uses; everything else is the actor's.
CRITIC_PREFIXES = ("value_net.", "mlp_extractor.value_net.", "lstm_critic.", "critic.", "vf_features_extractor.")


def split_parameters(policy: ActorCriticPolicy) -> tuple[list[th.nn.Parameter], list[th.nn.Parameter]]:
    """``(actor, critic)`` parameters: critic ones are used by the value estimate alone."""
    actor, critic = [], []
    for name, param in policy.named_parameters():
        (critic if name.startswith(CRITIC_PREFIXES) else actor).append(param)
    return actor, critic


@dataclass
class CriticWarmup:
    """One warm-up: the data, how to measure it, and its budget.

    :param batcher: training batches (``batch.returns`` are the targets)
    :param transpose: the image layout change of the data
    :param eval_episodes: episodes the value MSE is measured on (already normalised)
    :param gamma: discount of the returns
    :param lr: Adam learning rate
    :param max_grad_norm: gradient norm clip (``None``: none)
    :param out_of_time: whether the wall budget is spent (checked between minibatches)
    :param progress_bar: show a tqdm bar
    """

    batcher: SequenceBatcher
    transpose: ImageTranspose
    eval_episodes: Sequence[Episode]
    gamma: float
    lr: float
    max_grad_norm: float | None
    out_of_time: Callable[[], bool]
    progress_bar: bool = False

    def values(self, policy: ActorCriticPolicy) -> list[np.ndarray]:
        """The policy's values on the evaluation episodes."""
        return [v for _, v in replay(policy, self.eval_episodes, self.transpose)]

    def value_mse(self, values: list[np.ndarray]) -> float:
        """MSE of ``values`` against the evaluation episodes' returns."""
        return value_mse(values, self.eval_episodes, self.gamma)


def _shift_value_bias(policy: ActorCriticPolicy, mean_return: float, values: list[np.ndarray]) -> None:
    # Returns are often far from a fresh value head's outputs (e.g. ~100 for long episodes);
    # moving the output bias to the mean return first saves the many small Adam steps
    # that would otherwise be spent on the offset alone.
    value_bias = getattr(policy.value_net, "bias", None)
    if value_bias is not None:
        with th.no_grad():
            value_bias += mean_return - float(np.concatenate(values).mean())


def _epoch(policy: ActorCriticPolicy, warmup: CriticWarmup, optimizer: th.optim.Optimizer,
           critic_params: list[th.nn.Parameter], bar: tqdm) -> bool:
    """One pass over the batches; returns whether the budget ran out."""
    policy.set_training_mode(True)
    for batch in warmup.batcher:
        values, _, _ = evaluate_batch(policy, batch, warmup.transpose)
        loss = masked_mean(th.square(values - batch.returns), batch.mask, batch.mask.sum())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if warmup.max_grad_norm is not None:
            th.nn.utils.clip_grad_norm_(critic_params, warmup.max_grad_norm)
        optimizer.step()
        bar.update(batch.n_valid)
        bar.set_postfix(value_loss=f"{loss.item():.4f}", refresh=False)
        if warmup.out_of_time():
            return True
    return False


def warm_up_critic(policy: ActorCriticPolicy, warmup: CriticWarmup, epochs: int) -> tuple[list[float], int, bool]:
    """Train the value estimate alone for ``epochs`` epochs, in place.

    :param policy: the (cloned) policy
    :param warmup: data and budget
    :param epochs: passes over the batches
    :return: value MSE before, then after each epoch; epochs run; whether the budget ran out
    :raises BadOptionError: the policy has no parameter used by the value estimate alone
    """
    _, critic_params = split_parameters(policy)
    if not critic_params:
        raise BadOptionError("critic warm-up: the policy has no parameters used only by the value estimate. "
                             "Fix: set critic_warmup_epochs to 0")
    values = warmup.values(policy)
    mse = [warmup.value_mse(values)]
    _shift_value_bias(policy, float(warmup.batcher.returns.mean()), values)
    critic_ids = {id(p) for p in critic_params}
    frozen = [p for p in policy.parameters() if id(p) not in critic_ids and p.requires_grad]
    optimizer = th.optim.Adam(critic_params, lr=warmup.lr)
    bar = tqdm(total=epochs * warmup.batcher.n_steps, desc="BC critic", unit="step", disable=not warmup.progress_bar,
               dynamic_ncols=True)
    for p in frozen:
        p.requires_grad_(False)
    epochs_run, stopped = 0, False
    try:
        while epochs_run < epochs and not stopped:
            stopped = _epoch(policy, warmup, optimizer, critic_params, bar)
            epochs_run += 1
            mse.append(warmup.value_mse(warmup.values(policy)))
            bar.set_postfix(value_mse=f"{mse[-1]:.4f}")
    finally:
        for p in frozen:
            p.requires_grad_(True)
        bar.close()
    return mse, epochs_run, stopped
