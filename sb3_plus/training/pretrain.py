"""Pretraining a model before RL: BC, DAgger, GAIL or AIRL, with settings from the config and flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PRETRAIN_METHODS = ("bc", "dagger", "gail", "airl")


_BC_SETTINGS = {"epochs", "batch_size", "seq_len", "lr", "ent_coef", "l2_coef", "max_grad_norm",
                "critic_warmup_epochs", "gamma", "holdout_fraction", "max_seconds"}
_DAGGER_SETTINGS = (_BC_SETTINGS - {"max_seconds"}) | {
    "rounds", "episodes_per_round", "beta", "beta_decay", "betas", "n_envs", "eval_episodes", "deterministic",
    "rollout_max_steps", "initial_epochs"}
_ADVERSARIAL_SETTINGS = {"timesteps", "demo_batch_size", "n_disc_updates_per_round", "disc_lr"}
#: Settings each pretraining method accepts (``--pretrain-*`` flags, ``pretrain:`` in a zoo config).
PRETRAIN_SETTINGS = {"bc": _BC_SETTINGS, "dagger": _DAGGER_SETTINGS, "gail": _ADVERSARIAL_SETTINGS,
                     "airl": _ADVERSARIAL_SETTINGS}


def pretrain_settings_for(method: str, config_pretrain: dict[str, Any] | None,
                          overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A method's settings from a zoo ``pretrain:`` entry: shared keys, then the method's own sub-dict.

    Example entry: ``pretrain: {epochs: 30, dagger: {rounds: 4, epochs: 8}}``: BC runs 30
    epochs; DAgger 4 rounds of 8 epochs. (``pretrain: {finetune: {...}}`` holds the RL
    hyperparameters used after any pretraining; :func:`train` applies them.)
    """
    allowed = PRETRAIN_SETTINGS.get(method, set())
    # shared keys apply where the method has them (a BC ``epochs`` is no GAIL setting)
    base = {k: v for k, v in (config_pretrain or {}).items() if k in allowed}
    base.update((config_pretrain or {}).get(method) or {})
    base.update(overrides or {})
    return base


def _dataset(dataset_id: str) -> Any:
    import minari

    from sb3_plus.data.storage import datasets_root, minari_root

    root = datasets_root()
    if not (root / dataset_id).exists():
        raise FileNotFoundError(
            f"dataset {dataset_id!r} not found under {root}. Fix: make it with "
            f"python -m sb3_plus.collect_expert --env ... --dataset-id {dataset_id}, or set MINARI_DATASETS_PATH"
        )
    with minari_root(root):
        return minari.load_dataset(dataset_id)


def pretrain_policy(model: Any, method: str, dataset_id: str | None, settings: dict[str, Any], progress: bool,
                    seed: int, *, env_id: str | None = None, env_kwargs: dict[str, Any] | None = None,
                    work_dir: Path | None = None, expert: str = "waypoint", route: Any = None,
                    max_seconds: float | None = None, verbose: int = 1) -> dict[str, Any]:
    """Pretrain ``model`` in place (BC, DAgger, GAIL or AIRL); returns the report as a dict.

    :param model: the SB3 model RL will train next.
    :param method: one of :data:`PRETRAIN_METHODS`.
    :param dataset_id: Minari dataset (needed by bc, gail and airl; DAgger's optional first data).
    :param settings: the method's settings (see :data:`PRETRAIN_SETTINGS`).
    :param env_id: env of DAgger's rollouts.
    :param env_kwargs: env options of DAgger's rollouts (the training config's).
    :param work_dir: DAgger's (resumable) folder, adversarial logs.
    :param expert: DAgger's expert.
    :param route: the expert's route (file), default the map's route file or the planner.
    :param max_seconds: wall budget of the pretraining.
    """
    if method not in PRETRAIN_METHODS:
        raise ValueError(f"unknown pretraining method {method!r}; choose from {', '.join(PRETRAIN_METHODS)}")
    unknown = set(settings) - PRETRAIN_SETTINGS[method]
    if unknown:
        raise ValueError(f"unknown {method} setting(s) {sorted(unknown)}; allowed: {sorted(PRETRAIN_SETTINGS[method])}")
    kwargs = dict(settings)
    if method in ("bc", "dagger"):
        kwargs.setdefault("gamma", getattr(model, "gamma", 0.99))
    if method == "bc":
        from sb3_plus.imitation.bc import train_bc

        if max_seconds is not None:
            kwargs["max_seconds"] = min(kwargs.get("max_seconds", max_seconds), max_seconds)
        out = train_bc(model.policy, _dataset(dataset_id), progress_bar=progress, seed=seed, **kwargs).to_dict()
    elif method == "dagger":
        from sb3_plus.imitation.dagger import train_dagger

        out = train_dagger(model.policy, env_id, work_dir or Path("dagger"), env_kwargs=env_kwargs, expert=expert,
                           route=route, initial_dataset=_dataset(dataset_id) if dataset_id else None, seed=seed,
                           progress_bar=progress, verbose=verbose, max_seconds=max_seconds, **kwargs).to_dict()
    else:
        from sb3_plus.imitation.adversarial import train_adversarial

        out = train_adversarial(model, _dataset(dataset_id), method, log_dir=work_dir or Path(method),
                                progress_bar=progress, max_seconds=max_seconds, **kwargs)
    out.update(method=method, dataset_id=dataset_id)
    return out
