"""Optuna tuning for sb3-plus: search spaces as data, honest multi-seed objectives, resumable studies.

- :mod:`~sb3_plus.tuning.spaces`: ``zoo_configs/search_spaces/<algo>.yml``, validated, per-env sections.
- :mod:`~sb3_plus.tuning.objective`: several seeds per trial, held-out evaluation, intermediate values.
- :mod:`~sb3_plus.tuning.storage`: SQLite by default, any RDB URL; heartbeats fail killed trials.
- :mod:`~sb3_plus.tuning.tuner`: :func:`tune`, the study loop shared by any number of workers.
- :mod:`~sb3_plus.tuning.report`: best config as a zoo entry, ``trials.csv``, ``report.json``, plots.
- :mod:`~sb3_plus.tuning.dashboard`: optuna-dashboard on the study.

Command line: ``python -m sb3_plus.tune``.
"""

from sb3_plus.tuning.objective import METRICS, LearningCurves, Objective
from sb3_plus.tuning.spaces import SearchSpace, SearchSpaceError, load_search_space
from sb3_plus.tuning.storage import TuneError, default_storage_url
from sb3_plus.tuning.tuner import PRUNERS, SAMPLERS, TuneResult, tune

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
    "default_storage_url",
    "load_search_space",
    "tune",
]
