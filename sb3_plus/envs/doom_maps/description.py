"""A Doom map as data: rooms, doors, things, the start, the goal and the episode rules.

Rooms are axis-aligned rectangles (``x``, ``y`` the south-west corner, ``w`` along x, ``h``
along y, in map units; the player is 32 units wide and 56 high). Two rooms that touch are
joined by an opening where their walls meet; a door joins two rooms that face each other
across a gap (8 to 64 units), and the door is the sector that fills that gap. Corridors are
rooms too (long and narrow). Things stand at ``x``, ``y`` or in the middle of their ``room``.

Loaded from Python (the dataclasses below) or from YAML (:func:`load_map`), checked by
:func:`sb3_plus.envs.doom_maps.validate.validate_map`, compiled to UDMF by
:mod:`sb3_plus.envs.doom_maps.udmf`.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sb3_plus.errors import UserError

WALLS = ("north", "south", "east", "west")


class MapError(UserError, ValueError):
    """A map description that cannot be built; the message names the room, door or thing and the fix."""


@dataclass
class Room:
    """A rectangular sector.

    :param name: unique name (errors and routes use it).
    :param x: west edge.
    :param y: south edge.
    :param w: size along x.
    :param h: size along y.
    :param floor: floor height.
    :param ceiling: ceiling height (at least floor + 56 for the player).
    :param light: light level 0-255.
    :param damage: health lost every ``damage_interval`` tics while standing on the floor (0: none).
    :param damage_interval: tics between two hits of ``damage`` (35 tics a second).
    :param wall_texture: texture of its walls.
    :param floor_texture: flat of its floor (a damage floor defaults to ``NUKAGE1``).
    :param ceiling_texture: flat of its ceiling.
    """

    name: str
    x: float
    y: float
    w: float
    h: float
    floor: int = 0
    ceiling: int = 128
    light: int = 192
    damage: int = 0
    damage_interval: int = 32
    wall_texture: str = "STARTAN2"
    floor_texture: str | None = None
    ceiling_texture: str = "CEIL3_5"

    @property
    def x1(self) -> float:
        return self.x + self.w

    @property
    def y1(self) -> float:
        return self.y + self.h

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        """Whether ``(x, y)`` lies inside, at least ``margin`` from every wall."""
        return self.x + margin <= x <= self.x1 - margin and self.y + margin <= y <= self.y1 - margin

    def describe(self) -> str:
        return f"room {self.name!r} (x {self.x:g}..{self.x1:g}, y {self.y:g}..{self.y1:g})"


@dataclass
class WallSpot:
    """A piece of one room wall: a switch, or the exit switch.

    :param room: the room whose wall it is on.
    :param wall: ``north``, ``south``, ``east`` or ``west``.
    :param at: its centre along the wall (x for north/south walls, y for east/west); ``None``: the middle.
    :param width: its length along the wall.
    """

    room: str
    wall: str
    at: float | None = None
    width: float = 32.0


@dataclass
class Door:
    """A door between two rooms that face each other across a gap; the door sector fills the gap.

    :param name: unique name.
    :param between: the two rooms (order free).
    :param width: opening width (at least 40: the player is 32 wide).
    :param at: centre of the door along the shared wall; ``None``: the middle of the part the rooms share.
    :param key: ``red``, ``blue`` or ``yellow``: locked, opened only by a player holding that key.
    :param trigger: ``use`` (press USE facing the door) or ``switch`` (press USE on ``switch``).
    :param switch: where the switch is, for ``trigger: switch``.
    :param stay_open: the door stays open (else it closes again after about 4 s, and USE opens it again).
    :param texture: face texture (default: by key colour).
    """

    name: str
    between: tuple[str, str]
    width: float = 64.0
    at: float | None = None
    key: str | None = None
    trigger: str = "use"
    switch: WallSpot | None = None
    stay_open: bool = False
    texture: str | None = None


@dataclass
class Thing:
    """A thing: a monster, an item, a key, a decoration.

    :param type: a name of :data:`sb3_plus.envs.doom_maps.catalog.THING_TYPES` or an editor number.
    :param room: the room it stands in (its middle unless ``x``/``y`` are given).
    :param x: position (with ``y``), instead of a room's middle.
    :param y: position.
    :param angle: facing, degrees counter-clockwise from east.
    :param name: optional label for errors.
    """

    type: str | int
    room: str | None = None
    x: float | None = None
    y: float | None = None
    angle: float = 0.0
    name: str = ""

    def label(self) -> str:
        return f"thing {self.name!r} ({self.type})" if self.name else f"thing {self.type!r}"


@dataclass
class Start:
    """Where the player starts: ``x``/``y`` or the middle of ``room``; ``angle`` in degrees (0: east)."""

    room: str | None = None
    x: float | None = None
    y: float | None = None
    angle: float = 0.0


@dataclass
class Goal:
    """The goal: reached when the player comes within ``radius`` of it (the env ends the episode, success).

    :param room: its room (the middle unless ``x``/``y`` are given).
    :param x: position.
    :param y: position.
    :param radius: how close counts as reached.
    :param reward: added to the step's reward when reached.
    :param marker: a thing placed there to be seen (``None``: nothing).
    """

    room: str | None = None
    x: float | None = None
    y: float | None = None
    radius: float = 32.0
    reward: float = 1.0
    marker: str | int | None = "GreenArmor"


@dataclass
class MapDescription:
    """A whole map and its episode rules.

    The episode ends with success when the player reaches the goal or uses an exit, without
    success when the player dies or after ``timeout`` tics.

    :param name: the map's name.
    :param rooms: rooms and corridors.
    :param start: the player start.
    :param doors: doors between rooms.
    :param things: monsters, items, keys.
    :param exits: exit switches on room walls.
    :param goal: the goal point (optional when there is an exit).
    :param timeout: episode length in tics (35 a second).
    :param living_reward: reward every tic.
    :param death_penalty: subtracted on death.
    :param exit_reward: reward for using an exit.
    :param skill: difficulty 1-5 (which monsters appear and how hard they hit).
    """

    name: str
    rooms: list[Room]
    start: Start
    doors: list[Door] = field(default_factory=list)
    things: list[Thing] = field(default_factory=list)
    exits: list[WallSpot] = field(default_factory=list)
    goal: Goal | None = None
    timeout: int = 2100
    living_reward: float = 0.0
    death_penalty: float = 1.0
    exit_reward: float = 1.0
    skill: int = 3

    def room(self, name: str) -> Room:
        for room in self.rooms:
            if room.name == name:
                return room
        raise MapError(f"map {self.name!r}: there is no room {name!r}. "
                       f"Fix: use one of the room names ({', '.join(r.name for r in self.rooms)})")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (YAML-ready); :func:`map_from_dict` reads it back."""
        return _plain(self)

    def save(self, path: str | Path) -> None:
        """Write the description as YAML (atomically)."""
        from sb3_plus.files import atomic_path

        with atomic_path(path) as tmp:
            tmp.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None))


