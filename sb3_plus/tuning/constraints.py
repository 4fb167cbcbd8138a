"""Constraints that make a trial's sampled hyperparameters consistent with each other and with the config."""

from __future__ import annotations

import inspect
from typing import Any, Mapping

from sb3_plus.config import ConfigError, TrainConfig

__all__ = ["apply_constraints"]


def _policy_defaults(config: TrainConfig) -> dict[str, Any]:
    try:
        cls = config.policy_class()
    except ConfigError:
        return {}
    out: dict[str, Any] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for param in inspect.signature(init).parameters.values():
            if param.default is not inspect.Parameter.empty:
                out.setdefault(param.name, param.default)
    return out


def _effective(config: TrainConfig, hyperparams: Mapping[str, Any], key: str, default: Any = None) -> Any:
    if key in hyperparams:
        return hyperparams[key]
    head, _, rest = key.partition(".")
    if head == "policy_kwargs" and rest:
        if "policy_kwargs" in hyperparams and isinstance(hyperparams["policy_kwargs"], Mapping):
            if rest in hyperparams["policy_kwargs"]:
                return hyperparams["policy_kwargs"][rest]
        if rest in config.policy_kwargs:
            return config.policy_kwargs[rest]
        return _policy_defaults(config).get(rest, default)
    if key in config.algo_kwargs:
        return config.algo_kwargs[key]
    if hasattr(config, key) and key not in ("algo_kwargs", "policy_kwargs"):
        return getattr(config, key)
    algo_defaults = {n: p.default for n, p in inspect.signature(config.algo_class.__init__).parameters.items()
                     if p.default is not inspect.Parameter.empty}
    return algo_defaults.get(key, default)


def _largest_divisor_at_most(n: int, limit: int) -> int:
    for candidate in range(min(limit, n), 0, -1):
        if n % candidate == 0:
            return candidate
    return 1


def apply_constraints(config: TrainConfig, hyperparams: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list]]:
    """Make sampled hyperparameters consistent with each other and with ``config``.

    - ``batch_size`` (algorithms with ``n_steps`` and ``batch_size``, e.g. PPO, RecurrentPPO)
      becomes the largest divisor of ``n_steps * n_envs`` that is not above the sampled value
      (or the config's, when it is larger than the rollout)
      (at least 2 where the rollout allows it: PPO refuses a mini-batch of 1);
    - ``shared_lstm: true`` turns ``enable_critic_lstm`` off.

    :param config: the config the overrides apply to.
    :param hyperparams: the sampled overrides (dotted keys allowed).
    :return: the adjusted overrides and ``{key: [sampled, used]}`` for each change.
    """
    out = dict(hyperparams)
    adjusted: dict[str, list] = {}
    params = inspect.signature(config.algo_class.__init__).parameters
    if "n_steps" in params and "batch_size" in params:
        n_steps = _effective(config, out, "n_steps")
        n_envs = _effective(config, out, "n_envs", 1)
        batch = _effective(config, out, "batch_size")
        sampled = bool({"n_steps", "batch_size", "n_envs"} & set(out))
        if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (n_steps, n_envs, batch)) and (
                sampled or batch > n_steps * n_envs):  # a fixed rollout smaller than the config's batch, too
            rollout = int(n_steps) * int(n_envs)
            used = _largest_divisor_at_most(rollout, int(batch))
            if used < 2 <= rollout:
                used = next(d for d in range(2, rollout + 1) if rollout % d == 0)
            if used != batch:
                out["batch_size"] = used
                adjusted["batch_size"] = [batch, used]
    shared = _effective(config, out, "policy_kwargs.shared_lstm", False)
    critic = _effective(config, out, "policy_kwargs.enable_critic_lstm", True)
    if shared is True and critic is True and ("policy_kwargs.shared_lstm" in out
                                              or "policy_kwargs.enable_critic_lstm" in out):
        out["policy_kwargs.enable_critic_lstm"] = False
        adjusted["policy_kwargs.enable_critic_lstm"] = [True, False]
    return out, adjusted
