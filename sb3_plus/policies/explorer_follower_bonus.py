"""The explorer's reward: an exploration bonus from the privileged pose, one tracker per env.

- ``distance``: the distance walked this step;
- ``bbox``: how much this step grew the box around the positions visited (its width plus height);
- ``headings``: the share of the full turn newly faced this step (in 12 sectors of 30 degrees), which
  rewards looking around where walking is not the point.

Distances are divided by ``scale`` (map units per unit of bonus). The first step of an episode
only sets the start: its bonus is 0.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from sb3_plus.errors import BadOptionError

__all__ = ["BONUSES", "PoseBonus"]

BONUSES = ("bbox", "distance", "headings", "none")
_SECTORS = 12


class PoseBonus:
    """The exploration bonus of one env's episode.

    :param kind: a value of :data:`BONUSES`.
    :param scale: map units per unit of bonus (``distance`` and ``bbox``).
    """

    def __init__(self, kind: str = "bbox", scale: float = 64.0) -> None:
        if kind not in BONUSES:
            raise BadOptionError(f"explorer_bonus {kind!r} is unknown. Fix: use one of {', '.join(BONUSES)}")
        if not scale > 0:
            raise BadOptionError(f"bonus_scale {scale!r} must be > 0 (map units per unit of bonus). Fix: e.g. 64")
        self.kind, self.scale = kind, float(scale)
        self._last: tuple[float, float] | None = None
        self._box: list[float] = []
        self._seen: set[int] = set()

    def reset(self) -> None:
        """A new episode begins."""
        self._last, self._box, self._seen = None, [], set()

    def step(self, pose: Mapping[str, Any] | None) -> float:
        """The bonus of the step that ended in ``pose``."""
        if self.kind == "none":
            return 0.0
        if not pose or "x" not in pose:
            raise BadOptionError(f"explorer_bonus {self.kind!r} reads info['pose'], which this env does not give. "
                                 "Fix: use an env with a pose (vizdoom, maze), or explorer_bonus: none with "
                                 "explorer_task_coef > 0")
        x, y = float(pose["x"]), float(pose["y"])
        first = self._last is None
        bonus = 0.0
        if self.kind == "distance" and not first:
            bonus = math.dist((x, y), self._last) / self.scale  # type: ignore[arg-type]
        elif self.kind == "bbox":
            if first:
                self._box = [x, x, y, y]
            else:
                before = (self._box[1] - self._box[0]) + (self._box[3] - self._box[2])
                self._box = [min(self._box[0], x), max(self._box[1], x), min(self._box[2], y), max(self._box[3], y)]
                bonus = ((self._box[1] - self._box[0]) + (self._box[3] - self._box[2]) - before) / self.scale
        elif self.kind == "headings":
            sector = int((float(pose.get("heading", 0.0)) % 360.0) // (360.0 / _SECTORS))
            if not first and sector not in self._seen:
                bonus = 1.0 / _SECTORS
            self._seen.add(sector)
        self._last = (x, y)
        return bonus
