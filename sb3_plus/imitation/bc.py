"""Behaviour cloning for SB3 actor-critic policies, feedforward and recurrent alike.

One code path: a feedforward policy is trained on sequences of length 1, a recurrent one
(sb3-contrib's ``RecurrentActorCriticPolicy``) on padded sequences whose LSTM states start
at zero, in exactly the batch layout ``RecurrentPPO`` uses. The policy is trained in
place, so the usual flow is to build the RL model first and clone into its policy::

    from sb3_contrib import RecurrentPPO
    from sb3_plus.imitation.bc import BCSettings, train_bc

    model = RecurrentPPO("CnnLstmPolicy", env, policy_kwargs=dict(lstm_hidden_size=128))
    report = train_bc(model.policy, "sb3plus/my_way_home/waypoint-v0", BCSettings(epochs=20))
    print(report.final_agreement)
    model.learn(1_000_000)

Three things make BC learn from any consistent expert rather than by luck: SB3's tiny
action-head initialisation (meant for RL) is scaled up first, the weights are averaged
over the last steps, and the best epoch on held-out episodes is kept
(:mod:`sb3_plus.imitation.weights`). The report gives the time and epochs to reach the
agreements of :data:`AGREEMENT_TARGETS`.

Observations go through the policy's own preprocessing (uint8 images are normalized by
the policy, as in PPO), after the optional observation normaliser RL uses
(:mod:`sb3_plus.imitation.normalize`). Channel-last image datasets are transposed to the
channel-first layout that SB3 gives the policy through ``VecTransposeImage``; any other
difference between the dataset's spaces and the policy's raises :class:`SpaceMismatchError`.
Agreement and value checks live in :mod:`sb3_plus.imitation.agreement`, the critic warm-up in
:mod:`sb3_plus.imitation.critic_warmup`, the hand-over to RL in :mod:`sb3_plus.imitation.handover`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch as th
from stable_baselines3.common.policies import ActorCriticPolicy
from tqdm import tqdm

from sb3_plus.data.sequences import Episode, SequenceBatch, SequenceBatcher
from sb3_plus.imitation.agreement import (
    agreement,
    evaluate_agreement,
    evaluate_value_mse,
    predict_episode_actions,
    replay,
)
from sb3_plus.imitation.bc_report import AGREEMENT_TARGETS, BCReport
from sb3_plus.imitation.critic_warmup import (
    CriticWarmup,
    split_parameters,
    warm_up_critic,
)
from sb3_plus.imitation.episodes import (
    as_episodes,
    check_spaces,
    split_episodes,
    to_policy_actions,
)
from sb3_plus.imitation.handover import load_policy_into
from sb3_plus.imitation.normalize import NormalizerLike, as_normalizer
from sb3_plus.imitation.scoring import evaluate_batch, masked_mean
from sb3_plus.imitation.settings import DEFAULT_RECURRENT_SEQ_LEN, WHOLE_EPISODES, BCSettings
from sb3_plus.imitation.space_check import ImageTranspose, SpaceMismatchError
from sb3_plus.imitation.weights import Snapshot, WeightAverage, rescale_untouched_head
from sb3_plus.rollout import is_recurrent

__all__ = [
    "AGREEMENT_TARGETS",
    "DEFAULT_RECURRENT_SEQ_LEN",
    "BCReport",
    "BCSettings",
    "SpaceMismatchError",
    "check_spaces",
    "evaluate_agreement",
    "evaluate_value_mse",
    "load_policy_into",
    "predict_episode_actions",
    "split_episodes",
    "train_bc",
]


@dataclass
class _Run:
    """One call's data, optimiser and clock."""

    policy: ActorCriticPolicy
    settings: BCSettings
    transpose: ImageTranspose
    train: list[Episode]
    holdout: list[Episode]
    batcher: SequenceBatcher
    report: BCReport
    t_begin: float = field(default_factory=time.perf_counter)
    params: list[th.nn.Parameter] = field(default_factory=list)
    average: WeightAverage | None = None
    augment: Any = None  # the training minibatches' augmentations (never the held-out measure)
    best: Snapshot | None = None
    improved_at: int = 0  # last epoch that raised the best held-out agreement (patience counts from it)

    def out_of_time(self) -> bool:
        limit = self.settings.max_seconds
        return limit is not None and time.perf_counter() - self.t_begin > limit


