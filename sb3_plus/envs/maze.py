"""Procedurally generated block-grid mazes: a fast, partially observed, sparse-reward family.

Ids: ``MazeEasy-v0``, ``MazeMedium-v0``, ``MazeHard-v0`` (vector observations) and
``MazeEasyPixels-v0``, ``MazeMediumPixels-v0``, ``MazeHardPixels-v0`` (grayscale images).
Every id works with :func:`sb3_plus.envs.make_env` and with ``gymnasium.make``. This module is the
env (its options, resets, observations, privileged access, registration); the layouts themselves
(generation, distances) are :mod:`sb3_plus.envs.maze_layout`. It stays one module, a little over the
usual size, because reset, step and the observations all work on the same cell state.

Geometry. A maze of ``size`` x ``size`` rooms lives on a ``(2*size+1)`` square grid of cells
that are wall or free, carved by a seeded randomized depth-first backtracker (a perfect
maze, one path between any two cells); ``loops`` extra openings then add alternative routes.
Cell ``(row, col)`` has its centre at pose ``x = col + 0.5``, ``y = row + 0.5``; its id is
``cell = row * n_cols + col``. The heading is in degrees, one of 0, 90, 180, 270, and moving
forward steps by ``(dx, dy) = (round(cos h), round(sin h))``, so ``atan2`` from the agent to
a neighbouring cell centre equals the heading that faces it. ``turn_left`` adds 90 degrees
(counter-clockwise when y points up, as in :meth:`MazeEnv.render`).

Episodes. On every ``reset`` a new maze is drawn from the env's ``np_random`` (the same
seed gives the same maze), the agent starts on a random free cell facing a random direction
and the goal is the free cell farthest from it by path length, so every episode is
solvable. With ``fixed_layout_seed`` the maze and its goal stay the same and only the start
changes; with ``num_layouts`` the maze is one of a set of training layouts (seeds
``start_layout`` onwards), as Procgen's ``num_levels``, and unseen mazes are the default.
Reward: ``+1`` on the step the goal is entered (``terminated``), plus an optional
``step_penalty`` subtracted every step (0 by default: the reward is sparse on purpose).
``truncated`` is set after ``max_episode_steps`` (default 4 x the number of free cells).

Observations (``obs_type``), all egocentric: a ``view_size`` x ``view_size`` window centred
on the agent and rotated so that the agent faces up (the window's left is the agent's left).

- ``"vector"``: float32 in [0, 1], shape ``(2 * view_size**2,)``: the wall plane then the
  goal plane, each row-major from the far-left corner. Cells off the grid read as walls.
- ``"pixels"``: uint8 ``(H, W, 1)`` grayscale, the same window drawn with ``cell_pixels``
  pixels per cell (``H = W >= 36`` so SB3's ``NatureCNN`` fits): walls dark, floor mid grey,
  goal bright, the agent a white up-pointing triangle in the centre.
- ``"dict"``: ``{"image": pixels, "vector": vector}``.

Privileged state for experts, with the same keys on every step and reset:
``info["pose"] = {"x", "y", "heading", "cell", "sector"}`` and ``info["success"]``.
``sector`` repeats ``cell``: it is the generic region key that the waypoint follower
matches against a waypoint's ``region``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sb3_plus.errors import BadOptionError
from sb3_plus.envs.options import MAZE_OPTIONS, OptionSpec, check_option, unknown_option_message
from sb3_plus.envs.maze_layout import _STEPS, MazeLayout, bfs_distances, farthest_cell, generate_maze
from sb3_plus.envs.registry import EnvFamily, register_family

__all__ = [
    "MazeEnv",
    "MazeLayout",
    "DIFFICULTIES",
    "MAZE_IDS",
    "generate_maze",
    "bfs_distances",
    "farthest_cell",
    "make_maze_env",
]

#: Difficulty -> (rooms per side, extra openings that make loops).
DIFFICULTIES: dict[str, tuple[int, int]] = {"easy": (4, 0), "medium": (6, 2), "hard": (9, 5)}

_FLOOR, _WALL, _GOAL = 0, 1, 2
# Grey levels of the pixel observation by cell code (floor, wall, goal), and the agent.
_GREY = np.array([110, 30, 220], dtype=np.uint8)
_AGENT_GREY = 255
# Colours of the top-down render.
_RENDER_PIXELS = 16
_RGB = np.array([[205, 205, 205], [40, 40, 48], [60, 190, 75]], dtype=np.uint8)
_RGB_START = np.array([150, 185, 230], dtype=np.uint8)
_RGB_AGENT = np.array([215, 50, 50], dtype=np.uint8)


_DIFFICULTY = OptionSpec("difficulty", "choice", "rooms per side and loops", "medium", choices=tuple(DIFFICULTIES))


def _check_options(values: dict[str, Any]) -> None:
    """Check the constructor's arguments against the family's option table (one place for the rules)."""
    check_option(_DIFFICULTY, values["difficulty"], "MazeEnv")
    for name, spec in MAZE_OPTIONS.items():
        check_option(spec, values[name], "MazeEnv")


class MazeEnv(gym.Env):
    """A maze on a block grid, seen through a small egocentric window.

    Actions: ``Discrete(3)``: 0 turn left (+90 degrees), 1 turn right (-90), 2 forward one
    cell (blocked by walls). See the module docstring for observations, reward and pose.

    :param difficulty: ``"easy"`` (4 x 4 rooms), ``"medium"`` (6 x 6, 2 loops) or ``"hard"``
        (9 x 9, 5 loops).
    :param size: rooms per side, overriding the difficulty's (grid ``2*size+1`` cells square).
    :param loops: extra openings, overriding the difficulty's.
    :param obs_type: ``"vector"``, ``"pixels"`` or ``"dict"``.
    :param view_size: side of the egocentric window in cells (odd, >= 3).
    :param cell_pixels: pixels per cell in pixel observations; default ``max(8, ceil(36 / view_size))``.
    :param max_episode_steps: steps before ``truncated``; default 4 x the number of free cells.
    :param step_penalty: subtracted from the reward on every step (0: sparse reward).
    :param fixed_layout_seed: keep the maze generated by this seed (and its goal) for every
        episode; only the start changes.
    :param fixed_start: with ``fixed_layout_seed``, every episode starts on the same cell, the one
        farthest from the goal (only the heading is drawn): a hard-exploration setting.
    :param num_layouts: draw every episode's maze from the layouts of seeds ``start_layout`` to
        ``start_layout + num_layouts - 1`` (a set of training mazes, as Procgen's ``num_levels``);
        ``None``: any maze (about 2**31), which is how unseen mazes are tested.
    :param start_layout: the first layout seed of ``num_layouts``.
    :param render_mode: ``None`` or ``"rgb_array"`` (a top-down RGB image of the whole maze).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 8}

    #: How a waypoint expert's semantic actions map to this env's actions.
    expert_action_map = {"turn_left": 0, "turn_right": 1, "forward": 2}
    #: Headings are exact multiples of 90 degrees, so anything below 90 works.
    expert_facing_tolerance = 45.0

    def __init__(
        self,
        difficulty: str = "easy",
        size: int | None = None,
        loops: int | None = None,
        obs_type: str = "vector",
        view_size: int = 5,
        cell_pixels: int | None = None,
        max_episode_steps: int | None = None,
        step_penalty: float = 0.0,
        fixed_layout_seed: int | None = None,
        fixed_start: bool = False,
        num_layouts: int | None = None,
        start_layout: int = 0,
        render_mode: str | None = None,
    ) -> None:
        _check_options(locals())  # every argument by name, before anything is built
        default_size, default_loops = DIFFICULTIES[difficulty]
        self.difficulty = difficulty
        self.size = int(default_size if size is None else size)
        self.loops = int(default_loops if loops is None else loops)
        self.obs_type = obs_type
        self.view_size = int(view_size)
        self.cell_pixels = int(cell_pixels) if cell_pixels is not None else max(8, math.ceil(36 / self.view_size))
        self.max_episode_steps = max_episode_steps
        self.step_penalty = float(step_penalty)
        self.fixed_layout_seed = fixed_layout_seed
        if fixed_start and fixed_layout_seed is None:
            raise BadOptionError("fixed_start=True needs fixed_layout_seed (a start is fixed on one maze only). "
                                 "Fix: add fixed_layout_seed=0, or drop fixed_start")
        self.fixed_start = bool(fixed_start)
        if num_layouts is not None and fixed_layout_seed is not None:
            raise BadOptionError("num_layouts and fixed_layout_seed both choose the maze. Fix: keep one of them "
                                 "(num_layouts=200 for a set of training mazes, fixed_layout_seed=0 for one)")
        self.num_layouts, self.start_layout = num_layouts, int(start_layout)
        self.render_mode = render_mode

        self.side = 2 * self.size + 1
        self.action_space = spaces.Discrete(3)
        v = self.view_size
        vector_space = spaces.Box(0.0, 1.0, shape=(2 * v * v,), dtype=np.float32)
        side_px = v * self.cell_pixels
        image_space = spaces.Box(0, 255, shape=(side_px, side_px, 1), dtype=np.uint8)
        if obs_type == "vector":
            self.observation_space: spaces.Space = vector_space
        elif obs_type == "pixels":
            self.observation_space = image_space
        else:
            self.observation_space = spaces.Dict({"image": image_space, "vector": vector_space})

        # The grid padded by half a window of walls, flattened, so a view is one gather.
        self._pad = v // 2
        self._pad_cols = self.side + 2 * self._pad
        self._view_offsets = self._egocentric_offsets()
        plane = (self.side + 2 * self._pad) * self._pad_cols
        self._vector_offsets = [np.concatenate([o, o + plane]) for o in self._view_offsets]
        self._planes = np.zeros(2 * plane, dtype=np.float32)
        self._codes = np.zeros(plane, dtype=np.uint8)
        # Pixel observation: which window cell each pixel shows, and the agent's triangle.
        p = self.cell_pixels
        cell_of_pixel = (np.arange(side_px) // p)[:, None] * v + (np.arange(side_px) // p)[None, :]
        self._cell_of_pixel = cell_of_pixel
        self._agent_mask = np.zeros((side_px, side_px), dtype=bool)
        self._agent_mask[self._pad * p:(self._pad + 1) * p, self._pad * p:(self._pad + 1) * p] = _triangle(p)

        self._walls = np.ones((self.side, self.side), dtype=bool)
        self._layout_seed: int | None = None
        self._fixed_walls: np.ndarray | None = None
        self._fixed_start: tuple[int, int] = (1, 1)
        self._fixed_goal: tuple[int, int] | None = None
        self._free: np.ndarray = np.zeros((0, 2), dtype=np.int64)
        self._row = self._col = 1
        self._heading = 0
        self._start = (1, 1)
        self._goal = (1, 1)
        self._steps = 0
        self._limit = 1
        self._base = 0

    # ------------------------------------------------------------------ geometry
    def _egocentric_offsets(self) -> list[np.ndarray]:
        """Per heading, flat offsets of the window cells in the padded grid (far-left first)."""
        v, c = self.view_size, self.view_size // 2
        ahead = c - np.arange(v)[:, None]  # cells ahead of the agent, per window row
        right = np.arange(v)[None, :] - c  # cells to the agent's right, per window column
        out = []
        for dx, dy in _STEPS:
            # right-hand direction is the heading turned by -90 degrees: (dy, -dx)
            dcol = ahead * dx + right * dy
            drow = ahead * dy - right * dx
            out.append((drow * self._pad_cols + dcol).ravel().astype(np.int64))
        return out

    def _set_walls(self, walls: np.ndarray, goal: tuple[int, int]) -> None:
        self._walls = walls
        self._goal = goal
        self._free = np.argwhere(~walls)
        codes = np.full((self.side + 2 * self._pad, self._pad_cols), _WALL, dtype=np.uint8)
        inner = codes[self._pad:self._pad + self.side, self._pad:self._pad + self.side]
        inner[:] = np.where(walls, _WALL, _FLOOR)
        inner[goal] = _GOAL
        self._codes = codes.ravel()
        self._planes = np.concatenate([(self._codes == _WALL), (self._codes == _GOAL)]).astype(np.float32)
        if self.max_episode_steps is None:
            self._limit = 4 * len(self._free)
        else:
            self._limit = int(self.max_episode_steps)

    def _update_base(self) -> None:
        self._base = (self._row + self._pad) * self._pad_cols + self._col + self._pad

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode (a new maze unless ``fixed_layout_seed`` is set).

        :param seed: seeds ``np_random``; the same seed gives the same maze, start and heading.
        :param options: ``{"layout_seed": int}`` plays the maze of that seed this episode.
        """
        super().reset(seed=seed)
        options = options or {}
        unknown = set(options) - {"layout_seed"}
        if unknown:
            raise BadOptionError(f"MazeEnv.reset: unknown option(s) {sorted(unknown)}; allowed: ['layout_seed']")
        layout_seed = options.get("layout_seed")
        if layout_seed is not None and (isinstance(layout_seed, bool) or not isinstance(layout_seed, (int, np.integer))):
            raise BadOptionError(f"MazeEnv.reset: layout_seed must be an integer, got {layout_seed!r}. "
                                 "Fix: pass options={'layout_seed': 3}")
        if layout_seed is None and self.fixed_layout_seed is not None:
            if self._fixed_walls is None:
                walls = generate_maze(self.size, self.loops, self.fixed_layout_seed)
                corner = farthest_cell(walls, (1, 1))
                self._fixed_walls, self._fixed_goal = walls, farthest_cell(walls, corner)
                self._fixed_start = farthest_cell(walls, self._fixed_goal)
            self._layout_seed = int(self.fixed_layout_seed)
            if self._walls is not self._fixed_walls:
                self._set_walls(self._fixed_walls, self._fixed_goal)
            if self.fixed_start:
                start = self._fixed_start
            else:
                candidates = [tuple(cell) for cell in self._free.tolist() if tuple(cell) != self._goal]
                start = candidates[int(self.np_random.integers(len(candidates)))]
        else:
            if layout_seed is None and self.num_layouts is not None:
                layout_seed = self.start_layout + int(self.np_random.integers(self.num_layouts))
            elif layout_seed is None:
                layout_seed = int(self.np_random.integers(2**31 - 1))
            self._layout_seed = int(layout_seed)
            walls = generate_maze(self.size, self.loops, self._layout_seed)
            free = np.argwhere(~walls)
            start = tuple(int(v) for v in free[int(self.np_random.integers(len(free)))])
            self._set_walls(walls, farthest_cell(walls, start))
        self._start = (int(start[0]), int(start[1]))
        self._row, self._col = self._start
        self._heading = int(self.np_random.integers(4))
        self._steps = 0
        self._update_base()
        return self._observation(), self._info(False)

    def step(self, action: Any):
        """Apply one action: 0 turn left, 1 turn right, 2 forward."""
        a = int(action)
        if a == 2:
            dx, dy = _STEPS[self._heading]
            row, col = self._row + dy, self._col + dx
            if not self._walls[row, col]:  # the border is wall, so no bounds check is needed
                self._row, self._col = row, col
                self._update_base()
        elif a == 0:
            self._heading = (self._heading + 1) % 4
        elif a == 1:
            self._heading = (self._heading - 1) % 4
        else:
            raise ValueError(f"MazeEnv action must be 0 (turn_left), 1 (turn_right) or 2 (forward), got {action!r}")
        self._steps += 1
        success = self._row == self._goal[0] and self._col == self._goal[1]
        reward = (1.0 if success else 0.0) - self.step_penalty
        truncated = not success and self._steps >= self._limit
        return self._observation(), reward, success, truncated, self._info(success)

    def _info(self, success: bool) -> dict[str, Any]:
        cell = self._row * self.side + self._col
        return {
            "pose": {
                "x": self._col + 0.5,
                "y": self._row + 0.5,
                "heading": 90.0 * self._heading,
                "cell": cell,
                "sector": cell,
            },
            "success": bool(success),
        }

    def _vector(self) -> np.ndarray:
        return self._planes[self._base + self._vector_offsets[self._heading]]

    def _image(self) -> np.ndarray:
        codes = self._codes[self._base + self._view_offsets[self._heading]]
        image = _GREY[codes][self._cell_of_pixel]
        image[self._agent_mask] = _AGENT_GREY
        return image[:, :, None]

    def _observation(self) -> Any:
        if self.obs_type == "vector":
            return self._vector()
        if self.obs_type == "pixels":
            return self._image()
        return {"image": self._image(), "vector": self._vector()}

    # ------------------------------------------------------------------ extras
    def layout(self) -> MazeLayout:
        """The current maze with this episode's start and goal (for planners and tests)."""
        walls = self._walls.copy()
        walls.flags.writeable = False
        return MazeLayout(grid=walls, start=self._start, goal=self._goal, seed=self._layout_seed)

    def action_masks(self) -> np.ndarray:
        """Which actions do something now (sb3-contrib's MaskablePPO reads it): turns always, forward
        unless a wall is ahead."""
        dx, dy = _STEPS[self._heading]
        return np.array([True, True, not self._walls[self._row + dy, self._col + dx]])

    @property
    def agent_cell(self) -> tuple[int, int]:
        """``(row, col)`` of the agent."""
        return self._row, self._col

    @property
    def heading(self) -> float:
        """The agent's heading in degrees (0, 90, 180 or 270)."""
        return 90.0 * self._heading

    def clone_state(self) -> dict[str, Any]:
        """A snapshot of the episode (maze, agent, step count) for :meth:`restore_state`."""
        return {
            "walls": self._walls.copy(), "goal": self._goal, "start": self._start, "seed": self._layout_seed,
            "row": self._row, "col": self._col, "heading": self._heading, "steps": self._steps,
        }

    def restore_state(self, state: dict[str, Any]) -> None:
        """Return to a snapshot taken by :meth:`clone_state` (of an env with the same size)."""
        walls = np.asarray(state["walls"], dtype=bool)
        if walls.shape != (self.side, self.side):
            raise ValueError(f"state is for a {walls.shape} maze, this env's is {(self.side, self.side)}")
        if not np.array_equal(walls, self._walls) or tuple(state["goal"]) != self._goal:
            self._set_walls(walls.copy(), tuple(state["goal"]))
        self._start, self._layout_seed = tuple(state["start"]), state["seed"]
        self._row, self._col, self._heading, self._steps = state["row"], state["col"], state["heading"], state["steps"]
        self._update_base()

    def render(self) -> np.ndarray | None:
        """A top-down RGB image of the maze (y up), ``16`` pixels per cell; ``None`` without render_mode."""
        if self.render_mode is None:
            return None
        p = _RENDER_PIXELS
        codes = np.where(self._walls, _WALL, _FLOOR)
        codes[self._goal] = _GOAL
        cells = _RGB[codes]
        cells[self._start] = _RGB_START
        cells[self._goal] = _RGB[_GOAL]
        image = np.repeat(np.repeat(cells, p, axis=0), p, axis=1)
        # _triangle points to row 0 (-row, heading 270); rotate it to the agent's heading,
        # then the final flip puts y up.
        marker = np.rot90(_triangle(p), k=(3 - self._heading) % 4)
        block = image[self._row * p:(self._row + 1) * p, self._col * p:(self._col + 1) * p]
        block[marker] = _RGB_AGENT
        return np.ascontiguousarray(np.flipud(image))

    def close(self) -> None:
        """Nothing to release."""


def _triangle(p: int) -> np.ndarray:
    """A ``p`` x ``p`` mask of a triangle pointing to row 0."""
    mask = np.zeros((p, p), dtype=bool)
    top, bottom = max(1, p // 8), p - max(1, p // 8)
    centre = (p - 1) / 2.0
    for r in range(top, bottom):
        half = (r - top + 1) / max(1, bottom - top) * (p / 2.0 - max(1, p // 8))
        mask[r, int(math.floor(centre - half + 0.5)):int(math.ceil(centre + half - 0.5)) + 1] = True
    return mask


# ---------------------------------------------------------------------- registration
_ID_PATTERN = re.compile(r"^Maze(Easy|Medium|Hard)(Pixels)?-v0$")
#: Every registered maze id.
MAZE_IDS = [f"Maze{d}{p}-v0" for p in ("", "Pixels") for d in ("Easy", "Medium", "Hard")]
_BUILD_KWARGS = tuple(MAZE_OPTIONS)


def _matches(env_id: str) -> bool:
    return _ID_PATTERN.match(env_id) is not None


def make_maze_env(env_id: str, **kwargs: Any) -> MazeEnv:
    """Build a maze env from its id (the family's ``build``).

    :param env_id: ``Maze{Easy,Medium,Hard}[Pixels]-v0``.
    :param kwargs: any of ``size``, ``loops``, ``obs_type``, ``view_size``, ``cell_pixels``,
        ``max_episode_steps``, ``step_penalty``, ``fixed_layout_seed``, ``fixed_start``, ``num_layouts``,
        ``start_layout``, ``render_mode``.
    :raises BadOptionError: for an unknown keyword (naming it and the allowed ones) or a bad value.
    """
    match = _ID_PATTERN.match(env_id)
    if match is None:
        raise BadOptionError(f"{env_id!r} is not a maze id; maze ids are {', '.join(MAZE_IDS)}")
    unknown = sorted(set(kwargs) - set(_BUILD_KWARGS))
    if unknown:
        hint = " (the difficulty comes from the env id)" if "difficulty" in unknown else ""
        raise BadOptionError(unknown_option_message(env_id, "maze", unknown[0], list(_BUILD_KWARGS), hint))
    options: dict[str, Any] = {"difficulty": match.group(1).lower(), "obs_type": "pixels" if match.group(2) else "vector"}
    options.update(kwargs)
    return MazeEnv(**options)


register_family(
    EnvFamily(
        name="maze",
        matches=_matches,
        build=make_maze_env,
        examples=["MazeEasy-v0", "MazeMedium-v0", "MazeHard-v0", "MazeEasyPixels-v0"],
    )
)

for _id in MAZE_IDS:
    if _id not in gym.registry:
        _m = _ID_PATTERN.match(_id)
        gym.register(
            id=_id,
            entry_point="sb3_plus.envs.maze:MazeEnv",
            kwargs={"difficulty": _m.group(1).lower(), "obs_type": "pixels" if _m.group(2) else "vector"},
        )
