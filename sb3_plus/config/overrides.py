"""``key:value`` overrides (rl_zoo3's ``--hyperparams``, ``--env-kwargs``) and laying them over an entry."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from sb3_plus.config.errors import ConfigError, Invalid
from sb3_plus.config.literals import parse_literal
from sb3_plus.config.yaml_io import yaml_value

if TYPE_CHECKING:
    from sb3_plus.config.schema import TrainConfig

Overrides = Mapping[str, Any] | Iterable[str]


def _split(item: str) -> tuple[str, str] | None:
    """``(key, text)`` at the first ``:`` or ``=``; ``None`` without either."""
    cuts = [i for i in (item.find(":"), item.find("=")) if i >= 0]
    if not cuts:
        return None
    cut = min(cuts)
    return item[:cut].strip(), item[cut + 1:]


def parse_overrides(items: Iterable[str] | str | None, what: str = "override") -> dict[str, Any]:
    """Read rl_zoo3 ``--hyperparams`` style ``key:value`` strings (``key=value`` also works).

    The value is read as YAML (``lin_1e-3``, ``8``, ``1e-4``, ``[64, 64]``, ``{norm_reward: false}``,
    ``true``; ``None`` also means null; an empty value is null); a ``policy_kwargs`` string
    such as ``dict(net_arch=[64])`` stays a string for the policy_kwargs parser. A dotted key
    (``policy_kwargs.lstm_hidden_size:64``) changes one nested value when applied to a config.

    :param items: the strings (one string is one item; ``None`` gives ``{}``).
    :param what: what the items are, for the error (``hyperparameter``, ``env kwarg``).
    :raises ConfigError: (a :class:`~sb3_plus.errors.BadOptionError`) for an item without a key and a separator.
    """
    if isinstance(items, str):
        items = [items]
    out: dict[str, Any] = {}
    for item in items or []:
        split = _split(str(item))
        if split is None or not split[0]:
            raise ConfigError(f"{what} {item!r} is not key:value. Fix: write key:value, e.g. n_envs:8, "
                              "learning_rate:lin_3e-4 or frame_skip:4", file="<overrides>",
                              field=split[0] if split else None)
        out[split[0]] = yaml_value(split[1])
    return out


def _set_dotted(target: dict[str, Any], keys: list[str], value: Any) -> dict[str, Any]:
    node = target
    for key in keys[:-1]:
        child = node.get(key)
        node[key] = dict(child) if isinstance(child, Mapping) else {}
        node = node[key]
    node[keys[-1]] = value
    return target


def override_heads(overrides: Mapping[str, Any]) -> set[str]:
    """The top-level keys of an entry that ``overrides`` change."""
    return {str(key).partition(".")[0] for key in overrides}


def merge_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the entry ``data`` with ``overrides`` laid over it; a dotted key changes one nested value.

    A nested value written as a string (``policy_kwargs: "dict(...)"``) is read first, so a
    dotted override reaches into it.

    :raises Invalid: (with the field as ``path``) where a dotted key reaches into a value that is no mapping.
    """
    merged = dict(data)
    for key, value in overrides.items():
        head, _, rest = str(key).partition(".")
        if not rest:
            merged[head] = value
            continue
        base = merged.get(head)
        if isinstance(base, str):
            try:
                base = parse_literal(base)
            except Invalid as exc:
                exc.path = exc.path or head
                raise
        elif base is None or isinstance(base, bool):
            base = {}
        if not isinstance(base, Mapping):
            raise Invalid(f"{head} is {base!r}, which has no field {rest!r}", f"override the whole value, `{head}:<value>`",
                          str(key))
        merged[head] = _set_dotted(copy.deepcopy(dict(base)), rest.split("."), value)
    return merged


def apply_overrides(config: TrainConfig, overrides: Overrides) -> TrainConfig:
    """A new config: ``config`` with ``overrides`` applied and validated again.

    :param config: a resolved config.
    :param overrides: ``"key:value"`` strings or a mapping (dotted keys allowed).
    :raises ConfigError: for an override the config does not accept.
    """
    return type(config).from_yaml_dict(config.algo, config.env_id, config.to_yaml_dict(),
                                       source=config.source or "<dict>", entry=config.entry, overrides=overrides)
