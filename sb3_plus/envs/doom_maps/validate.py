"""Checks of a map description before anything is built; every problem names its room, door or thing and a fix.

Besides shapes (sizes, overlaps, doors in a gap between two rooms, things inside rooms),
the map is checked as a graph: rooms are nodes, openings and doors are edges. Starting
from the player's room, the reachable rooms grow while keys are found; a locked door
whose key is never found without passing through that door (or another closed one) is
an error, and so is a goal or an exit that cannot be reached.
"""

from __future__ import annotations

from collections import deque

from sb3_plus.envs.doom_maps.catalog import KEY_COLOURS, KEY_THINGS, THING_TYPES
from sb3_plus.envs.doom_maps.description import WALLS, Door, MapDescription, MapError, Room, Thing, place
from sb3_plus.envs.doom_maps.layout import EPS, Rect, door_place

__all__ = ["validate_map", "room_graph", "room_at", "MIN_PASSAGE"]

#: An opening narrower than this does not let the player (32 wide) through.
MIN_PASSAGE = 36.0
MIN_ROOM = 48.0
PLAYER_HEIGHT = 56


def room_at(description: MapDescription, x: float, y: float) -> Room | None:
    """The room containing ``(x, y)``, or ``None``."""
    return next((r for r in description.rooms if r.contains(x, y)), None)


def _overlap(a: Rect, b: Rect) -> tuple[float, float]:
    return min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0)


def _overlap_fix(a: Room, b: Room) -> str:
    moves = [(a.x1 - b.x, f"move {b.name!r} east to x={a.x1:g}"),
             (b.x1 - a.x, f"move {b.name!r} west to x={a.x - b.w:g}"),
             (a.y1 - b.y, f"move {b.name!r} north to y={a.y1:g}"),
             (b.y1 - a.y, f"move {b.name!r} south to y={a.y - b.h:g}")]
    return min(moves)[1]


def _shape_problems(description: MapDescription) -> list[str]:
    problems = []
    names = [r.name for r in description.rooms] + [d.name for d in description.doors]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"the name {name!r} is used twice (rooms and doors share names). Fix: rename one of them")
    if not description.rooms:
        problems.append("the map has no room. Fix: add at least one room")
    for r in description.rooms:
        if r.w < MIN_ROOM or r.h < MIN_ROOM:
            problems.append(f"{r.describe()} is {r.w:g} x {r.h:g}, too small for the player. "
                            f"Fix: make it at least {MIN_ROOM:g} x {MIN_ROOM:g}")
        if r.ceiling - r.floor < PLAYER_HEIGHT:
            problems.append(f"room {r.name!r}: ceiling {r.ceiling} is less than {PLAYER_HEIGHT} above its floor "
                            f"{r.floor}. Fix: ceiling: {r.floor + 128}")
        if r.damage < 0 or r.damage_interval < 1:
            problems.append(f"room {r.name!r}: damage must be >= 0 and damage_interval >= 1. Fix: damage: 5")
    rooms = description.rooms
    for i, a in enumerate(rooms):
        for b in rooms[i + 1:]:
            w, h = _overlap(Rect(a.x, a.y, a.x1, a.y1), Rect(b.x, b.y, b.x1, b.y1))
            if w > EPS and h > EPS:
                problems.append(f"rooms {a.name!r} and {b.name!r} overlap ({a.describe()}, {b.describe()}: "
                                f"{w:g} x {h:g} in common). Fix: {_overlap_fix(a, b)}, or shrink one of them")
    return problems


