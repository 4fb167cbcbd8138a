"""Names a config may use: algorithms, policies, activation and optimizer classes, features extractors."""

from __future__ import annotations

import importlib
from typing import Any

import sb3_contrib
import stable_baselines3 as sb3
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    NatureCNN,
)

from sb3_plus.config.errors import ConfigError, Invalid, did_you_mean

#: Algorithm names as rl_zoo3 spells them, mapped to their classes.
ALGOS: dict[str, type[BaseAlgorithm]] = {
    "a2c": sb3.A2C,
    "ddpg": sb3.DDPG,
    "dqn": sb3.DQN,
    "ppo": sb3.PPO,
    "sac": sb3.SAC,
    "td3": sb3.TD3,
}
for _key, _name in (("qrdqn", "QRDQN"), ("trpo", "TRPO"), ("tqc", "TQC"),
                    ("ars", "ARS"), ("ppo_mask", "MaskablePPO"), ("crossq", "CrossQ")):
    if hasattr(sb3_contrib, _name):
        ALGOS[_key] = getattr(sb3_contrib, _name)
if "ppo_mask" in ALGOS:  # rl_zoo3's name, and the one that says what it is
    ALGOS["maskable_ppo"] = ALGOS["ppo_mask"]

# ``ppo_lstm``: sb3-contrib's RecurrentPPO with one LSTM call per training minibatch, set at the end of this
# module (sb3_plus.policies registers its extractors here when imported)


def register_algo(name: str, cls: type[BaseAlgorithm]) -> None:
    """Make an algorithm (e.g. a PPO subclass with an exploration bonus) usable in configs.

    Its hyperparameters are read from its constructor signature, following ``**kwargs`` up
    to the parent class, and a config file ``<config_dir>/<name>.yml`` holds its entries.

    :param name: the config name (``ppo_rnd``), also the config file's stem.
    :param cls: the algorithm class.
    """
    if not (isinstance(cls, type) and issubclass(cls, BaseAlgorithm)):
        raise TypeError(f"register_algo({name!r}, ...): {cls!r} is not a BaseAlgorithm subclass")
    ALGOS[name] = cls


def check_algo(algo: str) -> type[BaseAlgorithm]:
    """The class of ``algo``.

    :param algo: a key of :data:`ALGOS`.
    :raises ConfigError: for an unknown name, listing the known ones.
    """
    if algo in ALGOS:
        return ALGOS[algo]
    raise ConfigError(
        f"unknown algorithm {algo!r}. Fix: use one of {', '.join(sorted(ALGOS))}"
        f"{did_you_mean(algo, ALGOS)} (or register a new one with sb3_plus.config.register_algo)",
        field="algo",
    )


# ----------------------------------------------------------------------------- classes named in policy_kwargs

_ACTIVATIONS = ("ReLU", "Tanh", "ELU", "LeakyReLU", "SiLU", "GELU", "Sigmoid", "Softplus", "Mish", "SELU",
                "CELU", "Hardswish", "Identity")
_OPTIMIZERS = ("Adam", "AdamW", "RMSprop", "SGD")


def _static_names() -> tuple[dict[str, Any], dict[Any, str]]:
    by_name: dict[str, Any] = {}
    canonical: dict[Any, str] = {}
    for name in _ACTIVATIONS:
        cls = getattr(th.nn, name)
        for alias in (f"nn.{name}", f"th.nn.{name}", f"torch.nn.{name}", name):
            by_name[alias] = cls
        canonical[cls] = f"nn.{name}"
    for name in _OPTIMIZERS:
        cls = getattr(th.optim, name)
        for alias in (f"th.optim.{name}", f"torch.optim.{name}", f"optim.{name}", name):
            by_name[alias] = cls
        canonical[cls] = f"th.optim.{name}"
    by_name["RMSpropTFLike"] = RMSpropTFLike
    canonical[RMSpropTFLike] = "RMSpropTFLike"
    return by_name, canonical


_NAMES, _CANONICAL = _static_names()

FEATURES_EXTRACTORS: dict[str, type[BaseFeaturesExtractor]] = {
    "NatureCNN": NatureCNN,
    "FlattenExtractor": FlattenExtractor,
    "CombinedExtractor": CombinedExtractor,
}
#: Modules imported (once) when a config names a features extractor that is not registered
#: yet; a module of the project that defines extractors registers them at import.
EXTRACTOR_PROVIDERS: list[str] = ["sb3_plus.policies"]
_provider_errors: dict[str, str] = {}
_providers_imported: set[str] = set()

POLICIES: dict[str, type[BasePolicy]] = {}


