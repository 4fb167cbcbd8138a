"""Curricula: step one env option through stages as the run's evaluations pass a threshold.

A zoo entry's ``curriculum:`` key::

    curriculum:
      option: size          # an env option of the family (maze size, monster-room mode, Mario stage, ...)
      stages: [3, 5, 7, 9]  # its values, easiest first
      threshold: 0.8        # evaluation success (or mean return, with metric: return) that moves on
      metric: success
      patience: 1           # evaluations in a row at or above the threshold

The run starts at the first stage; an evaluation that passes the threshold ``patience`` times in
a row moves training and evaluation envs to the next stage (at the end of the rollout in progress:
the envs are rebuilt with the new value, ``VecNormalize`` statistics carried over). Each move is
logged (``curriculum/stage`` in TensorBoard, a line on the console) and written to the run's
``curriculum.json``, so a resumed run continues at its stage. ``best_model.zip`` is chosen among the
evaluations of the current stage (an easier stage's success is not comparable).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from sb3_plus.errors import BadOptionError

__all__ = ["CurriculumSettings", "Curriculum", "CurriculumCallback", "parse_curriculum", "check_curriculum_env"]

STATE_FILE = "curriculum.json"
_METRICS = ("success", "return")
_KEYS = ("option", "stages", "threshold", "metric", "patience")


@dataclass(frozen=True)
class CurriculumSettings:
    """What a ``curriculum:`` entry says (see the module)."""

    option: str
    stages: tuple[Any, ...]
    threshold: float = 0.8
    metric: str = "success"
    patience: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stages": list(self.stages)}


def parse_curriculum(raw: Any) -> CurriculumSettings | None:
    """The settings of a ``curriculum:`` value (``None`` for none).

    :raises BadOptionError: naming the key and the fix.
    """
    if raw is None:
        return None
    example = "curriculum: {option: size, stages: [3, 5, 7], threshold: 0.8}"
    if not isinstance(raw, Mapping):
        raise BadOptionError(f"curriculum must be a mapping, got {raw!r}. Fix: write e.g. `{example}`")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise BadOptionError(f"curriculum has unknown key(s) {unknown}. Fix: use only {', '.join(_KEYS)}")
    option, stages = raw.get("option"), raw.get("stages")
    if not isinstance(option, str) or not option:
        raise BadOptionError(f"curriculum.option must name an env option, got {option!r}. Fix: write e.g. `{example}`")
    if not isinstance(stages, (list, tuple)) or len(stages) < 2:
        raise BadOptionError(f"curriculum.stages must list at least two values, got {stages!r}. "
                             f"Fix: write e.g. `{example}`")
    metric = raw.get("metric", "success")
    if metric not in _METRICS:
        raise BadOptionError(f"curriculum.metric {metric!r} is not one of {', '.join(_METRICS)}. Fix: use success")
    threshold = raw.get("threshold", 0.8)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or (
            metric == "success" and not 0 < threshold <= 1):
        raise BadOptionError(f"curriculum.threshold {threshold!r} must be a number (a success rate in (0, 1] for "
                             "metric success). Fix: use e.g. 0.8")
    patience = raw.get("patience", 1)
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise BadOptionError(f"curriculum.patience must be a whole number >= 1, got {patience!r}. Fix: use 1")
    return CurriculumSettings(option, tuple(stages), float(threshold), metric, patience)


def check_curriculum_env(settings: CurriculumSettings, env_id: str, env_kwargs: Mapping[str, Any]) -> None:
    """Check that every stage is a value the env takes for the option, before any env is built.

    :raises BadOptionError: an option the env does not take (listing those it does), or a bad stage value.
    """
    from sb3_plus.envs import check_env_options, family_of
    from sb3_plus.envs.options import family_options
    from sb3_plus.envs.registry import find_family

    family = family_of(env_id)
    table = getattr(find_family(env_id), "options", None) or family_options(family) or {}
    if table and settings.option not in table:
        raise BadOptionError(f"curriculum.option {settings.option!r} is not an option of {env_id} ({family}). "
                             f"Fix: use one of {', '.join(sorted(table))}")
    for value in settings.stages:
        check_env_options(family, env_id, {**env_kwargs, settings.option: value}, table or None)


@dataclass
class Curriculum:
    """The stage a run is at, saved in its folder.

    :param settings: the entry's settings.
    :param run_dir: the run folder (``curriculum.json`` is read from it when it exists).
    """

    settings: CurriculumSettings
    run_dir: Path | None = None
    stage: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.run_dir is not None and (Path(self.run_dir) / STATE_FILE).exists():
            import json

            saved = json.loads((Path(self.run_dir) / STATE_FILE).read_text())
            self.stage = min(int(saved["stage"]), len(self.settings.stages) - 1)
            self.history = list(saved.get("history", []))

    @property
    def value(self) -> Any:
        return self.settings.stages[self.stage]

    @property
    def last(self) -> bool:
        return self.stage == len(self.settings.stages) - 1

    def env_kwargs(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """``base`` with the option at the current stage's value."""
        return {**base, self.settings.option: self.value}

    def passed(self, success_rate: float, mean_return: float) -> bool:
        score = success_rate if self.settings.metric == "success" else mean_return
        return score >= self.settings.threshold

    def advance(self, steps: int) -> None:
        """Move to the next stage and write ``curriculum.json``."""
        from sb3_plus.files import write_json_atomic

        self.stage += 1
        self.history.append({"stage": self.stage, "value": self.value, "steps": int(steps)})
        if self.run_dir is not None:
            write_json_atomic(Path(self.run_dir) / STATE_FILE, {"settings": self.settings.to_dict(),
                                                                "stage": self.stage, "history": self.history})