def _door_problems(description: MapDescription) -> list[str]:
    problems, rects = [], []
    room_names = {r.name for r in description.rooms}
    for door in description.doors:
        missing = [n for n in door.between if n not in room_names]
        if missing:
            problems.append(f"door {door.name!r} is between {door.between[0]!r} and {door.between[1]!r}, but there is "
                            f"no room {missing[0]!r}. Fix: use two of the room names ({', '.join(sorted(room_names))})")
            continue
        if door.between[0] == door.between[1]:
            problems.append(f"door {door.name!r} is between room {door.between[0]!r} and itself. "
                            "Fix: name the two rooms it joins")
            continue
        if door.key is not None and door.key not in KEY_COLOURS:
            problems.append(f"door {door.name!r}: key {door.key!r} is not a key colour. "
                            f"Fix: key: one of {', '.join(KEY_COLOURS)}, or leave it out")
        if door.trigger not in ("use", "switch"):
            problems.append(f"door {door.name!r}: trigger {door.trigger!r} is unknown. Fix: trigger: use or switch")
        elif door.trigger == "switch":
            problems.extend(_spot_problems(description, door.switch, f"door {door.name!r}: its switch"))
        try:
            rects.append((door.name, door_place(description, door).rect))
        except MapError as exc:
            problems.append(str(exc))
    for name, rect in rects:
        for r in description.rooms:
            w, h = _overlap(rect, Rect(r.x, r.y, r.x1, r.y1))
            if w > EPS and h > EPS:
                problems.append(f"door {name!r} overlaps room {r.name!r}. Fix: move room {r.name!r} out of the gap "
                                f"x {rect.x0:g}..{rect.x1:g}, y {rect.y0:g}..{rect.y1:g}")
    for i, (name, rect) in enumerate(rects):
        for other, rect2 in rects[i + 1:]:
            w, h = _overlap(rect, rect2)
            if w > EPS and h > EPS:
                problems.append(f"doors {name!r} and {other!r} overlap. Fix: give one of them another at:")
    return problems


def _spot_problems(description: MapDescription, spot, label: str) -> list[str]:
    if spot is None:
        return [f"{label} is missing. Fix: give switch: {{room: NAME, wall: north}} or use trigger: use"]
    names = [r.name for r in description.rooms]
    if spot.room not in names:
        return [f"{label} is in room {spot.room!r}, which does not exist. Fix: use one of {', '.join(names)}"]
    if spot.wall not in WALLS:
        return [f"{label}: wall {spot.wall!r} is unknown. Fix: wall: one of {', '.join(WALLS)}"]
    room = description.room(spot.room)
    lo, hi = (room.x, room.x1) if spot.wall in ("north", "south") else (room.y, room.y1)
    at = (lo + hi) / 2 if spot.at is None else spot.at
    if spot.width < 16 or at - spot.width / 2 < lo - EPS or at + spot.width / 2 > hi + EPS:
        return [f"{label}: at={at:g} width={spot.width:g} does not fit the {spot.wall} wall of room {room.name!r} "
                f"({lo:g}..{hi:g}). Fix: at between {lo + spot.width / 2:g} and {hi - spot.width / 2:g}"]
    return []


def _thing_problems(description: MapDescription) -> list[str]:
    problems = []
    spots = [(t.label(), t) for t in description.things] + [("the start", description.start)]
    if description.goal is not None:
        spots.append(("the goal", description.goal))
    for label, spot in spots:
        kind = spot.type if isinstance(spot, Thing) else getattr(spot, "marker", None)
        if isinstance(kind, str) and kind not in THING_TYPES:
            problems.append(f"{label}: unknown {'type' if isinstance(spot, Thing) else 'marker'} {kind!r}. Fix: use an "
                            f"editor number or one of {', '.join(sorted(THING_TYPES))}")
        try:
            x, y = place(spot, description)
        except MapError as exc:
            problems.append(str(exc))
            continue
        if room_at(description, x, y) is None:
            near = min(description.rooms, key=lambda r: (r.center[0] - x) ** 2 + (r.center[1] - y) ** 2, default=None)
            hint = f", e.g. in {near.describe()}" if near is not None else ""
            problems.append(f"{label} at ({x:g}, {y:g}) is in no room. "
                            f"Fix: place it inside a room{hint}, or give room:")
    if description.goal is None and not description.exits:
        problems.append("the map has neither a goal nor an exit, so no episode can succeed. "
                        "Fix: add goal: {room: NAME} or an exit switch")
    for k, spot in enumerate(description.exits):
        problems.extend(_spot_problems(description, spot, f"exit #{k}"))
    return problems


def room_graph(description: MapDescription) -> dict[str, list[tuple[str, Door | None]]]:
    """Room -> ``[(neighbour, door or None for an opening)]``."""
    graph: dict[str, list[tuple[str, Door | None]]] = {r.name: [] for r in description.rooms}
    rooms = description.rooms
    for i, a in enumerate(rooms):
        for b in rooms[i + 1:]:
            w, h = _overlap(Rect(a.x, a.y, a.x1, a.y1), Rect(b.x, b.y, b.x1, b.y1))
            if (abs(w) < EPS and h >= MIN_PASSAGE) or (abs(h) < EPS and w >= MIN_PASSAGE):
                graph[a.name].append((b.name, None))
                graph[b.name].append((a.name, None))
    for door in description.doors:
        a, b = door.between
        graph[a].append((b, door))
        graph[b].append((a, door))
    return graph


