"""Map generators: ``seed -> MapDescription``, one layout per seed, registered as ``VizdoomGen-<name>-v0``.

- ``doorkey``: :func:`door_key_layout`, three rooms in a row: a USE door, a hall with a
  key on the way, a door locked with that key's colour, and the goal (plus an exit switch).
- ``nukage``: :func:`damage_corridor_layout`, a room, a corridor whose floor hurts, and a
  room whose exit switch ends the episode.

Sizes, offsets, door positions, the key colour and the goal vary with the seed; every
layout passes :func:`~sb3_plus.envs.doom_maps.validate.validate_map` and has a route.
"""

from __future__ import annotations

import random

from sb3_plus.envs.doom_maps.catalog import KEY_CARDS, KEY_COLOURS
from sb3_plus.envs.doom_maps.description import Door, Goal, MapDescription, MapError, Room, Start, Thing, WallSpot
from sb3_plus.envs.doom_maps.named import register_map

__all__ = ["door_key_layout", "damage_corridor_layout", "corridor"]

_WALLS = ("STARTAN2", "STONE2", "BROWN1", "GRAY1", "TEKWALL4")
DOOR_GAP = 16


def _step(rng: random.Random, lo: int, hi: int, step: int = 16) -> int:
    """A random multiple of ``step`` in ``[lo, hi]``."""
    return lo + step * rng.randint(0, (hi - lo) // step)


def _next_room(rng: random.Random, name: str, before: Room, gap: int, w: tuple[int, int], h: tuple[int, int],
               share: int) -> Room:
    """A room east of ``before`` (``gap`` between them) sharing at least ``share`` units of wall with it."""
    width, height = _step(rng, *w, 32), _step(rng, *h, 32)
    y = before.y + _step(rng, share - height, int(before.h) - share)
    return Room(name, before.x1 + gap, y, width, height, light=_step(rng, 160, 224, 16),
                wall_texture=rng.choice(_WALLS))


def _door_at(rng: random.Random, a: Room, b: Room, width: int) -> float:
    lo, hi = max(a.y, b.y) + width / 2 + 16, min(a.y1, b.y1) - width / 2 - 16
    return float(lo + 8 * rng.randint(0, int(hi - lo) // 8))


def corridor(name: str, a: Room, b: Room, width: float = 96, at: float | None = None, **fields) -> Room:
    """A corridor room filling the gap between two rooms that face each other (joined to both by openings).

    :param name: the corridor's name.
    :param a: one room.
    :param b: the other room, east or north of ``a`` with a gap between them.
    :param width: the corridor's width.
    :param at: its centre across the gap (default: the middle of the wall the rooms share).
    :param fields: other :class:`Room` fields (``damage``, ``light``, ...).
    """
    if b.x >= a.x1 and min(a.y1, b.y1) - max(a.y, b.y) >= width:
        centre = (max(a.y, b.y) + min(a.y1, b.y1)) / 2 if at is None else at
        return Room(name, a.x1, centre - width / 2, b.x - a.x1, width, **fields)
    if b.y >= a.y1 and min(a.x1, b.x1) - max(a.x, b.x) >= width:
        centre = (max(a.x, b.x) + min(a.x1, b.x1)) / 2 if at is None else at
        return Room(name, centre - width / 2, a.y1, width, b.y - a.y1, **fields)
    raise MapError(f"corridor {name!r}: room {b.name!r} is not east or north of room {a.name!r} with at least "
                   f"{width:g} units of wall facing it. Fix: pass the rooms west/south first, or move them")


def door_key_layout(seed: int) -> MapDescription:
    """Start room -> USE door -> hall with a key -> door locked with that key -> goal room.

    :param seed: chooses room sizes and offsets, door positions, the key colour and the goal's place.
    """
    rng = random.Random(seed)
    colour = rng.choice(KEY_COLOURS)
    start = Room("start", 0, 0, _step(rng, 256, 352, 32), _step(rng, 192, 320, 32), wall_texture=rng.choice(_WALLS))
    hall = _next_room(rng, "hall", start, DOOR_GAP, (320, 448), (256, 384), 128)
    vault = _next_room(rng, "vault", hall, DOOR_GAP, (256, 384), (256, 384), 128)
    first = Door("door", ("start", "hall"), at=_door_at(rng, start, hall, 64))
    locked = Door(f"{colour}_door", ("hall", "vault"), at=_door_at(rng, hall, vault, 64), key=colour)
    key_y = (first.at + locked.at) / 2  # type: ignore[operator]
    key = Thing(KEY_CARDS[colour], x=hall.center[0], y=min(max(key_y, hall.y + 48), hall.y1 - 48), name=f"{colour}_key")
    goal = Goal(x=vault.x + _step(rng, 96, int(vault.w) - 64), y=vault.y + _step(rng, 64, int(vault.h) - 64))
    return MapDescription(
        name=f"doorkey_s{seed}", rooms=[start, hall, vault],
        start=Start(x=start.x + 64, y=start.center[1], angle=0.0),
        doors=[first, locked], things=[key], exits=[WallSpot("vault", "east")], goal=goal, timeout=2100,
    )


def damage_corridor_layout(seed: int) -> MapDescription:
    """Start room -> a corridor whose floor hurts -> a room with the exit switch (the only way to succeed).

    :param seed: chooses the sizes, the corridor's length and damage, and the exit's wall.
    """
    rng = random.Random(seed)
    start = Room("start", 0, 0, _step(rng, 192, 288, 32), _step(rng, 192, 288, 32), wall_texture=rng.choice(_WALLS))
    width = _step(rng, 96, 128, 32)
    y = start.y + _step(rng, 16, int(start.h) - width - 16)
    corridor = Room("corridor", start.x1, y, _step(rng, 256, 384, 32), width, damage=_step(rng, 5, 10, 5),
                    damage_interval=32, wall_texture="BROWN1")
    room = _next_room(rng, "exit_room", corridor, 0, (192, 288), (192, 288), width)
    # the corridor must open fully onto the room: keep its whole end inside the room's west wall
    room.y = min(max(room.y, corridor.y1 - room.h + 16), corridor.y - 16)
    wall = rng.choice(("east", "north", "south"))
    return MapDescription(
        name=f"nukage_s{seed}", rooms=[start, corridor, room],
        start=Start(x=start.x + 48, y=corridor.y + width / 2, angle=0.0),
        exits=[WallSpot("exit_room", wall)], timeout=2100,
    )


register_map("doorkey", door_key_layout)
register_map("nukage", damage_corridor_layout)
