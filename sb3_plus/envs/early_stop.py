"""End episodes early on useless action loops and on walking into walls, with a small penalty.

An agent that presses USE again and again, wiggles left-right-left, or walks into a wall
learns nothing more from the rest of a long episode; cutting it short spends the samples on
other episodes, and a small negative reward on the cut teaches the agent to avoid the loop.

Rules (each off at 0):

- ``use_repeats``: USE pressed this many times since the player last moved ``min_move`` units;
- ``wiggle_repeats``: this many turns in a row, each the opposite of the one before;
- ``stuck_steps``: this many forward steps in a row that together moved less than ``min_move``.

The step that ends the episode is ``terminated`` with ``penalty`` added to its reward and
``info["early_stop"]`` naming the rule (``use_loop``, ``wiggle``, ``wall``); other steps carry
``info["early_stop"] = ""`` (the same keys on every step, as datasets want). Actions are
recognised through the env's ``expert_action_map`` (``turn_left``, ``turn_right``,
``forward``, ``use``), or an ``actions`` mapping; movement is read from ``info["pose"]``.

Example (a zoo config)::

    env_wrapper:
      - sb3_plus.envs.early_stop.EarlyStop: {stuck_steps: 8, use_repeats: 4, wiggle_repeats: 6}
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Mapping

import gymnasium as gym
import numpy as np

from sb3_plus.errors import BadOptionError

__all__ = ["EarlyStop", "EARLY_STOP_REASONS"]

EARLY_STOP_REASONS = ("use_loop", "wiggle", "wall")


class EarlyStop(gym.Wrapper):
    """See the module docstring.

    :param env: an env with ``info["pose"]`` (``x``, ``y``) and an ``expert_action_map``, or pass ``actions``.
    :param use_repeats: USE presses without moving that end the episode (0: off).
    :param wiggle_repeats: alternating turns in a row that end the episode (0: off).
    :param stuck_steps: forward steps in a row that end the episode when they moved less than ``min_move`` (0: off).
    :param min_move: map units that count as moving.
    :param penalty: added to the reward of the step that ends the episode (0 or negative).
    :param actions: semantic action -> env action, instead of the env's ``expert_action_map``.
    """

    def __init__(self, env: gym.Env, use_repeats: int = 4, wiggle_repeats: int = 6, stuck_steps: int = 8,
                 min_move: float = 8.0, penalty: float = -0.1, actions: Mapping[str, Any] | None = None) -> None:
        super().__init__(env)
        for name, value in (("use_repeats", use_repeats), ("wiggle_repeats", wiggle_repeats),
                            ("stuck_steps", stuck_steps)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise BadOptionError(f"EarlyStop: {name} {value!r} must be an integer >= 0 (0 turns the rule off). "
                                     f"Fix: e.g. {name}=4")
        if wiggle_repeats == 1:
            raise BadOptionError("EarlyStop: wiggle_repeats 1 ends the episode on any turn. Fix: use 0 (off) or >= 2")
        if not penalty <= 0:
            raise BadOptionError(f"EarlyStop: penalty {penalty!r} would reward stopping early. "
                                 "Fix: use 0 or a small negative number, e.g. -0.1")
        if min_move < 0:
            raise BadOptionError(f"EarlyStop: min_move {min_move!r} must be >= 0. Fix: e.g. min_move=8")
        self.use_repeats, self.wiggle_repeats, self.stuck_steps = int(use_repeats), int(wiggle_repeats), int(stuck_steps)
        self.min_move, self.penalty = float(min_move), float(penalty)
        self._actions = dict(actions) if actions is not None else self._env_actions(env)
        self._still_uses = 0
        self._turns: list[str] = []
        self._forward: deque[tuple[float, float]] = deque(maxlen=self.stuck_steps + 1)
        self._anchor: tuple[float, float] | None = None

    def _env_actions(self, env: gym.Env) -> dict[str, Any]:
        try:
            mapping = env.get_wrapper_attr("expert_action_map")
        except AttributeError:
            mapping = None
        mapping = mapping() if callable(mapping) else mapping
        if not mapping:
            raise BadOptionError(f"EarlyStop: the env {getattr(env.spec, 'id', env)!r} does not say which actions are "
                                 "turn_left, turn_right, forward and use. Fix: pass actions={'use': 3, ...}")
        return dict(mapping)

    def _is(self, action: Any, name: str) -> bool:
        return name in self._actions and bool(np.array_equal(np.asarray(action), np.asarray(self._actions[name])))

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self._still_uses, self._turns = 0, []
        self._forward.clear()
        self._anchor = self._position(info)
        if self._anchor is not None:
            self._forward.append(self._anchor)
        return obs, dict(info, early_stop="")

    def _position(self, info: dict[str, Any]) -> tuple[float, float] | None:
        pose = info.get("pose")
        if not pose or "x" not in pose:
            if self.stuck_steps or self.use_repeats:
                raise BadOptionError("EarlyStop: info['pose'] is missing, so the wall and USE rules cannot see the "
                                     "player move. Fix: use an env with a pose, or stuck_steps=0 and use_repeats=0")
            return None
        return float(pose["x"]), float(pose["y"])

    def rule_fired(self, action: Any, position: tuple[float, float] | None) -> str:
        """Update the counters with one step; the name of the rule it breaks, or ``""``."""
        moved = position is not None and self._anchor is not None and math.dist(position, self._anchor) >= self.min_move
        if moved or self._anchor is None:
            self._anchor, self._still_uses = position, 0
        if self._is(action, "use"):
            self._still_uses += 1
            if self.use_repeats and self._still_uses >= self.use_repeats:
                return "use_loop"
        turn = "turn_left" if self._is(action, "turn_left") else "turn_right" if self._is(action, "turn_right") else ""
        if turn and self._turns and self._turns[-1] != turn:
            self._turns.append(turn)
        else:
            self._turns = [turn] if turn else []
        if self.wiggle_repeats and len(self._turns) >= self.wiggle_repeats:
            return "wiggle"
        if self._is(action, "forward") and position is not None:
            self._forward.append(position)
            if self.stuck_steps and len(self._forward) > self.stuck_steps:
                if math.dist(self._forward[0], self._forward[-1]) < self.min_move:
                    return "wall"
        else:
            self._forward.clear()
            if position is not None:
                self._forward.append(position)  # where the next forward run starts from
        return ""

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        reason = "" if (terminated or truncated) else self.rule_fired(action, self._position(info))
        if reason:
            terminated = True
            reward = float(reward) + self.penalty
        return obs, reward, terminated, truncated, dict(info, early_stop=reason)
