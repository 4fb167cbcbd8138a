"""RecurrentPPO that fine-tunes a pretrained policy: see :mod:`sb3_plus.training.finetune`."""

from __future__ import annotations

import torch as th
from gymnasium import spaces
from sb3_plus.policies.recurrent import RecurrentPPO
from sb3_plus.training.finetune import FinetuneMixin, keep_distribution


class FinetuneRecurrentPPO(FinetuneMixin, RecurrentPPO):
    """RecurrentPPO with an anchor toward the pretrained policy and a critic-only start.

    The pretrained policy is evaluated on the rollout buffer's sequences, from the LSTM states
    the rollout recorded at each sequence's start (see :mod:`sb3_plus.training.finetune`, and
    :class:`~sb3_plus.training.finetune.FinetuneMixin` for the arguments besides RecurrentPPO's).
    """

    def _train_update(self) -> None:
        """RecurrentPPO's update (sb3_contrib 2.9 ``RecurrentPPO.train``) plus the anchor and the critic-only phase."""
        # Switch to train mode (this affects batch norm / dropout)
        self.policy.set_training_mode(True)
        # Update optimizer learning rate
        self._update_learning_rate(self.policy.optimizer)
        # Compute current clip range
        clip_range = self.clip_range(self._current_progress_remaining)
        # Optional: clip range for the value function
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)
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

                # Convert mask from float to bool
                mask = rollout_data.mask > 1e-8

                with keep_distribution(self.policy, anchor_coef > 0) as kept:
                    values, log_prob, entropy = self.policy.evaluate_actions(
                        rollout_data.observations,
                        actions,
                        rollout_data.lstm_states,
                        rollout_data.episode_starts,
                    )

                values = values.flatten()
                # Normalize advantage
                advantages = rollout_data.advantages
                if self.normalize_advantage:
                    advantages = (advantages - advantages[mask].mean()) / (advantages[mask].std() + 1e-8)

                # ratio between old and new policy, should be one at the first iteration
                ratio = th.exp(log_prob - rollout_data.old_log_prob)

                # clipped surrogate loss
                policy_loss_1 = advantages * ratio
                policy_loss_2 = advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range)
                policy_loss = -th.mean(th.min(policy_loss_1, policy_loss_2)[mask])

                # Logging
                pg_losses.append(policy_loss.item())
                clip_fraction = th.mean((th.abs(ratio - 1) > clip_range).float()[mask]).item()
                clip_fractions.append(clip_fraction)

                if self.clip_range_vf is None:
                    # No clipping
                    values_pred = values
                else:
                    # Clip the different between old and new value
                    # NOTE: this depends on the reward scaling
                    values_pred = rollout_data.old_values + th.clamp(
                        values - rollout_data.old_values, -clip_range_vf, clip_range_vf
                    )
                # Value loss using the TD(gae_lambda) target
                # Mask padded sequences
                value_loss = th.mean(((rollout_data.returns - values_pred) ** 2)[mask])

                value_losses.append(value_loss.item())

                # Entropy loss favor exploration
                if entropy is None:
                    # Approximate entropy when no analytical form
                    entropy_loss = -th.mean(-log_prob[mask])
                else:
                    entropy_loss = -th.mean(entropy[mask])

                entropy_losses.append(entropy_loss.item())

                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
                if anchor_coef > 0:
                    # the pretrained policy on the same sequences, from the rollout's LSTM states
                    sequence = (rollout_data.observations, rollout_data.lstm_states.pi, rollout_data.episode_starts)
                    loss = loss + self._anchor_loss(sequence, kept, anchor_coef, anchor_kls, mask)

                # Calculate approximate form of reverse KL Divergence for early stopping
                # see issue #417: https://github.com/DLR-RM/stable-baselines3/issues/417
                # and discussion in PR #419: https://github.com/DLR-RM/stable-baselines3/pull/419
                # and Schulman blog: http://joschu.net/blog/kl-approx.html
                with th.no_grad():
                    log_ratio = log_prob - rollout_data.old_log_prob
                    approx_kl_div = th.mean(((th.exp(log_ratio) - 1) - log_ratio)[mask]).cpu().numpy()
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
