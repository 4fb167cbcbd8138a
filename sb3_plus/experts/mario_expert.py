"""The Mario expert: waypoints on the level's x axis, each naming the action to take from there.

A Mario route is an ordinary route file (``experts/mario/<world>-<stage>.yaml``, format in
``experts/README.md``) whose waypoints, followed from the first, have increasing ``x``
(``pos: [x, 0]``; ``y`` is not used) and an ``action``:

- ``run``: hold right + B (the default between waypoints);
- ``walk``: hold right only, until a ``run`` waypoint;
- ``jump`` / ``long_jump``: once on the ground past ``x``, hold A for ``hold`` steps (6 / 12 by
  default: a higher, longer jump); a jump that could not start within 48 pixels is dropped;
- ``wait``: stand still ``hold`` steps (8 by default), e.g. for a platform, or for enemies to come out
  from under low blocks (an enemy close ahead interrupts the wait: the expert jumps it first).

Closed loop on the RAM pose (``info["pose"]``), on top of the route: a gap in the ground close
ahead (``gap_dx``), a long jump; stuck at the same ``x`` for ``stuck_steps`` steps on the ground
(or ``3 * stuck_steps`` steps of hops that get nowhere, e.g. at a wall), a hop, higher each time it
is stuck there again (a stair, then a pipe); a harmful enemy ahead at Mario's height, a long jump
from ``enemy_distance`` pixels, or a hop from ``low_reach`` times that under a low ceiling
(``headroom``), where a long jump would bump its head and fall onto the enemy. A jump needs A
released first, so the expert lets go of A for a step between jumps.

With ``lookahead`` (a route's ``expert: {lookahead: 28}``), every ``look_every`` steps near an
enemy or a gap or in the air, the expert plays its own rules that many steps ahead on the emulator
(``env.peek``) and comes back; where they would die (as the game would go, or under one draw of the
env's sticky actions), it tries other openings (a jump of 1 to 12 steps, running on, standing still,
a step back), each followed by the rules, and commits to the one that survives and gets furthest
(or dies last). While the game goes as the last look foresaw, it does not look again until half of
that horizon is played. The rules stay in charge of the route; the lookahead catches what they
cannot see: piranha plants, fire bars, lifts, a jump that lands on an enemy. It costs emulator time
(4 frames per step looked ahead, more where a death is ahead).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import gymnasium as gym

from sb3_plus.errors import BadOptionError
from sb3_plus.experts.follower import ExpertActionError
from sb3_plus.experts.routes import Route, RouteError, _fail, load_route

__all__ = ["MarioStep", "MarioExpert", "MarioExpertController", "mario_steps", "make_mario_expert", "MARIO_ACTIONS",
           "MARIO_SETTINGS", "expert_settings"]

#: Action names a Mario waypoint may use, with their default ``hold`` (steps).
MARIO_ACTIONS: dict[str, int] = {"run": 1, "walk": 1, "jump": 6, "long_jump": 12, "wait": 8}
_LATE = 48.0  # pixels past its waypoint after which a jump that could not start is dropped
_STUCK_HOLDS = (4, 8, 12)
#: Settings a route may give the Mario expert (``expert:`` in the route file): :class:`MarioExpert`'s parameters.
MARIO_SETTINGS = ("stuck_steps", "enemy_distance", "gap_distance", "low_reach", "low_hop", "lookahead", "look_every")
#: Openings the lookahead tries where the rules would die (each followed by the rules).
_OPENINGS: tuple[tuple[str, ...], ...] = (
    ("jump",), ("jump",) * 3, ("jump",) * 6, ("jump",) * 12, ("walk_jump",) * 6, ("run",) * 4,
    ("noop",) * 4, ("noop",) * 8, ("noop",) * 16, ("noop",) * 4 + ("jump",) * 12, ("left",) * 4, ("left",) * 8,
    ("left",) * 3 + ("jump",) * 12)


@dataclass(frozen=True)
class MarioStep:
    """One Mario waypoint: from ``x`` on, take ``action`` (for ``hold`` steps where it lasts)."""

    id: str
    x: float
    action: str
    hold: int


def mario_steps(route: Route) -> list[MarioStep]:
    """The route's waypoints from the first one, checked for the Mario expert.

    :raises RouteError: an unknown action, a waypoint not on the path from the first, or x positions
        that do not increase along the route (naming the file, the waypoint and the fix).
    """
    first = next(iter(route.waypoints))
    path = route.path_from(first)
    off_path = [w for w in route.waypoints if w not in {p.id for p in path}]
    if off_path:
        raise _fail(route.source, off_path[0], "target", "the waypoint is not on the path from the first waypoint",
                    "a Mario route is one chain: point each waypoint to the next one along x, the last to null")
    steps: list[MarioStep] = []
    for w in path:
        action = w.action or "run"
        if action not in MARIO_ACTIONS:
            raise _fail(route.source, w.id, "action", f"unknown Mario action {action!r}",
                        f"use one of {', '.join(MARIO_ACTIONS)}")
        if steps and w.pos[0] <= steps[-1].x:
            raise _fail(route.source, w.id, "pos",
                        f"x positions must increase along the route, but x={w.pos[0]:g} follows {steps[-1].id!r} "
                        f"at x={steps[-1].x:g}", "order the waypoints by x (Mario runs right), or fix the x value")
        steps.append(MarioStep(w.id, float(w.pos[0]), action, int(w.hold or MARIO_ACTIONS[action])))
    return steps


class MarioExpert:
    """Plays one Mario level from the pose, following a route of x-axis waypoints (module docstring).

    :param route: a validated route (see :func:`mario_steps`).
    :param action_map: the env's ``mario_action_map`` (``noop``, ``right``, ``run``, ``jump``).
    :param stuck_steps: steps without progress on the ground before a high jump.
    :param enemy_distance: jump when a harmful enemy is this close ahead (pixels); 0 turns it off.
    :param gap_distance: jump when a gap in the ground is this close ahead (pixels); 0 turns it off.
    :param low_reach: under a low ceiling, hop over an enemy from this fraction of ``enemy_distance``.
    :param low_hop: steps A is held for that hop.
    :param lookahead: steps the expert plays ahead on the emulator before acting (0: off; module docstring).
    :param look_every: steps between looks.
    :param peek: the env's ``peek(policy, steps, sticky, seed)`` (the lookahead's emulator); no lookahead without it.
    :param sticky: the env's sticky-action probability: a plan must also survive one draw of it.
    """

    def __init__(self, route: Route, action_map: Mapping[str, Any], stuck_steps: int = 4,
                 enemy_distance: float = 72.0, gap_distance: float = 32.0, low_reach: float = 0.75,
                 low_hop: int = 3, lookahead: int = 0, look_every: int = 2,
                 peek: Callable[..., dict[str, Any]] | None = None, sticky: float = 0.0) -> None:
        missing = [a for a in ("noop", "right", "run", "jump") if a not in action_map]
        if missing:
            raise ExpertActionError(f"the env's actions have no {', '.join(missing)} for the Mario expert. "
                                    "Fix: use action_set right_only, simple or complex")
        self.route = route
        self.steps = mario_steps(route)
        self.action_map = dict(action_map)
        self.stuck_steps = int(stuck_steps)
        self.enemy_distance = float(enemy_distance)
        self.gap_distance = float(gap_distance)
        self.low_reach, self.low_hop = float(low_reach), int(low_hop)
        self.lookahead, self.look_every, self.peek = int(lookahead), max(int(look_every), 1), peek
        self.sticky = float(sticky)
        self._openings = [o for o in _OPENINGS if all(name in self.action_map for name in o)]
        self.reset()

    def reset(self) -> None:
        """Start of an episode: no waypoint passed yet."""
        self._next = 0
        self._walking = False
        self._pending: tuple[int, float] | None = None  # (hold, x of its waypoint)
        self._hold = self._wait = self._stuck = self._still = 0
        self._a_held = False
        self._enemy_hold = MARIO_ACTIONS["long_jump"]
        self._last_x: float | None = None
        self._stuck_x, self._stuck_level = -1e9, 0  # where the last stuck jump started, and how high it was
        self._plan: list[str] = []  # the rest of an opening the lookahead chose
        self._forecast: list[tuple[float, float]] = []  # (x, y) the last look foresaw for the coming steps
        self._tick = 0

    def _pass_waypoints(self, x: float) -> None:
        while self._next < len(self.steps) and x >= self.steps[self._next].x:
            step = self.steps[self._next]
            self._next += 1
            if step.action in ("jump", "long_jump"):
                self._pending = (step.hold, step.x)
            elif step.action == "wait":
                self._wait = step.hold
            else:
                self._walking = step.action == "walk"

    def act(self, pose: Mapping[str, Any] | None) -> Any:
        """The action for ``pose`` (``info["pose"]`` of the Mario family)."""
        if pose is None or "x" not in pose or "airborne" not in pose:
            raise ExpertActionError("info['pose'] has no Mario pose (x, airborne): the Mario expert needs the "
                                    "Mario family's env")
        self._tick += 1
        on_course = self._on_forecast(pose)
        if self._plan:
            self._decide(pose)  # the rules keep count of waypoints and progress under an opening
            return self._force(self._plan.pop(0))
        if self.lookahead > 0 and self.peek is not None and self._tick % self.look_every == 0 and _hazard(pose) \
                and not on_course:
            opening = self._look(copy.copy(self))
            name = self._decide(pose)
            if opening:
                self._plan = list(opening[1:])
                return self._force(opening[0])
            return self.action_map[name]
        return self.action_map[self._decide(pose)]

    def _on_forecast(self, pose: Mapping[str, Any]) -> bool:
        """Whether the game still goes as the last look foresaw, with at least half its horizon ahead (no new look)."""
        if not self._forecast:
            return False
        expected = self._forecast.pop(0)
        if expected != (float(pose["x"]), float(pose["y"])):
            self._forecast = []
        return len(self._forecast) > self.lookahead // 2

    def _look(self, before: MarioExpert) -> tuple[str, ...]:
        """The opening to play now: none when the rules survive ``lookahead`` steps, else the best of the others."""
        def score(outcome: dict[str, Any]) -> tuple:
            return (not outcome["died"], outcome["flag"], outcome["steps"] if outcome["died"] else 0,
                    outcome["furthest"])

        def worst(opening: tuple[str, ...]) -> tuple[tuple, dict[str, Any]]:
            # the game as it would go, then (with sticky actions) as it may go: the worse of the two counts
            outcomes = [self._simulate(before, opening)]
            if self.sticky > 0 and not outcomes[0]["died"]:
                outcomes.append(self._simulate(before, opening, self.sticky, seed=self._tick))
            return min(score(o) for o in outcomes), outcomes[0]

        best_score, chosen = worst(())
        best: tuple[str, ...] = ()
        if not best_score[0]:
            for opening in self._openings:
                outcome_score, outcome = worst(opening)
                if outcome_score > best_score:
                    best, best_score, chosen = opening, outcome_score, outcome
        self._forecast = list(chosen["path"]) if best_score[0] else []
        return best

    def _simulate(self, before: MarioExpert, opening: tuple[str, ...], sticky: float = 0.0,
                  seed: int | None = None) -> dict[str, Any]:
        sim, plan = copy.copy(before), list(opening)
        sim.lookahead, sim._plan = 0, []

        def policy(pose: Mapping[str, Any]) -> Any:
            name = sim._decide(pose)
            return sim._force(plan.pop(0)) if plan else sim.action_map[name]

        assert self.peek is not None
        return self.peek(policy, self.lookahead, sticky=sticky, seed=seed)

    def _decide(self, pose: Mapping[str, Any]) -> str:
        """The rules' action name for ``pose`` (the rules' own state moves on)."""
        x, on_ground = float(pose["x"]), float(pose["airborne"]) == 0
        self._pass_waypoints(x)
        still = self._last_x is not None and x <= self._last_x
        self._stuck = self._stuck + 1 if (still and on_ground) else 0
        self._still = self._still + 1 if still else 0  # hops that get nowhere (e.g. at a wall) count too
        self._last_x = x
        if self._pending is not None and x > self._pending[1] + _LATE and on_ground:
            self._pending = None  # too late for this jump: the loop below still reacts to what is ahead
        if self._hold > 0:
            self._hold -= 1
            return self._name("jump")
        enemy = self.enemy_distance > 0 and self._enemy_ahead(pose)
        if self._wait > 0 and not enemy:  # an enemy close ahead interrupts a wait; it goes on afterwards
            self._wait, self._stuck, self._still = self._wait - 1, 0, 0  # standing still on purpose is not stuck
            return self._name("noop")
        hold = 0
        if self._pending is not None:
            hold = self._pending[0]
        elif 0 < float(pose.get("gap_dx", 999.0)) <= self.gap_distance:
            hold = MARIO_ACTIONS["long_jump"]
        elif self._stuck >= self.stuck_steps or self._still >= 3 * self.stuck_steps:
            # a hop first (a stair), higher each time it is stuck at the same place again (a pipe)
            self._stuck_level = self._stuck_level + 1 if abs(x - self._stuck_x) < 8 else 0
            self._stuck_x = x
            hold = _STUCK_HOLDS[min(self._stuck_level, len(_STUCK_HOLDS) - 1)]
        elif enemy:
            hold = self._enemy_hold
        if hold and on_ground and not self._a_held:
            self._pending, self._stuck, self._hold = None, 0, hold - 1
            return self._name("jump")
        return self._name("right" if self._walking else "run")

    def _enemy_ahead(self, pose: Mapping[str, Any]) -> bool:
        """A harmful enemy to jump now: far ahead (a long jump over it), or near under a low ceiling (a hop)."""
        dx, dy = float(pose.get("enemy_dx", 999.0)), float(pose.get("enemy_dy", 999.0))
        low_ceiling = float(pose.get("headroom", 64.0)) < 48.0
        self._enemy_hold = self.low_hop if low_ceiling else MARIO_ACTIONS["long_jump"]
        reach = self.enemy_distance * (self.low_reach if low_ceiling else 1.0)
        return -8.0 <= dx <= reach and abs(dy) <= 24.0

    def _name(self, name: str) -> str:
        self._a_held = name == "jump"
        return name

    def _force(self, name: str) -> Any:
        """Press ``name`` instead of what the rules chose (A held or not, as pressed)."""
        self._a_held = name in ("jump", "walk_jump")
        return self.action_map[name]

    __call__ = act


def _hazard(pose: Mapping[str, Any]) -> bool:
    """Something the lookahead should check: an enemy within 160 pixels, a gap within 96, or Mario in the air."""
    return (float(pose.get("enemy_dx", 999.0)) <= 160.0 or float(pose.get("gap_dx", 999.0)) <= 96.0
            or float(pose["airborne"]) != 0)


def expert_settings(route: Route) -> dict[str, Any]:
    """The route's ``expert:`` settings for :class:`MarioExpert`.

    :raises RouteError: a name that is not a setting, or a negative value (naming the file and the fix).
    """
    unknown = sorted(set(route.expert) - set(MARIO_SETTINGS))
    if unknown:
        raise _fail(route.source, None, "expert", f"unknown Mario expert setting {unknown[0]!r}",
                    f"use some of {', '.join(MARIO_SETTINGS)}")
    negative = sorted(k for k, v in route.expert.items() if v < 0)
    if negative:
        raise _fail(route.source, None, "expert", f"setting {negative[0]!r} is negative",
                    "give a number >= 0 (0 turns a distance or the lookahead off)")
    return dict(route.expert)


def _level_of(pose: Mapping[str, Any]) -> str:
    return f"{int(pose['world'])}-{int(pose['stage'])}"


class MarioExpertController:
    """The Mario expert bound to an env: picks each episode's route by the level in play.

    :param env: a Mario family env (``SuperMarioBros-<w>-<s>-v0`` or the random-stage id).
    :param route: a route file or :class:`Route` (for every level), or ``None``: ``experts/mario/<w>-<s>.yaml``.
    :raises RouteError: no route for a level the env plays, or a malformed route.
    """

    def __init__(self, env: gym.Env, route: str | Path | Route | None = None) -> None:
        from sb3_plus.experts import routes_dir
        from sb3_plus.experts.route_check import EnvMap, check_route_fits

        try:
            self.action_map = env.get_wrapper_attr("mario_action_map")
            levels = env.get_wrapper_attr("levels")
        except AttributeError:
            raise ExpertActionError("the Mario expert plays the Mario family's envs (SuperMarioBros-1-1-v0, ...) only. "
                                    "Fix: use another --expert or env") from None
        self.env = env
        self._routes: dict[str, Route] = {}
        if route is not None and route not in ("auto",):
            fixed = route if isinstance(route, Route) else load_route(route)
            self._routes = {f"{w}-{s}": fixed for w, s in levels}
        else:
            for w, s in levels:
                path = routes_dir() / "mario" / f"{w}-{s}.yaml"
                if path.is_file():
                    self._routes[f"{w}-{s}"] = load_route(path)
        missing = [f"{w}-{s}" for w, s in levels if f"{w}-{s}" not in self._routes]
        if len(missing) == len(levels):
            raise RouteError(f"no Mario route for level(s) {', '.join(missing[:6])}. Fix: write "
                             f"{routes_dir() / 'mario' / (missing[0] + '.yaml')} (experts/README.md, Mario routes), "
                             "pass --route FILE, or pick a level with a route (1-1)")
        self._experts = {}
        try:
            peek, sticky = env.get_wrapper_attr("peek"), float(env.get_wrapper_attr("sticky_actions"))
        except AttributeError:
            peek, sticky = None, 0.0
        for level, level_route in self._routes.items():
            check_route_fits(level_route, EnvMap("mario", level))
            self._experts[level] = MarioExpert(level_route, self.action_map, peek=peek, sticky=sticky,
                                               **expert_settings(level_route))
        sources = sorted({r.source for r in self._routes.values()})
        self.route_source = sources[0] if len(sources) == 1 else ", ".join(sources)
        self.missing = missing
        self._expert: MarioExpert | None = None

    def reset(self) -> MarioExpert | None:
        """Call after ``env.reset()``: forget the last episode (the level is read from the next pose)."""
        self._expert = None
        return None

    def act(self, info: dict[str, Any]) -> Any:
        """The expert's action given the last ``info`` (uses ``info["pose"]``)."""
        pose = info.get("pose")
        if self._expert is None:
            if pose is None or "world" not in pose:
                raise ExpertActionError("info['pose'] has no Mario pose: the Mario expert needs the Mario family's env")
            level = _level_of(pose)
            if level not in self._experts:
                raise RouteError(f"no Mario route for level {level}. Fix: write experts/mario/{level}.yaml, or "
                                 f"leave {level} out of stages")
            self._expert = self._experts[level]
            self._expert.reset()
        return self._expert.act(pose)


def make_mario_expert(env: gym.Env, expert: str = "waypoint", route: str | Path | Route | None = None
                      ) -> MarioExpertController:
    """The family hook of :func:`sb3_plus.experts.make_expert` for Mario envs."""
    if expert != "waypoint":
        raise BadOptionError(f"the Mario family's expert is 'waypoint' (x-axis waypoints with actions); {expert!r} "
                             "follows routes by turning. Fix: --expert waypoint")
    return MarioExpertController(env, route)
