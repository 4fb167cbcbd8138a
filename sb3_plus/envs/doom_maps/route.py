"""Routes for described maps: waypoints from the start through door centres (USE facing each door) to the goal.

A map description knows where its doors are, so its route needs no planner over pixels or
sectors: the rooms from the start to the goal (or exit) are found on the room graph, the
path goes through each door's centre with a ``use`` waypoint in front of it, over the keys
that later doors need, and ends on the goal or on a ``use`` waypoint facing the exit switch.
The polyline is cut into waypoints at most :data:`SPACING` apart, so that the follower
switches to a ``use`` waypoint close to its door, within USE range. Each ``use`` waypoint
ends a straight run-up (the player slides on after turning), and a switch's ``use``
waypoint faces a target behind the wall, so that a few units of sideways slide still leave
the player facing the switch.

A waypoint route has no memory beyond USE presses, so each place is passed in one
direction only: each room is passed once (a key off the way to the goal is an error with a
fix), and a door's switch must be on the wall the door is in. USE doors and exits were
passed in every generated layout tried (seeds 0-19 of both generators); a door's switch was
pressed from 5 of 8 start and switch placements tried in one room: the player slides on
after turning, and when it arrives at a steep angle it can pass the USE point unpressed.
"""

from __future__ import annotations

import math
from collections import deque

from sb3_plus.envs.doom_maps.catalog import KEY_THINGS, THING_TYPES
from sb3_plus.envs.doom_maps.description import Door, MapDescription, Room, WallSpot, place
from sb3_plus.envs.doom_maps.layout import DoorPlace, Layout, build_layout
from sb3_plus.envs.doom_maps.validate import room_at, room_graph, validate_map
from sb3_plus.experts.routes import Route, RouteError, Waypoint, make_route

__all__ = ["description_route", "SPACING"]

SPACING = 40.0  # at most this far between two waypoints (USE reaches 64)
USE_DISTANCE = 16.0  # a use waypoint stands this far in front of the door face or switch (plus the player's radius)
RUN_UP = 96.0  # a straight run this long ends at each use waypoint: the player slides on after turning
WALL_MARGIN = 24.0

Point = tuple[float, float]
# what a polyline point is: "" a plain waypoint, "use" press USE there, "behind" a target behind a wall (faced while
# pressing USE on a switch: far targets forgive the player's sideways slide; no agent stands there)
Step = tuple[Point, str]


def _clamp(room: Room, p: Point) -> Point:
    return (min(max(p[0], room.x + WALL_MARGIN), room.x1 - WALL_MARGIN),
            min(max(p[1], room.y + WALL_MARGIN), room.y1 - WALL_MARGIN))


def _room_path(description: MapDescription, goal_room: str) -> list[tuple[str, Door | None]]:
    """Rooms from the start to ``goal_room`` with the door (or ``None``) entered through; keys picked up on the way."""
    graph = room_graph(description)
    keys = {}
    for t in description.things:
        number = t.type if isinstance(t.type, int) else THING_TYPES[t.type]
        room = room_at(description, *place(t, description))
        if number in KEY_THINGS and room is not None:
            keys.setdefault(room.name, set()).add(KEY_THINGS[number])
    start = room_at(description, *place(description.start, description)).name  # type: ignore[union-attr]
    first = (start, frozenset(keys.get(start, ())))
    parent: dict[tuple[str, frozenset], tuple | None] = {first: None}
    queue = deque([first])
    while queue:
        state = queue.popleft()
        room, held = state
        if room == goal_room:
            path = []
            while state is not None:
                path.append(state)
                state = parent[state][0] if parent[state] else None
            rooms = [s[0] for s in reversed(path)]
            doors = [None] + [parent[s][1] for s in reversed(path[:-1])]  # type: ignore[index]
            return list(zip(rooms, doors))
        for there, door in graph[room]:
            if door is not None and door.key is not None and door.key not in held:
                continue
            nxt = (there, held | frozenset(keys.get(there, ())))
            if nxt not in parent:
                parent[nxt] = (state, door)
                queue.append(nxt)
    raise RouteError(f"map {description.name!r}: no way from room {start!r} to room {goal_room!r}. "
                     "Fix: check the map (validate_map names what blocks it)")


