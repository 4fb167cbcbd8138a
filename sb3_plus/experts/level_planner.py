"""Routes over whole Doom levels, planned from the WAD: floor and ceiling heights, doors, keys and the exit.

The engine's sector info has heights but no line specials, so the plan comes from the WAD
(:func:`sb3_plus.envs.doom_maps.wad.read_map`, :func:`~sb3_plus.envs.doom_maps.map_features`):

- the map is cut into cells; a cell is free when it lies in a sector at least ``clearance``
  units from every one-sided or impassable line and from every solid decoration (:data:`SOLID_THINGS`);
  heights and walls are read on a grid twice as fine, so a step cannot jump over a thin ledge;
- a step between neighbouring cells is allowed when the floor rises at most 24 units and
  the opening between floor and ceiling is at least 56 (the player's height): drops are one
  way. Door sectors count as open (their ceiling at the lowest neighbouring ceiling less 4,
  as the engine opens them); a locked door only with its key in ``keys``;
- floors that hurt cost :data:`DAMAGE_COST` times as much to cross;
- the goal is the exit: a ``use`` waypoint facing an exit switch, or the middle of a walk-over exit line.

Every reachable cell becomes a waypoint pointing ``lookahead`` cells down the shortest path
to the exit (a field, so the expert finds its way back after a fight pushes it off). The cells
in front of a USE door that the path crosses are ``use`` waypoints facing the door, all with the
same target, so the expert presses USE once per door.

Not planned: detours to fetch a key (a field points one way; pass ``keys`` the player holds), lifts
and teleporters.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sb3_plus.experts.routes import Route, RouteError, Waypoint, make_route

__all__ = ["LevelGrid", "level_grid", "plan_level_route", "wad_lines", "DAMAGE_COST"]

STEP_UP = 24.0
PLAYER_HEIGHT = 56.0
DAMAGE_COST = 10.0
DAMAGE_SPECIALS = {4, 5, 7, 11, 16}  # vanilla sector specials that hurt
USE_REACH = 56.0  # cells this close to a door line whose path crosses it press USE (USE reaches 64)
#: Doom's solid decorations (type -> radius): barrels, lamps, columns, torches, trees, impaled and hanging bodies
SOLID_THINGS = {2035: 10, 70: 16, 2028: 16, 85: 16, 86: 16, 48: 16, 30: 16, 31: 16, 32: 16, 33: 16, 36: 16, 37: 16,
                41: 16, 42: 16, 43: 16, 47: 16, 54: 32, 44: 16, 45: 16, 46: 16, 55: 16, 56: 16, 57: 16, 35: 16,
                25: 16, 26: 16, 27: 16, 28: 16, 29: 16, 49: 16, 50: 16, 51: 16, 52: 16, 53: 16}
_STEPS = [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)]


@dataclass
class LevelGrid:
    """The cells of a level: sector per cell (-1 outside), free cells, heights as planned, and allowed steps.

    ``steps[k][r, c]`` says whether the player can step from cell ``(r, c)`` in direction ``_STEPS[k]``.
    """

    origin: tuple[float, float]
    cell: float
    sector: np.ndarray
    free: np.ndarray
    floors: np.ndarray
    ceilings: np.ndarray
    hurts: np.ndarray
    steps: list[np.ndarray]

    def xy(self, r: int, c: int) -> tuple[float, float]:
        return self.origin[0] + c * self.cell, self.origin[1] + r * self.cell

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        """The free cell nearest to ``(x, y)``."""
        free = np.argwhere(self.free)
        centres = np.stack([self.origin[0] + free[:, 1] * self.cell, self.origin[1] + free[:, 0] * self.cell], 1)
        r, c = free[int(np.argmin(((centres - (x, y)) ** 2).sum(1)))]
        return int(r), int(c)


def wad_lines(doom_map: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every sector's boundary segments (a two-sided line bounds both sectors), their sector, and which are walls.

    Each sector's boundary runs one way round (its inside on the right), so that its area adds up.
    """
    lines, owner, walls = [], [], []
    sides = len(doom_map.sides)
    for line in doom_map.lines:
        x1, y1, x2, y2 = doom_map.line_points(line)
        wall = line.back < 0 or bool(line.flags & 1)
        for side, points in ((line.front, (x1, y1, x2, y2)), (line.back, (x2, y2, x1, y1))):
            if 0 <= side < sides:
                lines.append(points)
                owner.append(doom_map.sides[side].sector)
                walls.append(wall)
    return np.asarray(lines, dtype=np.float64), np.asarray(owner, dtype=np.int64), np.asarray(walls, dtype=bool)


