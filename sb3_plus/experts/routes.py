"""Route files: waypoints for a map, validated on load (the format: ``experts/README.md``).

A route file is YAML::

    family: vizdoom            # optional: env family the route is for
    map: my_way_home           # optional: map / scenario name
    env: VizdoomMyWayHome-v1   # optional: the env id it was written for
    waypoints:
      - id: hall
        pos: [320.0, -176.0]   # x, y in the env's pose coordinates
        target: door           # id of the waypoint it points to; null for the goal
      - id: door
        pos: [384.0, -176.0]
        target: goal
        use: true              # press USE here once (e.g. a door)
        use_pushed: false      # optional, start as already pressed
      - id: goal
        pos: [1040.0, -352.0]
        target: null

Optional for the route: ``expert``, a mapping of the family's expert settings (Mario:
``{lookahead: 28}``); other families refuse it.

Optional per waypoint: ``region`` (e.g. a ViZDoom sector id); the follower then prefers
waypoints of the region the agent stands in.

Without ``family`` / ``map``, the ``env`` field or the file's place
``experts/<family>/<map>.yaml`` says what the route is for; the expert refuses a route for
another family or map (:mod:`sb3_plus.experts.route_check`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import yaml

from sb3_plus.errors import UserError

_WAYPOINT_FIELDS = {"id", "pos", "target", "use", "use_pushed", "region", "action", "hold"}
_ROUTE_FIELDS = {"family", "map", "env", "waypoints", "description", "goal", "source", "expert"}


class RouteError(UserError, ValueError):
    """A route file or route object is malformed. The message names file, waypoint and field."""


@dataclass(frozen=True)
class Waypoint:
    """One waypoint: where it is and where it points.

    :param id: unique name within the route.
    :param pos: ``(x, y)`` in the env's pose coordinates.
    :param target: id of the next waypoint, or ``None`` for the goal.
    :param use: press USE here (once per episode).
    :param use_pushed: start as if USE had already been pressed.
    :param region: optional region tag (ViZDoom sector id, maze cell id).
    :param action: optional action to take from here on (families whose experts act by name, e.g. Mario's
        ``run``, ``jump``, ``long_jump``, ``wait``); the family's expert checks the name.
    :param hold: optional number of steps the action lasts (a jump's height, a wait's length).
    """

    id: str
    pos: tuple[float, float]
    target: str | None
    use: bool = False
    use_pushed: bool = False
    region: int | None = None
    action: str | None = None
    hold: int | None = None


@dataclass
class Route:
    """A validated list of waypoints for one map."""

    waypoints: dict[str, Waypoint]
    family: str = ""
    map: str = ""
    env: str | None = None
    description: str = ""
    source: str = "<memory>"
    #: settings of the family's expert for this route (Mario: ``lookahead``, ``low_hop``, ...); the expert checks them
    expert: dict[str, Any] = field(default_factory=dict)
    _positions: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        validate_route(self)

    def __len__(self) -> int:
        return len(self.waypoints)

    @property
    def goal(self) -> Waypoint:
        """The first waypoint without a target."""
        return next(w for w in self.waypoints.values() if w.target is None)

    def path_from(self, waypoint_id: str) -> list[Waypoint]:
        """Waypoints visited from ``waypoint_id`` to the goal, following targets."""
        path, current = [], self.waypoints[waypoint_id]
        while True:
            path.append(current)
            if current.target is None:
                return path
            current = self.waypoints[current.target]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": self.family, "map": self.map}
        if self.env:
            out["env"] = self.env
        if self.description:
            out["description"] = self.description
        wps = []
        for w in self.waypoints.values():
            d: dict[str, Any] = {"id": w.id, "pos": [round(float(w.pos[0]), 3), round(float(w.pos[1]), 3)], "target": w.target}
            if w.use:
                d["use"] = True
            if w.use_pushed:
                d["use_pushed"] = True
            if w.region is not None:
                d["region"] = int(w.region)
            if w.action is not None:
                d["action"] = w.action
            if w.hold is not None:
                d["hold"] = int(w.hold)
            wps.append(d)
        out["waypoints"] = wps
        return out

    def save(self, path: str | Path) -> None:
        """Write the route as YAML (atomically)."""
        from sb3_plus.files import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(yaml.dump(self.to_dict(), Dumper=_DUMPER, sort_keys=False, default_flow_style=None))


# libyaml's safe loader and dumper where PyYAML was built with it (same documents, same safety)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _fail(source: str, waypoint: str | None, fld: str | None, problem: str, fix: str) -> RouteError:
    where = source
    if waypoint is not None:
        where += f": waypoint {waypoint!r}"
    if fld is not None:
        where += f": field {fld!r}"
    return RouteError(f"{where}: {problem}. Fix: {fix}")


def validate_route(route: Route) -> None:
    """Check targets exist and every waypoint reaches a goal; raise :class:`RouteError`."""
    src = route.source
    if not route.waypoints:
        raise _fail(src, None, "waypoints", "the route is empty", "list at least one waypoint, the last with target: null")
    for w in route.waypoints.values():
        if w.target is not None and w.target not in route.waypoints:
            raise _fail(src, w.id, "target", f"unknown target {w.target!r}",
                        f"use one of the waypoint ids ({', '.join(sorted(route.waypoints)[:8])}...) or null for the goal")
    if not any(w.target is None for w in route.waypoints.values()):
        first = next(iter(route.waypoints))
        raise _fail(src, first, "target", "no waypoint is a goal, so the targets form a cycle with no exit",
                    "give the goal waypoint target: null")
    # every waypoint must reach a goal (no cycle without exit)
    reaches_goal: dict[str, bool] = {}
    for start in route.waypoints:
        seen: list[str] = []
        current: str | None = start
        while current is not None and current not in reaches_goal:
            if current in seen:
                cycle = seen[seen.index(current):]
                raise _fail(src, current, "target",
                            f"cycle with no exit: {' -> '.join(cycle + [current])}",
                            "point one waypoint of the cycle towards the goal")
            seen.append(current)
            current = route.waypoints[current].target
        for s in seen:
            reaches_goal[s] = True


def _check_number_pair(src: str, wid: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _fail(src, wid, "pos", f"expected a list [x, y], got {value!r}", "write pos: [x, y]")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise _fail(src, wid, "pos", f"expected finite numbers, got {v!r}", "write pos: [x, y] with numbers")
        out.append(float(v))
    return out[0], out[1]


def route_from_dict(data: Any, source: str = "<memory>") -> Route:
    """Build and validate a :class:`Route` from parsed YAML/JSON data."""
    if not isinstance(data, dict):
        raise _fail(source, None, None, f"expected a mapping with a 'waypoints' list, got {type(data).__name__}",
                    "see experts/README.md for the format")
    unknown = set(data) - _ROUTE_FIELDS
    if unknown:
        raise _fail(source, None, sorted(unknown)[0], "unknown field", f"allowed fields: {', '.join(sorted(_ROUTE_FIELDS))}")
    raw = data.get("waypoints")
    if raw is None:
        raise _fail(source, None, "waypoints", "missing field", "add a 'waypoints:' list")
    if not isinstance(raw, list):
        raise _fail(source, None, "waypoints", f"expected a list, got {type(raw).__name__}", "write waypoints as a YAML list")
    if not raw:
        raise _fail(source, None, "waypoints", "the route is empty", "list at least one waypoint, the last with target: null")
    waypoints: dict[str, Waypoint] = {}
    for index, item in enumerate(raw):
        label = f"#{index}"
        if not isinstance(item, dict):
            raise _fail(source, label, None, f"expected a mapping, got {item!r}", "write each waypoint as {id, pos, target}")
        wid = item.get("id")
        if wid is None:
            raise _fail(source, label, "id", "missing field", "give every waypoint a unique id")
        if not isinstance(wid, (str, int)) or isinstance(wid, bool):
            raise _fail(source, label, "id", f"expected a string, got {wid!r}", "use a short name such as 'door1'")
        wid = str(wid)
        if wid in waypoints:
            raise _fail(source, wid, "id", "duplicate id", "give every waypoint a unique id")
        extra = set(item) - _WAYPOINT_FIELDS
        if extra:
            raise _fail(source, wid, sorted(extra)[0], "unknown field", f"allowed fields: {', '.join(sorted(_WAYPOINT_FIELDS))}")
        for required in ("pos", "target"):
            if required not in item:
                fix = "write target: null for the goal" if required == "target" else "write pos: [x, y]"
                raise _fail(source, wid, required, "missing field", fix)
        pos = _check_number_pair(source, wid, item["pos"])
        target = item["target"]
        if target is not None and (not isinstance(target, (str, int)) or isinstance(target, bool)):
            raise _fail(source, wid, "target", f"expected a waypoint id or null, got {target!r}", "name another waypoint's id")
        flags = {}
        for flag in ("use", "use_pushed"):
            value = item.get(flag, False)
            if not isinstance(value, bool):
                raise _fail(source, wid, flag, f"expected true or false, got {value!r}", f"write {flag}: true or {flag}: false")
            flags[flag] = value
        region = item.get("region")
        if region is not None and (isinstance(region, bool) or not isinstance(region, int)):
            raise _fail(source, wid, "region", f"expected an integer, got {region!r}", "use the sector/cell number")
        action, hold = item.get("action"), item.get("hold")
        if action is not None and (not isinstance(action, str) or not action.strip()):
            raise _fail(source, wid, "action", f"expected an action name, got {action!r}", "write e.g. action: jump")
        if hold is not None and (isinstance(hold, bool) or not isinstance(hold, int) or hold < 1):
            raise _fail(source, wid, "hold", f"expected a number of steps >= 1, got {hold!r}", "write e.g. hold: 8")
        waypoints[wid] = Waypoint(wid, pos, None if target is None else str(target), region=region, action=action,
                                  hold=hold, **flags)
    for key in ("family", "map", "env", "description"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            raise _fail(source, None, key, f"expected a string, got {data[key]!r}", f"quote the {key}")
    return Route(
        waypoints=waypoints,
        family=data.get("family") or "",
        map=data.get("map") or "",
        env=data.get("env"),
        description=data.get("description") or "",
        source=source,
        expert=_expert_settings(source, data.get("expert")),
    )


def _expert_settings(source: str, value: Any) -> dict[str, Any]:
    """The route's ``expert:`` mapping (names to numbers or booleans); which names exist, the expert checks."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _fail(source, None, "expert", f"expected a mapping of setting names to values, got {value!r}",
                    "write e.g. expert: {lookahead: 16}")
    for key, item in value.items():
        if not isinstance(item, (int, float)) or (isinstance(item, float) and not math.isfinite(item)):
            raise _fail(source, None, "expert", f"setting {key!r} must be a number or true/false, got {item!r}",
                        f"write e.g. {key}: 16")
    return dict(value)


def load_route(path: str | Path) -> Route:
    """Load and validate a route file; errors name the file, the waypoint and the field."""
    path = Path(path)
    if not path.is_file():
        raise RouteError(f"{path}: route file not found. Fix: check the path, or list experts/<family>/*.yaml")
    try:
        data = yaml.load(path.read_text(), Loader=_LOADER)  # the C loader reads a planned level's route 2.3x faster
    except yaml.YAMLError as exc:
        raise RouteError(f"{path}: not valid YAML ({exc}). Fix: check indentation and brackets") from exc
    return route_from_dict(data, source=str(path))


def make_route(waypoints: Iterable[Waypoint], **kwargs: Any) -> Route:
    """Build a route from waypoint objects (used by the planners)."""
    wps: dict[str, Waypoint] = {}
    for w in waypoints:
        if w.id in wps:
            raise _fail(kwargs.get("source", "<memory>"), w.id, "id", "duplicate id", "give every waypoint a unique id")
        wps[w.id] = w
    return Route(waypoints=wps, **kwargs)


def with_flags(w: Waypoint, **changes: Any) -> Waypoint:
    return replace(w, **changes)