def _door_points(layout: Layout, door: Door, here: Room, there: Room) -> list[Step]:
    place_: DoorPlace = layout.doors[door.name]
    sign = 1.0 if place_.low == here.name else -1.0
    axis = place_.axis
    cx, cy = place_.rect.center
    half = place_.depth / 2

    def at(offset: float) -> Point:
        return (cx + sign * offset, cy) if axis == 0 else (cx, cy + sign * offset)

    through = [((cx, cy), ""), (_clamp(there, at(half + USE_DISTANCE + 16)), "")]
    front = _clamp(here, at(-(half + 16 + USE_DISTANCE)))
    if door.trigger != "use":  # opened by a switch: no run-up, which would cross the way back from the switch
        return [(front, ""), *through]
    return [(_clamp(here, at(-(half + 16 + USE_DISTANCE + RUN_UP))), ""), (front, "use"), *through]


def _opening_points(here: Room, there: Room) -> list[Step]:
    if abs(here.x1 - there.x) < 1e-6 or abs(there.x1 - here.x) < 1e-6:
        c = here.x1 if abs(here.x1 - there.x) < 1e-6 else here.x
        y = (max(here.y, there.y) + min(here.y1, there.y1)) / 2
        sign = 1.0 if c == here.x1 else -1.0
        return [(_clamp(here, (c - sign * 40, y)), ""), (_clamp(there, (c + sign * 40, y)), "")]
    c = here.y1 if abs(here.y1 - there.y) < 1e-6 else here.y
    x = (max(here.x, there.x) + min(here.x1, there.x1)) / 2
    sign = 1.0 if c == here.y1 else -1.0
    return [(_clamp(here, (x, c - sign * 40)), ""), (_clamp(there, (x, c + sign * 40)), "")]


def _spot_points(room: Room, spot: WallSpot, release: bool = False) -> list[Step]:
    """Run-up, USE point, the faced target behind the wall; with ``release`` (a switch, where the way goes on)
    a point by the wall that takes over from the USE point once the player stands there."""
    normal = {"north": (0, -1), "south": (0, 1), "east": (-1, 0), "west": (1, 0)}[spot.wall]
    if spot.wall in ("north", "south"):
        wall = ((room.x + room.x1) / 2 if spot.at is None else spot.at, room.y1 if spot.wall == "north" else room.y)
    else:
        wall = (room.x1 if spot.wall == "east" else room.x, (room.y + room.y1) / 2 if spot.at is None else spot.at)

    def off(d: float) -> Point:
        return wall[0] + normal[0] * d, wall[1] + normal[1] * d

    run_up = _clamp(room, off(16 + USE_DISTANCE + 2 * RUN_UP))
    steps = [(run_up, ""), (off(16 + USE_DISTANCE), "use"), (off(-64), "behind")]
    if release:
        # nearer than the USE point once the player stands against the wall (the player's radius is 16)
        steps.append((off(8), ""))
    return steps


def _check_switch(description: MapDescription, layout: Layout, door: Door, here: str) -> None:
    place_ = layout.doors[door.name]
    low = place_.low == here
    wall = ("east" if low else "west") if place_.axis == 0 else ("north" if low else "south")
    if door.switch is None or door.switch.room != here or door.switch.wall != wall:
        # going to a switch elsewhere and back would pass the same places in two directions, which a
        # waypoint route (one direction per place) cannot say
        raise RouteError(f"map {description.name!r}: door {door.name!r} opens from a switch that is not on the "
                         f"{wall} wall of room {here!r}, the wall the door is in. Fix: put the switch on that wall "
                         f"(switch: {{room: {here}, wall: {wall}, at: ...}}) or give the door trigger: use")