def _sequence_length(seq_len: int | str | None, recurrent: bool, episodes: list[Episode]) -> int:
    """Steps per training sequence: 1 for a feedforward policy; for a recurrent one ``seq_len``, the
    default, or with ``'episode'`` the longest episode (each episode one sequence, so what the LSTM
    must remember from an episode's first steps is in the same sequence as the steps that need it)."""
    if not recurrent:
        return 1 if seq_len in (None, WHOLE_EPISODES) else int(seq_len)
    if seq_len == WHOLE_EPISODES:
        return max(len(ep) for ep in episodes)
    return DEFAULT_RECURRENT_SEQ_LEN if seq_len is None else int(seq_len)


def _setup(policy: ActorCriticPolicy, data: Any, settings: BCSettings, normalizer: NormalizerLike) -> _Run:
    t_begin = time.perf_counter()
    episodes = as_episodes(data)
    norm = as_normalizer(normalizer)
    # normalisation changes bounds and dtype by design: compare shapes then
    transpose = check_spaces(policy, episodes, exact=norm is None)
    recurrent = is_recurrent(policy)
    train_eps, holdout_eps = split_episodes(episodes, settings.holdout_fraction, settings.seed)
    seq_len = _sequence_length(settings.seq_len, recurrent, train_eps)
    fitted = False
    if norm is not None:
        fitted = norm.fit([ep.observations for ep in train_eps])
        train_eps, holdout_eps = norm.episodes(train_eps), norm.episodes(holdout_eps)
        # normalised images are in the statistics' (the policy's) layout already
        transpose = check_spaces(policy, train_eps + holdout_eps, exact=False)
    batcher = SequenceBatcher(
        to_policy_actions(policy, train_eps),
        seq_len=int(seq_len),
        batch_size=settings.batch_size,
        gamma=settings.gamma,
        seed=settings.seed,
        random_offsets=recurrent,
        device=policy.device,
    )
    report = BCReport(seq_len=int(seq_len), recurrent=recurrent, n_train_episodes=len(train_eps),
                      n_holdout_episodes=len(holdout_eps), n_train_steps=batcher.n_steps,
                      normalized=norm is not None, fitted_normalizer=fitted)
    augment = None
    if settings.augment:
        from sb3_plus.policies.augment import Augmenter

        augment = Augmenter(settings.augment, settings.seed)
    return _Run(policy, settings, transpose, train_eps, holdout_eps, batcher, report, t_begin,
                params=list(policy.parameters()), augment=augment)


def _loss(run: _Run, batch: SequenceBatch, actor_params: list[th.nn.Parameter]) -> tuple[th.Tensor, th.Tensor]:
    """``(loss, nll)`` of a minibatch: NLL of the expert's actions, entropy bonus, L2 on the actor."""
    s = run.settings
    mask = batch.mask
    n_valid = mask.sum()
    _, log_prob, entropy = evaluate_batch(run.policy, batch, run.transpose, run.augment)
    nll = -masked_mean(log_prob, mask, n_valid)
    loss = nll
    if s.ent_coef:
        # without a closed-form entropy, the NLL of the expert's actions stands in for it
        ent = masked_mean(entropy, mask, n_valid) if entropy is not None else nll
        loss = loss - s.ent_coef * ent
    if s.l2_coef:
        loss = loss + s.l2_coef * sum(th.sum(p.square()) for p in actor_params)
    return loss, nll