def _same_class(a: type, b: type) -> bool:
    return a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def register_features_extractor(name: str, cls: type[BaseFeaturesExtractor], overwrite: bool = False) -> None:
    """Let configs name a features extractor (``features_extractor_class=SmallCNN``).

    :param name: the name used in configs, a Python identifier.
    :param cls: a ``BaseFeaturesExtractor`` subclass.
    :param overwrite: replace a different class already registered under ``name``.
    """
    if not name.isidentifier():
        raise ValueError(f"features extractor name {name!r} must be a Python identifier")
    if not (isinstance(cls, type) and issubclass(cls, BaseFeaturesExtractor)):
        raise TypeError(f"register_features_extractor({name!r}, ...): {cls!r} is not a BaseFeaturesExtractor subclass")
    if name in _NAMES:
        raise ValueError(f"{name!r} already names {_NAMES[name]!r}; pick another name")
    old = FEATURES_EXTRACTORS.get(name)
    if old is not None and not overwrite and not _same_class(old, cls):
        raise ValueError(f"features extractor {name!r} is already {old.__module__}.{old.__qualname__}; "
                         "pass overwrite=True to replace it")
    FEATURES_EXTRACTORS[name] = cls


def register_policy(name: str, cls: type[BasePolicy], overwrite: bool = False) -> None:
    """Let configs name a custom policy class in ``policy:`` (next to the algorithm's aliases).

    :param name: the name used in configs.
    :param cls: a ``BasePolicy`` subclass.
    :param overwrite: replace a different class already registered under ``name``.
    """
    if not (isinstance(cls, type) and issubclass(cls, BasePolicy)):
        raise TypeError(f"register_policy({name!r}, ...): {cls!r} is not a BasePolicy subclass")
    old = POLICIES.get(name)
    if old is not None and not overwrite and not _same_class(old, cls):
        raise ValueError(f"policy {name!r} is already {old.__module__}.{old.__qualname__}; "
                         "pass overwrite=True to replace it")
    POLICIES[name] = cls


def _import_providers() -> None:
    for module in EXTRACTOR_PROVIDERS:
        if module in _providers_imported:
            continue
        _providers_imported.add(module)
        try:
            importlib.import_module(module)
        except ImportError as exc:
            _provider_errors[module] = f"{type(exc).__name__}: {exc}"


def _known_names() -> list[str]:
    return list(dict.fromkeys(_CANONICAL.values())) + list(FEATURES_EXTRACTORS)


def lookup_name(dotted: str) -> Any:
    """The class a config name stands for (``nn.ReLU``, ``th.optim.Adam``, ``NatureCNN``).

    :param dotted: the name as written.
    :raises Invalid: for a name that is neither built in nor registered.
    """
    if dotted in _NAMES:
        return _NAMES[dotted]
    if dotted not in FEATURES_EXTRACTORS:
        _import_providers()
    if dotted in FEATURES_EXTRACTORS:
        return FEATURES_EXTRACTORS[dotted]
    note = "".join(f" (importing {m} failed: {e})" for m, e in _provider_errors.items())
    raise Invalid(
        f"unknown name {dotted!r}{note}",
        f"use one of {', '.join(_known_names())}{did_you_mean(dotted, list(_NAMES) + list(FEATURES_EXTRACTORS))}; "
        "a features extractor must first be registered with "
        "sb3_plus.config.register_features_extractor(name, cls)",
    )


def name_of(obj: Any) -> str | None:
    """The config name of a class that :func:`lookup_name` knows, or ``None``."""
    try:
        if obj in _CANONICAL:
            return _CANONICAL[obj]
    except TypeError:
        return None
    for name, cls in FEATURES_EXTRACTORS.items():
        if cls is obj:
            return name
    return None


# ----------------------------------------------------------------------------- policies

def resolve_policy(algo: str, policy: str) -> type[BasePolicy]:
    """The policy class that ``policy:`` names for ``algo``.

    :param algo: a key of :data:`ALGOS`.
    :param policy: an alias of the algorithm (``MlpPolicy``, ``CnnLstmPolicy``) or a name
        registered with :func:`register_policy`.
    :raises ConfigError: for an unknown name, listing the known ones.
    """
    algo_cls = check_algo(algo)
    try:
        return policy_of(algo_cls, policy)
    except Invalid as exc:
        raise ConfigError(f"policy: {exc.problem}. Fix: {exc.fix}", field="policy") from None


def policy_of(algo_cls: type[BaseAlgorithm], policy: Any) -> type[BasePolicy]:
    """The policy class ``policy`` names for ``algo_cls``; raises :class:`Invalid` with the known names."""
    aliases = getattr(algo_cls, "policy_aliases", {}) or {}
    if isinstance(policy, str):
        if policy in aliases:
            return aliases[policy]
        if policy in POLICIES:
            return POLICIES[policy]
    known = sorted(aliases) + sorted(POLICIES)
    raise Invalid(
        f"{policy!r} is not a policy of {algo_cls.__name__}",
        f"use one of {', '.join(known)}{did_you_mean(str(policy), known)} "
        "(custom policies are registered with sb3_plus.config.register_policy)",
    )


def policy_example(algo_cls: type[BaseAlgorithm]) -> str:
    """A policy name of ``algo_cls`` to show in a fix."""
    aliases = list(getattr(algo_cls, "policy_aliases", {}) or {})
    return aliases[0] if aliases else "MlpPolicy"


def _recurrent_ppo() -> type[BaseAlgorithm]:
    """sb3-contrib's RecurrentPPO with one LSTM call per training minibatch (:mod:`sb3_plus.policies.recurrent`)."""
    from sb3_plus.policies.recurrent import RecurrentPPO

    return RecurrentPPO


ALGOS["ppo_lstm"] = _recurrent_ppo()
