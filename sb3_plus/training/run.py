"""A training run, phase by phase: plan, folder, envs, model, callbacks, pretraining, RL, final record.

:func:`train` is the library call behind ``python -m sb3_plus.train``.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sb3_plus.training.callbacks import (AlignedEveryNTimesteps, AppendingCSVOutputFormat, AtomicCheckpointCallback,
                                         StopOnInterrupt, SuccessEvalCallback, UpdateThreads, WallTimeLimit,
                                         save_model_and_stats)
from sb3_plus.training.envs import find_vecnormalize, make_eval_env, make_training_env
from sb3_plus.training.curriculum import CurriculumCallback, run_curriculum, staged_config
from sb3_plus.training.plan import RunPlan, TrainOptions, resolve_run
from sb3_plus.training.pretrain import check_pretraining_data, pretrain_policy
from sb3_plus.training.run_folder import (append_command, next_run_dir, plot_learning_curve, read_run_info,
                                          write_run_info)
from sb3_plus.files import remove_own_temps, sweep_stale_temps
from sb3_plus.utils import (INTERRUPTED, default_torch_threads, default_update_threads, set_torch_threads,
                            sigterm_as_interrupt, torch_threads)


#: The policy right after pretraining, in the run folder of a run whose RL is anchored to it.
PRETRAINED_MODEL = "pretrained.zip"


@dataclass
class TrainResult:
    """What a training run produced."""

    run_dir: Path
    model_path: Path
    num_timesteps: int
    seconds: float
    final_eval: dict[str, Any] | None = None
    pretrain: dict[str, Any] | None = None
    solved: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def build_model(plan: RunPlan, venv: Any) -> Any:
    """The model: loaded from the checkpoint to resume, or new from the config."""
    from sb3_plus.config import ALGOS

    algo_cls, options = ALGOS[plan.algo], plan.options
    extra: dict[str, Any] = {}
    if plan.finetune is not None:  # RL after pretraining with an anchor or a critic-only start
        from sb3_plus.training.finetune import finetune_class

        algo_cls, extra = finetune_class(algo_cls), plan.finetune.model_kwargs()
    if plan.resume_model is not None:
        model = algo_cls.load(plan.resume_model, env=venv, device=options.device, **extra)
        if options.verbose:
            note = "" if model.num_timesteps < plan.config.n_timesteps else \
                f" (already >= its budget of {plan.config.n_timesteps}; pass -n to train further)"
            print(f"resuming {plan.resume_model} at {model.num_timesteps} steps{note}", flush=True)
        return model
    kwargs = plan.config.model_kwargs()
    noise = plan.config.action_noise(venv.action_space)
    if noise is not None:
        kwargs["action_noise"] = noise
    model = algo_cls(plan.config.policy, venv, seed=options.seed, device=options.device, verbose=0, **kwargs, **extra)
    if plan.config.lstm_forget_bias is not None:
        from sb3_plus.policies import set_lstm_forget_bias

        set_lstm_forget_bias(model.policy, plan.config.lstm_forget_bias)
    if plan.init_model is not None:
        load_init_policy(model, plan.init_model)
    return model


def load_init_policy(model: Any, path: Path) -> None:
    """Start ``model`` from the policy saved in ``path`` (``--init-model``); its optimizer starts afresh.

    :raises BadOptionError: the saved model observes or acts differently, or its policy has another shape.
    """
    from stable_baselines3.common.save_util import load_from_zip_file

    from sb3_plus.errors import BadOptionError

    data, params, _ = load_from_zip_file(path, device=model.device)
    for name in ("observation_space", "action_space"):
        saved, ours = (data or {}).get(name), getattr(model, name)
        if saved is not None and saved != ours:
            raise BadOptionError(f"--init-model {path}: its {name.replace('_', ' ')} {saved} is not this run's {ours}. "
                                 "Fix: start from a model of an env with the same observations and actions (the same "
                                 "env options: frame size, frame stack, action set), or train without --init-model")
    try:
        model.policy.load_state_dict(params["policy"])
    except (KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadOptionError(f"--init-model {path}: its policy does not fit this run's policy ({first}). Fix: use "
                             "the policy and policy_kwargs the model was trained with") from None


def _begin_finetune(plan: RunPlan, model: Any, run_dir: Path) -> None:
    """RL starts from the pretrained policy: its frozen copy anchors RL, kept as ``pretrained.zip`` for a resume."""
    if plan.finetune is not None:
        model.begin_finetune()
        save_model_and_stats(model, run_dir / PRETRAINED_MODEL)


def restore_anchor(plan: RunPlan, model: Any) -> None:
    """A resumed run anchored to its pretrained policy takes it back from ``pretrained.zip``.

    :raises InputNotFoundError: the run still needs the anchor but lost ``pretrained.zip``.
    """
    from stable_baselines3.common.save_util import load_from_zip_file

    from sb3_plus.errors import InputNotFoundError

    if plan.finetune is None or plan.run_dir is None or model.anchor_coef_now() <= 0:
        return
    path = plan.run_dir / PRETRAINED_MODEL
    if not path.is_file():
        raise InputNotFoundError(
            f"{path} is missing: RL of this run is anchored to its pretrained policy, which it keeps there. Fix: "
            "restore the file, or resume without the anchor (--hyperparams finetune.anchor.kl_coef:0)")
    model.set_anchor(load_from_zip_file(path, load_data=False, device=model.device)[1]["policy"])


def _set_logger(model: Any, run_dir: Path, options: TrainOptions) -> None:
    """TensorBoard and ``progress.csv`` under ``tb/`` (a resumed run appends to its CSV)."""
    from stable_baselines3.common.logger import Logger, make_output_format

    folder = run_dir / "tb" if options.tensorboard else run_dir
    folder.mkdir(parents=True, exist_ok=True)
    formats = ["tensorboard"] if options.tensorboard else []
    formats += ["stdout"] if options.verbose > 1 else []
    outputs = [make_output_format(name, str(folder)) for name in formats]
    outputs.append(AppendingCSVOutputFormat(str(folder / "progress.csv")))
    model.set_logger(Logger(str(folder), outputs))


def _start_record(plan: RunPlan, run_dir: Path, threads: int) -> dict[str, Any]:
    """Write ``config.yml``, the command and the start of ``run_info.json``; return the run info."""
    from sb3_plus.config import save_config

    options = plan.options
    save_config(plan.config, run_dir / "config.yml")
    append_command(run_dir, options.command or f"python -m sb3_plus.train --algo {plan.algo} --env {plan.env_id}")
    info: dict[str, Any] = {
        "algo": plan.algo, "env_id": plan.env_id, "env_kwargs": plan.config.env_kwargs, "seed": options.seed,
        "n_envs": plan.config.n_envs, "n_timesteps": plan.config.n_timesteps, "dataset_id": plan.dataset,
        "pretrain": None, "resumed_from": str(plan.resume_model) if plan.resume_model else None,
        "init_model": str(plan.init_model) if plan.init_model else None,
        "torch_threads": threads, "update_threads": update_threads_of(options)[1],
        "python": platform.python_version(), "device": options.device,
        "save_freq": plan.save_freq, "eval_freq": plan.eval_freq,
        "finetune": plan.finetune.to_config() if plan.finetune is not None else None,
    }
    if plan.resuming:  # keep the run's pretraining record and the model it started from
        earlier = read_run_info(run_dir)
        info["pretrain"], info["init_model"] = earlier.get("pretrain"), earlier.get("init_model")
    write_run_info(run_dir, info)
    return info


def _callbacks(plan: RunPlan, eval_cb: SuccessEvalCallback, run_dir: Path, start: float) -> list[Any]:
    options = plan.options
    callbacks: list[Any] = [StopOnInterrupt()]
    rollout, update = update_threads_of(options)
    if update != rollout:
        callbacks.append(UpdateThreads(rollout, update))
    if plan.eval_freq > 0:
        callbacks.append(AlignedEveryNTimesteps(plan.eval_freq, eval_cb))
    if plan.save_freq > 0:
        callbacks.append(AlignedEveryNTimesteps(plan.save_freq, AtomicCheckpointCallback(
            run_dir, keep=options.keep_checkpoints)))
    if options.max_seconds is not None:
        callbacks.append(WallTimeLimit(options.max_seconds, start=start))
    if plan.config.augment:
        from sb3_plus.policies.augment import AugmentMinibatches

        callbacks.append(AugmentMinibatches(plan.config.augment, seed=options.seed))
    if options.callback is not None:
        extra = options.callback
        callbacks.extend(extra if isinstance(extra, (list, tuple)) else [extra])
    return callbacks


def update_threads_of(options: TrainOptions) -> tuple[int, int]:
    """``(rollout, update)`` torch threads of a run (see :class:`TrainOptions`)."""
    rollout = max(1, int(options.torch_threads)) if options.torch_threads else default_torch_threads()
    if options.update_threads:
        return rollout, max(1, int(options.update_threads))
    return rollout, rollout if options.torch_threads else default_update_threads()


def _pretrain(plan: RunPlan, model: Any, run_dir: Path, info: dict[str, Any], eval_cb: SuccessEvalCallback,
              start: float) -> None:
    """Pretrain (recorded as unfinished first, so a killed run pretrains again on resume), then evaluate."""
    options = plan.options
    expert, route = options.expert, options.route
    if plan.unfinished is not None:
        expert, route = plan.unfinished.get("expert", expert), plan.unfinished.get("route", route)
    if options.verbose:
        print(f"pretraining ({plan.method}){f' on {plan.dataset}' if plan.dataset else ''} ...", flush=True)
    info["pretrain"] = {"method": plan.method, "dataset_id": plan.dataset, "settings": plan.pretrain_settings,
                        "expert": expert, "route": str(route) if route else None, "finished": False}
    write_run_info(run_dir, info)
    budget = None if options.max_seconds is None else max(options.max_seconds - (time.perf_counter() - start), 0.0)
    with torch_threads(update_threads_of(options)[1]):
        report = pretrain_policy(model, plan.method, plan.dataset, plan.pretrain_settings, options.progress,
                                 options.seed, env_id=plan.env_id, env_kwargs=plan.config.env_kwargs,
                                 work_dir=run_dir / plan.method, expert=expert, route=route, max_seconds=budget,
                                 verbose=options.verbose)
    _begin_finetune(plan, model, run_dir)  # before the record says finished: a resume then finds pretrained.zip
    info["pretrain"] = {**info["pretrain"], **report, "finished": True}
    if options.verbose and plan.method == "bc":
        print(bc_summary(report), flush=True)
    if plan.eval_freq > 0:
        eval_cb.init_callback(model)
        info["pretrain"]["eval"] = eval_cb.evaluate(record=True).summary()
    write_run_info(run_dir, info)


def _start_from_model(plan: RunPlan, model: Any, run_dir: Path, info: dict[str, Any],
                      eval_cb: SuccessEvalCallback) -> None:
    """RL from ``--init-model``'s policy: anchored to it as after pretraining, and evaluated first, so that
    ``best_model.zip`` may be the policy the run started from."""
    _begin_finetune(plan, model, run_dir)
    if plan.eval_freq > 0:
        eval_cb.init_callback(model)
        info["init_eval"] = eval_cb.evaluate(record=True).summary()
        write_run_info(run_dir, info)


def bc_summary(report: dict[str, Any]) -> str:
    """One line after BC: held-out agreement, epochs, seconds, samples/s."""
    final = report.get("final_agreement")
    last = f"{final:.3f}" if report.get("holdout_agreement") and final is not None else "n/a (no held-out episodes)"
    reached = ", ".join(f"{target} at {seconds:.1f} s" for target, seconds in (report.get("seconds_to") or {}).items()
                        if seconds is not None)
    return (f"BC: held-out agreement {last} after {report.get('epochs_run', 0)} epochs, "
            f"{report.get('total_seconds', 0.0):.1f} s ({report.get('samples_per_second', 0.0):,.0f} samples/s)"
            + (f"; reached {reached}" if reached else ""))


def _finish(plan: RunPlan, model: Any, run_dir: Path, info: dict[str, Any], eval_cb: SuccessEvalCallback,
            start: float) -> TrainResult:
    """Save the final model and its statistics, evaluate it (unless just done), write the record."""
    model_path = save_model_and_stats(model, run_dir / f"{plan.env_id.replace('/', '_')}.zip")
    final = None
    if plan.eval_freq > 0:
        if eval_cb.model is None:
            eval_cb.init_callback(model)
        if not eval_cb.history["timesteps"] or eval_cb.history["timesteps"][-1] != model.num_timesteps:
            eval_cb.evaluate(record=True)
        final = eval_cb.last_result.summary() if eval_cb.last_result else None
    seconds = time.perf_counter() - start
    info.update(final_eval=final, num_timesteps=model.num_timesteps, seconds=seconds, solved=eval_cb.solved,
                model=model_path.name)
    write_run_info(run_dir, info)
    plot_learning_curve(run_dir)
    return TrainResult(run_dir, model_path, model.num_timesteps, seconds, final, info["pretrain"], eval_cb.solved)


def _save_interrupted(plan: RunPlan, model: Any, run_dir: Path) -> None:
    """Save ``interrupted.zip``; a second SIGTERM during the save waits for it instead of losing it."""
    import signal
    import threading

    for folder in (run_dir, run_dir / "checkpoints"):  # a temporary the stop caught in its own clean-up
        remove_own_temps(folder)
    if model is None:
        return
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN) if main else None
    try:
        path = save_model_and_stats(model, run_dir / "interrupted.zip")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(f"\ninterrupted at {model.num_timesteps} steps; saved {path}. Resume with: "
          f"python -m sb3_plus.train --algo {plan.algo} --env {plan.env_id} -i {run_dir}", file=sys.stderr)


def train(algo: str, env_id: str, options: TrainOptions | None = None, **kwargs: Any) -> TrainResult:
    """Train ``algo`` on ``env_id`` with the hyperparameters of ``zoo_configs/<algo>.yml``.

    :param algo: ``ppo``, ``ppo_lstm``, ``a2c``, ``dqn``, ... (see :data:`sb3_plus.config.ALGOS`).
    :param env_id: any id :func:`sb3_plus.envs.make_env` builds.
    :param options: the run's options; or pass them as keywords (the fields of :class:`TrainOptions`:
        ``n_timesteps``, ``seed``, ``log_folder``, ``hyperparams``, ``pretrain``, ``dataset``,
        ``trained_agent``, ``max_seconds``, ...).
    :raises UserError: bad options, config or inputs, before any folder is created.
    """
    if options is None:
        options = TrainOptions.from_kwargs(**kwargs)
    elif kwargs:
        options = TrainOptions.from_kwargs(**{**vars(options), **kwargs})
    start = time.perf_counter()
    threads = set_torch_threads(options.torch_threads)
    plan = resolve_run(algo, env_id, options)
    saved = plan.resume_model or plan.init_model
    stats = find_vecnormalize(saved) if saved is not None else None
    curriculum = run_curriculum(plan.config, plan.run_dir)
    venv = make_training_env(staged_config(plan.config, curriculum), env_id, options.seed, stats=stats)
    try:  # everything that can refuse the inputs runs before the run folder exists
        model = build_model(plan, venv)
        pretrain_now = bool(plan.method) and (not plan.resuming or plan.unfinished is not None)
        if pretrain_now:
            check_pretraining_data(model, plan.method, plan.dataset, plan.config.env_kwargs)
        elif plan.resuming:
            restore_anchor(plan, model)
        run_dir = plan.run_dir or next_run_dir(Path(options.log_folder), algo, env_id)
        for folder in (run_dir, run_dir / "checkpoints"):  # temps of a killed earlier run of this folder
            sweep_stale_temps(folder)
    except BaseException:
        venv.close()
        raise
    eval_cb = SuccessEvalCallback(
        lambda: make_eval_env(staged_config(plan.config, curriculum), env_id), n_eval_episodes=plan.eval_episodes,
        run_dir=run_dir, seed=_eval_seed(options), success_threshold=plan.config.success_threshold,
        reward_threshold=plan.config.reward_threshold, verbose=options.verbose, on_eval=options.on_eval)
    extra = _curriculum_callback(plan, curriculum, run_dir, eval_cb)
    try:
        with sigterm_as_interrupt():
            _set_logger(model, run_dir, options)
            info = _start_record(plan, run_dir, threads)
            if pretrain_now:
                _pretrain(plan, model, run_dir, info, eval_cb, start)
            elif plan.init_model is not None and not plan.resuming:
                _start_from_model(plan, model, run_dir, info, eval_cb)
            remaining = max(plan.config.n_timesteps - model.num_timesteps, 0)
            if remaining > 0:
                model.learn(remaining, callback=_callbacks(plan, eval_cb, run_dir, start) + extra,
                            progress_bar=options.progress, tb_log_name="run",
                            reset_num_timesteps=plan.resume_model is None and model.num_timesteps == 0)
            return _finish(plan, model, run_dir, info, eval_cb, start)
    except KeyboardInterrupt:
        _save_interrupted(plan, model, run_dir)
        raise
    except Exception as exc:
        if not INTERRUPTED.is_set():
            raise
        # the stop surfaced as another error (a Ctrl-C inside a C extension's import becomes an ImportError)
        _save_interrupted(plan, model, run_dir)
        raise KeyboardInterrupt from exc
    finally:
        eval_cb.close()  # e.g. a pruned trial: its evaluation env (a game process) ends here too
        venv.close()
        if model.get_env() is not None and model.get_env() is not venv:  # a curriculum's envs of a later stage
            model.get_env().close()


def _curriculum_callback(plan: RunPlan, curriculum: Any, run_dir: Path, eval_cb: SuccessEvalCallback) -> list[Any]:
    """The callback that moves a curriculum on (``[]`` without one); it hears every evaluation."""
    if curriculum is None:
        return []
    curriculum.run_dir = run_dir

    def rebuild() -> Any:  # other seeds at each stage
        return make_training_env(staged_config(plan.config, curriculum), plan.env_id,
                                 plan.options.seed + 1000 * curriculum.stage)

    callback = CurriculumCallback(curriculum, rebuild, eval_cb, verbose=plan.options.verbose)
    user = eval_cb.on_eval

    def on_eval(steps: int, result: Any) -> None:
        callback.on_evaluation(steps, result)
        if user is not None:
            user(steps, result)

    eval_cb.on_eval = on_eval
    return [callback]


def _eval_seed(options: TrainOptions) -> int:
    from sb3_plus.evaluation import VALIDATION_SEED

    return VALIDATION_SEED if options.eval_seed is None else options.eval_seed
