"""Reading and validating search space files: sections, params, their fields.

The YAML itself is read by :func:`sb3_plus.config.read_yaml` (duplicate keys are errors,
``1e-4`` is a float) and its errors keep the config package's wording; range params are
checked by Optuna's own distributions. Every error names the file, the section, the param
and the field (see :class:`~sb3_plus.tuning.errors.SearchSpaceError`).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from sb3_plus.config import ConfigError, did_you_mean, read_yaml
from sb3_plus.tuning.errors import SearchSpaceError, space_error
from sb3_plus.tuning.params import PRETRAIN_SETTINGS, Param

__all__ = ["SPACES_DIR", "STUDY_SETTINGS", "default_space_path", "read_space_file"]

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPACES_DIR = Path("zoo_configs") / "search_spaces"
#: Entry keys that belong to the study, not to a trial, and where they are set instead.
STUDY_SETTINGS = {
    "n_timesteps": "--n-timesteps", "eval_freq": "--eval-freq", "eval_episodes": "--eval-episodes",
    "success_threshold": "the zoo config", "reward_threshold": "the zoo config",
    "pretrain": "pretrain.<setting> params",
}
_TOP_LEVEL = "a `default:` section and env sections, each mapping param names to definitions"
_TYPES = ("float", "int", "categorical")
_FIELDS = {
    "float": ("type", "low", "high", "log", "step", "schedule", "help"),
    "int": ("type", "low", "high", "log", "step", "help"),
    "categorical": ("type", "choices", "set", "help"),
}
_PRETRAIN_FIELDS = ("methods",)
_SCHEDULES = ("linear", "constant")


def default_space_path(algo: str) -> Path:
    """``zoo_configs/search_spaces/<algo>.yml`` (the working directory's, else the project's).

    :param algo: the algorithm name.
    :raises SearchSpaceError: when neither exists, listing the spaces there are.
    """
    directories = [SPACES_DIR, _PROJECT_ROOT / SPACES_DIR]
    for directory in directories:
        for suffix in (".yml", ".yaml"):
            path = directory / f"{algo}{suffix}"
            if path.is_file():
                return path
    directory = next((d for d in directories if d.is_dir()), directories[-1])
    present = sorted(p.stem for p in directory.glob("*.y*ml")) if directory.is_dir() else []
    raise SearchSpaceError(
        f"{directory / (algo + '.yml')}: no search space for {algo!r} (spaces here: {', '.join(present) or 'none'}). "
        f"Fix: write one (see {directory / 'ppo.yml'}) or pass --space FILE", file=str(directory / f"{algo}.yml"))


def read_space_file(path: str | os.PathLike) -> dict[str, dict[str, Param | None]]:
    """Read and validate a whole space file.

    :param path: the YAML file.
    :return: ``{section: {param name: Param, or None for a removal}}``.
    :raises SearchSpaceError: for bad YAML, a bad section or a bad param (file, section, param, field).
    """
    file = str(path)
    try:
        data = read_yaml(path, expected=_TOP_LEVEL)
    except ConfigError as exc:   # same wording as for zoo configs; a duplicated key is the param
        raise SearchSpaceError(str(exc), file=file, param=exc.field) from None
    sections: dict[str, dict[str, Param | None]] = {}
    for section, body in data.items():
        if not isinstance(section, str):
            raise space_error(file, str(section), None, None, f"the section key {section!r} is not a string",
                              "key sections by env id, fnmatch pattern or `default`")
        sections[section] = _parse_section(file, section, body)
    return sections


def _parse_section(file: str, section: str, body: Any) -> dict[str, Param | None]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise space_error(file, section, None, None, f"the section is a {type(body).__name__}, not a mapping",
                          "indent `param: {type: ..., ...}` lines under the section key")
    params: dict[str, Param | None] = {}
    for name, spec in body.items():
        if not isinstance(name, str) or not name:
            raise space_error(file, section, str(name), None, "a param name must be a non-empty string",
                              "name the hyperparameter, e.g. learning_rate or policy_kwargs.lstm_hidden_size")
        if spec is None:
            if section == "default":
                raise space_error(file, section, name, None, "null only removes a default param in an env section",
                                  "define the param or delete the line")
            params[name] = None
            continue
        params[name] = _parse_param(file, section, name, spec)
    return params


def check_key(file: str, section: str, param: str, key: str, field_name: str | None) -> None:
    """Refuse a key that is a study setting or has an empty dotted part.

    :param file: the space file.
    :param section: the section.
    :param param: the param that sets ``key``.
    :param key: the entry key the param writes.
    :param field_name: the field that names the key (for a label's ``set``), or ``None``.
    :raises SearchSpaceError: naming the file, section, param and field.
    """
    head = key.split(".", 1)[0]
    if key in STUDY_SETTINGS or head in STUDY_SETTINGS:
        where = STUDY_SETTINGS.get(key) or STUDY_SETTINGS[head]
        raise space_error(file, section, param, field_name, f"{key!r} is a study setting, not a trial param",
                          f"set it with {where}")
    if any(not part for part in key.split(".")):
        raise space_error(file, section, param, field_name, f"{key!r} has an empty part",
                          "write dotted keys as policy_kwargs.lstm_hidden_size")


def _parse_param(file: str, section: str, name: str, spec: Any) -> Param:
    def err(field_name: str | None, problem: str, fix: str) -> SearchSpaceError:
        return space_error(file, section, name, field_name, problem, fix)

    if not isinstance(spec, dict):
        raise err(None, f"the definition is {spec!r}, not a mapping",
                  "write {type: float, low: 0.0001, high: 0.01, log: true}, {type: int, low: 1, high: 8} or "
                  "{type: categorical, choices: [a, b]}")
    kind = spec.get("type")
    if kind is None:
        raise err("type", "is missing", f"add `type:` with one of {', '.join(_TYPES)}")
    if kind not in _TYPES:
        raise err("type", f"{kind!r} is not a param type", f"use one of {', '.join(_TYPES)}"
                  f"{did_you_mean(str(kind), _TYPES)}")
    is_pretrain = name.startswith("pretrain.")
    allowed = _FIELDS[kind] + (_PRETRAIN_FIELDS if is_pretrain else ())
    for key in spec:
        if key not in allowed:
            if key == "methods":
                raise err(key, "only pretrain.<setting> params take `methods`", "remove it")
            raise err(str(key), f"is not a field of a {kind} param",
                      f"use {', '.join(allowed)}{did_you_mean(str(key), allowed)}")
    if is_pretrain:
        _check_pretrain_name(file, section, name, kind, spec)
    elif "set" not in spec:
        check_key(file, section, name, name, None)
    methods = _parse_methods(file, section, name, spec["methods"]) if "methods" in spec else None
    if kind == "categorical":
        return _parse_categorical(file, section, name, spec, methods)
    return _parse_range(file, section, name, kind, spec, methods)


def _check_pretrain_name(file: str, section: str, name: str, kind: str, spec: dict) -> None:
    setting = name.split(".", 1)[1]
    known = sorted(set().union(*PRETRAIN_SETTINGS.values()))
    if setting == "method":
        if kind != "categorical" or "set" in spec:
            raise space_error(file, section, name, "type", "pretrain.method is a categorical of method names",
                              f"write {{type: categorical, choices: [none, {', '.join(PRETRAIN_SETTINGS)}]}}")
        return
    if "." in setting or setting not in known:
        raise space_error(file, section, name, None, f"{setting!r} is not a setting of any pretraining method",
                          f"use one of {', '.join(known)}{did_you_mean(setting, known)}")
    if "set" in spec:
        raise space_error(file, section, name, "set", "a pretraining setting cannot be a label", "remove `set:`")


def _parse_methods(file: str, section: str, name: str, value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    setting = name.split(".", 1)[1]
    if not items or not all(isinstance(m, str) for m in items):
        raise space_error(file, section, name, "methods", f"{value!r} is not a list of method names",
                          f"write e.g. methods: [{', '.join(PRETRAIN_SETTINGS)}]")
    for method in items:
        if method not in PRETRAIN_SETTINGS:
            raise space_error(file, section, name, "methods", f"{method!r} is not a pretraining method",
                              f"use {', '.join(PRETRAIN_SETTINGS)}{did_you_mean(method, PRETRAIN_SETTINGS)}")
        if setting != "method" and setting not in PRETRAIN_SETTINGS[method]:
            raise space_error(file, section, name, "methods", f"{method} has no setting {setting!r}",
                              f"drop {method} from methods (its settings: "
                              f"{', '.join(sorted(PRETRAIN_SETTINGS[method]))})")
    return tuple(items)


def _number(file: str, section: str, name: str, kind: str, key: str, value: Any) -> int | float:
    # Optuna's distributions would silently truncate 1.5 to an int bound or compare a string: checked here
    want = "an integer" if kind == "int" else "a number"
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and (kind == "float" or float(value).is_integer()))
    if not ok:
        raise space_error(file, section, name, key, f"{value!r} is not {want}", f"write {want}"
                          + (" (YAML reads 1e-4 as a number only with a dot or via !!float; 1.0e-4 works)"
                             if isinstance(value, str) else ""))
    return int(value) if kind == "int" else float(value)


#: For each field of a range, how to correct what Optuna's distribution refuses there.
_RANGE_FIXES = {
    "high": "make high at least low; for a fixed value use --hyperparams KEY:VALUE",
    "low": "raise low above 0 (1 for an int) or drop log",
    "step": "use a positive step that divides high - low, and no step on a log scale",
}


def _parse_range(file: str, section: str, name: str, kind: str, spec: dict,
                 methods: tuple[str, ...] | None) -> Param:
    for key in ("low", "high"):
        if key not in spec:
            raise space_error(file, section, name, key, "is missing",
                              f"add `{key}:` ({'an integer' if kind == 'int' else 'a number'})")
    low = _number(file, section, name, kind, "low", spec["low"])
    high = _number(file, section, name, kind, "high", spec["high"])
    log = spec.get("log", False)
    if not isinstance(log, bool):   # Optuna would take any truthy value as true
        raise space_error(file, section, name, "log", f"{log!r} is not true or false", "write log: true or log: false")
    step = spec.get("step")
    if step is not None:
        step = _number(file, section, name, kind, "step", step)
    schedule = spec.get("schedule")
    if schedule is not None and schedule not in _SCHEDULES:
        raise space_error(file, section, name, "schedule", f"{schedule!r} is not a schedule form",
                          f"use {' or '.join(_SCHEDULES)}")
    if kind == "float" and schedule is not None and name.startswith("pretrain."):
        raise space_error(file, section, name, "schedule", "pretraining settings take plain numbers", "drop schedule")
    param = Param(name=name, kind=kind, low=low, high=high, log=log, step=step,
                  schedule=None if schedule == "constant" else schedule, methods=methods, section=section)
    _check_distribution(file, section, param)
    return param


def _check_distribution(file: str, section: str, param: Param) -> None:
    """Build the param's Optuna distribution one field at a time, so that a refusal names its field."""
    stages = [("high", replace(param, log=False, step=None)), ("low", replace(param, step=None)), ("step", param)]
    for field_name, stage in stages:
        try:
            with warnings.catch_warnings():
                # Optuna only warns when step does not divide the range, then samples a narrower one
                warnings.simplefilter("error", UserWarning)
                stage.distribution()
        except (ValueError, UserWarning) as exc:
            raise space_error(file, section, param.name, field_name, f"Optuna refuses the range ({exc})",
                              _RANGE_FIXES[field_name]) from None


def _parse_categorical(file: str, section: str, name: str, spec: dict, methods: tuple[str, ...] | None) -> Param:
    def err(field_name: str | None, problem: str, fix: str) -> SearchSpaceError:
        return space_error(file, section, name, field_name, problem, fix)

    choices = spec.get("choices")
    if choices is None:
        raise err("choices", "is missing", "add `choices: [a, b, ...]`")
    if not isinstance(choices, list):
        raise err("choices", f"{choices!r} is not a list", "write choices: [a, b, ...]")
    param = Param(name=name, kind="categorical", choices=tuple(choices), methods=methods, section=section)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)   # Optuna only warns about choices its storage cannot hold
            param.distribution()
    except (ValueError, UserWarning) as exc:
        fix = ("write choices: [a, b, ...]" if not choices else
               "make the param a label: choices: [small, large] with set: {small: {policy_kwargs.net_arch: [64]}, ...}")
        raise err("choices", f"Optuna refuses the choices ({exc})", fix) from None
    seen: list[Any] = []
    for choice in choices:   # Optuna accepts a choice twice, which only skews sampling towards it
        if any(choice == s and type(choice) is type(s) for s in seen):
            raise err("choices", f"the choice {choice!r} appears twice", "keep one")
        seen.append(choice)
    if name == "pretrain.method":
        allowed = set(PRETRAIN_SETTINGS) | {"none", None}
        for choice in choices:
            if choice not in allowed:
                raise err("choices", f"{choice!r} is not a pretraining method",
                          f"use none, {', '.join(PRETRAIN_SETTINGS)}")
    if "set" not in spec:
        return param
    return replace(param, set=_parse_set(file, section, name, choices, spec["set"]))


