"""Search spaces as data: ``zoo_configs/search_spaces/<algo>.yml``.

A space file has the layout of a zoo config: a ``default:`` section and env sections keyed
by an exact env id or an fnmatch pattern (``Vizdoom*``, ``Maze*Pixels-v0``). The section
that :func:`sb3_plus.config.find_entry` picks for the env is laid over ``default`` param by
param: an env section adds or replaces params, and ``name: null`` drops a default param.

Each param is typed::

    learning_rate: {type: float, low: 1.0e-5, high: 3.0e-3, log: true, schedule: linear}
    n_epochs:      {type: int, low: 3, high: 20}            # also step: N, log: true
    n_steps:       {type: categorical, choices: [64, 128, 256]}

and its name says where the value goes:

- a zoo hyperparameter (``gamma``, ``n_steps``, ``n_envs``, ...), or a dotted key into a
  mapping of the entry (``policy_kwargs.lstm_hidden_size``, ``env_kwargs.frame_skip``);
- ``pretrain.<setting>``: a pretraining setting passed as ``train(pretrain_kwargs=...)``
  (``pretrain.epochs``, ``pretrain.lr``, DAgger's ``pretrain.rounds``, ``pretrain.beta``, ...).
  A setting is sampled only when the trial pretrains with a method that has it (``methods:``
  narrows it further); ``pretrain.method`` (categorical, ``none`` allowed) tunes the method;
- a label: a categorical with ``set:`` maps each choice to several values at once, e.g.
  ``lstm_layout`` -> ``{policy_kwargs.shared_lstm: true, policy_kwargs.enable_critic_lstm: false}``.

``schedule: linear`` turns a sampled float ``x`` into the zoo schedule ``lin_x``. The
budget and the evaluation (``n_timesteps``, ``eval_freq``, ``eval_episodes``, thresholds)
are study settings, never params.

Constraints applied to every sample (the adjustment is recorded with the trial):

- ``batch_size`` of PPO / RecurrentPPO is made a divisor of the rollout ``n_steps * n_envs``:
  the largest divisor not above the sampled value (so no truncated mini-batch);
- a shared LSTM (``shared_lstm: true``) turns ``enable_critic_lstm`` off (RecurrentPPO refuses both).

Files are validated on load; an error names the file, the section, the param and the field.
"""

from __future__ import annotations

import copy
import inspect
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from sb3_plus.config import ConfigError, TrainConfig, apply_overrides, find_entry
from sb3_plus.config import _did_you_mean, _DuplicateKey, _ZooLoader

__all__ = [
    "PRETRAIN_SETTINGS",
    "Param",
    "Sample",
    "SearchSpace",
    "SearchSpaceError",
    "apply_constraints",
    "default_space_path",
    "load_search_space",
    "read_space_file",
]

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPACES_DIR = Path("zoo_configs") / "search_spaces"


def _pretrain_settings() -> dict[str, frozenset[str]]:
    from sb3_plus.training.pretrain import PRETRAIN_METHODS, PRETRAIN_SETTINGS as table

    return {method: frozenset(table.get(method, ())) for method in PRETRAIN_METHODS}


#: Pretraining settings a space may tune, by method (``pretrain.<setting>`` params): the settings
#: :func:`sb3_plus.train.train` accepts, e.g. BC's ``epochs`` / ``lr`` / ``seq_len`` and DAgger's
#: ``rounds``, ``beta`` (initial probability that the expert acts), ``beta_decay``, ``episodes_per_round``.
PRETRAIN_SETTINGS: dict[str, frozenset[str]] = _pretrain_settings()
#: Values of ``pretrain.method`` that mean "no pretraining".
NO_PRETRAIN = ("none", None)
#: Entry keys that belong to the study, not to a trial.
STUDY_SETTINGS = {
    "n_timesteps": "--n-timesteps", "eval_freq": "--eval-freq", "eval_episodes": "--eval-episodes",
    "success_threshold": "the zoo config", "reward_threshold": "the zoo config", "pretrain": "pretrain.<setting> params",
}
_TYPES = ("float", "int", "categorical")
_FIELDS = {
    "float": ("type", "low", "high", "log", "step", "schedule", "help"),
    "int": ("type", "low", "high", "log", "step", "help"),
    "categorical": ("type", "choices", "set", "help"),
}
_PRETRAIN_FIELDS = ("methods",)
_SCHEDULES = ("linear", "constant")