def _sector_grid(lines: np.ndarray, owner: np.ndarray, n_sectors: int, xs: np.ndarray,
                 ys: np.ndarray) -> np.ndarray:
    """The sector of every grid point, row by row (even-odd crossings per sector; the smallest sector wins)."""
    x1, y1, x2, y2 = lines.T
    areas = np.zeros(n_sectors)
    np.add.at(areas, owner, x1 * y2 - x2 * y1)
    areas = np.abs(areas) / 2.0
    out = np.full((len(ys), len(xs)), -1, dtype=np.int64)
    for i, y in enumerate(ys):
        k = np.flatnonzero((y1 > y) != (y2 > y))
        if len(k) == 0:
            continue
        cross = x1[k] + (y - y1[k]) * (x2[k] - x1[k]) / (y2[k] - y1[k])
        order = np.argsort(cross)
        toggles = np.zeros((len(k) + 1, n_sectors), dtype=np.int64)
        toggles[np.arange(len(k)), owner[k][order]] = 1
        parity = np.cumsum(toggles[::-1], axis=0)[::-1] % 2  # row j: crossings j.. to the right, per sector
        inside = parity[np.searchsorted(cross[order], xs, side="right")].astype(bool)
        ranked = np.where(inside, areas[None, :], np.inf)
        out[i] = np.where(inside.any(axis=1), ranked.argmin(axis=1), -1)
    return out


def _near_walls(lines: np.ndarray, origin: tuple[float, float], shape: tuple[int, int], cell: float,
                clearance: float) -> np.ndarray:
    """Cells within about ``clearance`` of a wall: the walls drawn into the grid, then widened by a disk."""
    hit = np.zeros(shape, dtype=bool)
    for x1, y1, x2, y2 in lines:
        n = max(2, int(math.hypot(x2 - x1, y2 - y1) / (cell / 4)) + 1)
        t = np.linspace(0.0, 1.0, n)
        cols = np.rint((x1 + t * (x2 - x1) - origin[0]) / cell).astype(int)
        rows = np.rint((y1 + t * (y2 - y1) - origin[1]) / cell).astype(int)
        keep = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
        hit[rows[keep], cols[keep]] = True
    near = hit.copy()
    reach = int(math.ceil(clearance / cell))
    for dr in range(-reach, reach + 1):
        for dc in range(-reach, reach + 1):
            if (dr or dc) and math.hypot(dr, dc) * cell <= clearance + cell / 2:
                shifted = np.zeros_like(hit)
                shifted[max(dr, 0):shape[0] + min(dr, 0), max(dc, 0):shape[1] + min(dc, 0)] = \
                    hit[max(-dr, 0):shape[0] + min(-dr, 0), max(-dc, 0):shape[1] + min(-dc, 0)]
                near |= shifted
    return near


def _open_doors(doom_map: Any, features: Any, keys: set[str]) -> np.ndarray:
    """Ceilings with every door the player can open raised as the engine raises it."""
    ceilings = np.array([s.ceiling for s in doom_map.sectors], dtype=np.float64)
    neighbours: dict[int, set[int]] = {}
    for line in doom_map.lines:
        if line.back >= 0 and line.front >= 0:
            a, b = doom_map.sides[line.front].sector, doom_map.sides[line.back].sector
            neighbours.setdefault(a, set()).add(b)
            neighbours.setdefault(b, set()).add(a)
    for door in features.doors:
        if door.key is not None and door.key not in keys:
            continue
        for sector in door.sectors:
            around = [doom_map.sectors[k].ceiling for k in neighbours.get(sector, ()) if k != sector]
            if around:
                ceilings[sector] = max(ceilings[sector], min(around) - 4.0)
    return ceilings


