"""Maze layouts: generation (a perfect maze plus extra openings for loops), BFS distances, the farthest cell."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

import numpy as np

from sb3_plus.errors import BadOptionError

#: Forward step (dcol, drow) for heading index k (heading = 90 * k degrees).
_STEPS = ((1, 0), (0, 1), (-1, 0), (0, -1))


@dataclass(frozen=True)
class MazeLayout:
    """One maze: its walls, and the start and goal cells of the episode.

    :param grid: ``(n_rows, n_cols)`` bool array, ``True`` where a cell is a wall (read-only).
    :param start: ``(row, col)`` where the agent started.
    :param goal: ``(row, col)`` of the goal.
    :param seed: the seed that generated the walls (``None`` for hand-made layouts).
    """

    grid: np.ndarray
    start: tuple[int, int]
    goal: tuple[int, int]
    seed: int | None = None

    @property
    def walls(self) -> np.ndarray:
        """The same array as :attr:`grid` (``True`` for walls), named for what it holds."""
        return self.grid

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_rows, n_cols)`` of the grid."""
        return int(self.grid.shape[0]), int(self.grid.shape[1])

    def cell_index(self, row: int, col: int) -> int:
        """The cell id used in ``info["pose"]["cell"]``: ``row * n_cols + col``."""
        return int(row) * int(self.grid.shape[1]) + int(col)

    @staticmethod
    def cell_center(row: int, col: int) -> tuple[float, float]:
        """Pose coordinates ``(x, y)`` of a cell's centre."""
        return float(col) + 0.5, float(row) + 0.5

    def free_cells(self) -> list[tuple[int, int]]:
        """All free cells as ``(row, col)``, row-major."""
        rows, cols = np.nonzero(~self.grid)
        return [(int(r), int(c)) for r, c in zip(rows, cols)]


def generate_maze(size: int, loops: int = 0, seed: int | None = None) -> np.ndarray:
    """Carve a maze with a randomized depth-first backtracker.

    :param size: rooms per side (>= 2); the grid is ``(2*size+1)`` cells square.
    :param loops: walls between neighbouring rooms to open after carving (adds cycles).
    :param seed: seed of the carving; the same seed gives the same maze.
    :return: bool array, ``True`` for walls; the border is always wall.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
        raise BadOptionError(f"maze size must be an integer >= 2 rooms per side, got {size!r}. Fix: pass e.g. size:6")
    if isinstance(loops, bool) or not isinstance(loops, (int, np.integer)) or loops < 0:
        raise BadOptionError(f"loops must be an integer >= 0, got {loops!r}. Fix: pass e.g. loops:2")
    rng = random.Random(seed)
    side = 2 * size + 1
    walls = np.ones((side, side), dtype=bool)
    visited = [[False] * size for _ in range(size)]
    r0, c0 = rng.randrange(size), rng.randrange(size)
    visited[r0][c0] = True
    walls[2 * r0 + 1, 2 * c0 + 1] = False
    stack = [(r0, c0)]
    while stack:
        r, c = stack[-1]
        options = [
            (r + dr, c + dc)
            for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))
            if 0 <= r + dr < size and 0 <= c + dc < size and not visited[r + dr][c + dc]
        ]
        if not options:
            stack.pop()
            continue
        nr, nc = options[rng.randrange(len(options))]
        visited[nr][nc] = True
        walls[r + nr + 1, c + nc + 1] = False  # the wall cell between the two rooms
        walls[2 * nr + 1, 2 * nc + 1] = False
        stack.append((nr, nc))
    if loops:
        closed = [
            (r, c)
            for r in range(1, side - 1)
            for c in range(1, side - 1)
            if walls[r, c] and (r % 2) != (c % 2)  # a wall between two rooms, not a pillar
        ]
        for r, c in rng.sample(closed, min(loops, len(closed))):
            walls[r, c] = False
    return walls


def bfs_distances(walls: np.ndarray, source: tuple[int, int]) -> np.ndarray:
    """Path lengths (in cells) from ``source`` to every cell; ``-1`` where unreachable or wall.

    :param walls: bool grid, ``True`` for walls.
    :param source: ``(row, col)`` of a free cell.
    """
    n_rows, n_cols = walls.shape
    dist = np.full(walls.shape, -1, dtype=np.int64)
    if walls[source]:
        return dist
    dist[source] = 0
    queue = deque([source])
    free = ~walls
    while queue:
        r, c = queue.popleft()
        d = dist[r, c] + 1
        for dc, dr in _STEPS:
            nr, nc = r + dr, c + dc
            if 0 <= nr < n_rows and 0 <= nc < n_cols and free[nr, nc] and dist[nr, nc] < 0:
                dist[nr, nc] = d
                queue.append((nr, nc))
    return dist


def farthest_cell(walls: np.ndarray, source: tuple[int, int]) -> tuple[int, int]:
    """The free cell farthest from ``source`` by path length (first in row-major order on ties).

    :param walls: bool grid, ``True`` for walls.
    :param source: ``(row, col)`` of a free cell.
    """
    dist = bfs_distances(walls, source)
    index = int(np.argmax(dist))
    return index // walls.shape[1], index % walls.shape[1]
