"""``python -m sb3_plus.go_explore``: explore a map with Go-Explore and turn what it found into a route.

Example::

    python -m sb3_plus.go_explore --env MazeHard-v0 --minutes 5 --out runs/go_explore/mazehard
    python -m sb3_plus.go_explore --env VizdoomMyWayHome-v1 --seeds 10 --minutes 5 --out runs/go_explore/mywayhome
    python -m sb3_plus.go_explore --inspect runs/go_explore/mywayhome
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, Sequence

from sb3_plus.cli_common import make_parser, parse_kv, print_json, run_cli
from sb3_plus.errors import BadOptionError
from sb3_plus.exploration.archive import SelectionWeights
from sb3_plus.exploration.discovered_routes import COVERAGES
from sb3_plus.exploration.go_explore import RETURNS, STOP_RULES, GoExploreSettings
from sb3_plus.exploration.go_explore_run import GoExploreReport, go_explore, inspect_archive

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("go_explore", __doc__)
    p.add_argument("--env", default=None, help="env id, e.g. MazeHard-v0 or VizdoomMyWayHome-v1")
    p.add_argument("--env-kwargs", nargs="*", default=None, metavar="KEY:VALUE", help="env options, e.g. frame_skip:4")
    p.add_argument("--out", default=None, help="output folder (default runs/go_explore/<env>)")
    p.add_argument("--minutes", type=float, default=None, help="wall budget (default 5 unless --steps is given)")
    p.add_argument("--steps", type=int, default=None, help="env step budget")
    p.add_argument("--seed", type=int, default=0, help="first start seed; start seeds are seed .. seed+seeds-1")
    p.add_argument("--seeds", type=int, default=1, help="number of start seeds the route must serve")
    p.add_argument("--n-envs", type=int, default=1, help="envs exploring side by side, each from its own cell")
    p.add_argument("--explore-steps", type=int, default=None, help="steps after each return (default: per family)")
    p.add_argument("--repeat-prob", type=float, default=None,
                   help="probability of repeating the previous action (default: per family)")
    p.add_argument("--returns", choices=RETURNS, default=None,
                   help="go back to a cell by restoring its saved state or by replaying its actions from a seeded "
                        "reset (default: replay on vizdoom, restore elsewhere)")
    p.add_argument("--cells", choices=["pose", "frame"], default=None,
                   help="pose: info['pose'] bins + region; frame: 11x8 pixels, 8 levels "
                        "(default pose where there is one)")
    p.add_argument("--cell-size", type=float, default=None,
                   help="pose bin side in pose units (default maze 1, vizdoom 32)")
    p.add_argument("--stop", choices=STOP_RULES, default="connected",
                   help="stop early: connected (every start seed has a way to the goal), goal (first goal), budget")
    p.add_argument("--lookahead", type=int, default=None,
                   help="route: cells ahead each waypoint points (default: maze 1, vizdoom 4)")
    p.add_argument("--coverage", choices=COVERAGES, default="explored",
                   help="route cells: every explored cell with a way to the goal, or only the start seeds' paths")
    p.add_argument("--no-route-check", action="store_true", help="skip following the route from every start seed")
    p.add_argument("--resume", action="store_true", help="continue the archive in --out")
    p.add_argument("--overwrite", action="store_true", help="replace the archive in --out (and the --dataset)")
    p.add_argument("--dataset", default=None, metavar="ID", help="also collect a Minari dataset of the route's expert")
    p.add_argument("--dataset-episodes", type=int, default=100, help="episodes of that dataset")
    p.add_argument("--inspect", default=None, metavar="DIR", help="print an archive's summary and draw its pictures")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def _default_out(env_id: str) -> str:
    return f"runs/go_explore/{re.sub(r'[^A-Za-z0-9_.-]+', '_', env_id)}"


def main(argv: Sequence[str] | None = None) -> GoExploreReport | dict[str, Any]:
    args = build_parser().parse_args(argv)
    if args.inspect:
        info = inspect_archive(args.inspect)
        print_json(info)
        return info
    if not args.env:
        raise BadOptionError("no env to explore. Fix: pass --env (e.g. --env MazeHard-v0) or --inspect DIR")
    if args.seeds < 1:
        raise BadOptionError(f"--seeds must be >= 1, got {args.seeds}. Fix: pass e.g. --seeds 10")
    settings = GoExploreSettings(
        start_seeds=tuple(range(args.seed, args.seed + args.seeds)), n_envs=args.n_envs,
        explore_steps=args.explore_steps, repeat_prob=args.repeat_prob, returns=args.returns, cells=args.cells,
        cell_size=args.cell_size,
        weights=SelectionWeights(), stop=args.stop, seed=args.seed)
    report = go_explore(args.env, out=args.out or _default_out(args.env), minutes=args.minutes, steps=args.steps,
                        env_kwargs=parse_kv(args.env_kwargs, "env kwarg"), settings=settings, resume=args.resume,
                        overwrite=args.overwrite, lookahead=args.lookahead, coverage=args.coverage,
                        check_route=not args.no_route_check, dataset_id=args.dataset,
                        dataset_episodes=args.dataset_episodes,
                        progress_bar=not args.no_progress and sys.stderr.isatty())
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    return report


if __name__ == "__main__":
    sys.exit(run_cli(main))
