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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _on_policy(config: TrainConfig) -> bool:
    """Whether the algorithm trains whole rollouts of ``n_steps * n_envs`` (off-policy: n-step returns)."""
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    return issubclass(config.algo_class, OnPolicyAlgorithm)


def _fit_budget(config: TrainConfig, out: dict[str, Any], adjusted: dict[str, list], n_timesteps: int) -> None:
    """Shrink a rollout larger than the budget: SB3 trains whole rollouts, so a run would train more than it."""
    n_steps = _effective(config, out, "n_steps")
    n_envs = _effective(config, out, "n_envs", 1)
    budget = int(n_timesteps)
    if not (_is_int(n_steps) and _is_int(n_envs) and budget >= 1) or n_steps * n_envs <= budget:
        return
    if n_envs > budget:   # even one step per env is more than the budget
        out["n_envs"] = budget
        adjusted["n_envs"] = [n_envs, budget]
        n_envs = budget
    used = max(budget // n_envs, 1)
    if used != n_steps:
        out["n_steps"] = used
        adjusted["n_steps"] = [n_steps, used]


def _fit_batch(config: TrainConfig, out: dict[str, Any], adjusted: dict[str, list]) -> None:
    """``batch_size``: the largest divisor of the rollout not above the sampled (or too large configured) value."""
    n_steps = _effective(config, out, "n_steps")
    n_envs = _effective(config, out, "n_envs", 1)
    batch = _effective(config, out, "batch_size")
    sampled = bool({"n_steps", "batch_size", "n_envs"} & set(out))
    if not all(_is_int(v) for v in (n_steps, n_envs, batch)):
        return
    rollout = int(n_steps) * int(n_envs)
    if not sampled and batch <= rollout:   # a fixed rollout smaller than the config's batch is fitted too
        return
    used = _largest_divisor_at_most(rollout, int(batch))
    if used < 2 <= rollout:
        used = next(d for d in range(2, rollout + 1) if rollout % d == 0)
    if used != batch:
        out["batch_size"] = used
        adjusted["batch_size"] = [batch, used]


def apply_constraints(config: TrainConfig, hyperparams: Mapping[str, Any],
                      n_timesteps: int | None = None) -> tuple[dict[str, Any], dict[str, list]]:
    """Make sampled hyperparameters consistent with each other, with ``config`` and with the budget.

    - on-policy algorithms (PPO, RecurrentPPO, A2C, TRPO) train whole rollouts of
      ``n_steps * n_envs`` steps: when one rollout (sampled or fixed) is larger than
      ``n_timesteps``, ``n_steps`` becomes ``max(n_timesteps // n_envs, 1)`` (and ``n_envs``
      the budget, when even that is more), so a run trains at most the budget rounded up to
      one such rollout;
    - ``batch_size`` (on-policy algorithms that have one) becomes the largest divisor of
      ``n_steps * n_envs`` that is not above the sampled value (or the config's, when it is
      larger than the rollout) (at least 2 where the rollout allows it: PPO refuses a mini-batch of 1);
    - ``shared_lstm: true`` turns ``enable_critic_lstm`` off.

    :param config: the config the overrides apply to.
    :param hyperparams: the sampled overrides (dotted keys allowed).
    :param n_timesteps: the budget of a run in env steps (``None``: not checked).
    :return: the adjusted overrides and ``{key: [sampled, used]}`` for each change.
    """
    out = dict(hyperparams)
    adjusted: dict[str, list] = {}
    params = inspect.signature(config.algo_class.__init__).parameters
    if "n_steps" in params and _on_policy(config):
        if n_timesteps is not None:
            _fit_budget(config, out, adjusted, n_timesteps)
        if "batch_size" in params:
            _fit_batch(config, out, adjusted)
    shared = _effective(config, out, "policy_kwargs.shared_lstm", False)
    critic = _effective(config, out, "policy_kwargs.enable_critic_lstm", True)
    if shared is True and critic is True and ("policy_kwargs.shared_lstm" in out
                                              or "policy_kwargs.enable_critic_lstm" in out):
        out["policy_kwargs.enable_critic_lstm"] = False
        adjusted["policy_kwargs.enable_critic_lstm"] = [True, False]
    return out, adjusted
