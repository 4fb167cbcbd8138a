"""Hand-over to RL: a pretrained policy's weights into an SB3 model's policy."""

from __future__ import annotations

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import ActorCriticPolicy

from sb3_plus.errors import BadOptionError
from sb3_plus.imitation.space_check import FIX_HINT, PolicyTypeError, SpaceMismatchError


class ArchitectureMismatchError(BadOptionError):
    """Two policies whose parameters (names or shapes) differ."""


def load_policy_into(model: BaseAlgorithm, policy: ActorCriticPolicy) -> None:
    """Copy a (pretrained) policy's weights into ``model.policy``.

    :param model: a PPO / RecurrentPPO (or other on-policy) model built on the training env
    :param policy: a policy of the same class, spaces and architecture
    :raises PolicyTypeError: different policy classes (a ``TypeError``)
    :raises SpaceMismatchError: different observation or action spaces
    :raises ArchitectureMismatchError: different architectures (state dict keys or shapes); a ``ValueError``
    """
    target = model.policy
    if type(target) is not type(policy):
        raise PolicyTypeError(
            f"cannot load a {type(policy).__name__} into a model whose policy is a {type(target).__name__}; "
            f"build the model with policy={type(policy).__name__} (e.g. PPO(type(policy), env, ...) or the "
            "matching policy string such as 'CnnLstmPolicy' with RecurrentPPO)"
        )
    for kind in ("observation_space", "action_space"):
        if getattr(target, kind) != getattr(policy, kind):
            raise SpaceMismatchError(
                f"the model's {kind.replace('_', ' ')} {getattr(target, kind)} differs from the policy's "
                f"{getattr(policy, kind)}. {FIX_HINT}"
            )
    source, dest = policy.state_dict(), target.state_dict()
    diff = sorted(
        k for k in source.keys() | dest.keys() if k not in source or k not in dest or source[k].shape != dest[k].shape
    )
    if diff:
        raise ArchitectureMismatchError(
            f"policy architectures differ (parameters {diff[:8]}{'...' if len(diff) > 8 else ''}). Fix: "
            "build the model with the same policy_kwargs (net_arch, lstm_hidden_size, features extractor) "
            "as the pretrained policy"
        )
    target.load_state_dict(source)
