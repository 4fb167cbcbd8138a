"""Checking ``policy_kwargs`` against the policy's constructor (and its features extractor's)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Mapping

from stable_baselines3.common.policies import BasePolicy

from sb3_plus.config.errors import did_you_mean
from sb3_plus.config.keys import CLASS_KEY_TYPES, POLICY_SET_BY_ALGO
from sb3_plus.config.typecheck import init_params

if TYPE_CHECKING:
    from sb3_plus.config.entry import EntryParser


def check_policy_kwargs(parser: EntryParser, raw: Mapping[str, Any], policy_cls: type[BasePolicy]) -> dict[str, Any]:
    """``raw`` checked and typed against ``policy_cls``; errors come from ``parser``, which knows where.

    :param parser: the entry's parser (its ``error`` and ``typed``).
    :param raw: the policy kwargs as read.
    :param policy_cls: the policy they are for.
    :raises ConfigError: for an argument the policy does not take, a wrong type or a bad combination.
    """
    params, open_kwargs = init_params(policy_cls)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"policy_kwargs.{key}"
        if key in POLICY_SET_BY_ALGO:
            raise parser.error(path, "is set by the algorithm", "remove it")
        param = params.get(key)
        if param is None and not open_kwargs:
            valid = sorted(set(params) - POLICY_SET_BY_ALGO)
            raise parser.error(path, f"is not an argument of {policy_cls.__name__}",
                               f"remove it or correct the name{did_you_mean(str(key), valid)} "
                               f"(valid: {', '.join(valid)})")
        ann = param.annotation if param is not None else CLASS_KEY_TYPES.get(key, Any)
        if key == "net_arch" and isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping):
            value = value[0]  # the pre-SB3-1.8 form [dict(pi=..., vf=...)], unwrapped as SB3 itself does
        out[key] = parser.typed(path, value, ann)
    _check_features_extractor_kwargs(parser, out, params)
    _check_lstm(parser, out, params)
    return out


def _check_features_extractor_kwargs(parser: EntryParser, kwargs: dict[str, Any],
                                     params: dict[str, inspect.Parameter]) -> None:
    extractor_kwargs = kwargs.get("features_extractor_kwargs")
    if not extractor_kwargs:
        return
    extractor = kwargs.get("features_extractor_class")
    if extractor is None and "features_extractor_class" in params:
        extractor = params["features_extractor_class"].default
    if not isinstance(extractor, type):
        return
    accepted, open_kwargs = init_params(extractor)
    accepted.pop("observation_space", None)
    for key in extractor_kwargs:
        if key not in accepted and not open_kwargs:
            fix = (f"use one of {', '.join(accepted)}{did_you_mean(str(key), accepted)}" if accepted
                   else "remove features_extractor_kwargs")
            raise parser.error(f"policy_kwargs.features_extractor_kwargs.{key}",
                               f"is not an argument of {extractor.__name__}", fix)


def _check_lstm(parser: EntryParser, kwargs: dict[str, Any], params: dict[str, inspect.Parameter]) -> None:
    if "shared_lstm" not in params:
        return

    def effective(name: str) -> Any:
        return kwargs[name] if name in kwargs else params[name].default if name in params else None

    if effective("shared_lstm") and effective("enable_critic_lstm"):
        raise parser.error("policy_kwargs.shared_lstm", "shared_lstm and enable_critic_lstm cannot both be true "
                           "(enable_critic_lstm defaults to true)",
                           "add enable_critic_lstm=False to share one LSTM, or drop shared_lstm")
    if effective("shared_lstm") and effective("share_features_extractor") is False:
        raise parser.error("policy_kwargs.shared_lstm", "a shared LSTM needs a shared features extractor",
                           "drop share_features_extractor=False or shared_lstm=True")
