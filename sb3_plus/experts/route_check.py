"""Does a route belong to this env? Checked when the expert is built, before any episode.

A route walks the coordinates of one map. Followed on another map or in another family it
never reaches the goal, and a dataset of failures would be written without a word. What a
route is for comes from, in order: its ``family`` / ``map`` header fields, its ``env`` field
(an env id), and its place under ``experts/<family>/<map>.yaml``. The env's side comes from
its id and options: ViZDoom scenarios by their config name (``my_way_home``; levels of
multi-map WADs as ``freedoom2_map02``), mazes by the layout seed they keep, if any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

from sb3_plus.experts.routes import Route, RouteError

__all__ = ["EnvMap", "RouteMismatchError", "RouteTarget", "env_map", "env_map_for_id", "route_target",
           "check_route_fits", "low_success_warning"]

# A route that fits its map succeeds in most episodes (MyWayHome and mazes: 95-100%); far below
# that over enough episodes, a dataset is mostly failures and its maker should hear of it.
LOW_SUCCESS_RATE = 0.5
LOW_SUCCESS_MIN_EPISODES = 10

_MAZE_SEED = re.compile(r"^seed(-?\d+)$")
_README = "experts/README.md"


class RouteMismatchError(RouteError):
    """The route was written for another env family or map than the env it is used in."""


@dataclass(frozen=True)
class EnvMap:
    """Which map an env plays, as routes name it.

    :param family: env family (``vizdoom``, ``maze``, ``gym``, or a registered custom family).
    :param map: map name: the ViZDoom scenario (``my_way_home``), ``procedural`` for mazes.
    :param env_id: the env id, when known.
    :param layout_seed: a maze's ``fixed_layout_seed`` (``None``: a new maze every episode).
    :param bounds: ``(x_min, x_max, y_min, y_max)`` every waypoint must lie in, when known.
    """

    family: str
    map: str
    env_id: str | None = None
    layout_seed: int | None = None
    bounds: tuple[float, float, float, float] | None = None

    def describe(self) -> str:
        name = f"{self.family}/{self.map}"
        if self.layout_seed is not None:
            name += f" (fixed_layout_seed {self.layout_seed})"
        return f"the env {self.env_id} is {name}" if self.env_id else f"the env is {name}"


def _vizdoom_map(env_id: str, options: dict[str, Any], scenario: str | None = None) -> str:
    from sb3_plus.envs.doom_maps.levels import is_level_id, level_map_name
    from sb3_plus.envs.vizdoom import scenario_name

    if is_level_id(env_id):  # a whole level of a bundled IWAD: freedoom1_e1m1
        return level_map_name(env_id, options.get("doom_map"))

    registered = gym.spec(env_id).kwargs if env_id in gym.registry else {}
    name = scenario or (scenario_name(env_id) if env_id in gym.registry else env_id)
    # an IWAD holds many levels under one config: the level is part of the map's name
    level = options.get("doom_map") or registered.get("doom_map")
    return f"{name}_{str(level).lower()}" if level else name


def _maze_bounds(env_id: str, options: dict[str, Any]) -> tuple[float, float, float, float] | None:
    from sb3_plus.envs.maze import DIFFICULTIES, _ID_PATTERN

    match = _ID_PATTERN.match(env_id)
    if match is None:
        return None
    size = options.get("size") or DIFFICULTIES[match.group(1).lower()][0]
    side = 2 * int(size) + 1
    return 0.0, float(side), 0.0, float(side)


def env_map_for_id(env_id: str, env_kwargs: dict[str, Any] | None = None) -> EnvMap:
    """The :class:`EnvMap` of ``make_env(env_id, **env_kwargs)``, without building the env (no engine starts).

    :param env_id: an env id (``VizdoomMyWayHome-v1``, ``MazeEasy-v0``, any gymnasium id).
    :param env_kwargs: the env options.
    :raises BadOptionError: an option the env's family does not accept.
    """
    from sb3_plus.envs import family_of
    from sb3_plus.envs.options import check_env_options

    options = dict(env_kwargs or {})
    family = family_of(env_id)
    check_env_options(family, env_id, options)
    if family == "vizdoom":
        return EnvMap("vizdoom", _vizdoom_map(env_id, options), env_id)
    if family == "maze":
        return EnvMap("maze", "procedural", env_id, options.get("fixed_layout_seed"), _maze_bounds(env_id, options))
    if family == "mario":  # a level id names its level (1-1); random stages have one route per level
        level = re.match(r"^SuperMarioBros-(\d+-\d+)-v0$", env_id)
        return EnvMap("mario", level.group(1) if level else "random", env_id)
    return EnvMap(family, env_id, env_id)


def env_map(env: gym.Env) -> EnvMap:
    """The :class:`EnvMap` of a built env (read from its spec, else from what the env exposes)."""
    unwrapped = env.unwrapped
    spec = getattr(unwrapped, "sb3plus_spec", None)
    options = {k: v for k, v in (spec.kwargs if spec is not None else {}).items() if k != "env_id"}
    env_id = spec.kwargs.get("env_id") if spec is not None else getattr(getattr(env, "spec", None), "id", None)
    if hasattr(unwrapped, "layout"):
        side = getattr(unwrapped, "side", None)
        bounds = (0.0, float(side), 0.0, float(side)) if side else None
        return EnvMap("maze", "procedural", env_id, getattr(unwrapped, "fixed_layout_seed", None), bounds)
    try:
        scenario = str(env.get_wrapper_attr("scenario"))
    except AttributeError:
        scenario = None
    if scenario is not None:
        return EnvMap("vizdoom", _vizdoom_map(env_id, options, scenario or None) if env_id else scenario, env_id)
    if env_id:
        from sb3_plus.envs import UnknownEnvError

        try:
            return env_map_for_id(env_id, options)
        except UnknownEnvError:  # an id no family knows: named by the id alone
            pass
    return EnvMap("gym", env_id or "unknown", env_id)


@dataclass(frozen=True)
class RouteTarget:
    """What a route says it is for, and where it says so (for the error message)."""

    family: str | None
    map: str | None
    family_from: str = ""
    map_from: str = ""


def _known_maps(family: str) -> set[str]:
    """Map names a route file may be named after (so ``my_way_home_rooms.yaml`` is a variant, not a map)."""
    if family == "maze":
        return {"procedural"}
    if family == "vizdoom":
        from sb3_plus.envs.vizdoom import vizdoom_env_ids

        return {_vizdoom_map(i, {}) for i in vizdoom_env_ids()}
    if family == "mario":
        return {f"{w}-{s}" for w in range(1, 9) for s in range(1, 5)}
    return set()


def _families() -> set[str]:
    from sb3_plus.envs import families

    return set(families()) | {"vizdoom", "maze", "gym"}


def route_target(route: Route) -> RouteTarget:
    """Family and map a route is for: header fields first, then its ``env`` field, then its path."""
    family, family_from = (route.family, "'family:' field") if route.family else (None, "")
    name, map_from = (route.map, "'map:' field") if route.map else (None, "")
    if (family is None or name is None) and route.env:
        from sb3_plus.envs import UnknownEnvError

        try:
            claimed: EnvMap | None = env_map_for_id(route.env)
        except UnknownEnvError:  # an env id this install does not know says nothing
            claimed = None
        if claimed is not None:
            if family is None:
                family, family_from = claimed.family, f"'env: {route.env}' field"
            if name is None:
                name, map_from = claimed.map, f"'env: {route.env}' field"
    path = Path(route.source)
    if path.suffix in (".yaml", ".yml") and path.parent.parent.name == "experts" and path.parent.name in _families():
        if family is None:
            family, family_from = path.parent.name, f"folder experts/{path.parent.name}/"
        if name is None and family == path.parent.name:
            stem = path.stem
            if stem in _known_maps(family) or (family == "maze" and _MAZE_SEED.match(stem)):
                name, map_from = stem, f"file name {path.name}"
    return RouteTarget(family, name, family_from, map_from)


def _mismatch(route: Route, claimed: str, where: EnvMap, other_fix: str = "") -> RouteMismatchError:
    if where.family == "maze":
        fix = "leave out --route: the planner routes every maze from its grid"
    else:
        fix = (f"pass a route written for {where.family}/{where.map} (experts/{where.family}/{where.map}.yaml), "
               "or leave out --route to use that file or the planner")
    return RouteMismatchError(
        f"{route.source}: this route is for {claimed}, but {where.describe()}: followed there it would never "
        f"reach the goal. Fix: {fix}{other_fix}; the route format is in {_README}"
    )


def _plain(name: str) -> str:
    """``MyWayHome`` and ``my_way_home`` name the same map."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def check_route_fits(route: Route, where: EnvMap) -> None:
    """Raise :class:`RouteMismatchError` when ``route`` is for another family, map or maze than ``where``.

    :param route: the route about to be followed.
    :param where: the env's map (:func:`env_map` or :func:`env_map_for_id`).
    """
    target = route_target(route)
    if target.family is not None and target.family != where.family:
        claimed = f"{target.family}/{target.map}" if target.map else f"the {target.family} family"
        sources = " and its ".join(dict.fromkeys(s for s in (target.family_from, target.map_from) if s))
        raise _mismatch(route, f"{claimed} (from its {sources})", where)
    if target.map and where.map and where.family != "maze" and _plain(target.map) != _plain(where.map):
        raise _mismatch(route, f"{where.family}/{target.map} (from its {target.map_from})", where)
    if where.family == "maze" and target.map is not None and where.layout_seed is not None:
        seed = _MAZE_SEED.match(target.map)
        if seed and int(seed.group(1)) != int(where.layout_seed):
            raise _mismatch(route, f"the maze of layout seed {seed.group(1)} (from its {target.map_from})", where,
                            f", or play that maze: --env-kwargs fixed_layout_seed:{seed.group(1)}")
    if route.expert and where.family != "mario":
        raise RouteError(f"{route.source}: field 'expert': the {where.family} expert takes no settings from a route "
                         f"(got {', '.join(sorted(route.expert))}). Fix: remove the 'expert:' mapping")
    if route.expert:
        from sb3_plus.experts.mario_expert import expert_settings

        expert_settings(route)
    _check_bounds(route, where)


