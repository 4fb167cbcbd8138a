"""WAD files: write a PWAD of lumps, and read maps (Doom, Hexen and UDMF formats) into plain records.

A WAD is a 12-byte header (``IWAD``/``PWAD``, lump count, directory offset), the lump
data, and a directory of 16-byte entries (offset, size, 8-byte name). A map is a marker
lump (``E1M1``, ``MAP01``) followed either by ``THINGS``, ``LINEDEFS``, ``SIDEDEFS``,
``VERTEXES``, ``SECTORS``... (binary records; the Hexen format has a ``BEHAVIOR`` lump and
wider lines and things) or by ``TEXTMAP`` ... ``ENDMAP`` (UDMF text).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from sb3_plus.envs.doom_maps.description import MapError
from sb3_plus.envs.doom_maps.udmf import parse_udmf

__all__ = ["bundled_wad", "pack_wad", "write_wad", "read_lumps", "map_names", "read_map", "DoomMap", "MapThing",
           "MapLine", "MapSide", "MapSector", "WadError"]

_MAP_LUMPS = ("THINGS", "LINEDEFS", "SIDEDEFS", "VERTEXES", "SEGS", "SSECTORS", "NODES", "SECTORS", "REJECT",
              "BLOCKMAP", "BEHAVIOR", "SCRIPTS")


class WadError(MapError):
    """A file that is not a readable WAD, or a map it does not hold."""


def bundled_wad(name: str = "freedoom1.wad") -> Path:
    """A WAD shipped with the ``vizdoom`` package (``freedoom1.wad``, ``freedoom2.wad``, scenario WADs)."""
    import vizdoom

    root = Path(vizdoom.__file__).resolve().parent
    for folder in (root, root / "scenarios"):
        if (folder / name).is_file():
            return folder / name
    shipped = sorted(p.name for p in (*root.glob("*.wad"), *(root / "scenarios").glob("*.wad")))
    raise WadError(f"no {name} in the vizdoom package ({root}); it ships {', '.join(shipped)}. "
                   "Fix: pass one of those names, or the path of your WAD")


def pack_wad(lumps: Iterable[tuple[str, bytes]], kind: str = "PWAD") -> bytes:
    """The bytes of a WAD holding ``lumps`` (name, data) in order."""
    lumps = list(lumps)
    data, directory, offset = [], [], 12
    for name, body in lumps:
        if len(name) > 8 or not name.isascii():
            raise WadError(f"lump name {name!r} must be at most 8 ASCII characters. Fix: shorten it")
        directory.append(struct.pack("<ii8s", offset, len(body), name.upper().encode()))
        data.append(body)
        offset += len(body)
    return struct.pack("<4sii", kind.encode(), len(lumps), offset) + b"".join(data) + b"".join(directory)


def write_wad(path: str | os.PathLike, lumps: Iterable[tuple[str, bytes]]) -> Path:
    """Write a PWAD atomically (complete or not at all)."""
    from sb3_plus.files import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(pack_wad(lumps))
    return Path(path)


def read_lumps(source: str | os.PathLike | bytes) -> list[tuple[str, bytes]]:
    """The lumps of a WAD (a path or its bytes), in directory order."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    where = "<bytes>" if isinstance(source, bytes) else str(source)
    if len(data) < 12 or data[:4] not in (b"IWAD", b"PWAD"):
        raise WadError(f"{where}: not a WAD file (no IWAD/PWAD header). Fix: pass a .wad file")
    count, offset = struct.unpack_from("<ii", data, 4)
    if count < 0 or offset < 12 or offset + 16 * count > len(data):
        raise WadError(f"{where}: the WAD directory lies outside the file (truncated?). Fix: use a complete WAD")
    lumps = []
    for k in range(count):
        pos, size, raw = struct.unpack_from("<ii8s", data, offset + 16 * k)
        name = raw.split(b"\0", 1)[0].decode("ascii", "replace").upper()
        lumps.append((name, data[pos:pos + size]))
    return lumps


def _is_marker(lumps: list[tuple[str, bytes]], k: int) -> bool:
    return k + 1 < len(lumps) and lumps[k + 1][0] in ("THINGS", "TEXTMAP")


def map_names(source: str | os.PathLike | bytes | list[tuple[str, bytes]]) -> list[str]:
    """Names of the maps in a WAD (``E1M1``, ``MAP01``, ...)."""
    lumps = source if isinstance(source, list) else read_lumps(source)
    return [lumps[k][0] for k in range(len(lumps)) if _is_marker(lumps, k)]


@dataclass
class MapThing:
    type: int
    x: float
    y: float
    angle: float
    flags: int = 0
    tid: int = 0


@dataclass
class MapLine:
    v1: int
    v2: int
    special: int
    tag: int
    front: int
    back: int  # -1: one-sided
    flags: int = 0
    args: tuple[int, ...] = ()
    activation: frozenset[str] = frozenset()  # Hexen / UDMF: use, cross, impact, ...
    repeat: bool = False


@dataclass
class MapSide:
    sector: int
    top: str = "-"
    middle: str = "-"
    bottom: str = "-"


@dataclass
class MapSector:
    floor: float
    ceiling: float
    floor_texture: str
    ceiling_texture: str
    light: int
    special: int
    tag: int


@dataclass
class DoomMap:
    """One map's records; ``format`` is ``doom``, ``hexen`` or ``udmf`` (lines then use Hexen-style specials)."""

    name: str
    format: str
    vertices: list[tuple[float, float]]
    lines: list[MapLine]
    sides: list[MapSide]
    sectors: list[MapSector]
    things: list[MapThing]
    namespace: str = ""
    extra: dict = field(default_factory=dict)

    def line_points(self, line: MapLine) -> tuple[float, float, float, float]:
        (x1, y1), (x2, y2) = self.vertices[line.v1], self.vertices[line.v2]
        return x1, y1, x2, y2


