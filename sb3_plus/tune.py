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
import sys
from typing import Any, Sequence

from sb3_plus.cli_common import make_parser, parse_kv, run_cli


def build_parser() -> argparse.ArgumentParser:
    from sb3_plus.config import ALGOS
    from sb3_plus.training.pretrain import PRETRAIN_METHODS
    from sb3_plus.tuning import METRICS, PRUNERS, SAMPLERS
    from sb3_plus.tuning.settings import setting_default, setting_help

    p = make_parser("tune", __doc__)

    def add(*flags: str, dest: str, **kwargs: Any) -> None:   # help and default come from TuneSettings
        if kwargs.get("action") != "store_true":
            kwargs.setdefault("default", setting_default(dest))
        p.add_argument(*flags, dest=dest, help=setting_help(dest), **kwargs)

    add("--algo", dest="algo", required=True, choices=sorted(ALGOS))
    add("--env", dest="env_id", required=True, metavar="ENV")
    add("--n-trials", dest="n_trials", type=int)
    add("--study-name", dest="study_name")
    add("--storage", dest="storage")
    add("--sampler", dest="sampler", choices=SAMPLERS)
    add("--sampler-seed", dest="sampler_seed", type=int)
    add("--pruner", dest="pruner", choices=PRUNERS)
    add("--n-startup-trials", dest="n_startup_trials", type=int)
    add("--n-warmup-evals", dest="n_warmup_evals", type=int)
    add("--timeout", dest="timeout", type=float)
    add("--max-failures", dest="max_failures", type=int)
    add("--seeds", dest="seeds", type=int)
    add("--seed", dest="seed", type=int)
    add("-n", "--n-timesteps", dest="n_timesteps", type=int)
    add("--eval-freq", dest="eval_freq", type=int)
    add("--eval-episodes", dest="eval_episodes", type=int)
    add("--eval-seed", dest="eval_seed", type=int)
    add("--metric", dest="metric", choices=list(METRICS))
    add("--space", dest="space")
    add("-conf", "--conf-file", dest="conf_file")
    add("--hyperparams", dest="hyperparams", nargs="+", metavar="KEY:VALUE")
    add("--env-kwargs", dest="env_kwargs", nargs="+", metavar="KEY:VALUE")
    add("--device", dest="device")
    add("--tensorboard", dest="tensorboard", action="store_true")
    add("--pretrain", dest="pretrain", choices=PRETRAIN_METHODS)
    add("--dataset", dest="dataset")
    add("-f", "--log-folder", dest="log_folder")
    add("--heartbeat-interval", dest="heartbeat_interval", type=int)
    add("--grace-period", dest="grace_period", type=int)
    add("--verbose", dest="verbose", type=int)
    add("--dashboard", dest="dashboard", action="store_true")
    add("--dashboard-host", dest="dashboard_host")
    add("--dashboard-port", dest="dashboard_port", type=int)
    return p


def main(argv: Sequence[str] | None = None) -> Any:
    from sb3_plus.tuning import TuneSettings, tune

    args = vars(build_parser().parse_args(argv))
    if args["env_kwargs"]:
        args["env_kwargs"] = parse_kv(args["env_kwargs"], "env kwarg")
    return tune(TuneSettings(**args))


if __name__ == "__main__":
    sys.exit(run_cli(main))
