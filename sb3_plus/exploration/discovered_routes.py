"""Go-Explore, phase 2: what the archive discovered becomes a route for the waypoint expert.

The archive keeps every transition it saw between two cells. Searched backwards from the cells the
goal was reached from (shortest ways, lengths between the cells' mean positions), they give each
cell the next cell on its best discovered way to the goal: a tree rooted at the goal. That is
exactly what a route file holds (every waypoint points to one other, the goal to none, and any
number may point to the same one), so the ways from several start seeds merge where they meet and
one route serves every start seed. Each cell becomes a waypoint at the mean position seen in it,
pointing ``lookahead`` cells further along its way, with the cell's region (ViZDoom sector, maze
cell) so the follower only considers the waypoints of the region it stands in.

``coverage="paths"`` keeps only the cells on the ways from the start cells (each best trajectory
thinned to one waypoint per cell); ``"explored"`` (the default) keeps every cell with a discovered
way to the goal, so a learner that drifts off the path (DAgger) is still led back.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict
from typing import Any, Sequence

import gymnasium as gym

from sb3_plus.errors import UserError
from sb3_plus.experts.routes import Route, Waypoint, make_route
from sb3_plus.exploration.archive import Archive
from sb3_plus.exploration.cells import CellKey

__all__ = ["NoDiscoveredRouteError", "goal_tree", "connected_seeds", "route_from_archive", "follow_route",
           "COVERAGES", "GOAL_ID"]

COVERAGES = ("explored", "paths")
GOAL_ID = "goal"


class NoDiscoveredRouteError(UserError, ValueError):
    """The archive holds no way to the goal (or no positions to put waypoints at)."""


def _distance(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float:
    if a is None or b is None:
        return 1.0
    return max(math.hypot(a[0] - b[0], a[1] - b[1]), 1e-3)


def goal_tree(archive: Archive) -> tuple[dict[CellKey, float], dict[CellKey, CellKey | None]]:
    """Shortest discovered ways to the goal.

    :return: ``(distance, next_cell)`` per cell with a way to the goal; ``next_cell`` is ``None``
        where the goal is one step away.
    """
    positions = {key: cell.position for key, cell in archive.cells.items()}
    incoming: dict[CellKey, list[CellKey]] = defaultdict(list)
    for source, target in archive.edges:
        incoming[target].append(source)
    tie = itertools.count()
    heap: list[tuple[float, int, CellKey, CellKey | None]] = [
        (_distance(positions.get(key), archive.goal_position(key)), next(tie), key, None) for key in archive.goal_from]
    heapq.heapify(heap)
    distance: dict[CellKey, float] = {}
    next_cell: dict[CellKey, CellKey | None] = {}
    while heap:
        d, _, key, after = heapq.heappop(heap)
        if key in distance:
            continue
        distance[key], next_cell[key] = d, after
        for source in incoming.get(key, ()):
            if source not in distance:
                heapq.heappush(heap, (d + _distance(positions.get(source), positions.get(key)), next(tie), source, key))
    return distance, next_cell


def connected_seeds(archive: Archive) -> list[int]:
    """Start seeds whose start cell has a discovered way to the goal."""
    distance, _ = goal_tree(archive)
    return sorted(seed for seed, key in archive.starts.items() if key in distance)


def _kept_cells(archive: Archive, next_cell: dict[CellKey, CellKey | None], coverage: str) -> list[CellKey]:
    if coverage == "explored":
        return list(next_cell)
    kept: dict[CellKey, None] = {}
    for key in archive.starts.values():
        while key is not None and key in next_cell and key not in kept:
            kept[key] = None
            key = next_cell[key]
    return list(kept)


def route_from_archive(archive: Archive, lookahead: int = 1, coverage: str = "explored", family: str = "",
                       map_name: str = "", env_id: str | None = None) -> Route:
    """The route the archive discovered (see the module docstring).

    :param archive: an archive that reached the goal, with pose cells.
    :param lookahead: how many cells ahead along its way each waypoint points (1 for mazes).
    :param coverage: ``explored`` (every cell with a way to the goal) or ``paths`` (the start seeds' ways).
    :param family: the route's ``family`` field (the env family).
    :param map_name: the route's ``map`` field (maze: ``seed<N>``).
    :param env_id: the route's ``env`` field.
    :raises NoDiscoveredRouteError: no goal reached, or cells without positions.
    """
    if coverage not in COVERAGES:
        raise NoDiscoveredRouteError(f"unknown coverage {coverage!r}. Fix: use one of {', '.join(COVERAGES)}")
    if lookahead < 1:
        raise NoDiscoveredRouteError(f"lookahead must be >= 1, got {lookahead}. Fix: pass lookahead=1 or more")
    if not archive.goal_from:
        raise NoDiscoveredRouteError(
            f"the archive of {archive.env_id} never reached the goal ({len(archive.cells)} cells, {archive.steps} "
            "steps), so it holds no route. Fix: explore longer (resume with more --minutes or --steps)")
    _, next_cell = goal_tree(archive)
    kept = _kept_cells(archive, next_cell, coverage)
    if any(archive.cells[key].position is None for key in kept):
        raise NoDiscoveredRouteError(
            f"the archive's cells ({archive.cell_spec.kind} cells) carry no positions, so no waypoint can be placed. "
            "Fix: explore an env with info['pose'] and pose cells (--cells pose)")
    ids = {key: f"c{i}" for i, key in enumerate(kept)}
    regional = archive.cell_spec.kind == "pose" and archive.cell_spec.use_region
    waypoints = []
    for key in kept:
        target: CellKey | None = key
        for _ in range(lookahead):
            target = next_cell.get(target) if target is not None else None
        region = int(key[2]) if regional and len(key) == 3 else None
        target_id = ids.get(target, GOAL_ID) if target is not None else GOAL_ID
        waypoints.append(Waypoint(ids[key], archive.cells[key].position, target_id, region=region))
    sums = [archive.goal_from[key] for key in archive.goal_from]
    count = sum(s[2] for s in sums)
    waypoints.append(Waypoint(GOAL_ID, (sum(s[0] for s in sums) / count, sum(s[1] for s in sums) / count), None))
    return make_route(
        waypoints, family=family, map=map_name, env=env_id, source=f"<go-explore:{archive.env_id}>",
        description=(f"discovered by Go-Explore: {len(archive.cells)} cells, {archive.steps} env steps, start seeds "
                     f"{sorted(archive.starts)}; {coverage} cells, lookahead {lookahead}"))


def follow_route(env: gym.Env, route: Route, seeds: Sequence[int]) -> Any:
    """Let the waypoint expert follow ``route`` from each seed's reset (one episode each).

    :return: the :class:`sb3_plus.rollout.PlayResult` (``success_rate``, ``lengths``, ``seeds``).
    :raises RouteMismatchError: the route is for another family or map than ``env``.
    """
    from sb3_plus.experts import make_expert
    from sb3_plus.rollout import ExpertActor, play_episodes

    return play_episodes(env, ExpertActor(make_expert(env, "waypoint", route)), seeds=list(seeds))
