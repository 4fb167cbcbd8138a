"""The static geometry of a ViZDoom map (sectors, lines, heights, objects) and point-in-sector lookups.

Read from the engine on an env's first reset (:func:`read_geometry`), or built from a WAD for whole
levels (:func:`sb3_plus.envs.doom_maps.levels.wad_geometry`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["MapGeometry", "read_geometry"]


@dataclass
class MapGeometry:
    """Static geometry of the loaded map, read from the game once.

    :param lines: ``(N, 4)`` array of ``x1, y1, x2, y2`` for every sector line.
    :param blocking: ``(N,)`` bool, the line blocks movement.
    :param line_sector: ``(N,)`` sector index owning each line.
    :param sector_ids: the game's sector ids.
    :param floors: floor height per sector.
    :param objects: ``(name, x, y)`` of the objects present at the start.
    """

    lines: np.ndarray
    blocking: np.ndarray
    line_sector: np.ndarray
    sector_ids: list[int]
    floors: np.ndarray
    ceilings: np.ndarray
    objects: list[tuple[str, float, float]] = field(default_factory=list)
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_sectors(self) -> int:
        return len(self.sector_ids)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs, ys = self.lines[:, [0, 2]], self.lines[:, [1, 3]]
        return float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())

    def sector_at(self, x: float, y: float) -> int:
        """Index of the sector containing ``(x, y)``, or -1 (even-odd ray casting)."""
        return int(self.sectors_at(np.array([[x, y]], dtype=np.float64))[0])

    def sectors_at(self, points: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """Vectorised :meth:`sector_at` for ``(P, 2)`` points; the smallest sector wins where nested."""
        x1, y1, x2, y2 = (v[None, :] for v in self.lines.T)
        if not self._cache:
            one_hot = np.zeros((len(self.lines), self.n_sectors))
            one_hot[np.arange(len(self.lines)), self.line_sector] = 1.0
            self._cache["one_hot"] = one_hot
            self._cache["areas"] = np.array([self._area(i) for i in range(self.n_sectors)])
        one_hot, areas = self._cache["one_hot"], self._cache["areas"]
        out = np.empty(len(points), dtype=np.int64)
        for start in range(0, len(points), chunk):
            px = points[start:start + chunk, 0:1]
            py = points[start:start + chunk, 1:2]
            straddles = (y1 > py) != (y2 > py)
            with np.errstate(divide="ignore", invalid="ignore"):
                x_cross = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
            counts = (straddles & (x_cross > px)).astype(np.float64) @ one_hot
            inside = counts % 2 == 1
            ranked = np.where(inside, areas[None, :], np.inf)
            best = np.argmin(ranked, axis=1)
            out[start:start + chunk] = np.where(inside.any(axis=1), best, -1)
        return out

    def _area(self, sector: int) -> float:
        seg = self.lines[self.line_sector == sector]
        if len(seg) == 0:
            return 0.0
        # the shoelace sum needs every segment to run one way round the sector: a line's direction in the
        # map says nothing about which side the sector is on, so turn each one with its inside on the left
        x1, y1, x2, y2 = seg.T
        length = np.maximum(np.hypot(x2 - x1, y2 - y1), 1e-9)
        probe = np.stack([(x1 + x2) / 2 - (y2 - y1) / length * 0.5, (y1 + y2) / 2 + (x2 - x1) / length * 0.5], 1)
        py = probe[:, 1:2]
        straddles = (y1[None, :] > py) != (y2[None, :] > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = x1[None, :] + (py - y1[None, :]) * (x2 - x1)[None, :] / (y2 - y1)[None, :]
        left_inside = (straddles & (cross > probe[:, 0:1])).sum(axis=1) % 2 == 1
        sign = np.where(left_inside, 1.0, -1.0)
        return abs(float(np.sum(sign * (x1 * y2 - x2 * y1)))) / 2.0

    def find_object(self, name: str) -> tuple[float, float]:
        for obj_name, x, y in self.objects:
            if obj_name == name:
                return x, y
        raise KeyError(f"no object named {name!r} on the map; objects: {sorted({o[0] for o in self.objects})}")


def read_geometry(state: Any) -> MapGeometry:
    """The geometry of the map a ViZDoom ``state`` shows (needs sectors and objects info enabled)."""
    lines, blocking, owner, ids, floors, ceilings = [], [], [], [], [], []
    for index, sector in enumerate(state.sectors):
        ids.append(int(sector.id))
        floors.append(sector.floor_height)
        ceilings.append(sector.ceiling_height)
        for line in sector.lines:
            lines.append((line.x1, line.y1, line.x2, line.y2))
            blocking.append(bool(line.is_blocking))
            owner.append(index)
    objects = [(o.name, float(o.position_x), float(o.position_y)) for o in (state.objects or []) if o.name != "DoomPlayer"]
    return MapGeometry(
        lines=np.asarray(lines, dtype=np.float64),
        blocking=np.asarray(blocking, dtype=bool),
        line_sector=np.asarray(owner, dtype=np.int64),
        sector_ids=ids,
        floors=np.asarray(floors),
        ceilings=np.asarray(ceilings),
        objects=objects,
    )
