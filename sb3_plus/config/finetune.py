"""The ``finetune:`` key: how RL treats a pretrained policy (ignored by a run that does not pretrain).

Example, in a zoo entry::

    finetune:
      learning_rate: !!float 1e-4     # any hyperparameter of the algorithm, used after pretraining
      ent_coef: 0.0
      critic_only:                    # the first N env steps of RL train the value function alone
        steps: 20000
        learning_rate: !!float 1e-3   # the policy does not move meanwhile, so this need not be small
      anchor:                         # + kl_coef * KL(pi_pretrained || pi), decaying once the policy moves
        kl_coef: 1.0
        decay_steps: 200000           # linear: 0 after this many env steps (default 100000);
        decay: linear                 # exponential: halved every decay_steps; or constant
      detach_critic: true             # the value loss does not train the features the policy shares with it

``anchor``, ``critic_only`` and ``detach_critic`` need PPO or RecurrentPPO (see :mod:`sb3_plus.training.finetune`).
The earlier spelling ``pretrain: {finetune: {...}}`` is read as the same thing.
"""

from __future__ import annotations

import copy
import inspect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO

from sb3_plus.config.errors import did_you_mean
from sb3_plus.config.keys import RUN_OPTIONS
from sb3_plus.errors import BadOptionError
from sb3_plus.policies.recurrent import RecurrentPPO as OneCallRecurrentPPO

if TYPE_CHECKING:
    from sb3_plus.config.entry import EntryParser

#: How the anchor's weight falls once the policy moves: to 0 over ``decay_steps`` env steps (linear),
#: halving every ``decay_steps`` (exponential), or not at all (constant).
ANCHOR_DECAYS = ("linear", "exponential", "constant")
#: Algorithms whose fine-tuning variant has the anchor and the critic-only phase (exactly these classes:
#: a subclass has its own ``train()``).
FINETUNE_ALGOS = (PPO, RecurrentPPO, OneCallRecurrentPPO)
#: Keys of ``finetune:`` that are not hyperparameters of the algorithm.
FINETUNE_KEYS = ("anchor", "critic_only", "detach_critic")
ANCHOR_KEYS = ("kl_coef", "decay_steps", "decay")
CRITIC_ONLY_KEYS = ("steps", "learning_rate")
#: Arguments ``finetune:`` cannot hold: they shape the policy that pretraining trains, or belong to the run.
_NOT_RL = frozenset({"policy", "policy_kwargs", "action_noise"}) | RUN_OPTIONS