def _key_rooms(description: MapDescription) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {c: set() for c in KEY_COLOURS}
    for t in description.things:
        number = t.type if isinstance(t.type, int) else THING_TYPES[t.type]
        if number in KEY_THINGS:
            room = room_at(description, *place(t, description))
            if room is not None:
                found[KEY_THINGS[number]].add(room.name)
    return found


def reachable_rooms(description: MapDescription) -> set[str]:
    """Rooms the player can reach from the start, picking up keys on the way (a fixpoint)."""
    graph, keys = room_graph(description), _key_rooms(description)
    start = room_at(description, *place(description.start, description))
    reached = {start.name} if start is not None else set()
    while True:
        held = {c for c, rooms in keys.items() if rooms & reached}
        queue, seen = deque(reached), set(reached)
        while queue:
            here = queue.popleft()
            for there, door in graph[here]:
                if there in seen or (door is not None and not _passable(door, held, seen)):
                    continue
                seen.add(there)
                queue.append(there)
        if seen == reached:
            return reached
        reached = seen


def _passable(door: Door, held: set[str], reached: set[str]) -> bool:
    if door.key is not None and door.key not in held:
        return False
    return door.trigger != "switch" or (door.switch is not None and door.switch.room in reached)


def _reach_problems(description: MapDescription) -> list[str]:
    problems = []
    reached = reachable_rooms(description)
    keys = _key_rooms(description)
    for door in description.doors:
        if set(door.between) <= reached or not set(door.between) & reached:
            continue
        if door.key is not None and not keys[door.key] & reached:
            if keys[door.key]:
                where = (f"the {door.key} key is in room {', '.join(sorted(keys[door.key]))}, which is reached only "
                         "through this door or another closed one")
            else:
                where = f"there is no {door.key} key on the map"
            problems.append(f"door {door.name!r} between {door.between[0]!r} and {door.between[1]!r} is locked with "
                            f"the {door.key} key, but no {door.key} key can be reached from the start without passing "
                            f"it: {where}. Fix: put a {door.key} key (e.g. {{type: {door.key.capitalize()}Card, "
                            f"room: {sorted(reached)[0]}}}) in a room reached from the start "
                            f"({', '.join(sorted(reached))}), or remove key: from the door")
        elif door.trigger == "switch" and door.switch is not None and door.switch.room not in reached:
            problems.append(f"door {door.name!r}: its switch is in room {door.switch.room!r}, which the player cannot "
                            f"reach before the door opens. Fix: put the switch in one of {', '.join(sorted(reached))}")
    closed = [d.name for d in description.doors if len(set(d.between) & reached) == 1]
    if description.goal is not None:
        goal_room = room_at(description, *place(description.goal, description))
        if goal_room is not None and goal_room.name not in reached and closed:
            problems.append(f"the goal in room {goal_room.name!r} is behind door(s) {', '.join(map(repr, closed))} "
                            "that the player cannot open. Fix: see the problem of that door above")
        elif goal_room is not None and goal_room.name not in reached:
            problems.append(f"the goal in room {goal_room.name!r} cannot be reached from the start (reached: "
                            f"{', '.join(sorted(reached))}). Fix: join room {goal_room.name!r} to them with a door "
                            "or an opening (rooms that touch), or move the goal")
    elif description.exits and not any(e.room in reached for e in description.exits):
        problems.append(f"no exit can be reached from the start (reached: {', '.join(sorted(reached))}). "
                        "Fix: put an exit switch on a wall of a reached room, or join the exit's room to them")
    return problems


def validate_map(description: MapDescription) -> None:
    """Raise :class:`MapError` listing every problem of ``description`` (each with its fix)."""
    problems = _shape_problems(description) + _door_problems(description)
    if not problems:
        problems += _thing_problems(description)
    if not problems:
        problems += _reach_problems(description)
    if problems:
        head = f"map {description.name!r}: " + ("" if len(problems) == 1 else f"{len(problems)} problems:\n  - ")
        raise MapError(head + "\n  - ".join(problems))
