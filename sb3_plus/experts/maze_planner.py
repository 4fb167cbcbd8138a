"""Routes for block-grid mazes, planned from the grid.

Every free cell reachable from the goal becomes a waypoint at the cell centre whose target
is its neighbour one step closer to the goal (a breadth-first tree rooted at the goal). Each
waypoint's ``region`` is the cell id, which the maze env also reports as
``info["pose"]["sector"]``, so the :class:`~sb3_plus.experts.follower.WaypointExpert` always
acts on the waypoint of the cell the agent stands in: turn to face the next cell, step forward.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from sb3_plus.experts.routes import Route, RouteError, Waypoint, make_route

__all__ = ["plan_maze_route", "route_for_env", "MazeLayoutLike"]

# Neighbour order (drow, dcol): fixed, so equal-length paths always resolve the same way.
_NEIGHBOURS = ((0, 1), (1, 0), (0, -1), (-1, 0))


class MazeLayoutLike(Protocol):
    """What the planner reads from a layout (e.g. :class:`sb3_plus.envs.maze.MazeLayout`)."""

    grid: np.ndarray  # bool, True where a cell is a wall
    start: tuple[int, int]
    goal: tuple[int, int]
    seed: int | None


def _waypoint_id(row: int, col: int) -> str:
    return f"r{row}c{col}"


def plan_maze_route(layout: MazeLayoutLike, env_id: str | None = None) -> Route:
    """Plan the route of a maze: a breadth-first tree of waypoints rooted at the goal.

    :param layout: the maze: ``grid`` (bool array, ``True`` for walls), ``start`` and ``goal``
        as ``(row, col)``, and ``seed``; e.g. ``env.unwrapped.layout()``.
    :param env_id: optional env id recorded in the route.
    :return: a validated :class:`Route` with one waypoint per free cell reachable from the goal.
    :raises RouteError: when the goal is a wall, off the grid, or unreachable from the start.
    """
    walls = np.asarray(layout.grid, dtype=bool)
    if walls.ndim != 2:
        raise RouteError(f"maze seed {layout.seed}: walls must be a 2-D grid, got shape {walls.shape}. "
                         "Fix: pass layout() of a maze env")
    n_rows, n_cols = walls.shape
    source = f"<maze seed {layout.seed}>"
    goal = (int(layout.goal[0]), int(layout.goal[1]))
    start = (int(layout.start[0]), int(layout.start[1]))
    for name, cell in (("goal", goal), ("start", start)):
        if not (0 <= cell[0] < n_rows and 0 <= cell[1] < n_cols) or walls[cell]:
            raise RouteError(f"{source}: the {name} cell {cell} is a wall or off the {n_rows}x{n_cols} grid. "
                             f"Fix: put the {name} on a free cell")
    parent: dict[tuple[int, int], tuple[int, int] | None] = {goal: None}
    queue = deque([goal])
    while queue:
        r, c = queue.popleft()
        for dr, dc in _NEIGHBOURS:
            nr, nc = r + dr, c + dc
            if 0 <= nr < n_rows and 0 <= nc < n_cols and not walls[nr, nc] and (nr, nc) not in parent:
                parent[(nr, nc)] = (r, c)
                queue.append((nr, nc))
    if start not in parent:
        raise RouteError(f"maze seed {layout.seed}: goal {goal} unreachable from start {start} "
                         "(walls separate them). Fix: regenerate the maze or move the goal")
    waypoints = [
        Waypoint(
            id=_waypoint_id(*cell),
            pos=(cell[1] + 0.5, cell[0] + 0.5),
            target=None if up is None else _waypoint_id(*up),
            region=cell[0] * n_cols + cell[1],
        )
        for cell, up in parent.items()
    ]
    return make_route(
        waypoints,
        family="maze",
        map=f"seed{layout.seed}" if layout.seed is not None else "custom",
        env=env_id,
        description=f"{n_rows}x{n_cols} maze, start {start}, goal {goal}",
        source=source,
    )


def route_for_env(env: gym.Env) -> Route:
    """Plan the route of the maze an env is playing now (call after each ``reset``).

    :param env: a maze env, possibly wrapped.
    """
    layout: Any = env.get_wrapper_attr("layout")
    spec = getattr(env, "spec", None)
    return plan_maze_route(layout(), env_id=getattr(spec, "id", None))
