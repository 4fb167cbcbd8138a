"""Potential-based reward shaping (Ng, Harada and Russell 1999): ``r + gamma * phi(s') - phi(s)``.

Any shaping of this form leaves the optimal policies unchanged, because over a trajectory the
added rewards telescope: their discounted sum is ``gamma**T * phi(s_T) - phi(s_0)``, whatever
the path. Going back and forth therefore earns nothing that staying put would not; a bonus for
"getting closer" that is not a difference of potentials can be farmed forever. ``phi`` of a
terminal state is 0 (the episode's value ends there); a time-out is not terminal.

Use it from a zoo entry with rl-zoo3's ``env_wrapper`` key (evaluation envs get it too, so their
returns include the shaping; success does not change)::

    env_wrapper:
      - sb3_plus.envs.shaping.PotentialShaping: {potential: maze_distance, gamma: 0.99, scale: 0.1}

Potentials (:data:`POTENTIALS`), from the pose in ``info`` and the env:

- ``maze_distance``: minus the path length (in cells) from the agent to the goal (breadth-first
  over the maze's own layout, recomputed each episode);
- ``goal_distance``: minus the straight-line distance from ``info["pose"]`` to ``goal=[x, y]``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import gymnasium as gym
import numpy as np

from sb3_plus.errors import BadOptionError

__all__ = ["POTENTIALS", "PotentialShaping"]


def _pose(info: Mapping[str, Any]) -> Mapping[str, Any]:
    pose = info.get("pose")
    if not isinstance(pose, Mapping) or "x" not in pose or "y" not in pose:
        raise BadOptionError("reward shaping needs info['pose'] with x and y. Fix: use an env family with a pose "
                             "(maze, vizdoom), or another potential")
    return pose


class _MazeDistance:
    """Minus the maze path length from the agent's cell to the goal."""

    def __init__(self, env: gym.Env, goal: Sequence[float] | None = None) -> None:
        if goal is not None:
            raise BadOptionError("potential maze_distance finds the goal itself. Fix: remove goal")
        if not hasattr(env.unwrapped, "layout"):
            raise BadOptionError("potential maze_distance needs a maze env (MazeEasy-v0, ...). "
                                 "Fix: use goal_distance with goal=[x, y] for other envs")
        self.env = env
        self.distances: np.ndarray | None = None

    def reset(self) -> None:
        from sb3_plus.envs.maze_layout import bfs_distances

        layout = self.env.unwrapped.layout()
        self.distances = bfs_distances(layout.grid, layout.goal)

    def __call__(self, info: Mapping[str, Any]) -> float:
        pose = _pose(info)
        return -float(self.distances[int(pose["y"]), int(pose["x"])])


class _GoalDistance:
    """Minus the straight-line distance from the pose to a fixed goal position."""

    def __init__(self, env: gym.Env, goal: Sequence[float] | None = None) -> None:
        if goal is None or len(goal) != 2:
            raise BadOptionError(f"potential goal_distance needs goal=[x, y], got {goal!r}. Fix: add e.g. "
                                 "goal: [1120, 480] (pose units of the env)")
        self.goal = (float(goal[0]), float(goal[1]))

    def reset(self) -> None:
        """Nothing per episode."""

    def __call__(self, info: Mapping[str, Any]) -> float:
        pose = _pose(info)
        return -math.hypot(float(pose["x"]) - self.goal[0], float(pose["y"]) - self.goal[1])


#: Potential name -> its class (built with the env and the potential's settings).
POTENTIALS: dict[str, Callable[..., Any]] = {"maze_distance": _MazeDistance, "goal_distance": _GoalDistance}


class PotentialShaping(gym.Wrapper):
    """Add ``scale * (gamma * phi(s') - phi(s))`` to every reward (``phi(s') = 0`` when ``s'`` is terminal).

    :param env: the env (its ``info`` carries the pose).
    :param potential: a name in :data:`POTENTIALS`.
    :param gamma: the learner's discount (use the algorithm's ``gamma`` for the guarantee).
    :param scale: multiplies the potential.
    :param goal: ``[x, y]`` of ``goal_distance``.
    """

    def __init__(self, env: gym.Env, potential: str = "maze_distance", gamma: float = 0.99, scale: float = 1.0,
                 goal: Sequence[float] | None = None) -> None:
        super().__init__(env)
        if potential not in POTENTIALS:
            raise BadOptionError(f"unknown potential {potential!r}. Fix: use one of {', '.join(POTENTIALS)}")
        if not 0.0 <= gamma <= 1.0:
            raise BadOptionError(f"shaping gamma={gamma!r} is not a discount in [0, 1]. Fix: use the algorithm's gamma")
        self.phi = POTENTIALS[potential](env, goal=goal)
        self.gamma, self.scale = float(gamma), float(scale)
        self._last = 0.0

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self.phi.reset()
        self._last = self.scale * self.phi(info)
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        now = 0.0 if terminated else self.scale * self.phi(info)
        shaping = self.gamma * now - self._last
        self._last = now
        info["shaping_reward"] = shaping
        return obs, float(reward) + shaping, terminated, truncated, info
