"""A second expert style: the waypoint follower that turns late and then turns all the way.

The plain follower turns whenever it faces more than its tolerance away from the target
and walks forward otherwise. This one walks on while the error stays below a wide
threshold (``turn_start``, 2.5x the env's tolerance: 30 degrees in ViZDoom), and once it
starts turning it keeps turning the same way until it faces within ``turn_stop`` (2/3 of
the tolerance: 8 degrees). Same route, same pose, same semantic actions, other data: on
MyWayHome (100 episodes from seed 0, both 100% successful) its episodes are longer (119
steps against 78), it walks forward on 36% of the steps against 46%, and between the two
thresholds its action depends on what it did before, which a policy reads from its memory
or its stacked frames."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sb3_plus.errors import BadOptionError
from sb3_plus.experts.follower import WaypointExpert
from sb3_plus.experts.routes import Route

#: ``turn_start`` and ``turn_stop`` as multiples of the env's facing tolerance.
START_FACTOR = 2.5
STOP_FACTOR = 2.0 / 3.0
#: Never walk on while facing further away than this (a maze's 90 degree turns need it).
MAX_TURN_START = 60.0


class HysteresisExpert(WaypointExpert):
    """Follows a route like :class:`WaypointExpert`, turning with hysteresis.

    :param route: a validated :class:`Route`.
    :param action_map: semantic action -> env action.
    :param facing_tolerance: the env's tolerance in degrees; the thresholds derive from it
        unless given.
    :param turn_start: start turning when facing further than this from the target (degrees).
    :param turn_stop: once turning, stop when facing within this (degrees). Keep it at least
        half an env turn step, or the turn overshoots forever.
    :param options: :class:`WaypointExpert`'s ``combat``, ``aim_tolerance`` and ``combat_range``.
    """

    def __init__(self, route: Route, action_map: Mapping[str, Any], facing_tolerance: float = 12.0,
                 turn_start: float | None = None, turn_stop: float | None = None, **options: Any) -> None:
        self.turn_start = float(turn_start if turn_start is not None
                                else min(START_FACTOR * facing_tolerance, MAX_TURN_START))
        self.turn_stop = float(turn_stop if turn_stop is not None else STOP_FACTOR * facing_tolerance)
        if not 0.0 < self.turn_stop <= self.turn_start:
            raise BadOptionError(f"HysteresisExpert needs 0 < turn_stop <= turn_start, got turn_stop {self.turn_stop} "
                                 f"and turn_start {self.turn_start}. Fix: pass thresholds in that order")
        self.turning = 0  # +1 turning left, -1 turning right, 0 walking
        super().__init__(route, action_map, facing_tolerance, **options)  # combat and its settings

    def reset(self) -> None:
        """Forget USE presses and any turn in progress (start of an episode)."""
        super().reset()
        self.turning = 0

    def act(self, pose: Mapping[str, Any]) -> Any:
        """The expert's action for ``pose`` (a dict with x, y, heading in degrees)."""
        fighting = self.fight(pose)
        if fighting is not None:
            self.turning = 0
            return fighting
        here, error = self.heading_error(pose)
        side = 1 if error > 0 else -1
        if self.turning and (abs(error) <= self.turn_stop or side != self.turning):
            self.turning = 0  # facing the target again, or turned past it
        elif not self.turning and abs(error) > self.turn_start:
            self.turning = side
        if self.turning:
            return self.action_map["turn_left" if self.turning > 0 else "turn_right"]
        return self.walk(here)

    __call__ = act