class SearchSpaceError(ValueError):
    """A search space file, section or param that cannot be used.

    :param message: the full message (names the file, the section, the param, the field and the fix).
    :param file: the space file.
    :param section: the section (``default``, an env id or a pattern).
    :param param: the param name.
    :param field: the offending field of the param (``low``, ``choices``, ...).
    """

    def __init__(self, message: str, *, file: str | None = None, section: str | None = None,
                 param: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.section = section
        self.param = param
        self.field = field


def _error(file: str, section: str | None, param: str | None, field_name: str | None, problem: str,
           fix: str) -> SearchSpaceError:
    where = [file]
    if section is not None:
        where.append(f"section {section!r}")
    if param is not None:
        where.append(f"param {param!r}")
    if field_name is not None:
        where.append(f"field {field_name!r}")
    return SearchSpaceError(f"{', '.join(where)}: {problem}. Fix: {fix}", file=file, section=section, param=param,
                            field=field_name)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


@dataclass(frozen=True)
class Param:
    """One tunable param of a space.

    :param name: where the value goes (a zoo key, a dotted key, ``pretrain.<setting>``) or a label.
    :param kind: ``float``, ``int`` or ``categorical``.
    :param low: lower bound (float, int).
    :param high: upper bound, inclusive (float, int).
    :param log: sample on a log scale.
    :param step: discretisation step.
    :param choices: the values of a categorical.
    :param set: for a label, the values each choice sets (``{choice: {key: value}}``).
    :param schedule: ``linear`` writes a sampled float ``x`` as ``lin_x``.
    :param methods: pretraining methods for which a ``pretrain.*`` param is sampled.
    :param section: the section that defined it.
    """

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()
    set: dict[Any, dict[str, Any]] | None = None
    schedule: str | None = None
    methods: tuple[str, ...] | None = None
    section: str = "default"

    @property
    def is_pretrain(self) -> bool:
        """Whether the param is a pretraining setting (or the method)."""
        return self.name.startswith("pretrain.")

    @property
    def setting(self) -> str:
        """For ``pretrain.<setting>``, the setting's name."""
        return self.name.split(".", 1)[1] if self.is_pretrain else self.name

    def methods_for(self) -> tuple[str, ...]:
        """For a ``pretrain.*`` param, the methods it is sampled for (``methods:``, else every method that has it)."""
        if self.methods is not None:
            return self.methods
        return tuple(m for m, keys in PRETRAIN_SETTINGS.items() if self.setting in keys)

    def suggest(self, trial: Any) -> Any:
        """Ask ``trial`` (an Optuna trial, or a ``FixedTrial``) for this param's value."""
        if self.kind == "float":
            return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log,
                                       step=None if self.step is None else float(self.step))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_categorical(self.name, list(self.choices))

    def assignments(self, value: Any) -> dict[str, Any]:
        """The entry keys and values that ``value`` of this param stands for."""
        if self.set is not None:
            return copy.deepcopy(self.set[value])
        if self.kind == "float" and self.schedule == "linear":
            return {self.name: f"lin_{float(value)!r}"}
        return {self.name: value}

    def examples(self) -> list[Any]:
        """Values that exercise the param's range (used to validate it against a config)."""
        if self.kind == "categorical":
            return list(self.choices)
        return [self.low, self.high]

    def to_dict(self) -> dict[str, Any]:
        """The param as written in a space file."""
        out: dict[str, Any] = {"type": self.kind}
        if self.kind == "categorical":
            out["choices"] = list(self.choices)
            if self.set is not None:
                out["set"] = copy.deepcopy(self.set)
        else:
            out.update(low=self.low, high=self.high)
            if self.log:
                out["log"] = True
            if self.step is not None:
                out["step"] = self.step
            if self.schedule:
                out["schedule"] = self.schedule
        if self.methods is not None:
            out["methods"] = list(self.methods)
        return out


