"""Cells: how Go-Explore groups the states it reaches.

Two kinds, as in the Go-Explore paper (Ecoffet et al., 2019/2021):

- ``frame``: the observation downscaled to ``11 x 8`` pixels with ``8`` grey levels (no domain
  knowledge; needs image observations);
- ``pose``: domain knowledge from ``info["pose"]``: the position in bins of ``cell_size`` pose
  units, plus the region the family reports (the ViZDoom sector, the maze cell).

A cell key is a tuple of ints, so archives store it as JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np
from PIL import Image

from sb3_plus.errors import BadOptionError

__all__ = ["CellSpec", "CellKey", "cell_key", "pose_cell", "frame_cell", "default_cell_spec", "POSE_CELL_SIZES"]

CellKey = tuple  # a tuple of ints

#: Default position bin per family, in pose units (a maze cell is 1 unit; ViZDoom's player is 32 units wide).
POSE_CELL_SIZES: dict[str, float] = {"maze": 1.0, "vizdoom": 32.0}

_KINDS = ("pose", "frame")


@dataclass(frozen=True)
class CellSpec:
    """How states become cells.

    :param kind: ``"pose"`` (from ``info["pose"]``) or ``"frame"`` (downscaled observation).
    :param cell_size: pose cells: the side of a position bin, in pose units.
    :param use_region: pose cells: add the pose's ``sector`` (ViZDoom sector, maze cell) to the key.
    :param width: frame cells: downscaled width in pixels.
    :param height: frame cells: downscaled height in pixels.
    :param levels: frame cells: grey levels kept.
    """

    kind: str = "pose"
    cell_size: float = 1.0
    use_region: bool = True
    width: int = 11
    height: int = 8
    levels: int = 8

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise BadOptionError(f"unknown cell kind {self.kind!r}. Fix: use one of {', '.join(_KINDS)}")
        if not self.cell_size > 0:
            raise BadOptionError(f"cell_size must be > 0, got {self.cell_size!r}. Fix: pass e.g. cell_size=32")
        if min(self.width, self.height) < 1 or not 2 <= self.levels <= 256:
            raise BadOptionError(f"frame cells need width, height >= 1 and 2..256 levels, got {self.width}x"
                                 f"{self.height}, {self.levels} levels. Fix: use the paper's 11x8, 8 levels")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CellSpec":
        return cls(**dict(data))


def pose_cell(pose: Mapping[str, Any], spec: CellSpec) -> CellKey:
    """The pose cell of ``pose``: ``(x bin, y bin[, region])``."""
    size = spec.cell_size
    key = (int(np.floor(float(pose["x"]) / size)), int(np.floor(float(pose["y"]) / size)))
    if spec.use_region and "sector" in pose:
        return key + (int(pose["sector"]),)
    return key


def _image(obs: Any) -> np.ndarray | None:
    if isinstance(obs, Mapping):
        obs = obs.get("image")
    array = np.asarray(obs) if obs is not None else None
    if array is None or array.ndim not in (2, 3) or array.dtype != np.uint8:
        return None
    return array


def frame_cell(obs: Any, spec: CellSpec) -> CellKey:
    """The frame cell of an image observation: grey, ``width x height``, ``levels`` grey levels.

    :raises BadOptionError: the observation is not an image.
    """
    image = _image(obs)
    if image is None:
        raise BadOptionError("frame cells need image observations (uint8 H x W [x C], or a dict with 'image'). "
                             "Fix: use a pixel env (e.g. MazeHardPixels-v0) or pose cells (--cells pose)")
    grey = image if image.ndim == 2 else image[..., -1] if image.shape[-1] != 3 else image.mean(axis=-1)
    small = Image.fromarray(np.asarray(grey, dtype=np.uint8)).resize((spec.width, spec.height), Image.BILINEAR)
    levels = (np.asarray(small, dtype=np.int64) * spec.levels) // 256
    return tuple(levels.ravel().tolist())


def cell_key(obs: Any, info: Mapping[str, Any], spec: CellSpec) -> CellKey:
    """The cell of a state, from its observation and info."""
    if spec.kind == "pose":
        pose = info.get("pose")
        if not isinstance(pose, Mapping) or "x" not in pose or "y" not in pose:
            raise BadOptionError("pose cells need info['pose'] with x and y. Fix: use an env family with a pose "
                                 "(maze, vizdoom) or frame cells (--cells frame)")
        return pose_cell(pose, spec)
    return frame_cell(obs, spec)


def default_cell_spec(family: str, info: Mapping[str, Any], kind: str | None = None,
                      cell_size: float | None = None) -> CellSpec:
    """The cell spec for an env: pose cells where ``info`` has a pose, else frame cells.

    :param family: the env family (for the default bin size, :data:`POSE_CELL_SIZES`).
    :param info: an ``info`` of the env (after reset).
    :param kind: force ``"pose"`` or ``"frame"``.
    :param cell_size: force the pose bin size.
    """
    has_pose = isinstance(info.get("pose"), Mapping) and "x" in info["pose"]
    kind = kind or ("pose" if has_pose else "frame")
    size = float(cell_size) if cell_size is not None else POSE_CELL_SIZES.get(family, 1.0)
    return CellSpec(kind=kind, cell_size=size)