class CurriculumCallback(BaseCallback):
    """Moves the run to the next stage after passing evaluations (see the module).

    :param curriculum: the run's :class:`Curriculum`.
    :param rebuild: ``rebuild() -> VecEnv``: the run's training envs at the curriculum's current stage.
    :param eval_callback: the run's evaluation callback (its env is rebuilt at the next evaluation).
    """

    def __init__(self, curriculum: Curriculum, rebuild: Callable[[], Any], eval_callback: Any,
                 verbose: int = 1) -> None:
        super().__init__(verbose)
        self.curriculum, self.rebuild, self.eval_callback = curriculum, rebuild, eval_callback
        self.streak = 0
        self.pending = False

    def on_evaluation(self, num_timesteps: int, result: Any) -> None:
        """Called after every evaluation: count passes, and ask for the move."""
        if self.curriculum.last:
            return
        self.streak = self.streak + 1 if self.curriculum.passed(result.success_rate, result.mean_return) else 0
        if self.streak >= self.curriculum.settings.patience:
            self.pending, self.streak = True, 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.logger.record("curriculum/stage", self.curriculum.stage)
        if self.pending:
            self.pending = False
            self._move()

    def _move(self) -> None:
        from sb3_plus.training.envs import copy_normalization

        self.curriculum.advance(self.model.num_timesteps)
        old = self.model.get_env()
        new = self.rebuild()
        copy_normalization(self.model.get_vec_normalize_env(), new)
        self.model.set_env(new, force_reset=True)
        self.model._last_obs = self.model.get_env().reset()  # the next rollout starts in the new stage
        self.model._last_episode_starts = np.ones((new.num_envs,), dtype=bool)
        if hasattr(self.model, "_last_lstm_states"):
            self.model._last_lstm_states = _zero_states(self.model._last_lstm_states)
        old.close()
        self.eval_callback.close()  # rebuilt with the new value at the next evaluation
        self.eval_callback.best_key = (-float("inf"), -float("inf"))  # best_model among this stage's evaluations
        if self.verbose:
            print(f"curriculum: {self.curriculum.settings.option} = {self.curriculum.value!r} (stage "
                  f"{self.curriculum.stage + 1} of {len(self.curriculum.settings.stages)}) at "
                  f"{self.model.num_timesteps} steps", flush=True)


def _zero_states(states: Any) -> Any:
    """LSTM states of sb3-contrib (``RNNStates`` of tensor tuples) with every value 0."""
    return type(states)(tuple(s * 0 for s in states.pi), tuple(s * 0 for s in states.vf))


def run_curriculum(config: Any, run_dir: Path | None) -> Curriculum | None:
    """The curriculum of a run's config (at the stage saved in ``run_dir`` when resuming), or ``None``."""
    settings = parse_curriculum(config.curriculum)
    return None if settings is None else Curriculum(settings, run_dir)


def staged_config(config: Any, curriculum: Curriculum | None) -> Any:
    """``config`` with its env options at the curriculum's current stage."""
    import dataclasses

    if curriculum is None:
        return config
    return dataclasses.replace(config, env_kwargs=curriculum.env_kwargs(config.env_kwargs))