@dataclass
class Sample:
    """What one trial runs with.

    :param params: the values Optuna sampled, by param name (labels included).
    :param hyperparams: zoo overrides for ``train(hyperparams=...)`` (dotted keys allowed).
    :param pretrain: the pretraining method, or ``None``.
    :param pretrain_kwargs: settings for ``train(pretrain_kwargs=...)``.
    :param adjusted: constraint adjustments, ``{key: [sampled, used]}``.
    """

    params: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    pretrain: str | None = None
    pretrain_kwargs: dict[str, Any] = field(default_factory=dict)
    adjusted: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class SearchSpace:
    """The params that apply to one env, from one space file.

    :param params: the params, in file order (``default`` first, then the env section's additions).
    :param file: the file they came from.
    :param section: the env section laid over ``default`` (``None`` when only ``default`` applies).
    :param env_id: the env the space was resolved for.
    :param algo: the algorithm.
    :param pinned: params left out because a fixed override sets their value.
    """

    params: list[Param]
    file: str
    section: str | None
    env_id: str
    algo: str
    pinned: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        """The param names."""
        return [p.name for p in self.params]

    def get(self, name: str) -> Param | None:
        """The param called ``name``, or ``None``."""
        return next((p for p in self.params if p.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The resolved space as plain data (for reports and study attributes)."""
        return {p.name: p.to_dict() for p in self.params}

    def error(self, param: Param | None, field_name: str | None, problem: str, fix: str) -> SearchSpaceError:
        """An error that names this space's file, the param's section and the param."""
        section = param.section if param is not None else (self.section or "default")
        return _error(self.file, section, param.name if param else None, field_name, problem, fix)

    def pretrain_methods(self, fixed: str | None) -> list[str | None]:
        """The pretraining methods trials may use: ``fixed`` if given, else ``pretrain.method``'s choices."""
        if fixed is not None:
            return [fixed]
        method = self.get("pretrain.method")
        if method is None:
            return [None]
        return [None if c in NO_PRETRAIN else c for c in method.choices]

    def sample(self, trial: Any, base: TrainConfig, pretrain: str | None = None) -> Sample:
        """Sample every param for ``trial`` and map the values onto a trial's settings.

        :param trial: an Optuna trial (or ``optuna.trial.FixedTrial``).
        :param base: the config the trial starts from (fixed overrides applied), for constraints.
        :param pretrain: the pretraining method fixed for the study (``--pretrain``); otherwise
            ``pretrain.method`` is sampled when the space has it, else the config's method is used.
        """
        out = Sample()
        method = pretrain
        method_param = self.get("pretrain.method")
        if method is None and method_param is not None:
            value = method_param.suggest(trial)
            out.params[method_param.name] = value
            method = None if value in NO_PRETRAIN else str(value)
            if method is None and (base.pretrain or {}).get("method"):   # "none" also overrules the config's method
                rest = {k: v for k, v in base.pretrain.items() if k not in ("method", "dataset")}
                out.hyperparams["pretrain"] = rest or None
        elif method is None and base.pretrain:
            method = base.pretrain.get("method")
        out.pretrain = method
        for param in self.params:
            if param.name == "pretrain.method":
                continue
            if param.is_pretrain:
                if method is None or method not in param.methods_for():
                    continue
                out.pretrain_kwargs[param.setting] = param.suggest(trial)
                out.params[param.name] = out.pretrain_kwargs[param.setting]
                continue
            value = param.suggest(trial)
            out.params[param.name] = value
            out.hyperparams.update(param.assignments(value))
        out.hyperparams, out.adjusted = apply_constraints(base, out.hyperparams)
        return out

    def check_against(self, base: TrainConfig) -> None:
        """Check every param's values against the algorithm's and policy's arguments.

        Each value (bounds, choices, label assignments) is applied to ``base`` the way a trial
        applies it, constraints included, and parsed by :mod:`sb3_plus.config`.

        :param base: the config trials start from.
        :raises SearchSpaceError: naming the file, the section, the param and the config's complaint.
        """
        for param in self.params:
            if param.is_pretrain:
                continue
            for value in param.examples():
                overrides, _ = apply_constraints(base, param.assignments(value))
                try:
                    apply_overrides(base, overrides)
                except ConfigError as exc:
                    label = f"choice {value!r}" if param.kind == "categorical" else f"value {value!r}"
                    raise self.error(param, None, f"the {label} is rejected by the {base.algo} config for "
                                                  f"{base.env_id} ({exc})",
                                     "correct the param's name or range; a param that is not a hyperparameter "
                                     "must be a categorical label with `set:`") from None


# ----------------------------------------------------------------------------- constraints

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
      (at least 2 where the rollout allows it: PPO refuses a mini-batch of 1);
    - ``shared_lstm: true`` turns ``enable_critic_lstm`` off.

    :param config: the config the overrides apply to.
    :param hyperparams: the sampled overrides (dotted keys allowed).
    :return: the adjusted overrides and ``{key: [sampled, used]}`` for each change.
    """
    out = dict(hyperparams)
    adjusted: dict[str, list] = {}
    params = inspect.signature(config.algo_class.__init__).parameters
    if "n_steps" in params and "batch_size" in params and ({"n_steps", "batch_size", "n_envs"} & set(out)):
        n_steps = _effective(config, out, "n_steps")
        n_envs = _effective(config, out, "n_envs", 1)
        batch = _effective(config, out, "batch_size")
        if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (n_steps, n_envs, batch)):
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


# ----------------------------------------------------------------------------- files

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
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SearchSpaceError(f"{file}: cannot be read ({exc.strerror or exc}). Fix: check the path",
                               file=file) from None
    try:
        data = yaml.load(text, Loader=_ZooLoader)
    except _DuplicateKey as exc:
        raise SearchSpaceError(f"{file}, line {exc.line}: the key {exc.key!r} appears twice in one mapping. "
                               "Fix: keep one of them", file=file, param=str(exc.key)) from None
    except yaml.YAMLError as exc:
        raise SearchSpaceError(f"{file}: not valid YAML ({exc}). Fix: correct the syntax at the marked line",
                               file=file) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SearchSpaceError(f"{file}: the top level is a {type(data).__name__}, not a mapping. Fix: write a "
                               "`default:` section and env sections, each mapping param names to definitions",
                               file=file)
    sections: dict[str, dict[str, Param | None]] = {}
    for section, body in data.items():
        if not isinstance(section, str):
            raise _error(file, str(section), None, None, f"the section key {section!r} is not a string",
                         "key sections by env id, fnmatch pattern or `default`")
        if body is None:
            sections[section] = {}
            continue
        if not isinstance(body, dict):
            raise _error(file, section, None, None, f"the section is a {type(body).__name__}, not a mapping",
                         "indent `param: {type: ..., ...}` lines under the section key")
        params: dict[str, Param | None] = {}
        for name, spec in body.items():
            if not isinstance(name, str) or not name:
                raise _error(file, section, str(name), None, "a param name must be a non-empty string",
                             "name the hyperparameter, e.g. learning_rate or policy_kwargs.lstm_hidden_size")
            if spec is None:
                if section == "default":
                    raise _error(file, section, name, None, "null only removes a default param in an env section",
                                 "define the param or delete the line")
                params[name] = None
                continue
            params[name] = _parse_param(file, section, name, spec)
        sections[section] = params
    return sections


def _check_key(file: str, section: str, param: str, key: str, field_name: str | None) -> None:
    head = key.split(".", 1)[0]
    if key in STUDY_SETTINGS or (head == "pretrain" and key == "pretrain"):
        raise _error(file, section, param, field_name, f"{key!r} is a study setting, not a trial param",
                     f"set it with {STUDY_SETTINGS.get(key, 'pretrain.<setting> params')}")
    if head in STUDY_SETTINGS and head != "pretrain":
        raise _error(file, section, param, field_name, f"{key!r} is a study setting, not a trial param",
                     f"set it with {STUDY_SETTINGS[head]}")
    if any(not part for part in key.split(".")):
        raise _error(file, section, param, field_name, f"{key!r} has an empty part",
                     "write dotted keys as policy_kwargs.lstm_hidden_size")


def _parse_param(file: str, section: str, name: str, spec: Any) -> Param:
    def err(field_name: str | None, problem: str, fix: str) -> SearchSpaceError:
        return _error(file, section, name, field_name, problem, fix)

    if not isinstance(spec, dict):
        raise err(None, f"the definition is {spec!r}, not a mapping",
                  "write {type: float, low: 0.0001, high: 0.01, log: true}, {type: int, low: 1, high: 8} or "
                  "{type: categorical, choices: [a, b]}")
    kind = spec.get("type")
    if kind is None:
        raise err("type", "is missing", f"add `type:` with one of {', '.join(_TYPES)}")
    if kind not in _TYPES:
        raise err("type", f"{kind!r} is not a param type", f"use one of {', '.join(_TYPES)}"
                  f"{_did_you_mean(str(kind), _TYPES)}")
    is_pretrain = name.startswith("pretrain.")
    allowed = _FIELDS[kind] + (_PRETRAIN_FIELDS if is_pretrain else ())
    for key in spec:
        if key not in allowed:
            if key == "methods":
                raise err(key, "only pretrain.<setting> params take `methods`", "remove it")
            raise err(str(key), f"is not a field of a {kind} param",
                      f"use {', '.join(allowed)}{_did_you_mean(str(key), allowed)}")
    if is_pretrain:
        _check_pretrain_name(file, section, name, kind, spec)
    elif "set" not in spec:
        _check_key(file, section, name, name, None)
    methods = None
    if "methods" in spec:
        methods = _parse_methods(file, section, name, spec["methods"])
    if kind == "categorical":
        return _parse_categorical(file, section, name, spec, methods)
    return _parse_range(file, section, name, kind, spec, methods)


def _check_pretrain_name(file: str, section: str, name: str, kind: str, spec: dict) -> None:
    setting = name.split(".", 1)[1]
    known = sorted(set().union(*PRETRAIN_SETTINGS.values()))
    if setting == "method":
        if kind != "categorical" or "set" in spec:
            raise _error(file, section, name, "type", "pretrain.method is a categorical of method names",
                         f"write {{type: categorical, choices: [none, {', '.join(PRETRAIN_SETTINGS)}]}}")
        return
    if "." in setting or setting not in known:
        raise _error(file, section, name, None, f"{setting!r} is not a setting of any pretraining method",
                     f"use one of {', '.join(known)}{_did_you_mean(setting, known)}")
    if "set" in spec:
        raise _error(file, section, name, "set", "a pretraining setting cannot be a label", "remove `set:`")


def _parse_methods(file: str, section: str, name: str, value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    setting = name.split(".", 1)[1]
    if not items or not all(isinstance(m, str) for m in items):
        raise _error(file, section, name, "methods", f"{value!r} is not a list of method names",
                     f"write e.g. methods: [{', '.join(PRETRAIN_SETTINGS)}]")
    for method in items:
        if method not in PRETRAIN_SETTINGS:
            raise _error(file, section, name, "methods", f"{method!r} is not a pretraining method",
                         f"use {', '.join(PRETRAIN_SETTINGS)}{_did_you_mean(method, PRETRAIN_SETTINGS)}")
        if setting != "method" and setting not in PRETRAIN_SETTINGS[method]:
            raise _error(file, section, name, "methods", f"{method} has no setting {setting!r}",
                         f"drop {method} from methods (its settings: {', '.join(sorted(PRETRAIN_SETTINGS[method]))})")
    return tuple(items)


def _parse_range(file: str, section: str, name: str, kind: str, spec: dict,
                 methods: tuple[str, ...] | None) -> Param:
    def err(field_name: str | None, problem: str, fix: str) -> SearchSpaceError:
        return _error(file, section, name, field_name, problem, fix)

    want = "an integer" if kind == "int" else "a number"
    bounds = {}
    for key in ("low", "high"):
        if key not in spec:
            raise err(key, "is missing", f"add `{key}:` ({want})")
        value = spec[key]
        ok = _is_number(value) and (kind == "float" or isinstance(value, int)
                                     or (isinstance(value, float) and value.is_integer()))
        if not ok:
            raise err(key, f"{value!r} is not {want}", f"write {want}"
                      + (" (YAML reads 1e-4 as a number only with a dot or via !!float; 1.0e-4 works)"
                         if isinstance(value, str) else ""))
        bounds[key] = int(value) if kind == "int" else float(value)
    low, high = bounds["low"], bounds["high"]
    if not low < high:
        raise err("high", f"high ({high}) must be above low ({low})",
                  "swap or widen them; for a fixed value use --hyperparams KEY:VALUE or a categorical with one choice")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise err("log", f"{log!r} is not true or false", "write log: true or log: false")
    if log and low <= 0:
        raise err("low", f"a log-scale range needs low > 0, got {low}", "raise low above 0 or drop log")
    step = spec.get("step")
    if step is not None:
        if not _is_number(step) or step <= 0 or (kind == "int" and not float(step).is_integer()):
            raise err("step", f"{step!r} is not a positive {'integer' if kind == 'int' else 'number'}",
                      "write a positive step, e.g. step: 8")
        step = int(step) if kind == "int" else float(step)
        if log and step != 1:
            raise err("step", "a log-scale range cannot have a step", "drop step or log")
        if step > high - low:
            raise err("step", f"step {step} is wider than the range [{low}, {high}]", "use a smaller step")
    schedule = spec.get("schedule")
    if schedule is not None and schedule not in _SCHEDULES:
        raise err("schedule", f"{schedule!r} is not a schedule form", f"use {' or '.join(_SCHEDULES)}")
    if kind == "float" and schedule is not None and name.startswith("pretrain."):
        raise err("schedule", "pretraining settings take plain numbers", "drop schedule")
    return Param(name=name, kind=kind, low=low, high=high, log=log, step=step,
                 schedule=None if schedule == "constant" else schedule, methods=methods, section=section)


def _parse_categorical(file: str, section: str, name: str, spec: dict, methods: tuple[str, ...] | None) -> Param:
    def err(field_name: str | None, problem: str, fix: str) -> SearchSpaceError:
        return _error(file, section, name, field_name, problem, fix)

    choices = spec.get("choices")
    if choices is None:
        raise err("choices", "is missing", "add `choices: [a, b, ...]`")
    if not isinstance(choices, list) or not choices:
        raise err("choices", f"{choices!r} is not a non-empty list", "write choices: [a, b, ...]")
    seen: list[Any] = []
    for choice in choices:
        if not _is_scalar(choice):
            raise err("choices", f"the choice {choice!r} is not a number, string, boolean or null (Optuna stores "
                                 "only those)", "make the param a label: choices: [small, large] with "
                                                "set: {small: {policy_kwargs.net_arch: [64]}, ...}")
        if any(choice == s and type(choice) is type(s) for s in seen):
            raise err("choices", f"the choice {choice!r} appears twice", "keep one")
        seen.append(choice)
    if name == "pretrain.method":
        allowed = set(PRETRAIN_SETTINGS) | {"none", None}
        for choice in choices:
            if choice not in allowed:
                raise err("choices", f"{choice!r} is not a pretraining method",
                          f"use none, {', '.join(PRETRAIN_SETTINGS)}")
    mapping = None
    if "set" in spec:
        raw = spec["set"]
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
                _check_key(file, section, name, key, f"set.{choice}.{key}")
            mapping[choice] = dict(values)
    return Param(name=name, kind="categorical", choices=tuple(choices), set=mapping, methods=methods, section=section)


def load_search_space(algo: str, env_id: str, path: str | os.PathLike | None = None,
                      base: TrainConfig | None = None, pinned: Mapping[str, Any] | None = None) -> SearchSpace:
    """The space for ``algo`` on ``env_id``: ``default`` with the env's section laid over it.

    :param algo: the algorithm (``ppo``, ``ppo_lstm``, ...).
    :param env_id: the env id; its section is picked like a zoo entry (exact id, pattern, default).
    :param path: the space file (default :func:`default_space_path`).
    :param base: when given, every param is checked against this config (see :meth:`SearchSpace.check_against`).
    :param pinned: fixed overrides; params that set one of these keys (exactly) are left out.
    :raises SearchSpaceError: for a bad file, or an env with no section and no ``default``.
    """
    path = Path(path) if path is not None else default_space_path(algo)
    sections = read_space_file(path)
    key = find_entry({k: v for k, v in sections.items() if k != "default"}, env_id)
    if key is None and "default" not in sections:
        raise SearchSpaceError(f"{path}: no section for {env_id!r} (sections: {', '.join(sections) or 'none'}). "
                               f"Fix: add a `default:` section or one keyed `{env_id}:`", file=str(path))
    merged: dict[str, Param] = {}
    for name, param in sections.get("default", {}).items():
        if param is not None:
            merged[name] = param
    if key is not None:
        for name, param in sections[key].items():
            if param is None:
                merged.pop(name, None)
            else:
                merged[name] = param
    space = SearchSpace(params=list(merged.values()), file=str(path), section=key, env_id=env_id, algo=algo)
    if pinned:
        keys = {str(k) for k in pinned}
        keep = []
        for param in space.params:
            targets = set().union(*param.set.values()) if param.set else {param.name}
            if targets & keys:
                space.pinned.append(param.name)
            else:
                keep.append(param)
        space.params = keep
    if base is not None:
        space.check_against(base)
    return space
