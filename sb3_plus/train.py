"""``python -m sb3_plus.train``: SB3 / sb3-contrib training from RL-Zoo configs, optionally pretrained by BC.

Examples::

    python -m sb3_plus.train --algo ppo_lstm --env VizdoomMyWayHome-v1 -n 200000 \\
        --pretrain bc --dataset sb3plus/mywayhome/waypoint-v0 -f logs -P
    python -m sb3_plus.train --algo ppo --env MazeEasy-v0 --hyperparams n_envs:4 learning_rate:lin_1e-3
    python -m sb3_plus.train --algo ppo --env MazeEasy-v0 -i logs/ppo/MazeEasy-v0_1   # resume a run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sb3_plus.cli_common import parse_kv, run_cli
from sb3_plus.utils import set_torch_threads, write_json_atomic

from sb3_plus.training.envs import _wrap_vec, make_vec_env_for
from sb3_plus.training.pretrain import PRETRAIN_METHODS, PRETRAIN_SETTINGS, pretrain_policy, pretrain_settings_for


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


def _next_run_dir(log_folder: Path, algo: str, env_id: str) -> Path:
    base = log_folder / algo
    base.mkdir(parents=True, exist_ok=True)
    name = env_id.replace("/", "_")
    ids = [int(p.name.rsplit("_", 1)[1]) for p in base.glob(f"{name}_*") if p.name.rsplit("_", 1)[1].isdigit()]
    run = base / f"{name}_{max(ids, default=0) + 1}"
    run.mkdir()
    return run


def _find_resume_model(path: Path) -> tuple[Path | None, Path]:
    """``-i`` accepts a model zip or a run folder; return (model zip, run folder to write into).

    A run folder killed during pretraining, before any model was saved, gives ``(None, folder)``.
    """
    if path.is_dir():
        if _unfinished_pretraining(path) is not None and not any(path.glob("*.zip")):
            return None, path
        # the newest of checkpoints, an interrupted save and a finished run's model
        candidates = [*(path / "checkpoints").glob("model_*_steps.zip"),
                      *(p for p in path.glob("*.zip") if p.name != "best_model.zip")]
        if not candidates:
            raise FileNotFoundError(f"no checkpoint or model zip in {path}. Fix: pass a .zip, or a run folder with checkpoints/")
        candidates.sort(key=lambda p: p.stat().st_mtime)
        return candidates[-1], path
    if not path.is_file():
        raise FileNotFoundError(f"trained agent {path} not found. Fix: pass a model .zip or a run folder")
    return path, _run_folder_of(path)


def train(
    algo: str,
    env_id: str,
    n_timesteps: int | None = None,
    seed: int = 0,
    log_folder: str | os.PathLike = "logs",
    conf_file: str | os.PathLike | None = None,
    hyperparams: dict[str, Any] | Sequence[str] | None = None,
    eval_freq: int | None = None,
    eval_episodes: int | None = None,
    eval_seed: int | None = None,
    save_freq: int = -1,
    trained_agent: str | os.PathLike | None = None,
    progress: bool = False,
    pretrain: str | None = None,
    dataset: str | None = None,
    pretrain_kwargs: dict[str, Any] | None = None,
    device: str = "cpu",
    n_envs: int | None = None,
    vec_env: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    torch_threads: int | None = None,
    tensorboard: bool = True,
    verbose: int = 1,
    command: str | None = None,
    max_seconds: float | None = None,
    callback: Any = None,
    on_eval: Any = None,
    expert: str = "waypoint",
    route: str | os.PathLike | None = None,
) -> TrainResult:
    """Train ``algo`` on ``env_id`` with the hyperparameters of ``zoo_configs/<algo>.yml``.

    :param algo: ``ppo``, ``ppo_lstm``, ``a2c``, ``dqn``, ... (see :data:`sb3_plus.config.ALGOS`).
    :param env_id: any id :func:`sb3_plus.envs.make_env` builds.
    :param n_timesteps: budget in env steps (default: the config's ``n_timesteps``).
    :param seed: seed of training envs, model and pretraining.
    :param log_folder: runs go to ``<log_folder>/<algo>/<env_id>_<N>``.
    :param conf_file: a zoo YAML file instead of ``zoo_configs/<algo>.yml``.
    :param hyperparams: overrides, ``["key:value", ...]`` or a dict.
    :param eval_freq: env steps between evaluations (0 disables; default from config or 10 per run).
    :param eval_episodes: episodes per evaluation (validation seeds from ``eval_seed``).
    :param eval_seed: first seed of those evaluations, which choose ``best_model.zip`` (default
        :data:`sb3_plus.evaluation.VALIDATION_SEED`, apart from the held-out seeds that ``evaluate`` reports on).
    :param save_freq: env steps between checkpoints (-1: only the final model and on interrupt).
    :param trained_agent: a model zip or a run folder to resume (schedules and step counts continue).
    :param progress: show progress bars.
    :param pretrain: ``"bc"`` (on ``dataset``), ``"dagger"`` (the expert labels the learner's states;
        ``dataset`` optional), ``"gail"`` or ``"airl"`` (on ``dataset``, feedforward policies) before RL.
    :param dataset: Minari dataset id for pretraining.
    :param pretrain_kwargs: the method's settings (see :data:`PRETRAIN_SETTINGS`), over the config's ``pretrain:``.
    :param device: torch device.
    :param n_envs: override the config's number of envs.
    :param vec_env: ``dummy`` or ``subproc`` (default: the config's ``vec_env_class``).
    :param env_kwargs: extra env options merged over the config's ``env_kwargs``.
    :param torch_threads: torch intra-op threads (default 1: fastest for small nets on few cores).
    :param tensorboard: write TensorBoard logs under the run folder.
    :param verbose: 0 silent, 1 info.
    :param command: the command line, stored in the run folder.
    :param max_seconds: wall budget of the whole call, pretraining included: RL stops once it is spent
        (the model is saved and evaluated as usual).
    :param callback: extra SB3 callback(s) for ``learn``.
    :param expert: DAgger's expert (see :data:`sb3_plus.experts.EXPERTS`).
    :param route: the expert's route file (default: ``experts/<family>/<map>.yaml`` or the planner).
    :param on_eval: ``on_eval(num_timesteps, EvalResult)`` after every validation evaluation (pretraining's
        included, at step 0); an exception it raises stops the run and propagates.
    """
    from stable_baselines3.common.logger import configure

    from sb3_plus.training.callbacks import (AtomicCheckpointCallback, SuccessEvalCallback, WallTimeLimit, save_model_atomic,
                                    save_vecnormalize_atomic)
    from sb3_plus.config import ALGOS, apply_overrides, load_hyperparams, save_config
    from sb3_plus.envs import make_env
    from sb3_plus.evaluation import VALIDATION_SEED

    threads = set_torch_threads(torch_threads)
    start = time.perf_counter()
    if trained_agent is not None and conf_file is None:
        # a resumed run keeps its resolved config (env options, overrides, budget) unless told otherwise
        saved = _run_folder_of(Path(trained_agent)) / "config.yml"
        conf_file = saved if saved.exists() else None
    config = load_hyperparams(algo, env_id, conf_file=conf_file, overrides=hyperparams)
    cli = {k: v for k, v in {"n_timesteps": n_timesteps, "n_envs": n_envs, "vec_env_class": vec_env,
                             "eval_freq": eval_freq or None, "eval_episodes": eval_episodes}.items() if v is not None}
    if env_kwargs:
        cli["env_kwargs"] = {**config.env_kwargs, **env_kwargs}
    if cli:
        config = apply_overrides(config, cli)
    config_pretrain = dict(config.pretrain or {})
    method = pretrain or config_pretrain.get("method")
    dataset = dataset or config_pretrain.get("dataset")
    if method and method not in PRETRAIN_METHODS:
        raise ValueError(f"unknown --pretrain {method!r}; choose from {', '.join(PRETRAIN_METHODS)}")
    finetune = config_pretrain.get("finetune") or {}
    if method and finetune and trained_agent is None:
        # RL after pretraining: the config's `pretrain: {finetune: {...}}` hyperparameters, under --hyperparams
        given = set(hyperparams) if isinstance(hyperparams, dict) else set(parse_kv(hyperparams or [], "hyperparameter"))
        config = apply_overrides(config, {k: v for k, v in finetune.items() if k not in given})
    pretrain_settings = pretrain_settings_for(method, config_pretrain, pretrain_kwargs) if method else {}
    if method in ("bc", "dagger") and config.seq_len and "seq_len" not in pretrain_settings and algo == "ppo_lstm":
        pretrain_settings["seq_len"] = config.seq_len
    if method and method != "dagger" and not dataset:
        raise ValueError(f"--pretrain {method} needs --dataset ID (make one with python -m sb3_plus.collect_expert)")
    if method and pretrain_settings:
        unknown = set(pretrain_settings) - PRETRAIN_SETTINGS[method]
        if unknown:
            raise ValueError(f"unknown {method} setting(s) {sorted(unknown)}; allowed: "
                             f"{sorted(PRETRAIN_SETTINGS[method])}")

    resume_model: Path | None = None
    unfinished = None
    if trained_agent is not None:
        resume_model, run_dir = _find_resume_model(Path(trained_agent))
        unfinished = _unfinished_pretraining(run_dir)
    else:
        run_dir = _next_run_dir(Path(log_folder), algo, env_id)
    algo_cls = ALGOS[algo]

    venv = make_vec_env_for(env_id, config.n_envs, seed, config.env_kwargs, config.vec_env_class)
    venv = _wrap_vec(venv, config, run_dir, resume_model)
    stop = {"signal": None}

    def on_signal(signum: int, frame: Any) -> None:  # turn SIGTERM into the Ctrl-C path, which saves
        stop["signal"] = signum
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_signal) if _main_thread() else None
    model = None
    eval_cb = None
    try:
        if resume_model is not None:
            model = algo_cls.load(resume_model, env=venv, device=device)
            if model.num_timesteps >= config.n_timesteps and verbose:
                print(f"{resume_model} already has {model.num_timesteps} >= {config.n_timesteps} steps; "
                      "pass -n to train further", flush=True)
            if verbose:
                print(f"resuming {resume_model} at {model.num_timesteps} steps", flush=True)
        else:
            model = algo_cls(config.policy, venv, seed=seed, device=device, verbose=0, **config.model_kwargs())
        if tensorboard:
            model.set_logger(configure(str(run_dir / "tb"), ["tensorboard", "csv"] + (["stdout"] if verbose > 1 else [])))
        else:
            model.set_logger(configure(str(run_dir), ["csv"]))
        save_config(config, run_dir / "config.yml")
        (run_dir / "command.txt").write_text((command or _python_call(algo, env_id)) + "\n")

        info: dict[str, Any] = {
            "algo": algo, "env_id": env_id, "env_kwargs": config.env_kwargs, "seed": seed, "n_envs": config.n_envs,
            "n_timesteps": config.n_timesteps, "dataset_id": dataset, "pretrain": None,
            "resumed_from": str(resume_model) if resume_model else None, "torch_threads": threads,
            "python": platform.python_version(), "device": device,
        }
        if trained_agent is not None and (run_dir / "run_info.json").exists():  # keep the run's pretraining record
            info["pretrain"] = json.loads((run_dir / "run_info.json").read_text()).get("pretrain")
        n_eval = eval_episodes or config.eval_episodes or 10
        freq = eval_freq if eval_freq is not None else (
            config.eval_freq if config.eval_freq is not None else max(config.n_timesteps // 10, 1))
        eval_cb = SuccessEvalCallback(
            lambda: make_env(env_id, **config.env_kwargs), eval_freq=max(freq, 1), n_eval_episodes=n_eval,
            run_dir=run_dir, seed=VALIDATION_SEED if eval_seed is None else eval_seed,
            success_threshold=config.success_threshold, reward_threshold=config.reward_threshold, verbose=verbose,
            on_eval=on_eval,
        )
        callbacks: list[Any] = []
        if freq and freq > 0:
            callbacks.append(eval_cb)
        checkpoint_cb = AtomicCheckpointCallback(save_freq if save_freq > 0 else 10**12, run_dir)
        callbacks.append(checkpoint_cb)
        if max_seconds is not None:
            callbacks.append(WallTimeLimit(max_seconds, start=start))
        if callback is not None:
            callbacks.extend(callback if isinstance(callback, (list, tuple)) else [callback])

        if unfinished is not None:  # a run killed while pretraining: pretrain again (DAgger resumes its rounds)
            method, dataset = unfinished.get("method"), unfinished.get("dataset_id")
            pretrain_settings = unfinished.get("settings") or {}
            expert, route = unfinished.get("expert", expert), unfinished.get("route", route)
        if method and (trained_agent is None or unfinished is not None):
            if verbose:
                print(f"pretraining ({method}){f' on {dataset}' if dataset else ''} ...", flush=True)
            info["pretrain"] = {"method": method, "dataset_id": dataset, "settings": pretrain_settings,
                                "expert": expert, "route": str(route) if route else None, "finished": False}
            write_json_atomic(run_dir / "run_info.json", info)
            budget = None if max_seconds is None else max(max_seconds - (time.perf_counter() - start), 0.0)
            info["pretrain"] = {**info["pretrain"], **pretrain_policy(
                model, method, dataset, pretrain_settings, progress, seed, env_id=env_id,
                env_kwargs=config.env_kwargs, work_dir=run_dir / method, expert=expert, route=route,
                max_seconds=budget, verbose=verbose), "finished": True}
            if freq and freq > 0:
                eval_cb.init_callback(model)
                result = eval_cb.evaluate(record=True)
                info["pretrain"]["eval"] = result.summary()
        write_json_atomic(run_dir / "run_info.json", info)

        remaining = max(config.n_timesteps - model.num_timesteps, 0)
        if remaining > 0:
            model.learn(remaining, callback=callbacks, progress_bar=progress, reset_num_timesteps=resume_model is None and model.num_timesteps == 0,
                        tb_log_name="run")
        model_path = save_model_atomic(model, run_dir / f"{env_id.replace('/', '_')}.zip")
        save_vecnormalize_atomic(model.get_env(), run_dir / "vecnormalize.pkl")
        final = None
        if freq and freq > 0:
            if eval_cb.model is None:
                eval_cb.init_callback(model)
            if not eval_cb.history["timesteps"] or eval_cb.history["timesteps"][-1] != model.num_timesteps:
                eval_cb.evaluate(record=True)
            final = eval_cb.last_result.summary() if eval_cb.last_result else None
            eval_cb._on_training_end()
        info.update(final_eval=final, num_timesteps=model.num_timesteps, seconds=time.perf_counter() - start,
                    solved=eval_cb.solved, model=model_path.name)
        write_json_atomic(run_dir / "run_info.json", info)
        _plot_learning_curve(run_dir)
        return TrainResult(run_dir, model_path, model.num_timesteps, time.perf_counter() - start, final,
                           info["pretrain"], eval_cb.solved)
    except KeyboardInterrupt:
        if model is not None:
            path = save_model_atomic(model, run_dir / "interrupted.zip")
            save_vecnormalize_atomic(model.get_env(), run_dir / "vecnormalize.pkl")
            print(f"\ninterrupted at {model.num_timesteps} steps; saved {path}. "
                  f"Resume with: python -m sb3_plus.train --algo {algo} --env {env_id} -i {run_dir}", file=sys.stderr)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if eval_cb is not None:  # e.g. a pruned trial: its evaluation env (a game process) ends here too
            eval_cb._on_training_end()
        venv.close()


def _run_folder_of(path: Path) -> Path:
    """The run folder of ``-i PATH`` (a run folder, its model zip, or a checkpoint)."""
    if path.is_dir():
        return path
    return path.parent.parent if path.parent.name == "checkpoints" else path.parent


def _unfinished_pretraining(run_dir: Path) -> dict[str, Any] | None:
    """The pretraining record of a run that was stopped before its pretraining finished."""
    path = run_dir / "run_info.json"
    if not path.exists():
        return None
    pretrain = json.loads(path.read_text()).get("pretrain")
    if isinstance(pretrain, dict) and pretrain.get("finished") is False:
        return pretrain
    return None


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _python_call(algo: str, env_id: str) -> str:
    return f"python -m sb3_plus.train --algo {algo} --env {env_id}"


def _plot_learning_curve(run_dir: Path) -> Path | None:
    """``learning_curve.png``: success rate and return against env steps from ``evaluations.npz``."""
    path = run_dir / "evaluations.npz"
    if not path.exists():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with np.load(path) as data:
        steps = data["timesteps"]
        success = np.array([np.mean(s) for s in data["successes"]])
        returns = np.array([np.mean(r) for r in data["results"]])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, success, marker="o", label="success rate")
    ax.set_xlabel("env steps")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.02, 1.02)
    ax2 = ax.twinx()
    ax2.plot(steps, returns, color="tab:orange", alpha=0.6, label="mean return")
    ax2.set_ylabel("mean return")
    ax.set_title(run_dir.name)
    fig.tight_layout()
    out = run_dir / "learning_curve.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def build_parser() -> argparse.ArgumentParser:
    from sb3_plus.config import ALGOS

    p = argparse.ArgumentParser(prog="python -m sb3_plus.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--algo", required=True, choices=sorted(ALGOS), help="algorithm")
    p.add_argument("--env", required=True, help="env id")
    p.add_argument("-n", "--n-timesteps", type=int, default=None, help="env steps (default: from the config)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-f", "--log-folder", default="logs")
    p.add_argument("-conf", "--conf-file", default=None, help="zoo YAML file (default zoo_configs/<algo>.yml)")
    p.add_argument("--hyperparams", nargs="+", default=None, metavar="KEY:VALUE", help="override hyperparameters")
    p.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY:VALUE", help="override env options")
    p.add_argument("--eval-freq", type=int, default=None, help="env steps between evaluations (0: none)")
    p.add_argument("--eval-episodes", type=int, default=None)
    p.add_argument("--eval-seed", type=int, default=None,
                   help="first seed of the evaluations during the run, which choose best_model.zip "
                        "(default 20000; the held-out report uses 10000+)")
    p.add_argument("--save-freq", type=int, default=-1, help="env steps between checkpoints")
    p.add_argument("-i", "--trained-agent", default=None, help="model zip or run folder to resume")
    p.add_argument("-P", "--progress", action="store_true", help="progress bars")
    p.add_argument("--pretrain", choices=PRETRAIN_METHODS, default=None)
    p.add_argument("--dataset", default=None, help="Minari dataset id for --pretrain")
    p.add_argument("--pretrain-epochs", type=int, default=None)
    p.add_argument("--pretrain-batch-size", type=int, default=None)
    p.add_argument("--pretrain-lr", type=float, default=None)
    p.add_argument("--pretrain-seq-len", type=int, default=None)
    p.add_argument("--critic-warmup-epochs", type=int, default=None)
    p.add_argument("--expert", default="waypoint", help="DAgger's expert")
    p.add_argument("--route", default=None, help="the expert's route file (default: the map's, else planned)")
    p.add_argument("--dagger-rounds", type=int, default=None)
    p.add_argument("--dagger-episodes", type=int, default=None, help="episodes per DAgger round")
    p.add_argument("--dagger-beta", type=float, default=None, help="expert probability in round 0")
    p.add_argument("--dagger-beta-decay", type=float, default=None, help="beta factor per round")
    p.add_argument("--adversarial-timesteps", type=int, default=None, help="GAIL/AIRL generator steps")
    p.add_argument("--device", default="cpu")
    p.add_argument("--n-envs", type=int, default=None)
    p.add_argument("--vec-env", choices=("dummy", "subproc"), default=None)
    p.add_argument("--torch-threads", type=int, default=None, help="torch threads (default 1)")
    p.add_argument("--max-minutes", type=float, default=None, help="wall budget of the run, pretraining included; RL stops when it is spent")
    p.add_argument("--verbose", type=int, default=1)
    return p


def main(argv: Sequence[str] | None = None) -> TrainResult:
    args = build_parser().parse_args(argv)
    pretrain_kwargs = {k: v for k, v in {
        "epochs": args.pretrain_epochs, "batch_size": args.pretrain_batch_size, "lr": args.pretrain_lr,
        "seq_len": args.pretrain_seq_len, "critic_warmup_epochs": args.critic_warmup_epochs,
        "rounds": args.dagger_rounds, "episodes_per_round": args.dagger_episodes, "beta": args.dagger_beta,
        "beta_decay": args.dagger_beta_decay, "timesteps": args.adversarial_timesteps}.items() if v is not None}
    argv_list = list(sys.argv[1:] if argv is None else argv)
    result = train(
        args.algo, args.env, n_timesteps=args.n_timesteps, seed=args.seed, log_folder=args.log_folder,
        conf_file=args.conf_file, hyperparams=args.hyperparams, eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes, eval_seed=args.eval_seed, save_freq=args.save_freq,
        trained_agent=args.trained_agent, progress=args.progress, pretrain=args.pretrain, dataset=args.dataset,
        pretrain_kwargs=pretrain_kwargs, device=args.device, n_envs=args.n_envs, vec_env=args.vec_env,
        env_kwargs=parse_kv(args.env_kwargs, "env kwarg") if args.env_kwargs else None,
        torch_threads=args.torch_threads, verbose=args.verbose, expert=args.expert, route=args.route,
        max_seconds=args.max_minutes * 60 if args.max_minutes else None,
        command="python -m sb3_plus.train " + " ".join(shlex.quote(a) for a in argv_list),
    )
    print(json.dumps({"run_dir": str(result.run_dir), "model": str(result.model_path),
                      "num_timesteps": result.num_timesteps, "seconds": round(result.seconds, 1),
                      "final_eval": result.final_eval, "solved": result.solved}, indent=2, default=str))
    return result


if __name__ == "__main__":
    sys.exit(run_cli(main))
