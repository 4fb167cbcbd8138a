"""One raw zoo entry -> checked, typed values, with errors that name the file, entry, field and fix."""

from __future__ import annotations

import copy
import inspect
from typing import Any, Mapping

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import VecNormalize

from sb3_plus.config.errors import ConfigError, Invalid, did_you_mean, join_path
from sb3_plus.errors import BadOptionError
from sb3_plus.config.finetune import FINETUNE_ALGOS, check_finetune, take_legacy_finetune
from sb3_plus.config.keys import (
    NOISE_KEYS,
    RUN_OPTIONS,
    VEC_ENV_CLASSES,
    ZOO_EXAMPLES,
    ZOO_KEYS,
    ZOO_TYPES,
)
from sb3_plus.config.literals import parse_literal
from sb3_plus.config.noise import NOISE_TYPES
from sb3_plus.config.overrides import Overrides, merge_overrides, override_heads, parse_overrides
from sb3_plus.config.policy_kwargs import check_policy_kwargs
from sb3_plus.config.registry import check_algo, policy_example, policy_of
from sb3_plus.config.typecheck import (
    coerce,
    describe,
    init_params,
    is_number,
    names_class,
    names_type,
    range_fix,
    range_problem,
)
from sb3_plus.config.wrappers import check_env_wrapper, take_atari_wrapper