@dataclass(frozen=True)
class FinetuneSettings:
    """The anchor and the critic-only phase of ``finetune:`` (defaults: plain RL).

    :param kl_coef: weight of ``KL(pi_pretrained || pi)`` at the first update that moves the policy (0: no anchor)
    :param decay_steps: env steps over which the weight falls to 0 (linear) or per halving (exponential)
    :param decay: one of :data:`ANCHOR_DECAYS`
    :param critic_only_steps: env steps at the start of RL whose rollouts train the value function alone
    :param critic_only_lr: Adam learning rate of those updates
    :param detach_critic: the value loss trains only what the critic alone uses, not the features it shares
        with the policy (:mod:`sb3_plus.training.critic_inputs`)
    """

    kl_coef: float = 0.0
    decay_steps: int = 100_000
    decay: str = "linear"
    critic_only_steps: int = 0
    critic_only_lr: float = 1e-3
    detach_critic: bool = False

    @property
    def active(self) -> bool:
        """Whether RL differs from plain PPO."""
        return self.kl_coef > 0 or self.critic_only_steps > 0 or self.detach_critic

    def model_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``FinetunePPO`` / ``FinetuneRecurrentPPO``."""
        return {"anchor_kl_coef": float(self.kl_coef), "anchor_decay_steps": int(self.decay_steps),
                "anchor_decay": self.decay, "critic_only_steps": int(self.critic_only_steps),
                "critic_only_lr": float(self.critic_only_lr), "detach_critic": bool(self.detach_critic)}

    def to_config(self) -> dict[str, Any]:
        """The ``anchor``, ``critic_only`` and ``detach_critic`` entries of ``finetune:``."""
        return {"anchor": {"kl_coef": self.kl_coef, "decay_steps": self.decay_steps, "decay": self.decay},
                "critic_only": {"steps": self.critic_only_steps, "learning_rate": self.critic_only_lr},
                "detach_critic": self.detach_critic}

    @classmethod
    def from_config(cls, finetune: Mapping[str, Any] | None) -> FinetuneSettings:
        """The settings of a ``finetune:`` mapping (its hyperparameters are not looked at).

        :raises BadOptionError: naming the field and the fix.
        """
        problem = finetune_problem(finetune)
        if problem is not None:
            raise BadOptionError(f"finetune.{problem[0]}: {problem[1]}. Fix: {problem[2]}")
        anchor, critic = _section(finetune, "anchor"), _section(finetune, "critic_only")
        return cls(**anchor, **{f"critic_only_{'lr' if k == 'learning_rate' else k}": v for k, v in critic.items()},
                   detach_critic=bool((finetune or {}).get("detach_critic", False)))

    def check(self) -> None:
        """:raises BadOptionError: for a value out of range, naming the field and the fix."""
        self.from_config(self.to_config())


def _section(finetune: Mapping[str, Any] | None, name: str) -> Any:
    return (finetune or {}).get(name) or {}


def _number_problem(value: Any, whole: bool, positive: bool = False) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0 \
        and (not whole or float(value).is_integer()) and (not positive or value > 0)
    return None if ok else f"{value!r} is not a{' whole' if whole else ''} number {'> 0' if positive else '>= 0'}"


def finetune_problem(finetune: Mapping[str, Any] | None) -> tuple[str, str, str] | None:
    """What is wrong with the anchor and critic-only settings of ``finetune``: ``(field, problem, fix)`` or ``None``."""
    examples = {"anchor": "{kl_coef: 1.0, decay_steps: 200000, decay: linear}",
                "critic_only": "{steps: 20000, learning_rate: 0.001}"}
    for name, keys in (("anchor", ANCHOR_KEYS), ("critic_only", CRITIC_ONLY_KEYS)):
        section = _section(finetune, name)
        if not isinstance(section, Mapping):
            return name, f"{section!r} is not a mapping", f"write `{name}: {examples[name]}`"
        for key in section:
            if key not in keys:
                return (f"{name}.{key}", f"is not a {name} setting",
                        f"use {', '.join(keys)}{did_you_mean(str(key), keys)}")
    anchor, critic = _section(finetune, "anchor"), _section(finetune, "critic_only")
    for field, value, whole, positive in (("anchor.kl_coef", anchor.get("kl_coef", 0.0), False, False),
                                          ("anchor.decay_steps", anchor.get("decay_steps", 1), True, False),
                                          ("critic_only.steps", critic.get("steps", 0), True, False),
                                          ("critic_only.learning_rate", critic.get("learning_rate", 1.0), False, True)):
        problem = _number_problem(value, whole, positive)
        if problem is not None:
            return field, problem, f"write a{' whole' if whole else ''} number {'> 0' if positive else '>= 0'}"
    if not isinstance((finetune or {}).get("detach_critic", False), bool):
        return "detach_critic", f"{finetune['detach_critic']!r} is not true or false", "write `detach_critic: true`"
    decay = anchor.get("decay", "linear")
    if decay not in ANCHOR_DECAYS:
        return "anchor.decay", f"{decay!r} is not a decay", f"use one of {', '.join(ANCHOR_DECAYS)}"
    if anchor.get("kl_coef", 0.0) > 0 and decay != "constant" and anchor.get("decay_steps", 1) < 1:
        return ("anchor.decay_steps", f"a {decay} decay needs decay_steps >= 1 (env steps)",
                "set e.g. `decay_steps: 200000`, or `decay: constant`")
    return None


def check_finetune(parser: EntryParser, raw: Any, params: dict[str, inspect.Parameter],
                   finetunes: bool) -> dict[str, Any] | None:
    """``finetune:`` checked; values are kept as written (a run lays the hyperparameters over the entry).

    :param parser: the entry's parser (its ``error`` and ``algo_value``).
    :param raw: the mapping as read.
    :param params: the algorithm's constructor arguments.
    :param finetunes: whether the algorithm has a fine-tuning variant (anchor, critic-only phase).
    :raises ConfigError: naming ``finetune.<field>`` and the fix.
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise parser.error("finetune", f"expected a mapping, got {raw!r}",
                           "indent `learning_rate: ...`, `anchor: {...}`, `critic_only: {...}` under finetune")
    for key, value in raw.items():
        if key in FINETUNE_KEYS:
            continue
        if key not in params or key in _NOT_RL:
            valid = sorted(set(params) - _NOT_RL) + list(FINETUNE_KEYS)
            raise parser.error(f"finetune.{key}", f"is not a hyperparameter of {parser.algo} nor a fine-tuning "
                               "setting", f"remove it or correct the name{did_you_mean(str(key), valid)} "
                               f"(valid: {', '.join(valid)})")
        parser.algo_value(f"finetune.{key}", value, params[key])
    problem = finetune_problem(raw)
    if problem is not None:
        raise parser.error(f"finetune.{problem[0]}", problem[1], problem[2])
    if FinetuneSettings.from_config(raw).active and not finetunes:
        raise parser.error("finetune", f"anchor, critic_only and detach_critic need ppo or ppo_lstm, not {parser.algo}",
                           "remove them (the algorithm's hyperparameters under finetune still apply)")
    return copy.deepcopy(dict(raw))


def take_legacy_finetune(parser: EntryParser, values: dict[str, Any]) -> None:
    """Move ``pretrain: {finetune: ...}`` (the earlier spelling) to ``finetune:``, in place."""
    pretrain = values.get("pretrain")
    if not isinstance(pretrain, Mapping) or "finetune" not in pretrain:
        return
    if values.get("finetune") is not None:
        raise parser.error("pretrain.finetune", "is given twice, here and as finetune",
                           "keep one: move its keys under the top-level finetune")
    pretrain = dict(pretrain)
    values["finetune"] = pretrain.pop("finetune")
    values["pretrain"] = pretrain or None
