"""``python -m sb3_plus.push_to_hub``: publish a run (or a Minari dataset) on the Hugging Face Hub.

Examples::

    python -m sb3_plus.push_to_hub --run logs/ppo/MazeEasy-v0_1 --repo-id alice/ppo-MazeEasy-v0
    python -m sb3_plus.push_to_hub --run logs/ppo/MazeEasy-v0_1 --repo-id alice/ppo-MazeEasy-v0 --dry-run
    python -m sb3_plus.push_to_hub --folder logs/ppo/MazeEasy-v0_1/hub/alice__ppo-MazeEasy-v0 \\
        --repo-id alice/ppo-MazeEasy-v0                       # upload a folder built before
    python -m sb3_plus.push_to_hub --dataset sb3plus/mazeeasy/waypoint-v0 --repo-id alice
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from sb3_plus.cli_common import make_parser, print_json, run_cli
from sb3_plus.evaluation import HELD_OUT_SEED
from sb3_plus.utils import json_safe


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("push_to_hub", __doc__)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="run folder of python -m sb3_plus.train (logs/<algo>/<env>_<N>)")
    source.add_argument("--folder", help="a repo folder built before (--dry-run, or kept after a failed upload)")
    source.add_argument("--dataset", help="a local Minari dataset id to publish (with --repo-id ORG)")
    p.add_argument("--repo-id", required=True, help="ORG/NAME for a model; ORG for a dataset")
    p.add_argument("--episodes", type=int, default=10, help="held-out evaluation episodes (default 10)")
    p.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="first held-out seed (default 10000)")
    p.add_argument("--stochastic", action="store_true", help="sample actions in the evaluation")
    p.add_argument("--model", default="final",
                   help="'final' (default), 'best' (best_model.zip) or a zip name in the run folder")
    p.add_argument("--no-video", action="store_true", help="skip the replay video")
    p.add_argument("--video-length", type=int, default=600, help="the replay stops after this many steps (default 600)")
    p.add_argument("--out", default=None, help="repo folder to build (default RUN/hub/ORG__NAME)")
    p.add_argument("--dry-run", action="store_true",
                   help="build or check what would be published and print it; nothing is sent (any source)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--update", action="store_true", help="add a commit to an existing repo")
    p.add_argument("--commit-message", default=None, help="commit message (default: the results)")
    p.add_argument("--dataset-repo-id", default=None, help="Hub dataset repo of the run's dataset (card metadata)")
    p.add_argument("--license", default="mit",
                   help="license id for the card's metadata (default mit; 'none': leave it out)")
    p.add_argument("--endpoint", default=None, help="Hub URL (default $HF_ENDPOINT or https://huggingface.co)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    if args.dataset:
        from sb3_plus.hub.datasets import push_dataset

        out = push_dataset(args.dataset, args.repo_id, endpoint=args.endpoint, dry_run=args.dry_run)
    elif args.folder:
        from sb3_plus.hub.push import upload_repo_folder

        out = upload_repo_folder(args.folder, args.repo_id, endpoint=args.endpoint, private=args.private,
                                 update=args.update, commit_message=args.commit_message,
                                 dry_run=args.dry_run).to_dict()
    else:
        from sb3_plus.hub.push import push_to_hub

        out = push_to_hub(args.run, args.repo_id, n_eval_episodes=args.episodes, eval_seed=args.seed,
                          deterministic=not args.stochastic, video=not args.no_video, video_length=args.video_length,
                          model=args.model, out_dir=args.out, dry_run=args.dry_run, endpoint=args.endpoint,
                          private=args.private, update=args.update, commit_message=args.commit_message,
                          dataset_repo_id=args.dataset_repo_id, device=args.device,
                          license=None if args.license.lower() == "none" else args.license).to_dict()
    print_json(json_safe(out))
    return out


if __name__ == "__main__":
    sys.exit(run_cli(main))
