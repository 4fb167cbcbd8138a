"""What a map's lines and things mean: doors (and their keys), exits, teleporters, keys, player starts.

ViZDoom's sector info has no line specials, so planners and checks read them from the WAD
(:func:`sb3_plus.envs.doom_maps.wad.read_map`) and classify them here: vanilla Doom
numbers by table (:data:`~sb3_plus.envs.doom_maps.catalog.DOOM_SPECIALS`), Hexen and UDMF
lines by their special, lock argument and activation flags.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sb3_plus.envs.doom_maps.catalog import (DOOM_SPECIALS, HEXEN_DOORS, HEXEN_EXITS, HEXEN_TELEPORTS, KEY_THINGS,
                                             LOCK_ARGUMENT, LOCK_COLOURS, THING_NAMES)
from sb3_plus.envs.doom_maps.wad import DoomMap, MapLine, read_map

__all__ = ["LineFeature", "KeyThing", "MapFeatures", "map_features", "wad_features"]


@dataclass(frozen=True)
class LineFeature:
    """A line that does something.

    :param line: index into the map's lines.
    :param kind: ``door``, ``exit`` or ``teleport``.
    :param special: the line special number.
    :param trigger: ``use`` (a door opened where it stands: USE on the door), ``switch`` (USE here acts on
        tagged sectors), ``walk``, ``shoot`` or ``other``.
    :param repeat: can be triggered again.
    :param key: colour of the key needed (``red``, ``blue``, ``yellow``) or ``None``.
    :param secret: a secret exit.
    :param center: the line's midpoint.
    :param sectors: the sectors it moves (doors: the door sector(s)).
    """

    line: int
    kind: str
    special: int
    trigger: str
    repeat: bool
    key: str | None
    center: tuple[float, float]
    secret: bool = False
    sectors: tuple[int, ...] = ()


@dataclass(frozen=True)
class KeyThing:
    colour: str
    type: int
    name: str
    x: float
    y: float


@dataclass
class MapFeatures:
    """The doors, exits, teleporters, keys and player starts of one map."""

    name: str
    doors: list[LineFeature] = field(default_factory=list)
    exits: list[LineFeature] = field(default_factory=list)
    teleporters: list[LineFeature] = field(default_factory=list)
    keys: list[KeyThing] = field(default_factory=list)
    starts: list[tuple[float, float, float]] = field(default_factory=list)

    def locked_doors(self, colour: str | None = None) -> list[LineFeature]:
        return [d for d in self.doors if d.key is not None and (colour is None or d.key == colour)]

    def summary(self) -> str:
        locked = sorted({d.key for d in self.doors if d.key})
        return (f"{self.name}: {len(self.doors)} door lines ({len(self.locked_doors())} locked: "
                f"{', '.join(locked) or 'none'}), {len(self.exits)} exit lines, {len(self.teleporters)} teleporter "
                f"lines, keys: {', '.join(k.name for k in self.keys) or 'none'}, {len(self.starts)} player starts")


def _center(doom_map: DoomMap, line: MapLine) -> tuple[float, float]:
    x1, y1, x2, y2 = doom_map.line_points(line)
    return (x1 + x2) / 2, (y1 + y2) / 2


def _tagged(doom_map: DoomMap, tag: int) -> tuple[int, ...]:
    return tuple(k for k, s in enumerate(doom_map.sectors) if tag and s.tag == tag)


def _back_sector(doom_map: DoomMap, line: MapLine) -> tuple[int, ...]:
    if 0 <= line.back < len(doom_map.sides):
        return (doom_map.sides[line.back].sector,)
    return ()


def _classify_doom(doom_map: DoomMap, k: int, line: MapLine) -> LineFeature | None:
    info = DOOM_SPECIALS.get(line.special)
    if info is None:
        return None
    if info.kind == "door":
        sectors = _back_sector(doom_map, line) if info.trigger == "use" else _tagged(doom_map, line.tag)
    else:
        sectors = _tagged(doom_map, line.tag)
    return LineFeature(k, info.kind, line.special, info.trigger, info.repeat, info.key, _center(doom_map, line),
                       "secret" in info.action, sectors)


def _hexen_trigger(line: MapLine, manual_door: bool) -> str:
    if "use" in line.activation:
        return "use" if manual_door else "switch"
    if "cross" in line.activation:
        return "walk"
    if "impact" in line.activation:
        return "shoot"
    return "other"


def _classify_hexen(doom_map: DoomMap, k: int, line: MapLine) -> LineFeature | None:
    special, args = line.special, line.args + (0,) * (5 - len(line.args))
    center = _center(doom_map, line)
    if special in HEXEN_DOORS:
        manual = args[0] == 0
        lock = args[LOCK_ARGUMENT[special]] if special in LOCK_ARGUMENT else 0
        sectors = _back_sector(doom_map, line) if manual else _tagged(doom_map, args[0])
        return LineFeature(k, "door", special, _hexen_trigger(line, manual), line.repeat, LOCK_COLOURS.get(lock),
                           center, False, sectors)
    if special in HEXEN_EXITS:
        return LineFeature(k, "exit", special, _hexen_trigger(line, False), line.repeat, None, center,
                           HEXEN_EXITS[special])
    if special in HEXEN_TELEPORTS:
        return LineFeature(k, "teleport", special, _hexen_trigger(line, False), line.repeat, None, center)
    return None


def map_features(doom_map: DoomMap) -> MapFeatures:
    """Classify the lines and things of a map read by :func:`~sb3_plus.envs.doom_maps.wad.read_map`."""
    features = MapFeatures(doom_map.name)
    classify = _classify_doom if doom_map.format == "doom" else _classify_hexen
    for k, line in enumerate(doom_map.lines):
        found = classify(doom_map, k, line) if line.special else None
        if found is not None:
            {"door": features.doors, "exit": features.exits, "teleport": features.teleporters}[found.kind].append(found)
    for thing in doom_map.things:
        if thing.type in KEY_THINGS:
            name = THING_NAMES.get(thing.type, str(thing.type))
            features.keys.append(KeyThing(KEY_THINGS[thing.type], thing.type, name, thing.x, thing.y))
        elif thing.type == 1:
            features.starts.append((thing.x, thing.y, thing.angle))
    return features


def wad_features(path: str | os.PathLike | bytes, name: str | None = None) -> MapFeatures:
    """Read a map of a WAD and classify it (``wad_features(freedoom1_wad, "E1M1")``)."""
    return map_features(read_map(path, name))
