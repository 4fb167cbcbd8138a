"""Route planners: build a :class:`Route` from a map instead of writing one by hand."""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np

from sb3_plus.experts.routes import Route, RouteError, Waypoint, make_route


def _segment_distances(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Distance from each point ``(P, 2)`` to the nearest segment ``(S, 4)``."""
    if len(segments) == 0:
        return np.full(len(points), np.inf)
    a, b = segments[:, None, :2], segments[:, None, 2:]
    p = points[None, :, :]
    ab = b - a
    denom = np.maximum((ab**2).sum(-1), 1e-12)
    t = np.clip(((p - a) * ab).sum(-1) / denom, 0.0, 1.0)
    closest = a + t[..., None] * ab
    return np.sqrt(((p - closest) ** 2).sum(-1)).min(axis=0)


def distance_field(free: np.ndarray, goal: tuple[int, int]) -> np.ndarray:
    """Shortest path lengths (8-connected, in cells) from every free cell to ``goal``; inf if unreachable."""
    rows, cols = free.shape
    dist = np.full(free.shape, np.inf)
    dist[goal] = 0.0
    heap = [(0.0, goal)]
    steps = [(-1, 0, 1.0), (1, 0, 1.0), (0, -1, 1.0), (0, 1, 1.0),
             (-1, -1, 2**0.5), (-1, 1, 2**0.5), (1, -1, 2**0.5), (1, 1, 2**0.5)]
    while heap:
        d, (r, c) = heapq.heappop(heap)
        if d > dist[r, c]:
            continue
        for dr, dc, w in steps:
            nr, nc = r + dr, c + dc
            if 0 <= nr < rows and 0 <= nc < cols and free[nr, nc]:
                # no corner cutting: a diagonal needs both orthogonal neighbours free
                if dr and dc and not (free[r + dr, c] and free[r, c + dc]):
                    continue
                nd = d + w
                if nd < dist[nr, nc]:
                    dist[nr, nc] = nd
                    heapq.heappush(heap, (nd, (nr, nc)))
    return dist


def plan_grid_route(free: np.ndarray, origin: tuple[float, float], cell: float, goal_xy: tuple[float, float],
                    regions: np.ndarray | None = None, lookahead: int = 4, **route_kwargs: Any) -> Route:
    """Route over an occupancy grid: every reachable cell points ``lookahead`` cells down the shortest path.

    :param free: ``(rows, cols)`` bool, True where the agent may stand; row = y, col = x.
    :param origin: world ``(x, y)`` of cell (0, 0)'s centre.
    :param cell: cell size in world units.
    :param goal_xy: world position of the goal.
    :param regions: optional ``(rows, cols)`` int region per cell (e.g. a sector index).
    :param lookahead: how many cells ahead each waypoint's target lies.
    """
    ox, oy = origin
    free_idx = np.argwhere(free)
    if len(free_idx) == 0:
        raise RouteError(f"{route_kwargs.get('source', '<planner>')}: no free cell on the map. Fix: lower the clearance")
    centres = np.stack([ox + free_idx[:, 1] * cell, oy + free_idx[:, 0] * cell], axis=1)
    g = free_idx[np.argmin(((centres - np.asarray(goal_xy)) ** 2).sum(1))]
    goal = (int(g[0]), int(g[1]))
    dist = distance_field(free, goal)
    reachable = np.isfinite(dist)
    rows, cols = free.shape

    def next_cell(r: int, c: int) -> tuple[int, int]:
        best, best_d = (r, c), dist[r, c]
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                nr, nc = r + dr, c + dc
                if 0 <= nr < rows and 0 <= nc < cols and dist[nr, nc] < best_d:
                    if dr and dc and not (free[r + dr, c] and free[r, c + dc]):
                        continue
                    best, best_d = (nr, nc), dist[nr, nc]
        return best

    def name(r: int, c: int) -> str:
        return f"r{r}c{c}"

    waypoints = []
    for r, c in np.argwhere(reachable):
        r, c = int(r), int(c)
        target: tuple[int, int] | None = (r, c)
        for _ in range(lookahead):
            target = next_cell(*target)
        target_id = None if (r, c) == goal else name(*target) if target != (r, c) else None
        region = None if regions is None else int(regions[r, c])
        waypoints.append(Waypoint(name(r, c), (ox + c * cell, oy + r * cell), target_id, region=region))
    if not any(w.target is None for w in waypoints):
        raise RouteError("planner produced no goal waypoint")
    # cells whose lookahead ends at themselves (only the goal) are goals; others must point somewhere
    waypoints = [w if w.target is not None or w.id == name(*goal) else Waypoint(w.id, w.pos, name(*goal), region=w.region)
                 for w in waypoints]
    return make_route(waypoints, **route_kwargs)


def plan_vizdoom_route(geometry: Any, goal: str | tuple[float, float] = "GreenArmor", cell: float = 8.0,
                       clearance: float = 20.0, lookahead: int = 4, map_name: str = "", env_id: str | None = None) -> Route:
    """Plan a route from ViZDoom map geometry (:class:`sb3_plus.envs.vizdoom_geometry.MapGeometry`).

    The agent may stand inside any sector at least ``clearance`` units from every blocking
    line; sectors connect through their shared open (non-blocking) lines. The goal is an
    object on the map (by name) or a given ``(x, y)``.

    :param geometry: the map's sectors, lines and objects.
    :param goal: object name (e.g. ``GreenArmor``) or a world position.
    :param cell: planning grid size in map units.
    :param clearance: minimum distance to walls (the player's radius is 16).
    :param lookahead: cells between a waypoint and its target.
    """
    if isinstance(goal, str):
        try:
            goal_xy = geometry.find_object(goal)
        except KeyError as exc:
            raise RouteError(f"{map_name or 'map'}: goal {exc.args[0]}. Fix: pass goal=(x, y) or an object name") from None
    else:
        goal_xy = (float(goal[0]), float(goal[1]))
    x0, x1, y0, y1 = geometry.bounds
    xs = np.arange(x0 + cell / 2, x1, cell)
    ys = np.arange(y0 + cell / 2, y1, cell)
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    sectors = geometry.sectors_at(points).reshape(gx.shape)
    wall_dist = _segment_distances(points, geometry.lines[geometry.blocking]).reshape(gx.shape)
    free = (sectors >= 0) & (wall_dist >= clearance)
    return plan_grid_route(free, (xs[0], ys[0]), cell, goal_xy, regions=sectors, lookahead=lookahead,
                           family="vizdoom", map=map_name, env=env_id, source=f"<planned:{map_name or 'vizdoom'}>",
                           description=f"planned from map geometry, goal {goal}, clearance {clearance}")