def _polyline(description: MapDescription, layout: Layout) -> list[Step]:
    if description.goal is not None:
        goal_room = room_at(description, *place(description.goal, description)).name  # type: ignore[union-attr]
        exit_spot = None
    else:
        exit_spot = description.exits[0]
        goal_room = exit_spot.room
    path = _room_path(description, goal_room)
    rooms = [name for name, _ in path]
    repeated = sorted({r for r in rooms if rooms.count(r) > 1})
    if repeated:
        raise RouteError(f"map {description.name!r}: the way to the goal passes room {repeated[0]!r} twice (to fetch "
                         "a key and come back); a waypoint route passes each room once. Fix: put the key on the way "
                         f"to the goal ({' -> '.join(rooms)}), e.g. in the room just before its door")
    points: list[Step] = [(place(description.start, description), "")]
    for k, (name, _) in enumerate(path):
        room = description.room(name)
        for t in description.things:
            number = t.type if isinstance(t.type, int) else THING_TYPES[t.type]
            if number in KEY_THINGS and room.contains(*place(t, description)):
                points.append((place(t, description), ""))
        if k + 1 < len(path):
            there_name, door = path[k + 1]
            there = description.room(there_name)
            if door is None:
                points.extend(_opening_points(room, there))
            else:
                if door.trigger == "switch" and door.switch is not None:
                    _check_switch(description, layout, door, name)
                    points.extend(_spot_points(room, door.switch, release=True))
                points.extend(_door_points(layout, door, room, there))
    if exit_spot is not None:
        points.extend(_spot_points(description.room(goal_room), exit_spot))
    else:
        points.append((place(description.goal, description), ""))  # type: ignore[arg-type]
    return points


def _region(description: MapDescription, layout: Layout, p: Point) -> int | None:
    room = room_at(description, *p)
    if room is not None:
        return layout.sector_of[room.name]
    for name, door_place_ in layout.doors.items():
        r = door_place_.rect
        if r.x0 <= p[0] <= r.x1 and r.y0 <= p[1] <= r.y1:
            return layout.sector_of[name]
    return None


def description_route(description: MapDescription, env_id: str | None = None, regions: bool = True) -> Route:
    """The waypoint route of a described map (see the module docstring).

    :param description: the map.
    :param env_id: the env id it is played as (names the route's map, so route checks match it).
    :param regions: tag waypoints with their sector index (the pose's ``sector``), so the follower only
        considers waypoints of the sector it stands in.
    :raises RouteError: a key off the way to the goal, or a switch the way does not pass.
    """
    validate_map(description)
    layout = build_layout(description)
    points = _polyline(description, layout)
    dense: list[Step] = []
    for (p, kind), (q, next_kind) in zip(points, points[1:] + [points[-1]]):
        if dense and math.dist(dense[-1][0], p) < 1e-6:
            dense[-1] = (p, dense[-1][1] or kind)
        else:
            dense.append((p, kind))
        # a USE point faces its very next point; nothing is put between it and a target behind a wall
        pieces = 1 if "behind" in (kind, next_kind) or kind == "use" else int(math.ceil(math.dist(p, q) / SPACING))
        for s in range(1, pieces):
            f = s / pieces
            dense.append(((p[0] + f * (q[0] - p[0]), p[1] + f * (q[1] - p[1])), ""))
    ids = [f"w{k:03d}" for k in range(len(dense))]
    waypoints = [Waypoint(ids[k], (round(p[0], 3), round(p[1], 3)), ids[k + 1] if k + 1 < len(dense) else None,
                          use=kind == "use",
                          region=_region(description, layout, p) if regions and kind != "behind" else None)
                 for k, (p, kind) in enumerate(dense)]
    name = env_id or description.name
    return make_route(waypoints, family="vizdoom", map=name, env=env_id, source=f"<generated:{name}>",
                      description=f"through the doors of {description.name}, generated from its description")