def _epoch(run: _Run, optimizer: th.optim.Optimizer, actor_params: list[th.nn.Parameter], bar: tqdm,
           shown: dict[str, str]) -> int:
    """One pass over the training batches; appends the epoch's mean loss and NLL; returns the steps seen."""
    run.policy.set_training_mode(True)
    loss_sum = nll_sum = 0.0
    samples = 0
    for batch in run.batcher:
        loss, nll = _loss(run, batch, actor_params)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if run.settings.max_grad_norm is not None:
            th.nn.utils.clip_grad_norm_(actor_params, run.settings.max_grad_norm)
        optimizer.step()
        if run.average is not None:
            run.average.update()

        n = int(batch.mask.sum().item())
        loss_sum += float(loss.item()) * n
        nll_sum += float(nll.item()) * n
        samples += n
        shown["loss"] = f"{loss.item():.4f}"
        bar.update(n)
        bar.set_postfix(shown, refresh=False)
        if run.out_of_time():
            run.report.stop_reason = "max_seconds"
            break
    run.report.epochs_run += 1
    run.report.train_loss.append(loss_sum / max(samples, 1))
    run.report.train_nll.append(nll_sum / max(samples, 1))
    return samples


def _measured_weights(run: _Run) -> AbstractContextManager[None]:
    """The weights that are measured and returned: the average when there is one."""
    return run.average.applied() if run.average is not None else nullcontext()


def _measure_holdout(run: _Run, bar: tqdm, shown: dict[str, str]) -> None:
    """Held-out agreement after an epoch; keeps the best epoch's weights and the time to each target."""
    if not run.holdout:
        return
    report = run.report
    with _measured_weights(run):
        predictions = [a for a, _ in replay(run.policy, run.holdout, run.transpose)]
        value = agreement(run.policy, run.holdout, predictions, box_atol=0.1)
        # ties go to the later epoch: as good on the held-out steps, and trained longer (a small
        # held-out set saturates at 1.0 long before the policy is done)
        if report.best_epoch == 0 or value >= report.best_agreement:
            if report.best_epoch == 0 or value > report.best_agreement:
                run.improved_at = report.epochs_run
            report.best_agreement, report.best_epoch = value, report.epochs_run
            if run.settings.keep_best:
                run.best = Snapshot(run.params)
    report.holdout_agreement.append(value)
    for target in AGREEMENT_TARGETS:
        key = f"{target:g}"
        if value >= target and key not in report.epochs_to:
            report.epochs_to[key] = report.epochs_run
            report.seconds_to[key] = time.perf_counter() - run.t_begin
    shown["agree"] = f"{value:.3f}"
    bar.set_postfix(shown)


def _patience_spent(run: _Run) -> bool:
    patience, report = run.settings.patience, run.report
    return patience is not None and bool(run.holdout) and report.epochs_run - run.improved_at >= patience


def _finish(run: _Run) -> None:
    """Leave the policy with the weights BC returns: the best epoch's, else the average, else the last."""
    if run.best is not None:
        run.best.load_into(run.params)
        run.report.returned = "best"
    elif run.average is not None and run.average.updates > 0:
        run.average.load_into_params()
        run.report.returned = "average"


def _clone(run: _Run, callback: Callable[[BCReport], bool | None] | None, progress_bar: bool) -> None:
    """The BC epochs, until done, out of time, or stopped by the callback."""
    report, s = run.report, run.settings
    if s.head_gain is not None and s.epochs > 0:
        report.head_rescaled_from = rescale_untouched_head(run.policy, s.head_gain)
    actor_params, _ = split_parameters(run.policy)
    optimizer = th.optim.Adam(run.params, lr=s.lr)
    if s.ema_decay is not None:
        run.average = WeightAverage(run.params, s.ema_decay)
    train_seconds, train_samples = 0.0, 0
    shown: dict[str, str] = {}
    bar = tqdm(total=run.settings.epochs * run.batcher.n_steps, desc="BC", unit="step", disable=not progress_bar,
               dynamic_ncols=True)
    try:
        for _ in range(run.settings.epochs):
            t_epoch = time.perf_counter()
            train_samples += _epoch(run, optimizer, actor_params, bar, shown)
            train_seconds += time.perf_counter() - t_epoch
            _measure_holdout(run, bar, shown)
            report.samples_per_second = train_samples / train_seconds if train_seconds > 0 else 0.0
            report.total_seconds = time.perf_counter() - run.t_begin
            if report.stop_reason is None and callback is not None and callback(report) is False:
                report.stop_reason = "callback"
            if report.stop_reason is None and _patience_spent(run):
                report.stop_reason = "patience"
            if report.stop_reason is not None:
                break
    finally:
        bar.close()
    _finish(run)


