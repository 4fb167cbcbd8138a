"""The waypoint follower: acts from the privileged pose, never from pixels."""

from __future__ import annotations

import math
from typing import Any, Mapping

import gymnasium as gym
import numpy as np

from sb3_plus.errors import UserError
from sb3_plus.experts.routes import Route, Waypoint

#: Semantic actions an expert may take; envs map them to their own action space.
SEMANTIC_ACTIONS = ("turn_left", "turn_right", "forward", "use")


class ExpertActionError(UserError, ValueError):
    """The expert cannot act in this env (no pose, or no way to express its actions)."""


def expert_action_map(env: gym.Env) -> dict[str, Any]:
    """The env's mapping from semantic actions to its own actions.

    Env families that support experts expose ``expert_action_map`` on the env (a dict
    from ``turn_left``, ``turn_right``, ``forward`` and optionally ``use`` to actions).
    """
    try:
        mapping = env.get_wrapper_attr("expert_action_map")
    except AttributeError:
        mapping = None
    if callable(mapping):
        mapping = mapping()
    if not mapping:
        spec = getattr(env, "spec", None)
        raise ExpertActionError(
            f"The env {getattr(spec, 'id', env)!r} does not say how a waypoint expert acts in it "
            "(no 'expert_action_map'). Fix: use an env family with pose support (vizdoom, maze) or "
            "give the env an expert_action_map dict {'turn_left', 'turn_right', 'forward', 'use'}."
        )
    missing = [a for a in ("turn_left", "turn_right", "forward") if a not in mapping]
    if missing:
        raise ExpertActionError(
            f"The env's action space {env.action_space} has no action for {', '.join(missing)}; "
            "a waypoint expert needs turn_left, turn_right and forward. Fix: use a scenario whose "
            "buttons include TURN_LEFT, TURN_RIGHT and MOVE_FORWARD."
        )
    return dict(mapping)


def _wrap_degrees(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


class WaypointExpert:
    """Follows a route from the pose in ``info["pose"]``.

    The rule: find the closest waypoint (preferring the agent's region when the route
    has regions); if not facing its target, turn; else if it has ``use`` and USE was not
    yet pushed there, press USE and remember it; else walk forward. The goal waypoint
    (no target) is walked to directly.

    :param route: a validated :class:`Route`.
    :param action_map: semantic action -> env action (see :func:`expert_action_map`).
    :param facing_tolerance: degrees within which the agent counts as facing the target.
    :param combat: fight monsters the pose shows (see :meth:`fight`); needs an ``attack`` action.
    :param aim_tolerance: degrees within which a monster counts as lined up.
    :param combat_range: monsters farther than this (map units) are ignored.
    """

    def __init__(self, route: Route, action_map: Mapping[str, Any], facing_tolerance: float = 12.0,
                 combat: bool = True, aim_tolerance: float = 3.0, combat_range: float = 1024.0) -> None:
        self.route = route
        self.combat = bool(combat) and "attack" in action_map
        self.aim_tolerance, self.combat_range = float(aim_tolerance), float(combat_range)
        self.action_map = dict(action_map)
        self.facing_tolerance = float(facing_tolerance)
        ids = list(route.waypoints)
        self._ids = ids
        self._pos = np.array([route.waypoints[i].pos for i in ids], dtype=np.float64)
        self._regions = np.array([-1 if route.waypoints[i].region is None else route.waypoints[i].region for i in ids])
        self._has_regions = bool((self._regions >= 0).any())
        self.pushed: set[str] = set()
        self.reset()

    @classmethod
    def for_env(cls, route: Route, env: gym.Env, **kwargs: Any) -> "WaypointExpert":
        """Build an expert with the env's action mapping."""
        mapping = expert_action_map(env)
        if any(w.use for w in route.waypoints.values()) and "use" not in mapping:
            raise ExpertActionError(
                f"{route.source}: the route presses USE but the env's actions {env.action_space} have no USE. "
                "Fix: use a scenario with the USE button or remove 'use' from the route."
            )
        if "facing_tolerance" not in kwargs:
            try:
                kwargs["facing_tolerance"] = env.get_wrapper_attr("expert_facing_tolerance")
            except AttributeError:
                pass
        return cls(route, mapping, **kwargs)

    def reset(self) -> None:
        """Forget USE presses (start of an episode)."""
        self.pushed = {w.id for w in self.route.waypoints.values() if w.use_pushed}

    def closest(self, pose: Mapping[str, Any]) -> Waypoint:
        """The waypoint the rule acts on for this pose."""
        d2 = (self._pos[:, 0] - pose["x"]) ** 2 + (self._pos[:, 1] - pose["y"]) ** 2
        if self._has_regions and "sector" in pose:
            same = self._regions == int(pose["sector"])
            if same.any():
                d2 = np.where(same, d2, np.inf)
        return self.route.waypoints[self._ids[int(np.argmin(d2))]]

    def heading_error(self, pose: Mapping[str, Any] | None) -> tuple[Waypoint, float]:
        """The waypoint the rule acts on and the signed angle (degrees, + to the left) to its target."""
        if pose is None or "x" not in pose:
            raise ExpertActionError("info['pose'] is missing: the env gives the expert no privileged state.")
        here = self.closest(pose)
        aim = self.route.waypoints[here.target] if here.target is not None else here
        desired = math.degrees(math.atan2(aim.pos[1] - pose["y"], aim.pos[0] - pose["x"]))
        return here, _wrap_degrees(desired - float(pose["heading"]))

    def walk(self, here: Waypoint) -> Any:
        """The action when facing the target: USE once where the waypoint asks for it, else forward.

        USE waypoints that face the same target (the cells in front of one door) share the press:
        a second press would close the door the first one opened."""
        key = here.id if here.target is None else f"->{here.target}"
        if here.use and here.id not in self.pushed and key not in self.pushed:
            self.pushed.update((here.id, key))
            return self.action_map["use"]
        return self.action_map["forward"]

    def fight(self, pose: Mapping[str, Any]) -> Any | None:
        """With ``combat``, when the pose shows a live monster in view (``enemy``, ``enemy_bearing``,
        ``enemy_distance``, as whole Doom levels give): turn to it, and fire once lined up."""
        if not (self.combat and pose and pose.get("enemy", 0.0) > 0
                and pose.get("enemy_distance", 0.0) <= self.combat_range):
            return None
        bearing = float(pose["enemy_bearing"])
        if abs(bearing) > self.aim_tolerance:
            return self.action_map["turn_left" if bearing > 0 else "turn_right"]
        return self.action_map["attack"]

    def act(self, pose: Mapping[str, Any]) -> Any:
        """The expert's action for ``pose`` (a dict with x, y, heading in degrees)."""
        action = self.fight(pose)
        if action is not None:
            return action
        here, error = self.heading_error(pose)
        if abs(error) > self.facing_tolerance:
            return self.action_map["turn_left" if error > 0 else "turn_right"]
        return self.walk(here)

    __call__ = act
