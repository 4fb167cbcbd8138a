"""Rooms and doors -> sectors, lines and things: the geometry a UDMF map is written from.

Every room and every door is a rectangular sector. Each rectangle's walls are walked
clockwise (interior on the right, as Doom wants a line's front side) and cut wherever
another rectangle's corner or a switch ends on them; a piece that another rectangle
covers from the outside becomes a two-sided line (written once: by the room, for a door),
the rest one-sided walls. A door's faces carry its special; its side walls are door tracks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sb3_plus.envs.doom_maps.catalog import (DOOR_LOCKED_RAISE, DOOR_OPEN, DOOR_RAISE, DOOR_TEXTURES, EXIT_NORMAL,
                                             LOCK_FOR_COLOUR, THING_TYPES)
from sb3_plus.envs.doom_maps.description import Door, MapDescription, MapError, Room, WallSpot, place

EPS = 1e-6
DOOR_SPEED = 16  # 2 units a tic: a 128-high door opens in about 2 s
DOOR_DELAY = 150  # tics a raised door waits before it closes again


@dataclass(frozen=True)
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class DoorPlace:
    """Where a door is: its rectangle, the axis it is passed along, and the rooms before and after it.

    :param rect: the door sector.
    :param axis: ``0`` passed along x, ``1`` along y.
    :param low: the room on the lower-coordinate side.
    :param high: the room on the higher-coordinate side.
    """

    rect: Rect
    axis: int
    low: str
    high: str

    @property
    def depth(self) -> float:
        return (self.rect.x1 - self.rect.x0) if self.axis == 0 else (self.rect.y1 - self.rect.y0)

    def other(self, room: str) -> str:
        return self.high if room == self.low else self.low


def _span(a: Room, b: Room, axis: int) -> tuple[float, float]:
    return (max(a.y, b.y), min(a.y1, b.y1)) if axis == 0 else (max(a.x, b.x), min(a.x1, b.x1))


def door_place(description: MapDescription, door: Door) -> DoorPlace:
    """The geometry of ``door``; :class:`MapError` naming the door and the fix when it has none."""
    where = f"door {door.name!r} between {door.between[0]!r} and {door.between[1]!r}"
    a, b = (description.room(n) for n in door.between)
    candidates = []
    for axis in (0, 1):
        lo_a, hi_a = (a.x, a.x1) if axis == 0 else (a.y, a.y1)
        lo_b, hi_b = (b.x, b.x1) if axis == 0 else (b.y, b.y1)
        span = _span(a, b, axis)
        if span[1] - span[0] > EPS and (hi_a <= lo_b + EPS or hi_b <= lo_a + EPS):
            low, high = (a, b) if hi_a <= lo_b + EPS else (b, a)
            candidates.append((axis, low, high, span))
    if not candidates:
        raise MapError(f"{where}: the rooms do not face each other across a gap (a door sits in the gap between a "
                       f"wall of one room and the opposite wall of the other; {a.describe()}, {b.describe()}). "
                       "Fix: place the rooms side by side with 8 to 64 units between them, sharing at least the "
                       "door's width of wall")
    axis, low, high, (lo, hi) = candidates[0]
    name = "x" if axis == 0 else "y"
    gap = (high.x - low.x1) if axis == 0 else (high.y - low.y1)
    edge = low.x1 if axis == 0 else low.y1
    if gap < 8 - EPS:
        touching = "touch, so they are already joined by an opening" if gap < EPS else f"are only {gap:g} apart"
        raise MapError(f"{where}: the rooms {touching}; the door is the sector in the gap between them and needs "
                       f"8 to 64 units. Fix: move room {high.name!r} to {name}={edge + 16:g} (a 16-unit door), "
                       "or remove the door")
    if gap > 64 + EPS:
        raise MapError(f"{where}: the rooms are {gap:g} units apart, more than a door's 64. Fix: move room "
                       f"{high.name!r} to {name}={edge + 16:g}, or add a corridor room between them and put the "
                       "door between the corridor and one room")
    if door.width < 40:
        raise MapError(f"{where}: width {door.width:g} is too narrow for the player (32 wide). Fix: width: 64")
    if hi - lo < door.width - EPS:
        raise MapError(f"{where}: the rooms share only {hi - lo:g} units of wall, less than the door's width "
                       f"{door.width:g}. Fix: width: {int(hi - lo)} or less (at least 40), or move the rooms to "
                       "share more wall")
    at = (lo + hi) / 2 if door.at is None else float(door.at)
    if at - door.width / 2 < lo - EPS or at + door.width / 2 > hi + EPS:
        raise MapError(f"{where}: at={at:g} puts the door outside the wall the rooms share ({lo:g}..{hi:g}). "
                       f"Fix: at between {lo + door.width / 2:g} and {hi - door.width / 2:g}, or leave at out")
    half = door.width / 2
    rect = Rect(low.x1, at - half, high.x, at + half) if axis == 0 else Rect(at - half, low.y1, at + half, high.y)
    return DoorPlace(rect, axis, low.name, high.name)


@dataclass
class Side:
    sector: int
    top: str = "-"
    middle: str = "-"
    bottom: str = "-"


@dataclass
class Line:
    a: tuple[float, float]
    b: tuple[float, float]
    front: Side
    back: Side | None = None
    special: int = 0
    args: tuple[int, ...] = ()
    flags: tuple[str, ...] = ()


@dataclass
class Sector:
    floor: int
    ceiling: int
    floor_texture: str
    ceiling_texture: str
    light: int
    tag: int = 0
    damage: int = 0
    damage_interval: int = 32


@dataclass
class Layout:
    """Sectors (rooms first, in order, then doors), lines, things ``(type, x, y, angle)``."""

    sectors: list[Sector]
    lines: list[Line]
    things: list[tuple[int, float, float, int]]
    doors: dict[str, DoorPlace] = field(default_factory=dict)
    sector_of: dict[str, int] = field(default_factory=dict)


def _edges(r: Rect) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    return [("west", (r.x0, r.y0), (r.x0, r.y1)), ("north", (r.x0, r.y1), (r.x1, r.y1)),
            ("east", (r.x1, r.y1), (r.x1, r.y0)), ("south", (r.x1, r.y0), (r.x0, r.y0))]


def _neighbour(rects: list[Rect], me: int, wall: str, fixed: float, mid: float) -> int | None:
    for i, n in enumerate(rects):
        if i == me:
            continue
        touches = {"west": abs(n.x1 - fixed) < EPS, "east": abs(n.x0 - fixed) < EPS,
                   "north": abs(n.y0 - fixed) < EPS, "south": abs(n.y1 - fixed) < EPS}[wall]
        lo, hi = (n.y0, n.y1) if wall in ("west", "east") else (n.x0, n.x1)
        if touches and lo + EPS < mid < hi - EPS:
            return i
    return None


def _door_special(door: Door, tag: int) -> tuple[int, tuple[int, ...]]:
    delay = 0 if door.stay_open else DOOR_DELAY
    if door.key:
        return DOOR_LOCKED_RAISE, (tag, DOOR_SPEED, delay, LOCK_FOR_COLOUR[door.key], 0)
    if door.stay_open:
        return DOOR_OPEN, (tag, DOOR_SPEED, 0)
    return DOOR_RAISE, (tag, DOOR_SPEED, DOOR_DELAY)


def _spot_range(room: Room, spot: WallSpot) -> tuple[float, float]:
    along = (room.x, room.x1) if spot.wall in ("north", "south") else (room.y, room.y1)
    at = (along[0] + along[1]) / 2 if spot.at is None else float(spot.at)
    return at - spot.width / 2, at + spot.width / 2


def build_layout(description: MapDescription) -> Layout:
    """Sectors, lines and things of a (validated) description."""
    rooms, doors = description.rooms, description.doors
    places = {d.name: door_place(description, d) for d in doors}
    rects = [Rect(r.x, r.y, r.x1, r.y1) for r in rooms] + [places[d.name].rect for d in doors]
    n_rooms = len(rooms)
    sectors = [Sector(r.floor, r.ceiling, r.floor_texture or ("NUKAGE1" if r.damage else "FLOOR4_8"),
                      r.ceiling_texture, r.light, 0, r.damage, r.damage_interval) for r in rooms]
    index = {r.name: i for i, r in enumerate(rooms)}
    for k, d in enumerate(doors):
        low, high = rooms[index[places[d.name].low]], rooms[index[places[d.name].high]]
        floor = max(low.floor, high.floor)
        tag = k + 1 if d.trigger == "switch" else 0
        sectors.append(Sector(floor, floor, "FLOOR4_8", "CEIL3_5", min(low.light, high.light), tag))
    # switches and exits: (room index, wall) -> [(lo, hi, special, args, texture, label)]
    spots: dict[tuple[int, str], list[tuple[float, float, int, tuple[int, ...], str, str]]] = {}
    for k, d in enumerate(doors):
        if d.trigger == "switch" and d.switch is not None:
            special, args = _door_special(d, k + 1)
            lo, hi = _spot_range(description.room(d.switch.room), d.switch)
            spots.setdefault((index[d.switch.room], d.switch.wall), []).append(
                (lo, hi, special, args, "SW1COMM", f"the switch of door {d.name!r}"))
    for e, spot in enumerate(description.exits):
        lo, hi = _spot_range(description.room(spot.room), spot)
        spots.setdefault((index[spot.room], spot.wall), []).append((lo, hi, EXIT_NORMAL, (0,), "SW1EXIT", f"exit #{e}"))
    lines: list[Line] = []
    for i, r in enumerate(rects):
        for wall, a, b in _edges(r):
            lines.extend(_wall_lines(description, rects, places, spots, i, wall, a, b, n_rooms))
    things = _things(description)
    return Layout(sectors, lines, things, places, {**index, **{d.name: n_rooms + k for k, d in enumerate(doors)}})


def _wall_lines(description: MapDescription, rects: list[Rect], places: dict[str, DoorPlace],
                spots: dict, i: int, wall: str, a: tuple[float, float], b: tuple[float, float],
                n_rooms: int) -> list[Line]:
    rooms, doors = description.rooms, description.doors
    vertical = wall in ("west", "east")
    fixed = a[0] if vertical else a[1]
    s0, s1 = (a[1], b[1]) if vertical else (a[0], b[0])
    lo, hi = min(s0, s1), max(s0, s1)
    cuts = {s0, s1}
    for n in rects:
        for cx, cy in ((n.x0, n.y0), (n.x0, n.y1), (n.x1, n.y0), (n.x1, n.y1)):
            c_fixed, c_along = (cx, cy) if vertical else (cy, cx)
            if abs(c_fixed - fixed) < EPS and lo + EPS < c_along < hi - EPS:
                cuts.add(c_along)
    my_spots = spots.get((i, wall), []) if i < n_rooms else []
    for s_lo, s_hi, *_ in my_spots:
        cuts.update(c for c in (s_lo, s_hi) if lo + EPS < c < hi - EPS)
    points = sorted(cuts, reverse=s1 < s0)
    out = []
    for p, q in zip(points, points[1:]):
        pa = (fixed, p) if vertical else (p, fixed)
        pb = (fixed, q) if vertical else (q, fixed)
        n = _neighbour(rects, i, wall, fixed, (p + q) / 2)
        spot = next((s for s in my_spots if s[0] - EPS <= min(p, q) and max(p, q) <= s[1] + EPS), None)
        if spot is not None and n is not None:
            raise MapError(f"map {description.name!r}: {spot[5]} on the {wall} wall of room {rooms[i].name!r} "
                           f"({spot[0]:g}..{spot[1]:g}) lies on the opening to "
                           f"{'room' if n < n_rooms else 'door'} {(rooms + doors)[n].name!r}. "  # type: ignore[operator]
                           "Fix: move it along the wall (at:) onto a plain wall, or put it on another wall")
        line = _one_line(rooms, doors, places, i, n, n_rooms, pa, pb, spot)
        if line is not None:
            out.append(line)
    return out


def _one_line(rooms: list[Room], doors: list[Door], places: dict[str, DoorPlace], i: int, n: int | None, n_rooms: int,
              pa: tuple[float, float], pb: tuple[float, float], spot: tuple | None) -> Line | None:
    if i >= n_rooms:  # a door sector: its free sides are tracks; its faces are written by the rooms
        if n is not None:
            return None
        return Line(pa, pb, Side(i, middle="DOORTRAK"), flags=("blocking", "dontpegbottom"))
    room = rooms[i]
    if n is None:
        if spot is not None:
            return Line(pa, pb, Side(i, middle=spot[4]), special=spot[2], args=spot[3],
                        flags=("blocking", "playeruse", "repeatspecial"))
        return Line(pa, pb, Side(i, middle=room.wall_texture), flags=("blocking",))
    if n < n_rooms:
        if n < i:
            return None
        other = rooms[n]
        return Line(pa, pb, Side(i, top=room.wall_texture, bottom=room.wall_texture),
                    Side(n, top=other.wall_texture, bottom=other.wall_texture), flags=("twosided",))
    door = doors[n - n_rooms]
    face = door.texture or DOOR_TEXTURES[door.key]
    line = Line(pa, pb, Side(i, top=face, bottom=room.wall_texture), Side(n, bottom=room.wall_texture),
                flags=("twosided",))
    if door.trigger == "use":
        line.special, line.args = _door_special(door, 0)
        line.flags = ("twosided", "playeruse", "repeatspecial")
    return line


def _things(description: MapDescription) -> list[tuple[int, float, float, int]]:
    sx, sy = place(description.start, description)
    things = [(1, sx, sy, int(round(description.start.angle)) % 360)]
    for t in description.things:
        kind = t.type if isinstance(t.type, int) else THING_TYPES[t.type]
        x, y = place(t, description)
        things.append((kind, x, y, int(round(t.angle)) % 360))
    goal = description.goal
    if goal is not None and goal.marker is not None:
        kind = goal.marker if isinstance(goal.marker, int) else THING_TYPES[goal.marker]
        x, y = place(goal, description)
        things.append((kind, x, y, 0))
    return things
