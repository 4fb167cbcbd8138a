"""The monster room's expert: look through the window, then walk to the door the hidden state picks.

It reads the privileged ``info["pose"]`` of :class:`sb3_plus.envs.doom_maps.monster_room.MonsterRoomRules`
(``monster`` and ``mode`` beside the position and heading), never the pixels. Two phases:

- **look**: turn until facing the middle of the room behind the window (``look_target``); the
  observation of that step shows the monster or the empty room;
- **route**: follow the variant's waypoint route (start -> poison corridor -> hall -> the matching
  door, USE once in front of it -> the room behind it) with the ordinary waypoint follower.

``phase`` says which phase chose the last action, so recorded episodes split into the explorer's
part (the look) and the follower's part (the rest).

Example::

    env = make_env("VizdoomMonsterRoom-v0")
    expert = MonsterRoomExpert(env)
    obs, info = env.reset(seed=0)
    expert.reset()
    while True:
        obs, reward, terminated, truncated, info = env.step(expert.act(info))
        if terminated or truncated:
            break
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym

from sb3_plus.experts.follower import ExpertActionError, WaypointExpert, expert_action_map

__all__ = ["MonsterRoomExpert"]


def _wrap_degrees(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


class MonsterRoomExpert:
    """Solves the monster room from privileged state (see the module docstring).

    :param env: a monster-room env (``VizdoomMonsterRoom-v0``), wrappers allowed.
    :param expert_class: how each route is followed (:class:`WaypointExpert` or a subclass).
    :param facing_tolerance: degrees within which the window counts as seen; ``None``: the env's.
    """

    def __init__(self, env: gym.Env, expert_class: type[WaypointExpert] = WaypointExpert,
                 facing_tolerance: float | None = None) -> None:
        try:
            self._route_for = env.get_wrapper_attr("expert_route_for")
            self.look_target = tuple(env.get_wrapper_attr("look_target"))
        except AttributeError:
            raise ExpertActionError(f"{getattr(env.spec, 'id', env)!r} is not a monster room (no expert_route_for). "
                                    "Fix: use VizdoomMonsterRoom-v0 or VizdoomMonsterRoomEasy-v0") from None
        from sb3_plus.envs.doom_maps.monster_room import MODES

        self._modes = MODES
        self.env = env
        self.expert_class = expert_class
        self.action_map = expert_action_map(env)
        if facing_tolerance is None:
            try:
                facing_tolerance = float(env.get_wrapper_attr("expert_facing_tolerance"))
            except AttributeError:
                facing_tolerance = 12.0
        self.facing_tolerance = float(facing_tolerance)
        self.route_source = "<generated:monster_room>"
        self._experts: dict[tuple[str, bool], WaypointExpert] = {}
        self._follower: WaypointExpert | None = None
        self.phase = "look"
        self.uses = 0

    def reset(self) -> None:
        """Start of an episode: look first, no USE pressed yet."""
        self.phase = "look"
        self._follower = None
        self.uses = 0

    def _route_expert(self, pose: dict[str, Any]) -> WaypointExpert:
        key = (self._modes[int(pose["mode"])], bool(pose["monster"]))
        if key not in self._experts:
            self._experts[key] = self.expert_class.for_env(self._route_for(*key), self.env,
                                                           facing_tolerance=self.facing_tolerance)
        expert = self._experts[key]
        expert.reset()
        return expert

    def look_error(self, pose: dict[str, Any]) -> float:
        """Signed degrees (+ to the left) from the heading to the window's room."""
        desired = math.degrees(math.atan2(self.look_target[1] - pose["y"], self.look_target[0] - pose["x"]))
        return _wrap_degrees(desired - float(pose["heading"]))

    def act(self, info: dict[str, Any]) -> Any:
        """The action for the last ``info`` (its ``pose`` with ``monster`` and ``mode``)."""
        pose = info.get("pose")
        if not pose or "monster" not in pose or "mode" not in pose:
            raise ExpertActionError("info['pose'] has no 'monster'/'mode': the env does not tell the expert the "
                                    "hidden state. Fix: play VizdoomMonsterRoom-v0 (MonsterRoomRules adds them)")
        if self.phase == "look":
            error = self.look_error(pose)
            if abs(error) > self.facing_tolerance:
                return self.action_map["turn_left" if error > 0 else "turn_right"]
            self.phase = "route"  # this step's observation shows the window: the cue is seen
        if self._follower is None:
            self._follower = self._route_expert(pose)
        action = self._follower.act(pose)
        if "use" in self.action_map and action == self.action_map["use"]:
            self.uses += 1
        return action

    __call__ = act


def make_monster_room_expert(env: gym.Env, expert: str = "waypoint", route: Any = None) -> MonsterRoomExpert:
    """The family hook of :func:`sb3_plus.experts.make_expert` for the monster room (``collect_expert``, DAgger).

    :param expert: how the routes are followed (a name of :data:`sb3_plus.experts.EXPERTS`).
    :param route: must be ``None``: the room's expert follows the map's own routes (one per hidden state).
    """
    from sb3_plus.errors import BadOptionError
    from sb3_plus.experts import EXPERTS

    if route not in (None, "auto"):
        raise BadOptionError("the monster room's expert follows the map's own routes, one per door. Fix: drop --route")
    return MonsterRoomExpert(env, EXPERTS[expert])