def _shift(a: np.ndarray, dr: int, dc: int, fill: Any) -> np.ndarray:
    """``out[r, c] = a[r + dr, c + dc]`` (``fill`` off the grid)."""
    out = np.full_like(a, fill)
    rows, cols = a.shape
    out[max(-dr, 0):rows - max(dr, 0), max(-dc, 0):cols - max(dc, 0)] = \
        a[max(dr, 0):rows + min(dr, 0) or None, max(dc, 0):cols + min(dc, 0) or None]
    return out


def _fine_steps(sector: np.ndarray, free: np.ndarray, floors: np.ndarray, ceilings: np.ndarray) -> dict:
    """Allowed orthogonal steps between neighbouring fine cells: floor up at most 24, 56 units of opening."""
    safe = np.where(sector >= 0, sector, 0)
    floor, ceiling = floors[safe], ceilings[safe]
    out = {}
    for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        f2, c2, ok2 = _shift(floor, dr, dc, 0.0), _shift(ceiling, dr, dc, 0.0), _shift(free, dr, dc, False)
        out[(dr, dc)] = free & ok2 & (f2 - floor <= STEP_UP) & (np.minimum(ceiling, c2) - np.maximum(floor, f2)
                                                                >= PLAYER_HEIGHT)
    return out


def level_grid(doom_map: Any, features: Any, keys: set[str] = frozenset(), cell: float = 16.0,
               clearance: float = 20.0) -> LevelGrid:
    """Cut a level into cells (see the module); doors open unless locked with a key not in ``keys``.

    Heights and walls are read on a grid twice as fine, so that a step between two cells cannot jump
    over a ledge narrower than a cell.
    """
    lines, owner, walls = wad_lines(doom_map)
    fine = cell / 2
    x0, x1 = lines[:, [0, 2]].min(), lines[:, [0, 2]].max()
    y0, y1 = lines[:, [1, 3]].min(), lines[:, [1, 3]].max()
    xs, ys = np.arange(x0 + fine / 2, x1, fine), np.arange(y0 + fine / 2, y1, fine)
    origin = (float(xs[0]), float(ys[0]))
    sector = _sector_grid(lines, owner, len(doom_map.sectors), xs, ys)
    floors = np.array([s.floor for s in doom_map.sectors], dtype=np.float64)
    ceilings = _open_doors(doom_map, features, set(keys))
    safe = np.where(sector >= 0, sector, 0)
    free = (sector >= 0) & (ceilings[safe] - floors[safe] >= PLAYER_HEIGHT)
    free &= ~_near_walls(lines[walls], origin, sector.shape, fine, clearance)
    gx, gy = np.meshgrid(xs, ys)
    for thing in doom_map.things:  # solid decorations block as walls do
        if thing.type in SOLID_THINGS:
            free &= np.hypot(gx - thing.x, gy - thing.y) > SOLID_THINGS[thing.type] + clearance
    step = _fine_steps(sector, free, floors, ceilings)
    coarse = (slice(None, None, 2), slice(None, None, 2))
    # a cell's step: two fine steps (orthogonal), or both orthogonal ways round (diagonal)
    ortho = {d: (ok & _shift(ok, d[0], d[1], False))[coarse] for d, ok in step.items()}
    steps = [ortho[(dr, dc)] if not (dr and dc) else
             ortho[(dr, 0)] & _shift(ortho[(0, dc)], dr, 0, False)
             & ortho[(0, dc)] & _shift(ortho[(dr, 0)], 0, dc, False)
             for dr, dc in _STEPS]
    hurts = np.array([s.special in DAMAGE_SPECIALS for s in doom_map.sectors], dtype=bool)
    return LevelGrid(origin, cell, sector[coarse], free[coarse], floors, ceilings, hurts, steps)


