"""Pictures of an archive: cells over time, and the map of visited cells with the discovered route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sb3_plus.exploration.archive import Archive

__all__ = ["plot_cells_over_time", "plot_visited_map"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    from sb3_plus.files import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    _pyplot().close(fig)
    return Path(path)


def plot_cells_over_time(archive: Archive, path: str | Path) -> Path:
    """Cells in the archive against env steps and wall seconds, with the first goal marked."""
    plt = _pyplot()
    history = np.asarray(archive.history or [[0, 0, len(archive.cells), len(archive.goals)]], dtype=np.float64)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, column, label in ((axes[0], 0, "env steps"), (axes[1], 1, "wall seconds")):
        ax.plot(history[:, column], history[:, 2], color="tab:blue")
        reached = np.flatnonzero(history[:, 3] > 0)
        if reached.size:
            ax.axvline(history[reached[0], column], color="tab:green", linestyle="--", label="first goal")
            ax.legend(loc="lower right")
        ax.set_xlabel(label)
        ax.set_ylabel("cells")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Go-Explore archive on {archive.env_id}: {len(archive.cells)} cells")
    fig.tight_layout()
    return _save(fig, path)


def plot_visited_map(archive: Archive, path: str | Path, route: Any = None) -> Path | None:
    """Cells at their mean positions, coloured by visits; start cells, the goal and the route on top.

    :return: the path, or ``None`` when the cells carry no positions (frame cells without a pose).
    """
    cells = [c for c in archive.cells.values() if c.position is not None]
    if not cells:
        return None
    plt = _pyplot()
    xy = np.array([c.position for c in cells])
    seen = np.log10(1 + np.array([c.seen for c in cells], dtype=np.float64))
    fig, ax = plt.subplots(figsize=(7, 6))
    points = ax.scatter(xy[:, 0], xy[:, 1], c=seen, s=12, cmap="viridis", marker="s")
    fig.colorbar(points, ax=ax, label="log10(1 + visits)")
    if route is not None:
        for w in route.waypoints.values():
            if w.target is not None:
                t = route.waypoints[w.target].pos
                ax.annotate("", xy=t, xytext=w.pos, arrowprops={"arrowstyle": "->", "color": "tab:red", "lw": 0.6})
    starts = [archive.cells[k].position for k in archive.starts.values() if archive.cells[k].position is not None]
    if starts:
        ax.scatter(*np.array(starts).T, marker="o", s=60, facecolors="none", edgecolors="tab:orange", label="starts")
    goals = [archive.goal_position(k) for k in archive.goal_from]
    if goals:
        ax.scatter(*np.array(goals).T, marker="*", s=160, color="tab:green", label="goal reached")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="best", fontsize=8)
    ax.set_title(f"{archive.env_id}: {len(archive.cells)} cells, {archive.steps} steps")
    fig.tight_layout()
    return _save(fig, path)
