"""``python -m sb3_plus.envs.doom_maps``: build described maps, write their routes, list a WAD map's doors and keys.

Examples::

    python -m sb3_plus.envs.doom_maps build VizdoomGen-doorkey-s3-v0 --out maps/doorkey_s3
    python -m sb3_plus.envs.doom_maps build my_map.yaml --out maps/my_map
    python -m sb3_plus.envs.doom_maps route VizdoomGen-doorkey-s3-v0 --out doorkey_s3.yaml
    python -m sb3_plus.envs.doom_maps route VizdoomFreedoom1-v0 --doom-map E1M1 --out e1m1.yaml
    python -m sb3_plus.envs.doom_maps inspect freedoom1.wad --map E1M1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from sb3_plus.cli_common import make_parser, run_cli
from sb3_plus.envs.doom_maps.levels import is_level_id

__all__ = ["build_parser", "level_route", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("envs.doom_maps", __doc__)
    sub = p.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="validate a map and write its WAD, .cfg, route and description")
    build.add_argument("map", help="a generated-map env id (VizdoomGen-doorkey-s3-v0) or a map description YAML")
    build.add_argument("--out", required=True, help="folder to write into")
    route = sub.add_parser("route", help="write the waypoint route of a generated map or a whole level (for --route)")
    route.add_argument("env_id", help="a generated-map env id (VizdoomGen-doorkey-s3-v0) or a level id "
                                      "(VizdoomFreedoom1-v0: planned from the WAD)")
    route.add_argument("--doom-map", default=None, help="the level of a level id, e.g. E1M2 (default: its first)")
    route.add_argument("--out", required=True, help="route YAML to write")
    inspect = sub.add_parser("inspect", help="list the doors, keys, exits and teleporters of a WAD map")
    inspect.add_argument("wad", help="a .wad file (Doom, Hexen or UDMF maps)")
    inspect.add_argument("--map", default=None, help="map name such as E1M1 or MAP01 (default: the first)")
    return p


def level_route(env_id: str, doom_map: str | None = None):
    """The route of a whole level planned from its WAD (no engine starts)."""
    from sb3_plus.envs.doom_maps.features import map_features
    from sb3_plus.envs.doom_maps.levels import LEVEL_IDS, check_level_map, level_map_name
    from sb3_plus.envs.doom_maps.wad import bundled_wad, read_map
    from sb3_plus.experts.level_planner import plan_level_route

    wad = bundled_wad(LEVEL_IDS[env_id][0])
    doom_map = check_level_map(env_id, doom_map)
    level = read_map(wad, doom_map)
    return plan_level_route(level, map_features(level), env_id=env_id, map_name=level_map_name(env_id, doom_map))


def _description(spec: str):
    from sb3_plus.envs.doom_maps import description_for, load_map

    if spec.endswith((".yaml", ".yml")) or Path(spec).is_file():
        description = load_map(spec)
        return description, f"VizdoomGen-{description.name}-v0"
    return description_for(spec), spec


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "inspect":
        from sb3_plus.envs.doom_maps.features import wad_features

        features = wad_features(args.wad, args.map)
        print(features.summary())
        for line in features.doors + features.exits + features.teleporters:
            key = f", {line.key} key" if line.key else ""
            print(f"  {line.kind:8s} line {line.line:5d} special {line.special:3d} ({line.trigger}"
                  f"{', repeatable' if line.repeat else ''}{key}) at ({line.center[0]:g}, {line.center[1]:g})")
        for key in features.keys:
            print(f"  key      {key.name} ({key.colour}) at ({key.x:g}, {key.y:g})")
        return
    if args.command == "route" and is_level_id(args.env_id):
        route = level_route(args.env_id, args.doom_map)
        route.save(args.out)
        level = f" --env-kwargs doom_map:{args.doom_map}" if args.doom_map else ""
        print(f"route of {args.env_id} ({route.map}): {len(route)} waypoints -> {args.out}")
        print(f"use it: python -m sb3_plus.collect_expert --env {args.env_id}{level} --route {args.out}")
        return
    from sb3_plus.envs.doom_maps.route import description_route

    description, env_id = _description(args.map if args.command == "build" else args.env_id)
    route = description_route(description, env_id)
    if args.command == "route":
        route.save(args.out)
        print(f"route of {env_id}: {len(route)} waypoints -> {args.out}")
        print(f"use it: python -m sb3_plus.collect_expert --env {env_id} --route {args.out}")
        return
    from sb3_plus.envs.doom_maps.scenario import write_scenario

    out = Path(args.out)
    files = write_scenario(description, env_id, out)
    route.save(out / "route.yaml")
    description.save(out / "map.yaml")
    print(f"{env_id}: {files.wad}, {files.cfg}, {out / 'route.yaml'}, {out / 'map.yaml'}")


if __name__ == "__main__":
    sys.exit(run_cli(main))
