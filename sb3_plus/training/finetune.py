"""RL after pretraining that adds to the pretrained policy: a critic-only start, and an anchor toward it.

Plain PPO on a cloned policy moves it before its value function means anything (the critic
never saw the clone's own returns, so the advantages are noise), and nothing pulls it back from
the mistakes of those first updates. Two remedies from the fine-tuning literature (a value
warm-up and a decaying KL term toward the pretrained policy, as in VPT; DAPG's decaying
imitation term), both inside PPO's ``train()``:

- **critic-only phase** (``finetune: {critic_only: {steps, learning_rate}}``): the rollouts of
  the first N env steps of RL train the value function alone, at their own learning rate; the
  parameters the action distribution uses (a shared features extractor or LSTM included) keep
  the cloned behaviour. Before the first such update the value head's output bias moves to the
  rollout's mean return, a gap Adam's small steps would take long to cross;
- **anchor** (``finetune: {anchor: {kl_coef, decay_steps, decay}}``): ``kl_coef * KL(pi_pretrained || pi)``
  on each minibatch's observations joins the loss from the first update that moves the policy,
  its weight falling to 0 over ``decay_steps`` env steps (or halving every ``decay_steps``). The
  pretrained policy is a frozen copy; a recurrent one runs on the same sequences, from the same
  LSTM states (those the rollout recorded), as the policy itself.
- **detached critic** (``finetune: {detach_critic: true}``): the value loss trains only the parts the
  critic alone uses; features shared with the policy move by the policy's loss and the anchor only
  (:mod:`sb3_plus.training.critic_inputs`).

:class:`FinetunePPO` and :class:`~sb3_plus.training.finetune_recurrent.FinetuneRecurrentPPO`
override PPO's update only, and do nothing new until :meth:`FinetuneMixin.begin_finetune` (a
GAIL generator trained while pretraining updates as plain PPO). Their zips are ordinary SB3 zips
without the frozen copy: ``PPO.load`` / ``RecurrentPPO.load`` open them, the subclass's ``load``
restores the schedules, and ``set_anchor`` the pretrained policy (a run keeps it as ``pretrained.zip``).
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.distributions import Distribution
from torch.nn import functional as F

from sb3_plus.config.finetune import ANCHOR_DECAYS, FinetuneSettings
from sb3_plus.errors import BadOptionError
from sb3_plus.training.critic_inputs import detached_critic
from sb3_plus.update_log import record_update_end

__all__ = ["ANCHOR_DECAYS", "FinetuneMixin", "FinetunePPO", "FinetuneSettings", "KeptDistribution", "anchor_coef_at",
           "distribution_kl", "finetune_class", "frozen_copy", "keep_distribution"]


def anchor_coef_at(kl_coef: float, decay: str, decay_steps: int, steps: int) -> float:
    """The anchor's weight ``steps`` env steps after the policy started to move.

    :param kl_coef: the weight at step 0.
    :param decay: one of :data:`ANCHOR_DECAYS`.
    :param decay_steps: env steps to 0 (linear) or per halving (exponential).
    :param steps: env steps since the policy started to move (negative counts as 0).
    """
    steps = max(int(steps), 0)
    if kl_coef <= 0 or decay == "constant":
        return float(max(kl_coef, 0.0))
    if decay == "linear":
        return float(kl_coef * max(0.0, 1.0 - steps / decay_steps))
    return float(kl_coef * 0.5 ** (steps / decay_steps))


def frozen_copy(policy: th.nn.Module) -> th.nn.Module:
    """A copy of ``policy`` in evaluation mode, without gradients and without its optimizer's state."""
    optimizer = getattr(policy, "optimizer", None)
    memo = {id(optimizer): None} if optimizer is not None else {}
    # the last distribution the policy built (e.g. in PPO's last update) is part of a graph and cannot be copied
    dist = getattr(policy, "action_dist", None)
    last = getattr(dist, "distribution", None)
    if last is not None:
        dist.distribution = None
    try:
        anchor = copy.deepcopy(policy, memo)
    finally:
        if last is not None:
            dist.distribution = last
    anchor.requires_grad_(False)
    anchor.set_training_mode(False)
    return anchor


def _kl(p: th.distributions.Distribution, q: th.distributions.Distribution) -> th.Tensor:
    if isinstance(p, th.distributions.Categorical) and isinstance(q, th.distributions.Categorical):
        # from the log-probabilities: torch's version is inf (and passes no gradient) where q's probability
        # underflows to 0, which a cloned policy's logits (gaps of 30-80) reach; this one stays finite and pulls
        return (p.probs * (p.logits - q.logits)).sum(-1)
    return th.distributions.kl_divergence(p, q)


