"""Scripted experts: route files, the waypoint follower, route planners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from sb3_plus.errors import BadOptionError
from sb3_plus.experts.follower import ExpertActionError, WaypointExpert, expert_action_map
from sb3_plus.experts.hysteresis import HysteresisExpert
from sb3_plus.experts.route_check import RouteMismatchError, check_route_fits, env_map, env_map_for_id
from sb3_plus.experts.routes import Route, RouteError, Waypoint, load_route, route_from_dict

__all__ = ["Route", "RouteError", "RouteMismatchError", "Waypoint", "WaypointExpert", "HysteresisExpert",
           "ExpertActionError",
           "load_route", "check_route", "route_from_dict", "expert_action_map", "ExpertController", "routes_dir",
           "EXPERTS", "FAMILY_EXPERTS", "make_expert"]

#: Names accepted by ``--expert``, each a style of following a route: ``waypoint`` turns whenever it
#: faces away from the target; ``hysteresis`` turns late and then all the way (two styles of data).
EXPERTS: dict[str, type[WaypointExpert]] = {"waypoint": WaypointExpert, "hysteresis": HysteresisExpert}


#: Families whose expert is not a turning waypoint follower: family -> ``"module:function"`` building the
#: expert (``function(env, expert, route)``, an object with ``act(info)``, ``reset()`` and ``route_source``).
FAMILY_EXPERTS: dict[str, str] = {"mario": "sb3_plus.experts.mario_expert:make_mario_expert",
                                  "monster_room": "sb3_plus.experts.monster_room:make_monster_room_expert"}


def routes_dir() -> Path:
    """The ``experts/`` data folder (route files per family and map)."""
    return Path(__file__).resolve().parents[2] / "experts"


def check_route(route: str | Path | Route, env_id: str, **env_kwargs: Any) -> Route:
    """Load a route and check that it is for ``env_id`` (its family and map), without starting the env.

    :param route: a route file or a :class:`Route`.
    :param env_id: the env the route is meant for.
    :param env_kwargs: the env options (``doom_map``, ``fixed_layout_seed``, ``size`` matter).
    :return: the validated route.
    :raises RouteError: a malformed route file; :class:`RouteMismatchError` when it is for another env.
    """
    loaded = route if isinstance(route, Route) else load_route(route)
    check_route_fits(loaded, env_map_for_id(env_id, env_kwargs))
    return loaded


class ExpertController:
    """A waypoint expert bound to an env: picks or plans its route, re-plans when the map changes.

    :param env: the env the expert plays (any family with ``info["pose"]``).
    :param route: a route file, a :class:`Route`, or ``None``/``"auto"``: use
        ``experts/<family>/<map>.yaml`` if present, else plan from the map.
    :param goal: goal for the ViZDoom planner (object name or ``(x, y)``).
    :param expert_class: how the route is followed (a value of :data:`EXPERTS`).
    :raises RouteMismatchError: the route is for another family or map than ``env``.
    """

    def __init__(self, env: gym.Env, route: str | Path | Route | None = None, goal: Any = "GreenArmor",
                 expert_class: type[WaypointExpert] = WaypointExpert) -> None:
        self.env = env
        self.expert_class = expert_class
        self.goal = goal
        self.where = env_map(env)
        self.family, self.map = self.where.family, self.where.map
        self.action_map = expert_action_map(env)
        self._fixed: Route | None = None
        if isinstance(route, Route):
            self._fixed = route
        elif route not in (None, "auto", "plan"):
            self._fixed = load_route(route)
        elif route != "plan":
            candidate = routes_dir() / self.family / f"{self.map}.yaml"
            if candidate.is_file():
                self._fixed = load_route(candidate)
            else:
                try:  # maps that carry their own route (sb3_plus.envs.doom_maps)
                    self._fixed = env.get_wrapper_attr("expert_route")
                except AttributeError:
                    pass
        if self._fixed is not None:
            check_route_fits(self._fixed, self.where)  # before any episode, not after a dataset of failures
        self.route_source = self._fixed.source if self._fixed is not None else "planner"
        self._expert: WaypointExpert | None = None
        self._layout_key: Any = None

    def _plan(self) -> Route:
        unwrapped = self.env.unwrapped
        if self.family == "maze":
            from sb3_plus.experts.maze_planner import plan_maze_route

            return plan_maze_route(unwrapped.layout())
        if self.family == "vizdoom":
            from sb3_plus.experts.planners import plan_vizdoom_route

            geometry = self.env.get_wrapper_attr("map_geometry")()
            return plan_vizdoom_route(geometry, goal=self.goal, map_name=self.map, env_id=getattr(self.env.spec, "id", None))
        raise ExpertActionError(
            f"No route for {self.family}/{self.map} and no planner for this family. "
            f"Fix: write {routes_dir() / self.family / (self.map + '.yaml')} or pass --route FILE."
        )

    def reset(self) -> WaypointExpert:
        """Call after ``env.reset()``: returns the expert for this episode."""
        if self._fixed is not None:
            if self._expert is None:
                self._expert = self.expert_class.for_env(self._fixed, self.env)
        else:
            key = self._current_layout_key()
            if self._expert is None or key != self._layout_key:
                self._expert = self.expert_class.for_env(self._plan(), self.env)
                self._layout_key = key
        self._expert.reset()
        return self._expert

    def _current_layout_key(self) -> Any:
        unwrapped = self.env.unwrapped
        if hasattr(unwrapped, "layout"):
            layout = unwrapped.layout()
            return (layout.grid.tobytes(), tuple(layout.goal))
        try:
            return self.env.get_wrapper_attr("scenario")
        except AttributeError:
            return None

    def act(self, info: dict[str, Any]) -> Any:
        """The expert's action given the last ``info`` (uses ``info["pose"]``)."""
        if self._expert is None:
            self.reset()
        return self._expert.act(info.get("pose"))


def make_expert(env: gym.Env, expert: str = "waypoint", route: str | Path | Route | None = None) -> ExpertController:
    """The scripted expert called ``expert`` (see :data:`EXPERTS`) bound to ``env``.

    :raises ValueError: unknown expert name.
    :raises ExpertActionError: the env gives the expert no way to act (no pose or action map).
    """
    if expert not in EXPERTS:
        raise BadOptionError(f"unknown expert {expert!r}. Fix: choose from {', '.join(EXPERTS)}")
    where = env_map(env)
    family = where.family
    if where.env_id:  # a family of its own inside another game (the monster room is a ViZDoom map)
        from sb3_plus.envs import UnknownEnvError, family_of

        try:
            family = family_of(where.env_id)
        except UnknownEnvError:
            pass
    family_expert = FAMILY_EXPERTS.get(family)
    if family_expert is not None:
        import importlib

        module, name = family_expert.split(":")
        return getattr(importlib.import_module(module), name)(env, expert, route)
    return ExpertController(env, route=route, expert_class=EXPERTS[expert])
