"""``python -m sb3_plus.collect_expert``: a scripted waypoint expert plays an env into a Minari dataset.

Example::

    python -m sb3_plus.collect_expert --recipe datasets/mywayhome-waypoint.yml
    python -m sb3_plus.collect_expert --env VizdoomMyWayHome-v1 --episodes 200 --seed 0 \\
        --dataset-id sb3plus/mywayhome/waypoint-v0
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from sb3_plus.cli_common import make_parser, parse_kv, print_json, run_cli
from sb3_plus.data.collect import CollectionReport, collect_expert
from sb3_plus.data.recipes import collect_from_recipe
from sb3_plus.data.storage import datasets_root

__all__ = ["collect_expert", "main", "CollectionReport"]

_UNSET = argparse.SUPPRESS  # a flag left out keeps the recipe's value (or the default)


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("collect_expert", __doc__)
    p.add_argument("--recipe", default=None, help="dataset recipe (datasets/<name>.yml); the flags below override it")
    p.add_argument("--env", default=_UNSET, help="env id, e.g. VizdoomMyWayHome-v1 or MazeEasy-v0")
    p.add_argument("--episodes", type=int, default=_UNSET, help="episodes to play (default 100)")
    p.add_argument("--seed", type=int, default=_UNSET, help="seed of the first episode; episode i uses seed+i (default 0)")
    p.add_argument("--dataset-id", default=_UNSET, help="Minari id namespace/name-vN (default sb3plus/<env>/<expert>-v0)")
    p.add_argument("--expert", default=_UNSET, help="scripted expert (default waypoint)")
    p.add_argument("--route", default=_UNSET, help="route YAML (default: experts/<family>/<map>.yaml or the planner)")
    p.add_argument("--env-kwargs", nargs="*", default=_UNSET, metavar="KEY:VALUE",
                   help="env options, e.g. frame_skip:4 (merged into the recipe's)")
    p.add_argument("--jpeg", dest="jpeg_encoding", action="store_true", default=_UNSET,
                   help="JPEG-compress images (lossy; default lossless)")
    p.add_argument("--only-successful", action="store_true", default=_UNSET, help="keep only successful episodes")
    p.add_argument("--description", default=_UNSET, help="free text for the dataset metadata")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset with the same id")
    p.add_argument("--measure-raw", action="store_true", help="also measure the raw env step rate and print the ratio")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> CollectionReport:
    options = vars(build_parser().parse_args(argv))
    recipe, overwrite, measure_raw = options.pop("recipe"), options.pop("overwrite"), options.pop("measure_raw")
    progress_bar, as_json = not options.pop("no_progress"), options.pop("json")
    if "env_kwargs" in options:
        options["env_kwargs"] = parse_kv(options["env_kwargs"], "env kwarg")
    report = collect_from_recipe(recipe, overwrite=overwrite, progress_bar=progress_bar, measure_raw=measure_raw,
                                 **options)
    if as_json:
        print_json(report.to_dict())
    else:
        print(report.summary())
        print(f"load it with: MINARI_DATASETS_PATH={datasets_root()} "
              f"python -c \"import minari; print(minari.load_dataset('{report.dataset_id}'))\"")
    return report


if __name__ == "__main__":
    sys.exit(run_cli(main))