class EntryParser:
    """Turns one raw entry into the fields of a :class:`~sb3_plus.config.TrainConfig`.

    :param algo: key of :data:`~sb3_plus.config.ALGOS`.
    :param env_id: the env the entry is used for.
    :param source: the file it came from (``"<dict>"`` for Python).
    :param entry: the entry key that matched ``env_id``.
    """

    def __init__(self, algo: str, env_id: str, source: str, entry: str) -> None:
        self.algo = algo
        self.env_id = env_id
        self.source = source
        self.entry = entry
        self.from_override: set[str] = set()

    # -- errors
    def error(self, field_name: str | None, problem: str, fix: str) -> ConfigError:
        """A :class:`ConfigError` that says where: file, entry, field (and whether an override set it)."""
        where = [self.source]
        where.append(f"entry {self.entry!r}" + (f" (for {self.env_id!r})" if self.entry != self.env_id else ""))
        if field_name:
            head = field_name.split(".")[0].split("[")[0]
            note = " (set by an override)" if head in self.from_override else ""
            where.append(f"field {field_name!r}{note}")
        return ConfigError(f"{', '.join(where)}: {problem}. Fix: {fix}", file=self.source, entry=self.entry,
                           field=field_name)

    def invalid(self, key: str, exc: Invalid, ann: Any = None, example: Any = None) -> ConfigError:
        """:meth:`error` for an :class:`Invalid` raised below ``key``; the fix is worded from ``ann`` if missing."""
        fix = exc.fix
        if fix is None:
            fix = f"write {describe(ann)}" if ann is not None else "correct the value"
            if example is not None:
                fix += f", e.g. `{key}: {example}`"
        path = exc.path or key
        if not path.startswith(key):
            path = join_path(key, path)
        return self.error(path, exc.problem, fix)

    # -- the entry
    def merge(self, data: Any, overrides: Overrides | None) -> dict[str, Any]:
        """``data`` with ``overrides`` laid over it; errors in fields they set say so."""
        if not isinstance(data, Mapping):
            raise self.error(None, f"the entry is a {type(data).__name__}, not a mapping",
                             "indent the hyperparameters under the entry key, one `key: value` per line")
        if not overrides:
            return dict(data)
        if not isinstance(overrides, Mapping):
            overrides = parse_overrides(overrides)
        self.from_override = override_heads(overrides)
        try:
            return merge_overrides(data, overrides)
        except Invalid as exc:
            raise self.invalid(exc.path.split(".")[0], exc) from None

    def parse(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The checked, typed fields of a ``TrainConfig`` (all but ``algo``, ``env_id``, ``source``, ``entry``)."""
        algo_cls = check_algo(self.algo)
        params, _ = init_params(algo_cls)
        values, algo_kwargs = self.split(data, algo_cls, params)
        for required, example in (("policy", policy_example(algo_cls)), ("n_timesteps", "!!float 1e6")):
            if required not in values:
                raise self.error(required, "is missing", f"add `{required}: {example}` to the entry")
        policy_cls = self.policy(values["policy"], algo_cls)
        values["policy_kwargs"] = self.policy_kwargs(values.get("policy_kwargs"), policy_cls)
        values["normalize"] = self.merge_normalize(values.get("normalize", False), values.pop("normalize_kwargs", None))
        values["env_kwargs"] = values.get("env_kwargs") or {}
        take_atari_wrapper(self.env_id, values)
        take_legacy_finetune(self, values)
        values["finetune"] = check_finetune(self, values.get("finetune"), params, algo_cls in FINETUNE_ALGOS)
        self.check_noise(values, algo_cls, params)
        return {**values, "algo_kwargs": algo_kwargs}

    def split(self, data: Mapping[str, Any], algo_cls: type[BaseAlgorithm],
              params: dict[str, inspect.Parameter]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Zoo keys and algorithm arguments, each checked; unknown keys are errors."""
        values: dict[str, Any] = {}
        algo_kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise self.error(str(key), f"the key {key!r} is not a string", "use hyperparameter names as keys")
            if key == "callback":
                raise self.error(key, "sb3-plus configs do not name callback classes",
                                 "remove it; evaluation and checkpoints are options of the training command "
                                 "(eval_freq, eval_episodes, success_threshold and reward_threshold here)")
            if key in RUN_OPTIONS:
                raise self.error(key, "this is an option of the run, not a hyperparameter",
                                 "remove it and pass it to the training command (or the algorithm constructor)")
            if key in ZOO_KEYS:
                values[key] = self.zoo_value(key, value)
            elif key in params:
                algo_kwargs[key] = self.algo_value(key, value, params[key])
            else:
                zoo_keys = set(ZOO_KEYS) - (set() if "action_noise" in params else NOISE_KEYS)
                valid = sorted(zoo_keys | (set(params) - RUN_OPTIONS - {"policy_kwargs", "action_noise"}))
                raise self.error(key, f"unknown hyperparameter for {self.algo} ({algo_cls.__name__})",
                                 f"remove it or correct the name{did_you_mean(key, valid)} "
                                 f"(valid keys: {', '.join(valid)})")
        return values, algo_kwargs

    # -- values
    def typed(self, key: str, value: Any, ann: Any, example: Any = None) -> Any:
        """``value`` checked against ``ann`` and, for well-known names, its range."""
        try:
            value = coerce(value, ann, key)
        except Invalid as exc:
            raise self.invalid(key, exc, ann, example) from None
        name = key.rsplit(".", 1)[-1]
        problem = range_problem(name, value)
        if problem is not None:
            raise self.error(key, problem, range_fix(name))
        return value

    def zoo_value(self, key: str, value: Any) -> Any:
        """One zoo key's value, checked (``policy_kwargs`` is checked later, against the policy)."""
        if key in ZOO_TYPES:
            value = self.typed(key, value, ZOO_TYPES[key], ZOO_EXAMPLES.get(key))
            if key == "augment":
                from sb3_plus.policies.augment import check_augment

                try:
                    check_augment(value)
                except BadOptionError as exc:
                    raise self.error(key, str(exc).split(". Fix: ")[0], "use any of shift, crop, flip, intensity, "
                                     "e.g. `augment: [shift]`") from None
            if key == "pretrain" and value is not None and not isinstance(value.get("method", ""), str):
                raise self.error("pretrain.method", f"expected a string, got {value['method']!r}",
                                 "name the method, e.g. `method: bc` or `method: dagger`")
            return value
        if key in ("policy_kwargs", "finetune"):  # checked in parse, against the policy / the algorithm
            return value
        if key == "normalize":
            return self.normalize(value)
        if key == "env_wrapper":
            try:
                check_env_wrapper(value)
            except Invalid as exc:
                raise self.invalid(key, exc) from None
            return copy.deepcopy(value)
        if key == "vec_env_class":
            if value not in VEC_ENV_CLASSES:
                raise self.error(key, f"{value!r} is not a vec env class", f"use one of {', '.join(VEC_ENV_CLASSES)}")
            return value
        if key == "noise_type":
            if value is not None and value not in NOISE_TYPES:
                raise self.error(key, f"{value!r} is not a noise type", f"use one of {', '.join(NOISE_TYPES)}")
            return value
        raise AssertionError(f"zoo key {key!r} has no check")

    def algo_value(self, key: str, value: Any, param: inspect.Parameter) -> Any:
        """One constructor argument of the algorithm, checked against its annotation."""
        ann = param.annotation
        if value is not None and names_class(ann):
            raise self.error(key, "this argument takes a class, which a config file cannot name",
                             "remove it and pass the class to the algorithm in Python")
        if value is not None and names_type(ann, ActionNoise):
            raise self.error(key, "action noise objects cannot be written in a config",
                             "use `noise_type: normal` and `noise_std: 0.1` instead")
        example = param.default if is_number(param.default) or isinstance(param.default, (bool, str)) else None
        return self.typed(key, value, ann, example)

    def normalize(self, value: Any) -> bool | dict[str, Any]:
        """``normalize``: a bool, or ``VecNormalize`` arguments (a mapping or a ``dict(...)`` string)."""
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                value = parse_literal(value)
            except Invalid as exc:
                raise self.invalid("normalize", exc) from None
        if not isinstance(value, Mapping):
            raise self.error("normalize", f"expected true, false or VecNormalize arguments, got {value!r}",
                             "write `normalize: true` or `normalize: \"dict(norm_obs=True, norm_reward=False)\"`")
        params, _ = init_params(VecNormalize)
        params.pop("venv", None)
        out = {}
        for key, item in value.items():
            if key not in params:
                raise self.error(f"normalize.{key}", "is not a VecNormalize argument",
                                 f"use one of {', '.join(params)}{did_you_mean(str(key), params)}")
            out[key] = self.typed(f"normalize.{key}", item, params[key].annotation)
        return out

    def merge_normalize(self, normalize: bool | dict[str, Any], extra: dict[str, Any] | None) -> bool | dict[str, Any]:
        """``normalize`` with ``normalize_kwargs`` laid over it (an empty mapping means ``True``)."""
        if extra:
            if normalize is False:
                raise self.error("normalize_kwargs", "is set but normalize is off",
                                 "add `normalize: true` or remove normalize_kwargs")
            normalize = {**(normalize if isinstance(normalize, dict) else {}), **extra}
        if isinstance(normalize, dict) and not normalize:
            return True
        return normalize

    def check_noise(self, values: dict[str, Any], algo_cls: type[BaseAlgorithm],
                    params: dict[str, inspect.Parameter]) -> None:
        """``noise_type`` and ``noise_std`` come together, and only for algorithms that take action noise."""
        noise_type, noise_std = values.get("noise_type"), values.get("noise_std")
        if noise_type is None and noise_std is None:
            return
        if "action_noise" not in params:
            raise self.error("noise_type" if noise_type is not None else "noise_std",
                             f"{algo_cls.__name__} takes no action noise",
                             "remove noise_type and noise_std (only off-policy algorithms such as td3 use them)")
        if noise_std is None:
            raise self.error("noise_std", f"is missing (noise_type is {noise_type!r})",
                             "add `noise_std: 0.1` (the noise scale), or remove noise_type")
        if noise_type is None:
            raise self.error("noise_std", "is set but noise_type is not, so no noise would be added",
                             f"add `noise_type: normal` (or {', '.join(list(NOISE_TYPES)[1:])}), or remove noise_std")

    def policy(self, value: str, algo_cls: type[BaseAlgorithm]) -> type[BasePolicy]:
        """The class ``policy:`` names."""
        try:
            return policy_of(algo_cls, value)
        except Invalid as exc:
            raise self.error("policy", exc.problem, exc.fix or "") from None

    def policy_kwargs(self, raw: Any, policy_cls: type[BasePolicy]) -> dict[str, Any]:
        """``policy_kwargs`` (a mapping or a ``dict(...)`` string) checked against the policy's constructor."""
        if raw is None:
            return {}
        if isinstance(raw, str):
            if not raw.strip():
                return {}
            try:
                raw = parse_literal(raw)
            except Invalid as exc:
                raise self.invalid("policy_kwargs", exc) from None
        if not isinstance(raw, Mapping):
            raise self.error("policy_kwargs", f"expected a mapping, got {raw!r}",
                             'write `policy_kwargs: "dict(net_arch=[64, 64])"` or an indented mapping')
        return check_policy_kwargs(self, raw, policy_cls)


def parse_entry(algo: str, env_id: str, data: Any, *, source: str, entry: str,
                overrides: Overrides | None = None) -> dict[str, Any]:
    """Check and type one zoo entry (with ``overrides`` laid over it).

    :return: the keyword arguments of ``TrainConfig`` besides ``algo``, ``env_id``, ``source`` and ``entry``.
    :raises ConfigError: naming the file, the entry, the field and the fix.
    """
    parser = EntryParser(algo, env_id, source, entry)
    return parser.parse(parser.merge(data, overrides))
