"""``python -m sb3_plus.train``: SB3 / sb3-contrib training from RL-Zoo configs, optionally pretrained
by BC, DAgger, GAIL or AIRL.

Examples::

    python -m sb3_plus.train --algo ppo_lstm --env VizdoomMyWayHome-v1 -n 200000 \\
        --pretrain bc --dataset sb3plus/mywayhome/waypoint-v0 -f logs -P
    python -m sb3_plus.train --algo ppo --env MazeEasy-v0 --hyperparams n_envs:4 learning_rate:lin_1e-3
    python -m sb3_plus.train --algo ppo --env MazeEasy-v0 -i logs/ppo/MazeEasy-v0_1   # resume a run
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Sequence

from sb3_plus.cli_common import make_parser, parse_kv, print_json, run_cli
from sb3_plus.config.keys import VEC_ENV_CLASSES
from sb3_plus.training import PRETRAIN_METHODS, TrainOptions, TrainResult, train

__all__ = ["build_parser", "main", "train"]


def _seq_len(text: str) -> int | str:
    """``--pretrain-seq-len``: a whole number of steps, or ``episode``."""
    if text == "episode":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a whole number of steps nor 'episode'") from None


def build_parser() -> argparse.ArgumentParser:
    from sb3_plus.config import ALGOS

    p = make_parser("train", __doc__)
    p.add_argument("--algo", required=True, choices=sorted(ALGOS), help="algorithm")
    p.add_argument("--env", required=True, help="env id")
    p.add_argument("-n", "--n-timesteps", type=int, default=None, help="env steps (default: from the config)")
    p.add_argument("--seed", type=int, default=0, help="seed of the training envs, the model and pretraining")
    p.add_argument("-f", "--log-folder", default="logs", help="runs go to LOG_FOLDER/<algo>/<env>_<N>")
    p.add_argument("-conf", "--conf-file", default=None, help="zoo YAML file (default zoo_configs/<algo>.yml)")
    p.add_argument("--hyperparams", nargs="+", default=None, metavar="KEY:VALUE", help="override hyperparameters")
    p.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY:VALUE", help="override env options")
    p.add_argument("--eval-freq", type=int, default=None, help="env steps between evaluations (0: none)")
    p.add_argument("--eval-episodes", type=int, default=None, help="episodes per evaluation (default: config, else 10)")
    p.add_argument("--eval-seed", type=int, default=None,
                   help="first seed of the evaluations during the run, which choose best_model.zip "
                        "(default 20000; the held-out report uses 10000+)")
    p.add_argument("--save-freq", type=int, default=None,
                   help="env steps between checkpoints (-1: none; a resumed run keeps its own)")
    p.add_argument("--keep-checkpoints", type=int, default=3,
                   help="checkpoints kept, the newest (default 3; 0: all, for python -m sb3_plus.progression)")
    p.add_argument("-i", "--trained-agent", default=None, help="model zip or run folder to resume")
    p.add_argument("--init-model", default=None,
                   help="start a new run from this model's policy (a zip, or a run folder: its best_model.zip), "
                        "e.g. the next level; RL uses the config's finetune settings")
    p.add_argument("-P", "--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: on when the output is a terminal)")
    p.add_argument("--pretrain", choices=PRETRAIN_METHODS, default=None, help="pretraining before RL")
    p.add_argument("--dataset", default=None, help="Minari dataset id for --pretrain")
    p.add_argument("--pretrain-epochs", type=int, default=None, help="BC epochs")
    p.add_argument("--pretrain-batch-size", type=int, default=None, help="BC minibatch size")
    p.add_argument("--pretrain-lr", type=float, default=None, help="BC learning rate")
    p.add_argument("--pretrain-seq-len", type=_seq_len, default=None,
                   help="BC sequence length (recurrent policies), or 'episode': whole episodes")
    p.add_argument("--critic-warmup-epochs", type=int, default=None,
                   help="epochs fitting the value head to the data's returns after BC")
    p.add_argument("--expert", default="waypoint", help="DAgger's expert")
    p.add_argument("--route", default=None, help="the expert's route file (default: the map's, else planned)")
    p.add_argument("--dagger-rounds", type=int, default=None, help="DAgger rounds after the first data")
    p.add_argument("--dagger-episodes", type=int, default=None, help="episodes per DAgger round")
    p.add_argument("--dagger-beta", type=float, default=None, help="expert probability in round 0")
    p.add_argument("--dagger-beta-decay", type=float, default=None, help="beta factor per round")
    p.add_argument("--adversarial-timesteps", type=int, default=None, help="GAIL/AIRL generator steps")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...)")
    p.add_argument("--n-envs", type=int, default=None, help="parallel envs (default: the config's)")
    p.add_argument("--vec-env", choices=VEC_ENV_CLASSES, default=None,
                   help="vectorised envs: dummy (one process), subproc (one process per env), workers (a few processes, several envs each, shared memory; default: the config's)")
    p.add_argument("--torch-threads", type=int, default=None, help="torch threads while envs step (default 1)")
    p.add_argument("--update-threads", type=int, default=None,
                   help="torch threads of gradient updates and pretraining (default: one per core, at most 4)")
    p.add_argument("--max-minutes", type=float, default=None, help="wall budget of the run, pretraining included; RL stops when it is spent")
    p.add_argument("--verbose", type=int, default=1, help="0 silent, 1 info, 2 SB3 logs too")
    return p


def main(argv: Sequence[str] | None = None) -> TrainResult:
    args = build_parser().parse_args(argv)
    pretrain_kwargs = {k: v for k, v in {
        "epochs": args.pretrain_epochs, "batch_size": args.pretrain_batch_size, "lr": args.pretrain_lr,
        "seq_len": args.pretrain_seq_len, "critic_warmup_epochs": args.critic_warmup_epochs,
        "rounds": args.dagger_rounds, "episodes_per_round": args.dagger_episodes, "beta": args.dagger_beta,
        "beta_decay": args.dagger_beta_decay, "timesteps": args.adversarial_timesteps}.items() if v is not None}
    argv_list = list(sys.argv[1:] if argv is None else argv)
    result = train(args.algo, args.env, TrainOptions(
        n_timesteps=args.n_timesteps, seed=args.seed, log_folder=args.log_folder,
        conf_file=args.conf_file, hyperparams=args.hyperparams, eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes, eval_seed=args.eval_seed, save_freq=args.save_freq,
        keep_checkpoints=args.keep_checkpoints,
        trained_agent=args.trained_agent, init_model=args.init_model, pretrain=args.pretrain, dataset=args.dataset,
        progress=sys.stderr.isatty() if args.progress is None else args.progress,
        pretrain_kwargs=pretrain_kwargs or None, device=args.device, n_envs=args.n_envs, vec_env=args.vec_env,
        env_kwargs=parse_kv(args.env_kwargs, "env kwarg") if args.env_kwargs else None,
        torch_threads=args.torch_threads, update_threads=args.update_threads, verbose=args.verbose,
        expert=args.expert, route=args.route,
        max_seconds=args.max_minutes * 60 if args.max_minutes else None,
        command="python -m sb3_plus.train " + " ".join(shlex.quote(a) for a in argv_list),
    ))
    print_json({"run_dir": str(result.run_dir), "model": str(result.model_path),
                "num_timesteps": result.num_timesteps, "seconds": round(result.seconds, 1),
                "final_eval": result.final_eval, "solved": result.solved})
    return result


if __name__ == "__main__":
    sys.exit(run_cli(main))
