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

- a rollout ``n_steps * n_envs`` larger than the study's budget gets ``n_steps = budget // n_envs``
  (SB3 trains whole rollouts: a run would otherwise train more than its budget);
- ``batch_size`` of PPO / RecurrentPPO is made a divisor of the rollout ``n_steps * n_envs``:
  the largest divisor not above the sampled value (so no truncated mini-batch);
- a shared LSTM (``shared_lstm: true``) turns ``enable_critic_lstm`` off (RecurrentPPO refuses both).

Files are validated on load (:mod:`~sb3_plus.tuning.space_file`); an error names the file, the
section, the param and the field. Constraints live in :mod:`~sb3_plus.tuning.constraints`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from sb3_plus.config import ConfigError, TrainConfig, apply_overrides, find_entry
from sb3_plus.tuning.constraints import apply_constraints
from sb3_plus.tuning.errors import SearchSpaceError, space_error
from sb3_plus.tuning.params import NO_PRETRAIN, Param, Sample
from sb3_plus.tuning.space_file import default_space_path, read_space_file

__all__ = ["SearchSpace", "load_search_space"]


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
        return space_error(self.file, section, param.name if param else None, field_name, problem, fix)

    def pretrain_methods(self, fixed: str | None) -> list[str | None]:
        """The pretraining methods trials may use: ``fixed`` if given, else ``pretrain.method``'s choices."""
        if fixed is not None:
            return [fixed]
        method = self.get("pretrain.method")
        if method is None:
            return [None]
        return [None if c in NO_PRETRAIN else c for c in method.choices]

    def sample(self, trial: Any, base: TrainConfig, pretrain: str | None = None,
               n_timesteps: int | None = None) -> Sample:
        """Sample every param for ``trial`` and map the values onto a trial's settings.

        :param trial: an Optuna trial (or ``optuna.trial.FixedTrial``).
        :param base: the config the trial starts from (fixed overrides applied), for constraints.
        :param pretrain: the pretraining method fixed for the study (``--pretrain``); otherwise
            ``pretrain.method`` is sampled when the space has it, else the config's method is used.
        :param n_timesteps: the budget of a run: a larger rollout is shrunk to fit it (see
            :func:`~sb3_plus.tuning.constraints.apply_constraints`).
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
        out.hyperparams, out.adjusted = apply_constraints(base, out.hyperparams, n_timesteps)
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