def _parse_set(file: str, section: str, name: str, choices: list[Any], raw: Any) -> dict[Any, dict[str, Any]]:
    def err(field_name: str | None, problem: str, fix: str) -> SearchSpaceError:
        return space_error(file, section, name, field_name, problem, fix)

    if not isinstance(raw, dict):
        raise err("set", f"{raw!r} is not a mapping", "write set: {choice: {key: value, ...}, ...}")
    missing = [c for c in choices if c not in raw]
    extra = [k for k in raw if k not in choices]
    if missing:
        raise err("set", f"no values for the choice(s) {missing}", "give every choice a mapping under set:")
    if extra:
        raise err("set", f"{extra} are not choices", "remove them or add them to choices")
    mapping = {}
    for choice in choices:
        values = raw[choice]
        if not isinstance(values, dict) or not values:
            raise err(f"set.{choice}", f"{values!r} is not a non-empty mapping",
                      "write e.g. {policy_kwargs.shared_lstm: true, policy_kwargs.enable_critic_lstm: false}")
        for key in values:
            if not isinstance(key, str):
                raise err(f"set.{choice}", f"the key {key!r} is not a string", "use hyperparameter names")
            if key.split(".", 1)[0] == "pretrain":
                raise err(f"set.{choice}.{key}", "a label cannot set pretraining settings",
                          "tune them with pretrain.<setting> params")
            check_key(file, section, name, key, f"set.{choice}.{key}")
        mapping[choice] = dict(values)
    return mapping
