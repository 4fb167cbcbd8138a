"""Optuna tuning for sb3-plus: search spaces as data, honest multi-seed objectives, resumable studies.

- :mod:`~sb3_plus.tuning.settings`: :class:`TuneSettings`, every knob of a run with its default and help.
- :mod:`~sb3_plus.tuning.spaces`: ``zoo_configs/search_spaces/<algo>.yml`` resolved for an env
  (files read and validated by :mod:`~sb3_plus.tuning.space_file`, params in :mod:`~sb3_plus.tuning.params`,
  sample constraints in :mod:`~sb3_plus.tuning.constraints`).
- :mod:`~sb3_plus.tuning.objective`: several seeds per trial, evaluation on validation seeds, intermediate values.
- :mod:`~sb3_plus.tuning.plan`: the settings resolved against the config, the space and the datasets.
- :mod:`~sb3_plus.tuning.study`: the study opened or resumed with its settings; dead workers' trials failed.
- :mod:`~sb3_plus.tuning.storage`: SQLite by default, any RDB URL; heartbeats fail killed trials.
- :mod:`~sb3_plus.tuning.samplers`: Optuna samplers and pruners by name.
- :mod:`~sb3_plus.tuning.tuner`: :func:`tune`, the study loop shared by any number of workers.
- :mod:`~sb3_plus.tuning.report`: best config as a zoo entry, ``trials.csv``, ``report.json``, plots.
- :mod:`~sb3_plus.tuning.console`: the progress lines.
- :mod:`~sb3_plus.tuning.dashboard`: optuna-dashboard on the study.

Command line: ``python -m sb3_plus.tune``.
"""

from sb3_plus.tuning.constraints import apply_constraints
from sb3_plus.tuning.errors import SearchSpaceError, TuneError
from sb3_plus.tuning.objective import METRICS, LearningCurves, Objective
from sb3_plus.tuning.samplers import make_pruner, make_sampler
from sb3_plus.tuning.settings import PRUNERS, SAMPLERS, TuneSettings
from sb3_plus.tuning.space_file import read_space_file
from sb3_plus.tuning.spaces import SearchSpace, load_search_space
from sb3_plus.tuning.storage import default_storage_url
from sb3_plus.tuning.tuner import TuneResult, report_study, tune

__all__ = [
    "METRICS",
    "PRUNERS",
    "SAMPLERS",
    "LearningCurves",
    "Objective",
    "SearchSpace",
    "SearchSpaceError",
    "TuneError",
    "TuneResult",
    "TuneSettings",
    "apply_constraints",
    "default_storage_url",
    "load_search_space",
    "make_pruner",
    "make_sampler",
    "read_space_file",
    "report_study",
    "tune",
]
