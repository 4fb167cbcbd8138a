"""Resolving a run: options + zoo config + overrides + the fine-tune settings -> a :class:`RunPlan`.

Nothing here creates a folder or an env: a plan can be made, read and checked before anything
is written, so bad input fails before a run folder exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

from sb3_plus.errors import BadOptionError, InputNotFoundError
from sb3_plus.training.pretrain import PRETRAIN_METHODS, PRETRAIN_SETTINGS, pretrain_settings_for
from sb3_plus.training.run_folder import find_init_model, find_resume_model, run_folder_of, unfinished_pretraining


@dataclass
class TrainOptions:
    """Every option of a training run, with its default (the keywords of :func:`sb3_plus.training.train`)."""

    n_timesteps: int | None = None
    """budget in env steps (default: the config's ``n_timesteps``)"""
    seed: int = 0
    """seed of training envs, model and pretraining"""
    log_folder: str | os.PathLike = "logs"
    """runs go to ``<log_folder>/<algo>/<env_id>_<N>``"""
    conf_file: str | os.PathLike | None = None
    """a zoo YAML file instead of ``zoo_configs/<algo>.yml``"""
    hyperparams: dict[str, Any] | Sequence[str] | None = None
    """overrides, ``["key:value", ...]`` or a dict"""
    eval_freq: int | None = None
    """env steps between evaluations (0 disables; default from config or 10 per run)"""
    eval_episodes: int | None = None
    """episodes per evaluation"""
    eval_seed: int | None = None
    """first validation seed of those evaluations (default :data:`sb3_plus.evaluation.VALIDATION_SEED`)"""
    save_freq: int | None = None
    """env steps between checkpoints (-1: only the final model and on interrupt; a resumed run keeps its own)"""
    keep_checkpoints: int = 3
    """checkpoints kept, the newest (0: all, e.g. for a progression video)"""
    trained_agent: str | os.PathLike | None = None
    """a model zip or a run folder to resume (schedules and step counts continue)"""
    init_model: str | os.PathLike | None = None
    """a model zip, or a run folder (its ``best_model.zip``, else its final model), whose policy starts a new
    run: e.g. the next level of a game. Observations, actions and policy must match; RL then uses the
    config's ``finetune:`` settings, as after pretraining"""
    progress: bool = False
    """show progress bars"""
    pretrain: str | None = None
    """``bc``, ``dagger``, ``gail`` or ``airl`` before RL"""
    dataset: str | None = None
    """Minari dataset id for pretraining"""
    pretrain_kwargs: dict[str, Any] | None = None
    """the method's settings (see :data:`sb3_plus.training.pretrain.PRETRAIN_SETTINGS`), over the config's"""
    device: str = "cpu"
    """torch device"""
    n_envs: int | None = None
    """override the config's number of envs"""
    vec_env: str | None = None
    """``dummy``, ``subproc`` or ``workers`` (default: the config's ``vec_env_class``)"""
    env_kwargs: dict[str, Any] | None = None
    """env options merged over the config's ``env_kwargs``"""
    torch_threads: int | None = None
    """torch intra-op threads while envs step (default 1: fastest for small nets on few cores)"""
    update_threads: int | None = None
    """torch threads of gradient updates and pretraining, while the envs wait (default: one per core, at most 4;
    ``torch_threads`` when that is given)"""
    tensorboard: bool = True
    """write TensorBoard logs under the run folder"""
    verbose: int = 1
    """0 silent, 1 info"""
    command: str | None = None
    """the command line, appended to the run folder's ``command.txt``"""
    max_seconds: float | None = None
    """wall budget of the whole call, pretraining included"""
    callback: Any = None
    """extra SB3 callback(s) for ``learn``"""
    on_eval: Any = None
    """``on_eval(num_timesteps, EvalResult)`` after every validation evaluation (step 0 included)"""
    expert: str = "waypoint"
    """DAgger's expert (see :data:`sb3_plus.experts.EXPERTS`)"""
    route: str | os.PathLike | None = None
    """the expert's route file (default: ``experts/<family>/<map>.yaml`` or the planner)"""

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> "TrainOptions":
        """Options from keywords; an unknown keyword is an error naming the allowed ones."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise BadOptionError(f"unknown training option(s) {unknown}. Fix: use one of {sorted(names)}")
        return cls(**kwargs)


@dataclass
class RunPlan:
    """What a run will do, resolved from its options and config; see :func:`resolve_run`."""

    algo: str
    env_id: str
    config: Any
    """the resolved :class:`sb3_plus.config.TrainConfig` (``config.yml`` of the run)"""
    options: TrainOptions
    method: str | None = None
    dataset: str | None = None
    pretrain_settings: dict[str, Any] = field(default_factory=dict)
    resume_model: Path | None = None
    init_model: Path | None = None
    """the model whose policy starts this run (``--init-model``)"""
    run_dir: Path | None = None
    """the folder to resume in (``None``: a new folder is made when the run starts)"""
    unfinished: dict[str, Any] | None = None
    """the pretraining record of a run killed while pretraining"""
    finetune: Any = None
    """the anchor and critic-only settings of RL after pretraining (a
    :class:`~sb3_plus.config.finetune.FinetuneSettings`; ``None``: plain RL)"""
    eval_freq: int = 0
    eval_episodes: int = 10
    save_freq: int = -1

    @property
    def resuming(self) -> bool:
        return self.options.trained_agent is not None


def _check_curriculum(plan: RunPlan) -> None:
    """A curriculum's option and stages fit the env, and a run that has one evaluates (its stages move on
    evaluations)."""
    from sb3_plus.training.curriculum import check_curriculum_env, parse_curriculum

    settings = parse_curriculum(plan.config.curriculum)
    if settings is None:
        return
    check_curriculum_env(settings, plan.env_id, plan.config.env_kwargs)
    if plan.options.eval_freq == 0 or (plan.options.eval_freq is None and plan.config.eval_freq == 0):
        raise BadOptionError("this config has a curriculum, whose stages move on evaluations, but evaluation is off "
                             "(eval_freq 0). Fix: set eval_freq > 0, or remove the curriculum")


def _override_keys(hyperparams: Any) -> set[str]:
    from sb3_plus.config import parse_overrides

    if isinstance(hyperparams, dict):
        return set(hyperparams)
    return set(parse_overrides(hyperparams or []))


def _load_config(algo: str, env_id: str, options: TrainOptions) -> Any:
    from sb3_plus.config import apply_overrides, load_hyperparams

    conf_file = options.conf_file
    if options.trained_agent is not None and conf_file is None:
        # a resumed run keeps its resolved config (env options, overrides, budget) unless told otherwise
        saved = run_folder_of(Path(options.trained_agent)) / "config.yml"
        conf_file = saved if saved.exists() else None
    config = load_hyperparams(algo, env_id, conf_file=conf_file, overrides=options.hyperparams)
    cli = {k: v for k, v in {"n_timesteps": options.n_timesteps, "n_envs": options.n_envs,
                             "vec_env_class": options.vec_env, "eval_freq": options.eval_freq or None,
                             "eval_episodes": options.eval_episodes}.items()
           if v is not None}
    if options.env_kwargs:
        cli["env_kwargs"] = {**config.env_kwargs, **options.env_kwargs}
    return apply_overrides(config, cli) if cli else config


def rollout_size(config: Any) -> tuple[int, int] | None:
    """``(n_steps, n_steps * n_envs)`` of an on-policy algorithm, whose ``learn`` trains whole rollouts.

    :param config: the resolved :class:`~sb3_plus.config.TrainConfig`.
    :return: ``None`` for an off-policy algorithm (its ``n_steps`` means n-step returns, not a rollout).
    """
    import inspect

    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    algo_class = config.algo_class
    if not issubclass(algo_class, OnPolicyAlgorithm):
        return None
    n_steps = config.algo_kwargs.get("n_steps")
    if n_steps is None:   # not in the config: the algorithm's own default applies
        n_steps = inspect.signature(algo_class.__init__).parameters.get("n_steps", inspect.Parameter.empty).default
    if not isinstance(n_steps, int) or isinstance(n_steps, bool):
        return None
    return n_steps, n_steps * int(config.n_envs)


def _check_budget(config: Any, resuming: bool = False) -> None:
    """At least one env step, a new run's budget no smaller than one rollout (SB3 trains whole rollouts,
    so it would silently train more), and minibatches no larger than a rollout (SB3 would only warn)."""
    if config.n_timesteps is None or config.n_timesteps < 1:
        raise BadOptionError(f"the budget must be at least 1 env step, got n_timesteps={config.n_timesteps}. "
                             "Fix: pass -n N with N >= 1")
    sizes = rollout_size(config)
    if sizes is None:
        return
    n_steps, rollout = sizes
    budget, n_envs = int(config.n_timesteps), int(config.n_envs)
    batch_size = config.algo_kwargs.get("batch_size")
    if not resuming and budget < rollout:
        # a resumed run's budget is a total that its earlier rollouts already count towards
        fits = [f"n_steps:{budget // n_envs}"] if budget >= n_envs else [f"n_envs:{budget}", "n_steps:1"]
        fitted = max(budget // n_envs, 1) * min(n_envs, budget)
        if isinstance(batch_size, int) and batch_size > fitted:
            fits.append(f"batch_size:{fitted}")
        raise BadOptionError(f"the budget of {budget} env steps is smaller than one rollout (n_steps {n_steps} x "
                             f"n_envs {n_envs} = {rollout}); SB3 trains whole rollouts, so the run would train "
                             f"{rollout} steps. Fix: pass -n {rollout}, or --hyperparams {' '.join(fits)}")
    if isinstance(batch_size, int) and batch_size > rollout:
        raise BadOptionError(f"batch_size {batch_size} is larger than one rollout (n_steps {n_steps} x n_envs "
                             f"{n_envs} = {rollout}). Fix: --hyperparams batch_size:{rollout} or a larger "
                             "n_steps / n_envs")


def _check_dataset(dataset: str) -> None:
    from sb3_plus.data.storage import datasets_root

    root = datasets_root()
    if not (root / dataset).exists():
        raise InputNotFoundError(
            f"dataset {dataset!r} not found under {root}. Fix: make it with python -m sb3_plus.collect_expert "
            f"--env ... --dataset-id {dataset}, or set MINARI_DATASETS_PATH to the folder that holds it")


def _resolve_finetune(plan: RunPlan) -> None:
    """RL after pretraining: the config's ``finetune:`` hyperparameters (under --hyperparams) and its
    anchor and critic-only settings. A run that does not pretrain is left as it is."""
    from sb3_plus.config import apply_overrides
    from sb3_plus.config.finetune import FINETUNE_KEYS, FinetuneSettings

    finetune = plan.config.finetune or {}
    if plan.resuming:  # its config.yml has the hyperparameters applied; its run record says whether it pretrained
        from sb3_plus.training.run_folder import read_run_info

        record = read_run_info(plan.run_dir)
        pretrained = plan.unfinished is not None or bool(record.get("pretrain") or record.get("init_model"))
    else:
        pretrained = bool(plan.method) or plan.init_model is not None
        given = _override_keys(plan.options.hyperparams)
        # --hyperparams win over finetune's values, except those they set under finetune itself
        in_finetune = set(finetune) if "finetune" in given else {k.split(".")[1] for k in given
                                                                 if k.startswith("finetune.")}
        rl = {k: v for k, v in finetune.items() if k not in FINETUNE_KEYS and (k not in given or k in in_finetune)}
        if pretrained and rl:
            plan.config = apply_overrides(plan.config, rl)
    settings = FinetuneSettings.from_config(finetune)
    plan.finetune = settings if pretrained and settings.active else None


def _resolve_pretraining(plan: RunPlan) -> None:
    config, options = plan.config, plan.options
    config_pretrain = dict(config.pretrain or {})
    method = options.pretrain or config_pretrain.get("method")
    if method and method not in PRETRAIN_METHODS:
        raise BadOptionError(f"unknown --pretrain {method!r}. Fix: choose from {', '.join(PRETRAIN_METHODS)}")
    plan.method = method
    plan.dataset = options.dataset or config_pretrain.get("dataset")
    _resolve_finetune(plan)
    settings = pretrain_settings_for(method, config_pretrain, options.pretrain_kwargs) if method else {}
    if method in ("bc", "dagger") and plan.config.seq_len and "seq_len" not in settings and plan.algo == "ppo_lstm":
        settings["seq_len"] = plan.config.seq_len
    if method in ("bc", "dagger") and plan.config.augment and "augment" not in settings:
        settings["augment"] = list(plan.config.augment)  # BC sees the minibatches PPO's updates see
    if method and method != "dagger" and not plan.dataset:
        raise BadOptionError(f"--pretrain {method} needs a dataset. Fix: pass --dataset ID "
                             "(make one with python -m sb3_plus.collect_expert)")
    unknown = set(settings) - PRETRAIN_SETTINGS[method] if method else set()
    if unknown:
        raise BadOptionError(f"unknown {method} setting(s) {sorted(unknown)}. "
                             f"Fix: use one of {sorted(PRETRAIN_SETTINGS[method])}")
    plan.pretrain_settings = settings


def resolve_run(algo: str, env_id: str, options: TrainOptions) -> RunPlan:
    """Resolve what a run will do, and check its inputs, before anything is created.

    :param algo: ``ppo``, ``ppo_lstm``, ... (see :data:`sb3_plus.config.ALGOS`).
    :param env_id: the env.
    :param options: the run's options.
    :raises UserError: for bad options, a missing dataset or model to resume, a bad config.
    """
    from sb3_plus.config import ALGOS

    if algo not in ALGOS:
        raise BadOptionError(f"unknown algorithm {algo!r}. Fix: use one of {', '.join(sorted(ALGOS))}")
    plan = RunPlan(algo, env_id, _load_config(algo, env_id, options), options)
    if plan.resuming:
        plan.resume_model, plan.run_dir = find_resume_model(Path(options.trained_agent))
        plan.unfinished = unfinished_pretraining(plan.run_dir)
    if options.init_model is not None:
        if plan.resuming:
            raise BadOptionError("-i resumes a run and --init-model starts a new one from a model's policy. "
                                 "Fix: pass one of them")
        plan.init_model = find_init_model(Path(options.init_model))
    _resolve_pretraining(plan)
    _check_budget(plan.config, resuming=plan.resuming)
    if plan.unfinished is not None:  # a run killed while pretraining: pretrain again (DAgger resumes its rounds)
        plan.method, plan.dataset = plan.unfinished.get("method"), plan.unfinished.get("dataset_id")
        plan.pretrain_settings = plan.unfinished.get("settings") or {}
    if plan.method and plan.dataset and (not plan.resuming or plan.unfinished is not None):
        _check_dataset(plan.dataset)
    config = plan.config
    _check_curriculum(plan)
    plan.eval_episodes = options.eval_episodes or config.eval_episodes or 10
    if options.eval_freq is not None:
        plan.eval_freq = options.eval_freq
    else:
        plan.eval_freq = config.eval_freq if config.eval_freq is not None else max(config.n_timesteps // 10, 1)
    save_freq = options.save_freq
    if save_freq is None and plan.run_dir is not None:  # a resumed run keeps its checkpoint schedule
        from sb3_plus.training.run_folder import read_run_info

        save_freq = read_run_info(plan.run_dir).get("save_freq")
    plan.save_freq = save_freq if save_freq is not None else -1
    return plan
