"""Pretraining a model before RL: BC, DAgger, GAIL or AIRL, with settings from the config and flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sb3_plus.errors import BadOptionError
from sb3_plus.imitation.adversarial import AdversarialSettings
from sb3_plus.imitation.settings import BCSettings, DAggerSettings, config_settings

PRETRAIN_METHODS = ("bc", "dagger", "gail", "airl")

#: Settings each pretraining method accepts (``--pretrain-*`` flags, ``pretrain:`` in a zoo config):
#: the fields of its settings dataclass, less those the run provides (the seed; DAgger's budget).
PRETRAIN_SETTINGS: dict[str, frozenset[str]] = {
    "bc": config_settings(BCSettings),
    "dagger": config_settings(DAggerSettings),
    "gail": config_settings(AdversarialSettings),
    "airl": config_settings(AdversarialSettings),
}


def pretrain_settings_for(method: str, config_pretrain: dict[str, Any] | None,
                          overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A method's settings from a zoo ``pretrain:`` entry: shared keys, then the method's own sub-dict.

    Example entry: ``pretrain: {epochs: 30, dagger: {rounds: 4, epochs: 8}}``: BC runs 30
    epochs; DAgger 4 rounds of 8 epochs. (RL after any pretraining is the entry's ``finetune:``,
    see :mod:`sb3_plus.config.finetune`; :func:`train` applies it.)

    :param method: one of :data:`PRETRAIN_METHODS`.
    :param config_pretrain: the config's ``pretrain:`` entry.
    :param overrides: settings over the config's (flags, ``pretrain_kwargs``).
    """
    allowed = PRETRAIN_SETTINGS.get(method, frozenset())
    # shared keys apply where the method has them (a BC ``epochs`` is no GAIL setting)
    base = {k: v for k, v in (config_pretrain or {}).items() if k in allowed}
    base.update((config_pretrain or {}).get(method) or {})
    base.update(overrides or {})
    return base


def _dataset(dataset_id: str) -> Any:
    """The local Minari dataset ``dataset_id``; :class:`InputNotFoundError` naming the fix if missing."""
    from sb3_plus.imitation.episodes import open_dataset

    return open_dataset(dataset_id)


def _check(method: str, settings: dict[str, Any]) -> None:
    if method not in PRETRAIN_METHODS:
        raise BadOptionError(f"unknown pretraining method {method!r}. Fix: choose from {', '.join(PRETRAIN_METHODS)}")
    unknown = set(settings) - PRETRAIN_SETTINGS[method]
    if unknown:
        raise BadOptionError(f"unknown {method} setting(s) {sorted(unknown)}. "
                             f"Fix: use one of {sorted(PRETRAIN_SETTINGS[method])}")


def _normalizer(model: Any) -> Any:
    """RL's ``VecNormalize`` (``None`` without one): BC and DAgger normalise observations as RL will."""
    get = getattr(model, "get_vec_normalize_env", None)
    return get() if get is not None else None


def pretrain_policy(model: Any, method: str, dataset_id: str | None, settings: dict[str, Any], progress: bool,
                    seed: int, *, env_id: str | None = None, env_kwargs: dict[str, Any] | None = None,
                    work_dir: Path | None = None, expert: str = "waypoint", route: Any = None,
                    max_seconds: float | None = None, verbose: int = 1) -> dict[str, Any]:
    """Pretrain ``model`` in place (BC, DAgger, GAIL or AIRL); returns the report as a dict.

    BC and DAgger see observations as RL will: through the model's ``VecNormalize`` when it has
    one (a fresh one gets its statistics from the dataset, see :mod:`sb3_plus.imitation.normalize`).

    :param model: the SB3 model RL will train next.
    :param method: one of :data:`PRETRAIN_METHODS`.
    :param dataset_id: Minari dataset (needed by bc, gail and airl; DAgger's optional first data).
    :param settings: the method's settings (see :data:`PRETRAIN_SETTINGS`).
    :param progress: show progress bars.
    :param seed: seed of the pretraining.
    :param env_id: env of DAgger's rollouts.
    :param env_kwargs: env options of DAgger's rollouts (the training config's).
    :param work_dir: DAgger's (resumable) folder, adversarial logs.
    :param expert: DAgger's expert.
    :param route: the expert's route (file), default the map's route file or the planner.
    :param max_seconds: wall budget of the pretraining.
    :param verbose: 1 prints DAgger's rounds.
    :raises BadOptionError: unknown method or setting, or a bad setting value.
    :raises InputNotFoundError: no dataset ``dataset_id``.
    """
    _check(method, settings)
    return _pretrain(model, method, dataset_id, settings, progress, seed, env_id=env_id, env_kwargs=env_kwargs,
                     work_dir=work_dir, expert=expert, route=route, max_seconds=max_seconds, verbose=verbose)


