"""``python -m sb3_plus.collect_expert``: a scripted waypoint expert plays an env into a Minari dataset.

Example::

    python -m sb3_plus.collect_expert --env VizdoomMyWayHome-v1 --episodes 200 --seed 0 \\
        --dataset-id sb3plus/mywayhome/waypoint-v0
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from sb3_plus.cli_common import parse_kv, print_json, run_cli
from sb3_plus.data.collect import CollectionReport, collect_expert, default_dataset_id
from sb3_plus.data.storage import datasets_root

__all__ = ["collect_expert", "main", "CollectionReport"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sb3_plus.collect_expert", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--env", required=True, help="env id, e.g. VizdoomMyWayHome-v1 or MazeEasy-v0")
    p.add_argument("--episodes", type=int, default=100, help="episodes to play")
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode (episode i uses seed+i)")
    p.add_argument("--dataset-id", default=None, help="Minari id namespace/name-vN (default sb3plus/<env>/waypoint-v0)")
    p.add_argument("--route", default=None, help="route YAML (default: experts/<family>/<map>.yaml or the planner)")
    p.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY:VALUE", help="preprocessing, e.g. frame_skip:4")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset with the same id")
    p.add_argument("--jpeg", action="store_true", help="JPEG-compress images (lossy; default lossless)")
    p.add_argument("--only-successful", action="store_true", help="keep only successful episodes")
    p.add_argument("--measure-raw", action="store_true", help="also measure the raw env step rate and print the ratio")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> CollectionReport:
    args = build_parser().parse_args(argv)
    report = collect_expert(
        args.env, episodes=args.episodes, seed=args.seed,
        dataset_id=args.dataset_id or default_dataset_id(args.env), route=args.route,
        env_kwargs=parse_kv(args.env_kwargs, "env kwarg"), overwrite=args.overwrite, jpeg_encoding=args.jpeg,
        progress_bar=not args.no_progress, measure_raw=args.measure_raw, only_successful=args.only_successful,
    )
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
        print(f"load it with: MINARI_DATASETS_PATH={datasets_root()} "
              f"python -c \"import minari; print(minari.load_dataset('{report.dataset_id}'))\"")
    return report


if __name__ == "__main__":
    sys.exit(run_cli(main))
