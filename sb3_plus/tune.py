"""``python -m sb3_plus.tune``: Optuna tuning of SB3 / RecurrentPPO, pretraining included.

Examples::

    python -m sb3_plus.tune --algo ppo_lstm --env VizdoomMyWayHome-v1 --n-trials 50 --study-name mwh \\
        --n-timesteps 200000 --seeds 3 --pretrain bc --dataset sb3plus/mywayhome/waypoint-v0
    # the same command again resumes the study; more workers share it through one database:
    python -m sb3_plus.tune --algo ppo_lstm --env VizdoomMyWayHome-v1 --n-trials 50 --study-name mwh \\
        --storage postgresql+psycopg://user:pass@db-host:5432/optuna ...
    # serve it (or: optuna-dashboard sqlite:///logs/tune/mwh.db)
    python -m sb3_plus.tune --algo ppo_lstm --env VizdoomMyWayHome-v1 --study-name mwh --n-trials 0 --dashboard
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any, Sequence

from sb3_plus.cli_common import parse_kv, run_cli


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except ``None`` (those flags describe their default in words)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or isinstance(action.default, bool):
            return action.help or ""
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    from sb3_plus.config import ALGOS
    from sb3_plus.training.pretrain import PRETRAIN_METHODS
    from sb3_plus.tuning import METRICS, PRUNERS, SAMPLERS

    p = argparse.ArgumentParser(prog="python -m sb3_plus.tune", description=__doc__.split("\n\n")[0],
                                formatter_class=_HelpFormatter)
    p.add_argument("--algo", required=True, choices=sorted(ALGOS), help="algorithm")
    p.add_argument("--env", required=True, help="env id")
    p.add_argument("--n-trials", type=int, default=20,
                   help="finished (complete or pruned) trials the study should have, shared by all workers; "
                        "0 only writes the report (and serves --dashboard)")
    p.add_argument("--study-name", default=None, help="study name (default <algo>-<env>)")
    p.add_argument("--storage", default=None,
                   help="Optuna RDB URL or SQLite file (default sqlite:///<log-folder>/tune/<study>.db)")
    p.add_argument("--sampler", choices=SAMPLERS, default="tpe",
                   help="tpe (multivariate, conditional params grouped), random, or cmaes (float/int params)")
    p.add_argument("--sampler-seed", type=int, default=None, help="sampler seed (a different one per worker)")
    p.add_argument("--pruner", choices=PRUNERS, default="median",
                   help="stop trials whose intermediate values lag: median, halving (successive halving) or none")
    p.add_argument("--n-startup-trials", type=int, default=5,
                   help="random trials before TPE/CMA-ES, and finished trials before the median pruner prunes")
    p.add_argument("--n-warmup-evals", type=int, default=None,
                   help="evaluations of a trial before it can be pruned (default: a third of a seed's)")
    p.add_argument("--seeds", type=int, default=3, help="training seeds per trial; the value is their mean")
    p.add_argument("--seed", type=int, default=0, help="first training seed")
    p.add_argument("-n", "--n-timesteps", type=int, default=None, help="env steps per run (default: the config's)")
    p.add_argument("--eval-freq", type=int, default=None, help="env steps between evaluations (default n/5)")
    p.add_argument("--eval-episodes", type=int, default=None, help="episodes per evaluation (default: config, else 10)")
    p.add_argument("--eval-seed", type=int, default=None,
                   help="first evaluation seed (default 20000; the held-out seeds from 10000 stay for the final report)")
    p.add_argument("--metric", choices=list(METRICS), default=None,
                   help="; ".join(f"{k}: {v}" for k, v in METRICS.items())
                        + " (default: success where the env reports it, as ViZDoom and mazes do, else return)")
    p.add_argument("--timeout", type=float, default=None, help="seconds after which no new trial starts")
    p.add_argument("--space", default=None, help="search space YAML (default zoo_configs/search_spaces/<algo>.yml)")
    p.add_argument("-conf", "--conf-file", default=None, help="zoo YAML file (default zoo_configs/<algo>.yml)")
    p.add_argument("--hyperparams", nargs="+", default=None, metavar="KEY:VALUE",
                   help="fixed overrides for every trial; params they set are not tuned")
    p.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY:VALUE", help="env options")
    p.add_argument("--pretrain", choices=PRETRAIN_METHODS, default=None,
                   help="pretrain every trial; pretrain.* params of the space are tuned with RL")
    p.add_argument("--dataset", default=None, help="Minari dataset id for --pretrain")
    p.add_argument("-f", "--log-folder", default="logs", help="outputs go to <log-folder>/tune/<study>/")
    p.add_argument("--heartbeat-interval", type=int, default=10, help="seconds between a running trial's heartbeats")
    p.add_argument("--grace-period", type=int, default=30,
                   help="seconds without a heartbeat after which a running trial (killed worker) is marked failed")
    p.add_argument("--max-failures", type=int, default=3, help="stop after this many failed trials in a row")
    p.add_argument("--dashboard", action="store_true",
                   help="serve the study with optuna-dashboard while tuning and afterwards, until Ctrl-C")
    p.add_argument("--dashboard-host", default="127.0.0.1", help="0.0.0.0 serves other machines too")
    p.add_argument("--dashboard-port", type=int, default=8080, help="dashboard port")
    p.add_argument("--device", default="cpu", help="torch device of the trial runs")
    p.add_argument("--tensorboard", action="store_true", help="TensorBoard logs for every trial run")
    p.add_argument("--verbose", type=int, default=1, help="0 quiet, 1 a line per trial, 2 every evaluation")
    return p


def main(argv: Sequence[str] | None = None) -> Any:
    from sb3_plus.tuning import tune
    from sb3_plus.tuning.dashboard import dashboard_command, start_dashboard, stop_dashboard
    from sb3_plus.tuning.storage import default_storage_url, normalize_url, open_storage
    from sb3_plus.tuning.tuner import _safe_name

    args = build_parser().parse_args(argv)
    env_kwargs = parse_kv(args.env_kwargs, "env kwarg") if args.env_kwargs else None
    study_name = args.study_name or f"{args.algo}-{args.env}"
    server = None
    previous = None
    try:
        if args.dashboard:
            def on_sigterm(signum: int, frame: Any) -> None:   # `kill` stops the dashboard too, like Ctrl-C
                raise KeyboardInterrupt

            previous = signal.signal(signal.SIGTERM, on_sigterm)
            url = normalize_url(args.storage) if args.storage else default_storage_url(args.log_folder,
                                                                                     _safe_name(study_name))
            open_storage(url, heartbeat_interval=None)   # a new database gets its tables before the server reads it
            server = start_dashboard(url, args.dashboard_host, args.dashboard_port,
                                     log_path=f"{args.log_folder}/tune/{_safe_name(study_name)}/dashboard.log")
            print(f"dashboard: http://{args.dashboard_host}:{args.dashboard_port}/dashboard "
                  f"(serving {dashboard_command(url, args.dashboard_host, args.dashboard_port)})", flush=True)
        result = tune(
            args.algo, args.env, n_trials=args.n_trials, study_name=study_name, storage=args.storage,
            log_folder=args.log_folder, sampler=args.sampler, pruner=args.pruner,
            n_startup_trials=args.n_startup_trials, n_warmup_evals=args.n_warmup_evals, seeds=args.seeds,
            seed=args.seed, n_timesteps=args.n_timesteps, eval_freq=args.eval_freq, eval_episodes=args.eval_episodes,
            eval_seed=args.eval_seed, metric=args.metric, timeout=args.timeout, space=args.space,
            conf_file=args.conf_file, hyperparams=args.hyperparams, env_kwargs=env_kwargs, pretrain=args.pretrain,
            dataset=args.dataset, sampler_seed=args.sampler_seed, heartbeat_interval=args.heartbeat_interval,
            grace_period=args.grace_period, max_failures=args.max_failures, device=args.device,
            tensorboard=args.tensorboard, verbose=args.verbose,
        )
        if server is not None:
            print(f"dashboard still serving http://{args.dashboard_host}:{args.dashboard_port}/dashboard; "
                  "Ctrl-C to stop", flush=True)
            try:
                while server.poll() is None:
                    time.sleep(0.5)
                print(f"the dashboard stopped (exit code {server.returncode}); see its log in "
                      f"{args.log_folder}/tune/{_safe_name(study_name)}/dashboard.log", file=sys.stderr)
            except KeyboardInterrupt:
                pass
        return result
    finally:
        if server is not None:
            stop_dashboard(server)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(run_cli(main))
