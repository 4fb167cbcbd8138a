"""``python -m sb3_plus.load_from_hub``: download a published model (or a Minari dataset) and load it.

The model is rebuilt from the repo's ``config.yml`` and its weights are read weights-only:
nothing from the repo is unpickled unless ``--trust-remote-pickle`` is given.

Examples::

    python -m sb3_plus.load_from_hub --repo-id alice/ppo-MazeEasy-v0 --episodes 20
    python -m sb3_plus.load_from_hub --repo-id alice/ppo-MazeEasy-v0 --out hub/alice/ppo-MazeEasy-v0 --download-only
    python -m sb3_plus.load_from_hub --dataset sb3plus/mazeeasy/waypoint-v0 --repo-id alice
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from sb3_plus.cli_common import make_parser, print_json, run_cli
from sb3_plus.evaluation import HELD_OUT_SEED


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("load_from_hub", __doc__)
    p.add_argument("--repo-id", required=True, help="ORG/NAME of a model; ORG with --dataset")
    p.add_argument("--dataset", default=None, help="download this Minari dataset id instead of a model")
    p.add_argument("--force", action="store_true", help="with --dataset: replace a local dataset with the same id")
    p.add_argument("--revision", default=None, help="branch, tag or commit")
    p.add_argument("--out", default=None, help="download folder (default: the Hugging Face cache)")
    p.add_argument("--download-only", action="store_true", help="download the files, load nothing")
    p.add_argument("--trust-remote-pickle", action="store_true",
                   help="load with ALGO.load(zip), which unpickles code from the repo; only for repos you trust")
    p.add_argument("--episodes", type=int, default=0,
                   help="evaluate on this many held-out episodes after loading (default 0)")
    p.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="first held-out seed (default 10000)")
    p.add_argument("--stochastic", action="store_true", help="sample actions in the evaluation")
    p.add_argument("--endpoint", default=None, help="Hub URL (default $HF_ENDPOINT or https://huggingface.co)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    if args.dataset:
        from sb3_plus.hub.datasets import pull_dataset

        out = pull_dataset(args.dataset, args.repo_id, endpoint=args.endpoint, force=args.force)
    else:
        from sb3_plus.hub.play import download_and_load

        out = download_and_load(args.repo_id, args.revision, args.out, download_only=args.download_only,
                                trust_remote_pickle=args.trust_remote_pickle, episodes=args.episodes, seed=args.seed,
                                deterministic=not args.stochastic, endpoint=args.endpoint, device=args.device)
    print_json(out)
    return out


if __name__ == "__main__":
    sys.exit(run_cli(main))