def distances_to(grid: LevelGrid, goal: tuple[int, int]) -> np.ndarray:
    """Cost of the cheapest walk from every cell to ``goal`` (inf where none): Dijkstra over reversed steps."""
    rows, cols = grid.free.shape
    dist = np.full(grid.free.shape, np.inf)
    dist[goal] = 0.0
    heap = [(0.0, goal)]
    while heap:
        d, (r, c) = heapq.heappop(heap)
        if d > dist[r, c]:
            continue
        weight_here = DAMAGE_COST if grid.hurts[grid.sector[r, c]] else 1.0
        for k, (dr, dc) in enumerate(_STEPS):
            pr, pc = r - dr, c - dc  # a predecessor: a cell whose step k lands on (r, c)
            if 0 <= pr < rows and 0 <= pc < cols and grid.steps[k][pr, pc]:
                nd = d + math.hypot(dr, dc) * weight_here
                if nd < dist[pr, pc]:
                    dist[pr, pc] = nd
                    heapq.heappush(heap, (nd, (pr, pc)))
    return dist


def _exit_goal(doom_map: Any, features: Any) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """Where the plan ends: ``(stand here, face this)``; face is ``None`` for a walk-over exit (stand on it)."""
    exits = [e for e in features.exits if not e.secret] or list(features.exits)
    if not exits:
        raise RouteError(f"{doom_map.name}: the map has no exit line. Fix: give the route a goal by hand")
    exit_line = exits[0]
    x1, y1, x2, y2 = doom_map.line_points(doom_map.lines[exit_line.line])
    length = max(math.hypot(x2 - x1, y2 - y1), 1e-9)
    nx, ny = (y2 - y1) / length, -(x2 - x1) / length  # a line's front lies on its right
    cx, cy = exit_line.center
    if exit_line.trigger == "walk":
        return (cx, cy), None
    return (cx + 32 * nx, cy + 32 * ny), (cx - 64 * nx, cy - 64 * ny)


def _use_doors(doom_map: Any, features: Any) -> list[tuple[Any, tuple[float, float, float, float]]]:
    """USE doors that start closed, with their line's end points."""
    out = []
    for door in features.doors:
        closed = any(doom_map.sectors[s].ceiling - doom_map.sectors[s].floor < PLAYER_HEIGHT for s in door.sectors)
        if door.trigger == "use" and closed:
            out.append((door, doom_map.line_points(doom_map.lines[door.line])))
    return out


def _crosses(a: tuple[float, float], b: tuple[float, float], line: np.ndarray) -> bool:
    """Whether segment ``a``-``b`` crosses the line ``(x1, y1, x2, y2)``."""
    def side(p: tuple[float, float], q: tuple[float, float], r: tuple[float, float]) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    c, d = (float(line[0]), float(line[1])), (float(line[2]), float(line[3]))
    return side(a, b, c) * side(a, b, d) < 0 and side(c, d, a) * side(c, d, b) < 0


def _door_crossing(points: list[tuple[float, float]], door_lines: np.ndarray) -> int | None:
    """The first door line (index) the polyline ``points`` crosses, or ``None``."""
    for a, b in zip(points, points[1:]):
        for k, line in enumerate(door_lines):
            if _crosses(a, b, line):
                return k
    return None