def check_pretraining_data(model: Any, method: str | None, dataset_id: str | None,
                           env_kwargs: dict[str, Any] | None = None) -> None:
    """Check, before a run writes anything, that the dataset's spaces fit the model (one episode is read).

    :raises SpaceMismatchError: naming both spaces and, where the env options differ, the ``--env-kwargs`` fix.
    :raises InputNotFoundError: no dataset ``dataset_id``.
    """
    from sb3_plus.data.sequences import load_episodes
    from sb3_plus.imitation.episodes import check_spaces
    from sb3_plus.imitation.space_check import SpaceMismatchError

    if not method or not dataset_id:
        return
    dataset = _dataset(dataset_id)
    first = load_episodes(dataset, episode_indices=dataset.episode_indices[:1])
    try:
        check_spaces(model.policy, first, exact=_normalizer(model) is None)
    except SpaceMismatchError as exc:
        hint = _env_options_hint(dataset_id, env_kwargs)
        raise (SpaceMismatchError(f"{exc} {hint}") if hint else exc) from None


def _env_options_hint(dataset_id: str | None, env_kwargs: dict[str, Any] | None) -> str:
    """Which env options differ between a dataset and the run, as the ``--env-kwargs`` that fixes it."""
    if not dataset_id:
        return ""
    try:
        recorded = (_dataset(dataset_id).storage.metadata.get("sb3plus") or {}).get("env_kwargs")
    except Exception:  # the hint is a courtesy: the mismatch error stands without it
        return ""
    if not isinstance(recorded, dict):
        return ""
    run = dict(env_kwargs or {})
    differ = sorted(k for k in set(recorded) | set(run) if recorded.get(k) != run.get(k))
    if not differ:
        return ""
    wanted = " ".join(f"{k}:{recorded[k]}" for k in differ if k in recorded)
    dropped = ", ".join(k for k in differ if k not in recorded)
    fixes = ([f"--env-kwargs {wanted}"] if wanted else []) + \
        ([f"without the option(s) {dropped} (the dataset used their defaults)"] if dropped else [])
    return (f"The dataset was collected with env options {recorded}, this run uses {run}. Fix: train with "
            f"{' and '.join(fixes)}, or collect the dataset with the run's options.")


def _pretrain(model: Any, method: str, dataset_id: str | None, settings: dict[str, Any], progress: bool,
              seed: int, *, env_id: str | None, env_kwargs: dict[str, Any] | None, work_dir: Path | None,
              expert: str, route: Any, max_seconds: float | None, verbose: int) -> dict[str, Any]:
    if method == "dagger" and env_id is None:
        raise BadOptionError("DAgger plays an env. Fix: pass env_id (the training env's id)")
    values = dict(settings)
    if method in ("bc", "dagger"):
        values.setdefault("gamma", getattr(model, "gamma", 0.99))
    if method == "bc":
        from sb3_plus.imitation.bc import train_bc

        bc = BCSettings.from_dict(values)
        limits = [t for t in (bc.max_seconds, max_seconds) if t is not None]
        budget = min(limits) if limits else None
        out = train_bc(model.policy, _dataset(dataset_id), bc.replace(seed=seed, max_seconds=budget),
                       normalizer=_normalizer(model), progress_bar=progress).to_dict()
    elif method == "dagger":
        from sb3_plus.imitation.dagger import train_dagger

        dagger = DAggerSettings.from_dict(values).replace(seed=seed, max_seconds=max_seconds)
        out = train_dagger(model.policy, env_id, work_dir or Path("dagger"), dagger, env_kwargs=env_kwargs,
                           expert=expert, route=route, initial_dataset=_dataset(dataset_id) if dataset_id else None,
                           normalizer=_normalizer(model), progress_bar=progress, verbose=verbose).to_dict()
    else:
        from sb3_plus.imitation.adversarial import train_adversarial

        out = train_adversarial(model, _dataset(dataset_id), method, AdversarialSettings.from_dict(values),
                                log_dir=work_dir or Path(method), progress_bar=progress, max_seconds=max_seconds)
    out.update(method=method, dataset_id=dataset_id)
    return out
