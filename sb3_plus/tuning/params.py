"""One tunable param of a search space, and what a trial's sample maps onto (:class:`Sample`)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NO_PRETRAIN", "PRETRAIN_SETTINGS", "Param", "Sample"]


def _pretrain_settings() -> dict[str, frozenset[str]]:
    from sb3_plus.training.pretrain import PRETRAIN_METHODS, PRETRAIN_SETTINGS as table

    return {method: frozenset(table.get(method, ())) for method in PRETRAIN_METHODS}


#: Pretraining settings a space may tune, by method (``pretrain.<setting>`` params): the settings
#: training accepts as ``pretrain_kwargs``, e.g. BC's ``epochs`` / ``lr`` / ``seq_len`` and DAgger's
#: ``rounds``, ``beta`` (initial probability that the expert acts), ``beta_decay``, ``episodes_per_round``.
PRETRAIN_SETTINGS: dict[str, frozenset[str]] = _pretrain_settings()
#: Values of ``pretrain.method`` that mean "no pretraining".
NO_PRETRAIN = ("none", None)


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

    def distribution(self) -> Any:
        """The Optuna distribution this param is sampled from."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "float":
            return FloatDistribution(float(self.low), float(self.high), log=self.log,
                                     step=None if self.step is None else float(self.step))
        if self.kind == "int":
            step = 1 if self.step is None else int(self.step)
            return IntDistribution(int(self.low), int(self.high), log=self.log, step=step)
        return CategoricalDistribution(list(self.choices))

    def suggest(self, trial: Any) -> Any:
        """Ask ``trial`` (an Optuna trial, or a ``FixedTrial``) for this param's value."""
        if self.kind == "float":
            return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log,
                                       step=None if self.step is None else float(self.step))
        if self.kind == "int":
            step = 1 if self.step is None else int(self.step)
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=step, log=self.log)
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