def plan_level_route(doom_map: Any, features: Any, keys: set[str] = frozenset(), cell: float = 16.0,
                     clearance: float = 20.0, lookahead: int = 4, env_id: str | None = None,
                     map_name: str | None = None) -> Route:
    """A field route over a whole level to its exit (see the module).

    :param doom_map: the map read from the WAD.
    :param features: its doors, keys and exits (:func:`~sb3_plus.envs.doom_maps.map_features`).
    :param keys: key colours the player holds (locked doors of those colours count as doors).
    :param cell: cell size in map units.
    :param clearance: distance kept from walls (the player's radius is 16).
    :param lookahead: cells between a waypoint and its target.
    :param env_id: the env the route is for.
    :param map_name: the map's name in routes (default: the WAD's, ``E1M1``).
    :raises RouteError: no exit, or no start that reaches it.
    """
    from sb3_plus.experts.planners import _segment_distances

    grid = level_grid(doom_map, features, keys, cell, clearance)
    stand, face = _exit_goal(doom_map, features)
    goal = grid.cell_of(*stand)
    dist = distances_to(grid, goal)
    starts = [grid.cell_of(x, y) for x, y, _ in features.starts[:1]]
    if starts and not np.isfinite(dist[starts[0]]):
        raise RouteError(f"{doom_map.name}: no walk from the player start reaches the exit (locked doors count as "
                         f"walls without their key; keys held: {sorted(keys) or 'none'}). Fix: pass the keys the "
                         "level needs, or write the route by hand")
    reachable = np.argwhere(np.isfinite(dist))
    rows, cols = grid.free.shape

    def name(r: int, c: int) -> str:
        return f"r{r}c{c}"

    def down(r: int, c: int) -> tuple[int, int]:
        best, best_d = (r, c), dist[r, c]
        for k, (dr, dc) in enumerate(_STEPS):
            nr, nc = r + dr, c + dc
            if 0 <= nr < rows and 0 <= nc < cols and dist[nr, nc] < best_d and grid.steps[k][r, c]:
                best, best_d = (nr, nc), dist[nr, nc]
        return best

    doors = _use_doors(doom_map, features)
    door_lines = np.array([points for _, points in doors]) if doors else np.zeros((0, 4))
    # the lines of one door (its two faces) share a group: the door sector
    door_group = [min(door.sectors) if door.sectors else k for k, (door, _) in enumerate(doors)]
    door_targets: dict[int, str] = {}

    def crossing_index(path: list[tuple[int, int]], lines: np.ndarray, k: int) -> int:
        """Index of the first path cell past door line ``k`` (the path crosses it)."""
        points = [grid.xy(*p) for p in path]
        return next(i + 1 for i in range(len(points) - 1) if _crosses(points[i], points[i + 1], lines[k]))
    centres = np.stack([grid.origin[0] + reachable[:, 1] * cell, grid.origin[1] + reachable[:, 0] * cell], axis=1)
    near_door = (_segment_distances(centres, door_lines) <= USE_REACH) if len(door_lines) else \
        np.zeros(len(reachable), dtype=bool)
    waypoints = []
    for (r, c), near in zip(reachable, near_door):
        r, c = int(r), int(c)
        path = [(r, c)]
        for _ in range(lookahead):
            path.append(down(*path[-1]))
        target = path[-1]
        pos = grid.xy(r, c)
        use, target_id = False, (name(*target) if target != (r, c) else None)
        crossing = _door_crossing([grid.xy(*p) for p in path], door_lines) if near else None
        if crossing is not None:  # within reach of a door the path is about to cross
            door, after = door_group[crossing], path[crossing_index(path, door_lines, crossing)]
            # every cell in front of one door faces the same point past it, so that USE is pressed once
            shared = door_targets.setdefault(door, name(*after))
            if shared != name(r, c):  # (a cell inside a thick door, between its faces, just walks on)
                use, target_id = True, shared
        waypoints.append(Waypoint(name(r, c), pos, target_id, use=use, region=int(grid.sector[r, c])))
    goal_id = name(*goal)
    if face is not None:  # the exit switch: USE at the goal cell, facing a point behind the switch
        waypoints = [Waypoint(w.id, w.pos, "exit", use=True, region=w.region) if w.id == goal_id else w
                     for w in waypoints]
        waypoints.append(Waypoint("exit", face, None))
    else:
        waypoints = [Waypoint(w.id, w.pos, None, region=w.region) if w.id == goal_id else w for w in waypoints]
    # a cell whose lookahead ends on itself points at the goal
    waypoints = [w if w.target is not None or w.id in (goal_id, "exit") else
                 Waypoint(w.id, w.pos, goal_id, use=w.use, region=w.region) for w in waypoints]
    return make_route(waypoints, family="vizdoom", map=map_name or doom_map.name, env=env_id,
                      source=f"<planned:{doom_map.name}>",
                      description=f"planned from the WAD: exit of {doom_map.name}, keys {sorted(keys) or 'none'}, "
                                  f"cell {cell:g}, clearance {clearance:g}")