def train_bc(
    policy: ActorCriticPolicy,
    dataset_or_episodes: Any,
    settings: BCSettings | None = None,
    *,
    normalizer: NormalizerLike = None,
    progress_bar: bool = True,
    callback: Callable[[BCReport], bool | None] | None = None,
    **overrides: Any,
) -> BCReport:
    """Clone the expert actions of a dataset into an SB3 policy, in place.

    Loss per step: ``-log pi(a_expert | history) - ent_coef * entropy`` (mean over unpadded
    steps) plus ``l2_coef * sum of squared actor weights``, through ``policy.evaluate_actions``
    exactly as PPO / RecurrentPPO call it. Recurrent policies see sequences of ``seq_len``
    steps starting from zero LSTM states (chunk boundaries move randomly every epoch).

    Before the first epoch an action head still at SB3's RL initialisation (gain 0.01) is
    scaled up to ``head_gain`` (:mod:`sb3_plus.imitation.weights` says why). After every
    epoch the held-out agreement is measured on the weight average (``ema_decay``); the
    policy ends with the best epoch's weights (``keep_best``), and ``patience`` stops early.

    The optional critic warm-up (``critic_warmup_epochs``) runs after BC: it regresses the
    value head on the dataset's discounted returns with the actor frozen
    (:mod:`sb3_plus.imitation.critic_warmup`), so the cloned actions do not change.

    Example::

        model = PPO("CnnPolicy", env, policy_kwargs=dict(net_arch=[64]))
        report = train_bc(model.policy, "sb3plus/maze/waypoint-v0",
                          BCSettings(epochs=10, critic_warmup_epochs=2, gamma=model.gamma))
        model.learn(100_000)

    :param policy: ``model.policy`` of a PPO / A2C (``MlpPolicy``, ``CnnPolicy``,
        ``MultiInputPolicy``) or RecurrentPPO (``MlpLstmPolicy``, ``CnnLstmPolicy``,
        ``MultiInputLstmPolicy``) model
    :param dataset_or_episodes: a ``MinariDataset``, a local dataset id, or a list of :class:`Episode`
    :param settings: the knobs (:class:`BCSettings`; defaults when ``None``)
    :param normalizer: RL's observation normaliser: a ``VecNormalize`` (``model.get_vec_normalize_env()``,
        its statistics set from the training episodes when it has seen nothing yet) or a function
    :param progress_bar: show a tqdm bar with loss and agreement
    :param callback: called with the report after every epoch; return ``False`` to stop
    :param overrides: single :class:`BCSettings` fields over ``settings`` (``epochs=5, lr=3e-4``)
    :return: a :class:`BCReport`
    """
    settings = settings or BCSettings()
    if overrides:
        settings = settings.replace(**overrides)
    run = _setup(policy, dataset_or_episodes, settings, normalizer)
    _clone(run, callback, progress_bar)
    # stopping for patience is BC done; out of time or stopped by the callback is not
    if settings.critic_warmup_epochs > 0 and run.report.stop_reason in (None, "patience"):
        warmup = CriticWarmup(run.batcher, run.transpose, run.holdout or run.train, gamma=settings.gamma,
                              lr=settings.lr, max_grad_norm=settings.max_grad_norm, out_of_time=run.out_of_time,
                              progress_bar=progress_bar)
        mse, epochs_run, stopped = warm_up_critic(policy, warmup, settings.critic_warmup_epochs)
        run.report.value_mse.extend(mse)
        run.report.critic_epochs_run = epochs_run
        if stopped:
            run.report.stop_reason = "max_seconds"
    policy.set_training_mode(False)
    run.report.total_seconds = time.perf_counter() - run.t_begin
    return run.report