def distribution_kl(reference: Distribution, current: Distribution) -> th.Tensor:
    """``KL(reference || current)`` per sample (summed over action dimensions and sub-actions)."""
    ref, cur = reference.distribution, current.distribution
    if isinstance(ref, list):  # MultiDiscrete: independent categoricals
        return th.stack([_kl(p, q) for p, q in zip(ref, cur)], dim=1).sum(dim=1)
    kl = _kl(ref, cur)
    return kl.sum(dim=tuple(range(1, kl.dim()))) if kl.dim() > 1 else kl


class KeptDistribution:
    """The action distribution a policy built inside :func:`keep_distribution` (``None`` if it built none)."""

    distribution: Distribution | None = None


@contextmanager
def keep_distribution(policy: th.nn.Module, keep: bool) -> Iterator[KeptDistribution]:
    """Keep the action distribution that ``policy.evaluate_actions`` builds, so that the anchor's KL needs no
    second forward pass through the policy (a pixel policy's features and LSTM cost most of an update).

    :param policy: an SB3 actor-critic policy (its ``_get_action_dist_from_latent`` is wrapped meanwhile).
    :param keep: whether to keep it (otherwise nothing is wrapped).
    """
    kept = KeptDistribution()
    build = getattr(policy, "_get_action_dist_from_latent", None)
    if not keep or build is None:
        yield kept
        return

    def keeping(latent_pi: th.Tensor) -> Distribution:
        kept.distribution = build(latent_pi)
        return kept.distribution

    policy._get_action_dist_from_latent = keeping
    try:
        yield kept
    finally:
        del policy._get_action_dist_from_latent


