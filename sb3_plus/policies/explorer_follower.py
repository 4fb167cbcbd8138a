"""The explorer/follower policy: one recurrent backbone, two heads that take turns within an episode.

The **explorer** head acts for the first ``horizon`` steps of every episode, then the
**follower** head acts until the end. Both heads read the same LSTM: what the explorer saw
is in the memory the follower acts on. (Separate memories per head were tried first and
broke the follower's value function: the follower's critic never saw the explorer's steps.)
Each head has its own policy layers, action layer, value layers and value output, so the
two values (and, in :class:`~sb3_plus.policies.explorer_follower_ppo.ExplorerFollowerPPO`,
their returns and advantages) never mix.

**Which head acts** depends on the step's index in its episode, and that index is part of
the recurrent state: :class:`StepCountingLSTM` carries one extra unit in its hidden and cell
states that counts the steps since the episode started (zeroed with the rest of the state on
an episode start). So ``predict``, evaluation, saving and loading, and sb3-contrib's rollout
buffers work unchanged, and a state handed from collection to training says where in the
episode each sequence begins. :meth:`ExplorerFollowerPolicy.states_at` builds states for
sequences that begin mid-episode (e.g. BC chunks).

Only discrete action spaces (``Discrete``, ``MultiDiscrete``, ``MultiBinary``): the heads
output logits.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.distributions import (BernoulliDistribution, CategoricalDistribution, Distribution,
                                                    MultiCategoricalDistribution)
from stable_baselines3.common.torch_layers import CombinedExtractor, NatureCNN
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from sb3_plus.errors import BadOptionError
from sb3_plus.policies.recurrent import _OneLstmCall

__all__ = ["StepCountingLSTM", "ExplorerFollowerPolicy", "CnnExplorerFollowerPolicy",
           "MultiInputExplorerFollowerPolicy", "HEADS"]

HEADS = ("explorer", "follower")


class StepCountingLSTM(nn.Module):
    """An LSTM whose states carry one more unit: the number of steps taken since the episode started.

    Its ``hidden_size`` (what buffers and ``predict`` allocate) is the inner LSTM's plus one; its
    output per step is the inner LSTM's output followed by that step's index in the episode.

    :param input_size: features per step.
    :param hidden_size: units of the inner LSTM.
    :param num_layers: LSTM layers.
    :param lstm_kwargs: other ``nn.LSTM`` arguments (``batch_first`` is not supported).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **lstm_kwargs: Any) -> None:
        super().__init__()
        if lstm_kwargs.get("batch_first") or lstm_kwargs.get("bidirectional"):
            raise BadOptionError("lstm_kwargs: batch_first and bidirectional do not fit a recurrent policy. "
                                 "Fix: drop them")
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, **lstm_kwargs)
        self.input_size = int(input_size)
        self.num_layers = int(num_layers)
        self.hidden_size = int(hidden_size) + 1

    def forward(self, sequence: th.Tensor, states: tuple[th.Tensor, th.Tensor]
                ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """``sequence``: ``(T, N, input_size)``; ``states``: ``(num_layers, N, hidden_size)`` each."""
        hidden, cell = states
        first = hidden[-1, :, -1]  # steps already taken when the sequence begins
        output, (h_n, c_n) = self.lstm(sequence, (hidden[..., :-1].contiguous(), cell[..., :-1].contiguous()))
        length = sequence.shape[0]
        steps = first.unsqueeze(0) + th.arange(length, dtype=first.dtype, device=first.device).unsqueeze(1)
        output = th.cat([output, steps.unsqueeze(-1)], dim=-1)
        done = (first + length).view(1, -1, 1).expand(self.num_layers, -1, 1)
        return output, (th.cat([h_n, done], dim=-1), th.cat([c_n, done], dim=-1))


def _mlp(sizes: list[int], activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers)


class _HeadLayers(nn.Module):
    """The policy and value layers of both heads (``policy_net`` and ``value_net``, each by head name)."""

    def __init__(self, latent: int, pi: list[int], vf: list[int], activation: type[nn.Module]) -> None:
        super().__init__()
        self.policy_net = nn.ModuleDict({h: _mlp([latent, *pi], activation) for h in HEADS})
        self.value_net = nn.ModuleDict({h: _mlp([latent, *vf], activation) for h in HEADS})
        self.latent_dim_pi = pi[-1] if pi else latent
        self.latent_dim_vf = vf[-1] if vf else latent


class ExplorerFollowerPolicy(_OneLstmCall, RecurrentActorCriticPolicy):
    """A recurrent actor-critic with one shared LSTM and two heads (see the module docstring).

    :param horizon: steps of each episode the explorer acts (>= 1); the follower acts from then on.
    :param head_arch: layers of each head: a list (policy and value layers alike) or ``dict(pi=[...], vf=[...])``.
    :param value_grad_to_lstm: the value losses train the LSTM too (the memory learns what predicts the task's
        return); ``False``: as sb3-contrib's ``shared_lstm``, only the actors train it.
    :param lstm_hidden_size: units of the LSTM (its states hold one more, the step counter).
    :param n_lstm_layers: LSTM layers.
    :param kwargs: the other arguments of sb3-contrib's ``RecurrentActorCriticPolicy`` (features extractor,
        activation, optimizer, ``lstm_kwargs``, ...).
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, lr_schedule: Schedule,
                 horizon: int = 32, head_arch: list[int] | dict[str, list[int]] | None = None,
                 value_grad_to_lstm: bool = True, lstm_hidden_size: int = 256, n_lstm_layers: int = 1,
                 **kwargs: Any) -> None:
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise BadOptionError(f"explorer/follower policy: horizon {horizon!r} must be an integer >= 1 (the "
                                 "explorer's steps per episode). Fix: e.g. horizon=32")
        if kwargs.pop("shared_lstm", True) is not True or kwargs.pop("enable_critic_lstm", False) is not False:
            raise BadOptionError("explorer/follower policy: the heads share one LSTM (separate memories per head "
                                 "broke the follower's value function). Fix: drop shared_lstm and enable_critic_lstm")
        if kwargs.get("share_features_extractor", True) is not True:
            raise BadOptionError("explorer/follower policy: the heads share one features extractor and one LSTM. "
                                 "Fix: drop share_features_extractor")
        kwargs.pop("net_arch", None)  # the heads' layers are head_arch
        self.horizon = int(horizon)
        arch = [64, 64] if head_arch is None else head_arch
        self.head_arch = dict(arch) if isinstance(arch, dict) else {"pi": list(arch), "vf": list(arch)}
        self.value_grad_to_lstm = bool(value_grad_to_lstm)
        super().__init__(observation_space, action_space, lr_schedule, net_arch=[], lstm_hidden_size=lstm_hidden_size,
                         n_lstm_layers=n_lstm_layers, shared_lstm=True, enable_critic_lstm=False, **kwargs)
        self.lstm_actor = StepCountingLSTM(self.features_dim, lstm_hidden_size, n_lstm_layers, **self.lstm_kwargs)
        self.lstm_hidden_state_shape = (n_lstm_layers, 1, lstm_hidden_size + 1)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(horizon=self.horizon, head_arch=self.head_arch, value_grad_to_lstm=self.value_grad_to_lstm,
                    lstm_hidden_size=self.lstm_output_dim, n_lstm_layers=self.lstm_hidden_state_shape[0])
        for key in ("net_arch", "shared_lstm", "enable_critic_lstm"):
            data.pop(key, None)
        return data

    def _build(self, lr_schedule: Schedule) -> None:
        """Both heads: policy layers, action logits, value layers and value output each (replaces SB3's build)."""
        dist = self.action_dist
        if isinstance(dist, CategoricalDistribution):
            n_logits = dist.action_dim
        elif isinstance(dist, MultiCategoricalDistribution):
            n_logits = int(sum(dist.action_dims))
        elif isinstance(dist, BernoulliDistribution):
            n_logits = dist.action_dims
        else:
            raise BadOptionError(f"explorer/follower policy: action space {self.action_space} is not discrete; its "
                                 "heads output logits. Fix: use a Discrete, MultiDiscrete or MultiBinary action space")
        self.mlp_extractor = _HeadLayers(self.lstm_output_dim, list(self.head_arch.get("pi", [])),
                                         list(self.head_arch.get("vf", [])), self.activation_fn)
        self.action_net = nn.ModuleDict({h: nn.Linear(self.mlp_extractor.latent_dim_pi, n_logits) for h in HEADS})
        self.value_net = nn.ModuleDict({h: nn.Linear(self.mlp_extractor.latent_dim_vf, 1) for h in HEADS})
        if self.ortho_init:
            gains = {self.features_extractor: np.sqrt(2), self.mlp_extractor: np.sqrt(2), self.action_net: 0.01,
                     self.value_net: 1.0}
            for module, gain in gains.items():
                module.apply(partial(self.init_weights, gain=gain))
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    # -- the step counter ------------------------------------------------------------------------
    def states_at(self, steps: th.Tensor | np.ndarray | list[int]) -> RNNStates:
        """Zero memories with the step counter at ``steps`` (one per sequence): states for sequences that
        begin ``steps`` steps into their episodes."""
        steps = th.as_tensor(np.asarray(steps, dtype=np.float32), device=self.device)
        layers, _, size = self.lstm_hidden_state_shape
        state = th.zeros((layers, len(steps), size), device=self.device)
        state[..., -1] = steps
        return RNNStates((state, state.clone()), (state.clone(), state.clone()))

    def follower_acts(self, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor) -> th.Tensor:
        """Per env, whether the follower takes the next step (bool), from the states before it."""
        steps = lstm_states[0][-1, :, -1] * (1.0 - episode_starts.float().flatten())
        return steps >= self.horizon

    # -- the shared backbone and the heads -------------------------------------------------------------
    def _memory(self, obs: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor
                ) -> tuple[th.Tensor, th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """LSTM latents ``(B, H)``, each step's index in its episode ``(B,)``, and the next states."""
        features = self.extract_features(obs)
        output, states = self._process_sequence(features, lstm_states, episode_starts, self.lstm_actor)
        return output[:, :-1], output[:, -1], states

    def head_outputs(self, latent: th.Tensor, head: str) -> tuple[th.Tensor, th.Tensor]:
        """``(logits, values)`` of one head for LSTM latents."""
        logits = self.action_net[head](self.mlp_extractor.policy_net[head](latent))
        vf_in = latent if self.value_grad_to_lstm else latent.detach()
        return logits, self.value_net[head](self.mlp_extractor.value_net[head](vf_in))

    def _acting(self, latent: th.Tensor, steps: th.Tensor) -> tuple[Distribution, th.Tensor]:
        follower = (steps >= self.horizon).unsqueeze(-1)
        logits_e, values_e = self.head_outputs(latent, "explorer")
        logits_f, values_f = self.head_outputs(latent, "follower")
        logits = th.where(follower, logits_f, logits_e)
        return self.action_dist.proba_distribution(action_logits=logits), th.where(follower, values_f, values_e)

    def forward(self, obs: th.Tensor, lstm_states: RNNStates, episode_starts: th.Tensor, deterministic: bool = False
                ) -> tuple[th.Tensor, th.Tensor, th.Tensor, RNNStates]:
        latent, steps, states = self._memory(obs, lstm_states.pi, episode_starts)
        distribution, values = self._acting(latent, steps)
        actions = distribution.get_actions(deterministic=deterministic)
        log_prob = distribution.log_prob(actions)
        actions = actions.reshape((-1, *self.action_space.shape))  # type: ignore[misc]
        return actions, values, log_prob, RNNStates(states, states)

    def get_distribution(self, obs: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor
                         ) -> tuple[Distribution, tuple[th.Tensor, ...]]:
        latent, steps, states = self._memory(obs, lstm_states, episode_starts)
        return self._acting(latent, steps)[0], states

    def predict_values(self, obs: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor
                       ) -> th.Tensor:
        latent, steps, _ = self._memory(obs, lstm_states, episode_starts)
        return self._acting(latent, steps)[1]

    def evaluate_actions(self, obs: th.Tensor, actions: th.Tensor, lstm_states: RNNStates, episode_starts: th.Tensor
                         ) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
        latent, steps, _ = self._memory(obs, lstm_states.pi, episode_starts)
        distribution, values = self._acting(latent, steps)
        return values, distribution.log_prob(actions), distribution.entropy()

    def head_values(self, obs: th.Tensor, lstm_states: tuple[th.Tensor, th.Tensor], episode_starts: th.Tensor
                    ) -> dict[str, th.Tensor]:
        """Both heads' values for every step (``explorer``, ``follower``) and each step's index (``steps``)."""
        latent, steps, _ = self._memory(obs, lstm_states, episode_starts)
        return {**{h: self.head_outputs(latent, h)[1].flatten() for h in HEADS}, "steps": steps}


class CnnExplorerFollowerPolicy(ExplorerFollowerPolicy):
    """:class:`ExplorerFollowerPolicy` over images (NatureCNN features unless another extractor is given)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("features_extractor_class", NatureCNN)
        super().__init__(*args, **kwargs)


class MultiInputExplorerFollowerPolicy(ExplorerFollowerPolicy):
    """:class:`ExplorerFollowerPolicy` over Dict observations (SB3's CombinedExtractor unless another is given)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("features_extractor_class", CombinedExtractor)
        super().__init__(*args, **kwargs)
