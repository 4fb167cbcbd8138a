"""Optuna samplers and pruners by name."""

from __future__ import annotations

import warnings
from typing import Any

from sb3_plus.tuning.errors import TuneError
from sb3_plus.tuning.settings import PRUNERS, SAMPLERS

__all__ = ["PRUNERS", "SAMPLERS", "make_pruner", "make_sampler"]


def make_sampler(name: str, n_startup_trials: int = 5, seed: int | None = None, space: Any = None) -> Any:
    """An Optuna sampler by name.

    - ``tpe``: multivariate TPE over grouped (conditional) params, with the constant liar so
      that parallel workers do not all sample the same point;
    - ``random``;
    - ``cmaes``: CMA-ES for float and int params (categoricals go to TPE beside it).

    :param name: one of :data:`SAMPLERS`.
    :param n_startup_trials: random trials before the model-based sampler starts.
    :param seed: sampler seed (give each worker its own).
    :param space: the search space, to check that CMA-ES applies.
    """
    import optuna

    if name == "tpe":
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(n_startup_trials=n_startup_trials, seed=seed, multivariate=True,
                                              group=True, constant_liar=True)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise TuneError("--sampler cmaes needs the cmaes package. Fix: pip install cmaes, or use --sampler tpe") \
                from None
        if space is not None and not any(p.kind in ("float", "int") for p in space.params):
            raise TuneError(f"--sampler cmaes samples float and int params, and the space {space.file} has only "
                            "categorical ones. Fix: use --sampler tpe")
        independent = optuna.samplers.TPESampler(n_startup_trials=n_startup_trials, seed=seed)
        return optuna.samplers.CmaEsSampler(n_startup_trials=n_startup_trials, seed=seed,
                                            independent_sampler=independent, warn_independent_sampling=False)
    raise TuneError(f"unknown sampler {name!r}. Fix: use one of {', '.join(SAMPLERS)}")


def make_pruner(name: str, n_startup_trials: int = 5, n_warmup_steps: int = 0) -> Any:
    """An Optuna pruner by name: ``median``, ``halving`` (successive halving) or ``none``.

    :param name: one of :data:`PRUNERS`.
    :param n_startup_trials: trials that finish before the median pruner prunes anything.
    :param n_warmup_steps: reported steps (evaluations) of a trial before it can be pruned.
    """
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, n_warmup_steps), reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise TuneError(f"unknown pruner {name!r}. Fix: use one of {', '.join(PRUNERS)}")