class FinetuneMixin:
    """State and steps shared by the fine-tuning variants of PPO and RecurrentPPO.

    The anchor's weight and the critic-only phase are counted in env steps from ``finetune_start``, the
    model's step count when :meth:`begin_finetune` was called; before that, updates are plain PPO's.

    :param anchor_kl_coef: weight of ``KL(pi_pretrained || pi)`` at the first update that moves the policy
    :param anchor_decay_steps: env steps over which the weight falls to 0 (linear) or halves (exponential)
    :param anchor_decay: one of :data:`ANCHOR_DECAYS`
    :param critic_only_steps: env steps at the start whose rollouts train the value function alone
    :param critic_only_lr: Adam learning rate of those updates
    :param detach_critic: once fine-tuning began, the value loss does not train features shared with the policy
    :param kwargs: the algorithm's arguments
    """

    def __init__(self, *args: Any, anchor_kl_coef: float = 0.0, anchor_decay_steps: int = 100_000,
                 anchor_decay: str = "linear", critic_only_steps: int = 0, critic_only_lr: float = 1e-3,
                 detach_critic: bool = False, **kwargs: Any) -> None:
        FinetuneSettings(anchor_kl_coef, anchor_decay_steps, anchor_decay, critic_only_steps, critic_only_lr,
                         detach_critic).check()
        self.detach_critic = bool(detach_critic)
        self.anchor_kl_coef = float(anchor_kl_coef)
        self.anchor_decay_steps = int(anchor_decay_steps)
        self.anchor_decay = anchor_decay
        self.critic_only_steps = int(critic_only_steps)
        self.critic_only_lr = float(critic_only_lr)
        self.finetune_start: int | None = None
        self.value_bias_fitted = False
        self.anchor_policy: th.nn.Module | None = None
        super().__init__(*args, **kwargs)

    @property
    def finetune_settings(self) -> FinetuneSettings:
        """The model's fine-tuning settings."""
        return FinetuneSettings(self.anchor_kl_coef, self.anchor_decay_steps, self.anchor_decay,
                                self.critic_only_steps, self.critic_only_lr, getattr(self, "detach_critic", False))

    def begin_finetune(self) -> None:
        """Start RL from the current (pretrained) policy: its frozen copy is the anchor, the schedules start now."""
        self.finetune_start = int(self.num_timesteps)
        self.set_anchor(self.policy)

    def anchor_coef_now(self) -> float:
        """The anchor's weight at the current step, were the policy moving (its full weight before RL began)."""
        if self.finetune_start is None:
            return float(self.anchor_kl_coef)
        steps = int(self.num_timesteps) - self.finetune_start - self.critic_only_steps
        return anchor_coef_at(self.anchor_kl_coef, self.anchor_decay, self.anchor_decay_steps, steps)

    def set_anchor(self, policy: th.nn.Module | Mapping[str, th.Tensor]) -> None:
        """The policy RL is anchored to: a policy like ``self.policy``, or its ``state_dict``.

        :raises BadOptionError: a state dict that does not fit the model's policy.
        """
        if isinstance(policy, Mapping):
            anchor = frozen_copy(self.policy)
            try:
                anchor.load_state_dict(policy)
            except RuntimeError as exc:
                raise BadOptionError(f"the anchor's weights do not fit the model's policy ({exc}). Fix: pass the "
                                     "pretrained policy of this run (its pretrained.zip)") from None
            self.anchor_policy = anchor
        else:
            self.anchor_policy = frozen_copy(policy)

    def _excluded_save_params(self) -> list[str]:
        # the frozen copy would be pickled into `data`; run folders keep it as pretrained.zip instead
        return [*super()._excluded_save_params(), "anchor_policy", "_critic_param_ids"]

    def train(self) -> None:
        """One update of the algorithm with the anchor and the critic-only phase (``_train_update``); once
        fine-tuning began, with ``detach_critic`` the value loss leaves shared features alone."""
        with detached_critic(self.policy, self.detach_critic and self.finetune_start is not None):
            self._train_update()

    def _finetune_update(self) -> tuple[float, bool]:
        """This update's anchor weight and whether only the value function learns (after the learning rate is set)."""
        if self.finetune_start is None:  # not begun: plain updates (e.g. a GAIL generator's, while pretraining)
            return 0.0, False
        rollout = self.n_steps * self.n_envs
        steps = int(self.num_timesteps) - self.finetune_start
        critic_only = steps <= self.critic_only_steps
        if critic_only:
            self._start_critic_only_update()
        coef = 0.0 if critic_only else anchor_coef_at(self.anchor_kl_coef, self.anchor_decay, self.anchor_decay_steps,
                                                      steps - self.critic_only_steps - rollout)
        if coef > 0 and self.anchor_policy is None:
            raise BadOptionError("this model's RL is anchored to its pretrained policy, which a saved model does not "
                                 "hold. Fix: model.set_anchor(policy or state dict) after load (a training run keeps "
                                 "it as pretrained.zip), or set anchor_kl_coef=0")
        if coef > 0:
            self.anchor_policy.to(self.device)
        return coef, critic_only

    def _start_critic_only_update(self) -> None:
        """Its own learning rate; before the first, the value head's output bias moves to the mean return."""
        for group in self.policy.optimizer.param_groups:
            group["lr"] = self.critic_only_lr
        self.logger.record("train/learning_rate", self.critic_only_lr)
        bias = getattr(getattr(self.policy, "value_net", None), "bias", None)
        if self.value_bias_fitted or bias is None:
            return
        # A value head that never saw the clone's returns is off by their mean, which Adam's small steps
        # take long to cross; the constant part is fitted at once instead.
        offset = float(np.mean(self.rollout_buffer.returns) - np.mean(self.rollout_buffer.values))
        with th.no_grad():
            bias += offset
        self.value_bias_fitted = True

    def _anchor_loss(self, inputs: tuple[Any, ...], kept: KeptDistribution, coef: float, kls: list[float],
                     mask: th.Tensor | None = None) -> th.Tensor:
        """``coef * mean KL(pi_pretrained || pi)`` over the (unpadded) samples; the mean KL goes to ``kls``.

        :param inputs: what ``get_distribution`` takes (observations; a recurrent policy's LSTM states and
            episode starts too).
        :param kept: the distribution of the policy on them, as ``evaluate_actions`` built it.
        """
        def distribution(policy: th.nn.Module) -> Distribution:
            out = policy.get_distribution(*inputs)
            return out[0] if isinstance(out, tuple) else out  # a recurrent policy's comes with its LSTM states

        with th.no_grad():
            reference = distribution(self.anchor_policy)
        current = kept.distribution if kept.distribution is not None else distribution(self.policy)
        kl = distribution_kl(reference, current)
        mean = kl.mean() if mask is None else kl[mask].mean()
        kls.append(mean.item())
        return coef * mean

    def _drop_actor_grads(self) -> None:
        """Forget the gradients of every parameter the action distribution uses (critic-only updates)."""
        if getattr(self, "_critic_param_ids", None) is None:
            from sb3_plus.imitation.critic_warmup import split_parameters

            self._critic_param_ids = {id(p) for p in split_parameters(self.policy)[1]}
        for param in self.policy.parameters():
            if id(param) not in self._critic_param_ids:
                param.grad = None

    def _log_finetune(self, coef: float, critic_only: bool, kls: list[float]) -> None:
        self.logger.record("finetune/anchor_coef", coef)
        self.logger.record("finetune/critic_only", int(critic_only))
        if kls:
            self.logger.record("finetune/anchor_kl", float(np.mean(kls)))

    def _optimize(self, loss: th.Tensor, critic_only: bool) -> None:
        """One optimizer step on ``loss``; in the critic-only phase the action path's gradients are dropped."""
        self.policy.optimizer.zero_grad()
        loss.backward()
        if critic_only:
            self._drop_actor_grads()
        th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.policy.optimizer.step()

    def _log_update(self, entropy_losses: list, pg_losses: list, value_losses: list, approx_kl_divs: list,
                    clip_fractions: list, loss: th.Tensor, clip_range: float, clip_range_vf: float | None) -> None:
        """The update's log lines, as PPO and RecurrentPPO write them."""
        self.logger.record("train/entropy_loss", np.mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", np.mean(pg_losses))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/approx_kl", np.mean(approx_kl_divs))
        self.logger.record("train/clip_fraction", np.mean(clip_fractions))
        record_update_end(self, loss.item(), clip_range, clip_range_vf)