def place(spot: Thing | Start | Goal, description: MapDescription) -> tuple[float, float]:
    """The ``(x, y)`` of a thing, the start or the goal (its own coordinates, else its room's middle)."""
    if spot.x is not None and spot.y is not None:
        return float(spot.x), float(spot.y)
    if spot.room is None:
        raise MapError(f"map {description.name!r}: {_spot_label(spot)} has neither a room nor x and y. "
                       "Fix: give it room: NAME, or x: and y:")
    return description.room(spot.room).center


def _spot_label(spot: Any) -> str:
    return spot.label() if isinstance(spot, Thing) else type(spot).__name__.lower()


def _plain(value: Any) -> Any:
    """Dataclasses as dicts without the fields left at their defaults, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = f.default_factory()  # type: ignore[misc]
            else:
                default = dataclasses.MISSING
            if default is dataclasses.MISSING or item != default:
                out[f.name] = _plain(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# -- reading plain data -------------------------------------------------------------------------
_NESTED = {"rooms": Room, "doors": Door, "things": Thing, "exits": WallSpot}
_SINGLE = {"start": Start, "goal": Goal, "switch": WallSpot}


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise MapError(f"{where}: expected a mapping of {cls.__name__} fields, got {data!r}. "
                       f"Fix: write it as {{{', '.join(f.name for f in dataclasses.fields(cls)[:3])}, ...}}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise MapError(f"{where}: unknown field {unknown[0]!r}. Fix: use one of {', '.join(sorted(names))}")
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]  # type: ignore[misc]
    missing = [n for n in required if n not in data]
    if missing:
        raise MapError(f"{where}: missing field {missing[0]!r}. Fix: add {missing[0]}: ...")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for key, value in data.items():
        label = f"{where}: field {key!r}"
        if key in _NESTED and cls is MapDescription:
            if not isinstance(value, list):
                raise MapError(f"{label}: expected a list, got {value!r}. Fix: write {key} as a YAML list")
            values[key] = [_build(_NESTED[key], item, f"{where}: {key}[{i}]") for i, item in enumerate(value)]
        elif key in _SINGLE and value is not None:
            values[key] = _build(_SINGLE[key], value, f"{where}: {key}")
        elif key == "between":
            if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(isinstance(v, str) for v in value):
                raise MapError(f"{label}: expected two room names, got {value!r}. Fix: write between: [room_a, room_b]")
            values[key] = (value[0], value[1])
        else:
            values[key] = _check_scalar(value, hints.get(key), label)
    return cls(**values)


def _check_scalar(value: Any, hint: Any, label: str) -> Any:
    text = str(hint)
    if value is None and "None" in text:
        return None
    if "float" in text and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if "int" not in text else value
    if ("int" in text and isinstance(value, int) and not isinstance(value, bool)) or \
            ("str" in text and isinstance(value, str)) or ("bool" in text and isinstance(value, bool)):
        return value
    kind = getattr(hint, "__name__", text.replace("typing.", ""))
    raise MapError(f"{label}: {value!r} is not of type {kind}. Fix: give a value of that type")


def map_from_dict(data: Any, source: str = "<memory>") -> MapDescription:
    """Build a :class:`MapDescription` from parsed YAML/JSON data; errors name the field and the fix."""
    return _build(MapDescription, data, source)


def load_map(path: str | Path) -> MapDescription:
    """Read a map description from a YAML file."""
    path = Path(path)
    if not path.is_file():
        raise MapError(f"{path}: map file not found. Fix: check the path")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise MapError(f"{path}: not valid YAML ({exc}). Fix: check indentation and brackets") from exc
    return map_from_dict(data, str(path))