def _name8(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace").upper()


_HEXEN_SPAC = {0: "cross", 1: "use", 2: "monstercross", 3: "impact", 4: "push", 5: "projectilecross"}


def _binary_map(name: str, parts: dict[str, bytes]) -> DoomMap:
    hexen = "BEHAVIOR" in parts
    vertices = [(float(x), float(y)) for x, y in struct.iter_unpack("<hh", parts.get("VERTEXES", b""))]
    sides = [MapSide(sector, _name8(top), _name8(mid), _name8(bottom))
             for _, _, top, bottom, mid, sector in struct.iter_unpack("<hh8s8s8sH", parts.get("SIDEDEFS", b""))]
    sectors = [MapSector(float(f), float(c), _name8(ft), _name8(ct), light, special, tag)
               for f, c, ft, ct, light, special, tag in struct.iter_unpack("<hh8s8shHH", parts.get("SECTORS", b""))]
    lines, things = [], []
    if hexen:
        for v1, v2, flags, special, *rest in struct.iter_unpack("<HHHB5BHH", parts.get("LINEDEFS", b"")):
            args, front, back = tuple(rest[:5]), rest[5], rest[6]
            lines.append(MapLine(v1, v2, special, args[0], front, -1 if back == 0xFFFF else back, flags, args,
                                 frozenset({_HEXEN_SPAC.get((flags >> 10) & 7, "cross")}), bool(flags & 0x200)))
        for tid, x, y, _z, angle, kind, flags, _special, *_args in struct.iter_unpack("<hhhhHHHB5B",
                                                                                      parts.get("THINGS", b"")):
            things.append(MapThing(kind, float(x), float(y), float(angle), flags, tid))
    else:
        for v1, v2, flags, special, tag, front, back in struct.iter_unpack("<HHHHHHH", parts.get("LINEDEFS", b"")):
            lines.append(MapLine(v1, v2, special, tag, front, -1 if back == 0xFFFF else back, flags))
        for x, y, angle, kind, flags in struct.iter_unpack("<hhHHH", parts.get("THINGS", b"")):
            things.append(MapThing(kind, float(x), float(y), float(angle), flags))
    return DoomMap(name, "hexen" if hexen else "doom", vertices, lines, sides, sectors, things)


_UDMF_ACTIVATION = {"playeruse": "use", "playercross": "cross", "anycross": "cross", "impact": "impact",
                    "playerpush": "push", "monstercross": "monstercross", "monsteruse": "monsteruse",
                    "missilecross": "projectilecross"}


def _udmf_map(name: str, text: str) -> DoomMap:
    globals_, blocks = parse_udmf(text)
    vertices = [(float(v.get("x", 0)), float(v.get("y", 0))) for v in blocks.get("vertex", [])]
    lines = []
    for ld in blocks.get("linedef", []):
        args = tuple(int(ld.get(f"arg{k}", 0)) for k in range(5))
        activation = frozenset(word for key, word in _UDMF_ACTIVATION.items() if ld.get(key) is True)
        lines.append(MapLine(int(ld["v1"]), int(ld["v2"]), int(ld.get("special", 0)), args[0],
                             int(ld.get("sidefront", -1)), int(ld.get("sideback", -1)), 0, args, activation,
                             bool(ld.get("repeatspecial", False))))
    sides = [MapSide(int(s["sector"]), str(s.get("texturetop", "-")), str(s.get("texturemiddle", "-")),
                     str(s.get("texturebottom", "-"))) for s in blocks.get("sidedef", [])]
    sectors = [MapSector(float(s.get("heightfloor", 0)), float(s.get("heightceiling", 0)),
                         str(s.get("texturefloor", "-")), str(s.get("textureceiling", "-")),
                         int(s.get("lightlevel", 160)), int(s.get("special", 0)), int(s.get("id", 0)))
               for s in blocks.get("sector", [])]
    things = [MapThing(int(t["type"]), float(t.get("x", 0)), float(t.get("y", 0)), float(t.get("angle", 0)),
                       0, int(t.get("id", 0))) for t in blocks.get("thing", [])]
    damage = {k: (int(s.get("damageamount", 0)), int(s.get("damageinterval", 32)))
              for k, s in enumerate(blocks.get("sector", [])) if s.get("damageamount")}
    return DoomMap(name, "udmf", vertices, lines, sides, sectors, things, str(globals_.get("namespace", "")),
                   {"sector_damage": damage})


def read_map(source: str | os.PathLike | bytes, name: str | None = None) -> DoomMap:
    """Read one map of a WAD.

    :param source: the WAD (path or bytes).
    :param name: the map (``E1M1``, ``MAP01``); ``None``: the first.
    :raises WadError: not a WAD, or no such map (the message lists the maps).
    """
    lumps = read_lumps(source)
    names = map_names(lumps)
    wanted = (name or (names[0] if names else "")).upper()
    if wanted not in names:
        raise WadError(f"{source if not isinstance(source, bytes) else '<bytes>'}: no map {name!r}; "
                       f"maps: {', '.join(names) or 'none'}. Fix: pass one of those names")
    k = next(i for i in range(len(lumps)) if lumps[i][0] == wanted and _is_marker(lumps, i))
    if lumps[k + 1][0] == "TEXTMAP":
        return _udmf_map(wanted, lumps[k + 1][1].decode("utf-8", "replace"))
    parts: dict[str, bytes] = {}
    for lump_name, body in lumps[k + 1:]:
        if lump_name not in _MAP_LUMPS or lump_name in parts:
            break
        parts[lump_name] = body
    return _binary_map(wanted, parts)