def _check_bounds(route: Route, where: EnvMap) -> None:
    if where.bounds is None:
        return
    x0, x1, y0, y1 = where.bounds
    outside = [w for w in route.waypoints.values() if not (x0 <= w.pos[0] < x1 and y0 <= w.pos[1] < y1)]
    if outside:
        first = outside[0]
        raise _mismatch(route, f"another map: {len(outside)} of its {len(route)} waypoints, e.g. {first.id!r} at "
                        f"{tuple(first.pos)}, lie outside x in [{x0:g}, {x1:g}), y in [{y0:g}, {y1:g})", where)


def low_success_warning(successes: int, episodes: int, route_source: str, env_id: str) -> str | None:
    """The warning for an expert that failed most episodes (``None`` when its success looks normal).

    Failures are kept on purpose by some users, so this warns and does not fail.

    :param successes: successful episodes.
    :param episodes: episodes played.
    :param route_source: the route file, or ``planner``.
    :param env_id: the env played.
    """
    rate = successes / max(1, episodes)
    if episodes < LOW_SUCCESS_MIN_EPISODES or rate >= LOW_SUCCESS_RATE:
        return None
    if route_source == "planner":
        cause = ("the planned route does not reach this map's goal (a goal object the planner cannot find or "
                 "reach), or env options changed the game (frame_skip, doom_map, episode_timeout)")
    else:
        cause = (f"the route {route_source} does not fit this map (written for another map, level or maze "
                 "layout), or env options changed the game (frame_skip, doom_map, episode_timeout)")
    return (f"WARNING: the expert reached the goal in only {successes}/{episodes} episodes ({rate:.0%}) on "
            f"{env_id} with route {route_source}; a route that fits its map succeeds in most episodes. "
            f"Likely cause: {cause}. The dataset keeps these failures; check the route (experts/README.md), "
            "or keep successes only with --only-successful.")