class FinetunePPO(FinetuneMixin, PPO):
    """PPO that fine-tunes a pretrained policy: an anchor toward it and a critic-only start (see the module
    and :class:`FinetuneMixin` for the arguments besides PPO's)."""

    def _train_update(self) -> None:
        """PPO's update (stable_baselines3 2.9 ``PPO.train``) plus the anchor and the critic-only phase."""
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        # Update optimizer learning rate
        self._update_learning_rate(self.policy.optimizer)
        # Compute current clip range
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        # Optional: clip range for the value function
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]
        anchor_coef, critic_only = self._finetune_update()

        entropy_losses = []
        pg_losses, value_losses = [], []
        clip_fractions = []
        anchor_kls: list[float] = []

        continue_training = True
        # train for n_epochs epochs
        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            # Do a complete pass on the rollout buffer
            for rollout_data in self.rollout_buffer.get(self.batch_size):
                actions = rollout_data.actions
                if isinstance(self.action_space, spaces.Discrete):
                    # Convert discrete action from float to long
                    actions = rollout_data.actions.long().flatten()

                with keep_distribution(self.policy, anchor_coef > 0) as kept:
                    values, log_prob, entropy = self.policy.evaluate_actions(rollout_data.observations, actions)
                values = values.flatten()
                # Normalize advantage
                advantages = rollout_data.advantages
                # Normalization does not make sense if mini batchsize == 1, see GH issue #325
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)

                # ratio between old and new policy, should be one at the first iteration
                ratio = th.exp(log_prob - rollout_data.old_log_prob)

                # clipped surrogate loss
                policy_loss_1 = advantages * ratio
                policy_loss_2 = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
                policy_loss = -th.min(policy_loss_1, policy_loss_2).mean()

                # Logging
                pg_losses.append(policy_loss.item())
                clip_fraction = th.mean((th.abs(ratio - 1) > clip_range).float()).item()
                clip_fractions.append(clip_fraction)

                if self.clip_range_vf is None:
                    # No clipping
                    values_pred = values
                else:
                    # Clip the difference between old and new value
                    # NOTE: this depends on the reward scaling
                    values_pred = rollout_data.old_values + th.clamp(
                        values - rollout_data.old_values, -clip_range_vf, clip_range_vf
                    )
                # Value loss using the TD(gae_lambda) target
                value_loss = F.mse_loss(rollout_data.returns, values_pred)
                value_losses.append(value_loss.item())

                # Entropy loss favor exploration
                if entropy is None:
                    # Approximate entropy when no analytical form
                    entropy_loss = -th.mean(-log_prob)
                else:
                    entropy_loss = -th.mean(entropy)

                entropy_losses.append(entropy_loss.item())

                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
                if anchor_coef > 0:
                    loss = loss + self._anchor_loss((rollout_data.observations,), kept, anchor_coef, anchor_kls)

                # Calculate approximate form of reverse KL Divergence for early stopping
                # see issue #417: https://github.com/DLR-RM/stable-baselines3/issues/417
                # and discussion in PR #419: https://github.com/DLR-RM/stable-baselines3/pull/419
                # and Schulman blog: http://joschu.net/blog/kl-approx.html
                with th.no_grad():
                    log_ratio = log_prob - rollout_data.old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio).cpu().numpy()
                    approx_kl_divs.append(approx_kl_div)

                if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                    continue_training = False
                    if self.verbose >= 1:
                        print(f"Early stopping at step {epoch} due to reaching max kl: {approx_kl_div:.2f}")
                    break

                self._optimize(loss, critic_only)

            self._n_updates += 1
            if not continue_training:
                break

        self._log_update(entropy_losses, pg_losses, value_losses, approx_kl_divs, clip_fractions, loss, clip_range,
                         clip_range_vf if self.clip_range_vf is not None else None)
        self._log_finetune(anchor_coef, critic_only, anchor_kls)


def finetune_class(algo_cls: type) -> type | None:
    """The fine-tuning variant of an algorithm class: PPO and RecurrentPPO have one, others (subclasses too) not."""
    from sb3_contrib import RecurrentPPO

    from sb3_plus.policies.recurrent import RecurrentPPO as OneCallRecurrentPPO

    if algo_cls is PPO:
        return FinetunePPO
    if algo_cls in (RecurrentPPO, OneCallRecurrentPPO):
        from sb3_plus.training.finetune_recurrent import FinetuneRecurrentPPO

        return FinetuneRecurrentPPO
    return None
