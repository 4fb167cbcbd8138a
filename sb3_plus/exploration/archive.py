"""The Go-Explore archive: cells, the best way found to each, and how often each was chosen and seen.

Per cell it keeps the best trajectory found (highest return, then shortest), the env state at its end
(encoded bytes, see :mod:`sb3_plus.exploration.restore`), the start seed it came from, and counts.
It also keeps every transition seen between two cells (the graph routes are planned on), where
the goal was reached from, and the best trajectory to the goal per start seed.

Saved as a folder (written whole or not at all)::

    archive.json     env, cell spec, counts, cells, transitions, goals, history
    states.npz       one uint8 array per cell: its encoded state
    actions.npz      the actions of every cell's and goal's best trajectory
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sb3_plus.errors import InputNotFoundError, UserError
from sb3_plus.exploration.cells import CellKey, CellSpec

__all__ = ["Archive", "ArchiveMismatchError", "Cell", "GoalRecord", "SelectionWeights", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_BETTER_EPS = 1e-9


class ArchiveMismatchError(UserError, ValueError):
    """An archive made on another env, with other env options or other cells than the run resuming it."""


@dataclass(frozen=True)
class SelectionWeights:
    """Count-based selection as in the Go-Explore paper: rarely chosen, rarely seen cells first.

    ``weight = chosen / (times_chosen + 1)**power + seen / (times_seen + 1)**power
    + since_new / (times_chosen_since_new + 1)**power + eps``.

    :param chosen: weight of the times-chosen term.
    :param seen: weight of the times-seen term.
    :param since_new: weight of the chosen-since-it-last-led-to-a-new-cell term.
    :param power: exponent of the counts (0.5: one over a square root).
    :param eps: floor, so every cell keeps a chance.
    """

    chosen: float = 1.0
    seen: float = 1.0
    since_new: float = 1.0
    power: float = 0.5
    eps: float = 1e-3


@dataclass
class Cell:
    """One cell: the best trajectory to it, the state there, and counts."""

    key: CellKey
    score: float
    length: int
    seed: int | None
    state: bytes | None
    actions: np.ndarray
    chosen: int = 0
    seen: int = 0
    chosen_since_new: int = 0
    found_step: int = 0
    found_seconds: float = 0.0
    pose_sum: list[float] = field(default_factory=lambda: [0.0, 0.0])
    pose_count: int = 0

    @property
    def position(self) -> tuple[float, float] | None:
        """Mean ``(x, y)`` of the poses seen in this cell (``None`` without poses)."""
        if not self.pose_count:
            return None
        return self.pose_sum[0] / self.pose_count, self.pose_sum[1] / self.pose_count


@dataclass
class GoalRecord:
    """The best trajectory to the goal from one start seed."""

    seed: int | None
    score: float
    length: int
    actions: np.ndarray
    from_key: CellKey | None
    found_step: int
    found_seconds: float


def is_better(score: float, length: int, old_score: float, old_length: int) -> bool:
    """Higher return wins; at equal return, the shorter trajectory."""
    return score > old_score + _BETTER_EPS or (abs(score - old_score) <= _BETTER_EPS and length < old_length)


class Archive:
    """Cells of one env, with the best trajectory to each.

    :param env_id: the env explored.
    :param env_kwargs: its options (an archive only resumes on the same env and options).
    :param cell_spec: how states become cells.
    :param family: the env family (for routes and messages).
    """

    def __init__(self, env_id: str, env_kwargs: dict[str, Any], cell_spec: CellSpec, family: str = "") -> None:
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        self.cell_spec = cell_spec
        self.family = family
        self.cells: dict[CellKey, Cell] = {}
        self.edges: set[tuple[CellKey, CellKey]] = set()
        self.goal_from: dict[CellKey, list[float]] = {}  # cell -> [sum x, sum y, count] of goal positions
        self.goals: dict[int | None, GoalRecord] = {}
        self.starts: dict[int, CellKey] = {}
        self.connected: dict[int, list[float]] = {}  # start seed -> [steps, seconds] when it got a way to the goal
        self.first_goal: list[float] | None = None  # [steps, seconds] when the goal was first reached
        self.returns = "restore"  # how explorers go back to cells: "restore" (saved states) or "replay"
        self.steps = 0
        self.replay_steps = 0  # env steps spent replaying trajectories to go back to cells (not in steps)
        self.seconds = 0.0
        self.iterations = 0
        self.history: list[list[float]] = []  # [steps, seconds, cells, goal seeds]

    # ------------------------------------------------------------------ growing
    def offer(self, key: CellKey, score: float, length: int, seed: int | None, state: Callable[[], bytes | None],
              actions: Callable[[], np.ndarray], pose: dict[str, Any] | None = None) -> bool:
        """Count a visit of ``key``; keep this trajectory if the cell is new or it beats the cell's.

        :param state: called only when the trajectory may be kept: the encoded state at its end, or ``None``
            when the env could not save it (then an existing cell keeps its trajectory).
        :param actions: called only when the trajectory is kept: its actions from the start seed's reset.
        :return: whether the cell is new.
        """
        cell = self.cells.get(key)
        new = cell is None
        if new or cell.state is None or is_better(score, length, cell.score, cell.length):
            snapshot = state()  # None: the env could not save this state (a cell without one is never chosen)
            if cell is None:
                cell = self.cells[key] = Cell(key, score, length, seed, snapshot, actions(), found_step=self.steps,
                                              found_seconds=self.seconds)
            elif snapshot is not None:
                cell.score, cell.length, cell.seed, cell.state, cell.actions = score, length, seed, snapshot, actions()
        cell.seen += 1
        if pose is not None:
            cell.pose_sum[0] += float(pose["x"])
            cell.pose_sum[1] += float(pose["y"])
            cell.pose_count += 1
        return new

    def add_start(self, seed: int, key: CellKey, state: bytes, pose: dict[str, Any] | None) -> None:
        """Record the cell a start seed's reset lands in (kept as a cell with an empty trajectory)."""
        self.starts[int(seed)] = key
        self.offer(key, 0.0, 0, int(seed), lambda: state, lambda: np.zeros(0, dtype=np.int64), pose)

    def add_edge(self, source: CellKey, target: CellKey) -> None:
        """A step went from cell ``source`` to cell ``target``."""
        if source != target:
            self.edges.add((source, target))

    def add_goal(self, from_key: CellKey | None, position: tuple[float, float] | None, score: float, length: int,
                 seed: int | None, actions: Callable[[], np.ndarray]) -> bool:
        """The goal was reached by a step from ``from_key``; keep the trajectory if it is the seed's best.

        :return: whether it is the seed's new best.
        """
        if self.first_goal is None:
            self.first_goal = [self.steps, round(self.seconds, 3)]
        if from_key is not None and position is not None:
            sums = self.goal_from.setdefault(from_key, [0.0, 0.0, 0.0])
            sums[0] += position[0]
            sums[1] += position[1]
            sums[2] += 1.0
        old = self.goals.get(seed)
        if old is not None and not is_better(score, length, old.score, old.length):
            return False
        self.goals[seed] = GoalRecord(seed, score, length, actions(), from_key, self.steps, self.seconds)
        return True

    def record_history(self) -> None:
        """Append ``[steps, seconds, cells, seeds with a goal trajectory]``."""
        self.history.append([self.steps, round(self.seconds, 3), len(self.cells), len(self.goals)])

    # ------------------------------------------------------------------ choosing
    def select(self, rng: np.random.Generator, n: int, weights: SelectionWeights = SelectionWeights()) -> list[Cell]:
        """Draw ``n`` cells (with replacement) by their count-based weights; cells without a state are skipped."""
        cells = [c for c in self.cells.values() if c.state is not None]
        if not cells:
            raise RuntimeError("the archive has no cell to return to")
        counts = np.array([(c.chosen, c.seen, c.chosen_since_new) for c in cells], dtype=np.float64)
        p = weights.power
        w = (weights.chosen / (counts[:, 0] + 1) ** p + weights.seen / (counts[:, 1] + 1) ** p
             + weights.since_new / (counts[:, 2] + 1) ** p + weights.eps)
        picks = rng.choice(len(cells), size=n, p=w / w.sum())
        return [cells[i] for i in picks]

    # ------------------------------------------------------------------ reading
    @property
    def best_goal(self) -> GoalRecord | None:
        """The best goal trajectory over all start seeds."""
        best = None
        for record in self.goals.values():
            if best is None or is_better(record.score, record.length, best.score, best.length):
                best = record
        return best

    def goal_position(self, key: CellKey) -> tuple[float, float] | None:
        sums = self.goal_from.get(key)
        return None if not sums else (sums[0] / sums[2], sums[1] / sums[2])

    def summary(self) -> dict[str, Any]:
        """Counts for reports: cells, steps, time, visits, best scores, goals per seed."""
        scores = [c.score for c in self.cells.values()]
        best = self.best_goal
        return {
            "env": self.env_id, "env_kwargs": self.env_kwargs, "cell_kind": self.cell_spec.kind,
            "cells": len(self.cells),
            "transitions": len(self.edges), "steps": self.steps, "seconds": round(self.seconds, 2),
            "returns": self.returns, "replay_steps": self.replay_steps, "first_goal": self.first_goal,
            "iterations": self.iterations, "visits": int(sum(c.seen for c in self.cells.values())),
            "best_cell_score": max(scores) if scores else None, "start_seeds": sorted(self.starts),
            "connected_at": {str(seed): {"steps": when[0], "seconds": when[1]}
                             for seed, when in sorted(self.connected.items())},
            "goal_seeds": sorted(s for s in self.goals if s is not None),
            "best_goal": None if best is None else {"seed": best.seed, "score": best.score, "length": best.length,
                                                     "found_step": best.found_step,
                                                     "found_seconds": round(best.found_seconds, 2)},
        }

    def top_cells(self, n: int = 10, by: str = "seen") -> list[Cell]:
        """The ``n`` cells with the most ``seen`` / ``chosen`` (or the highest ``score``)."""
        return sorted(self.cells.values(), key=lambda c: getattr(c, by), reverse=True)[:n]

    def check_matches(self, env_id: str, env_kwargs: dict[str, Any], cell_spec: CellSpec, where: str,
                      returns: str | None = None) -> None:
        """Raise :class:`ArchiveMismatchError` unless the archive was made on this env, options and cells
        (and, given ``returns``, goes back to cells the same way)."""
        if returns is not None and returns != self.returns:
            raise ArchiveMismatchError(
                f"{where}: this archive goes back to its cells by {self.returns}, not {returns} (its cells hold "
                f"{'no saved states' if self.returns == 'replay' else 'saved states'}). Fix: resume with "
                f"--returns {self.returns}, or write to a new --out folder")
        mine = (self.env_id, _plain(self.env_kwargs), self.cell_spec)
        theirs = (env_id, _plain(env_kwargs), cell_spec)
        if mine != theirs:
            raise ArchiveMismatchError(
                f"{where}: this archive was made on {self.env_id} with options {_plain(self.env_kwargs)} and "
                f"{self.cell_spec.kind} cells {self.cell_spec.to_dict()}, not on {env_id} with {_plain(env_kwargs)} "
                f"and {cell_spec.to_dict()}: its states and cells mean nothing there. Fix: resume with the archive's "
                "env, --env-kwargs and cell settings, or write to a new --out folder")

    # ------------------------------------------------------------------ saving
    def save(self, folder: str | Path) -> Path:
        """Write the archive as a folder, atomically (a half-written archive never appears)."""
        from sb3_plus.files import atomic_path
        from sb3_plus.utils import json_safe

        cells = list(self.cells.values())
        index = {c.key: i for i, c in enumerate(cells)}
        meta = {
            "format": FORMAT_VERSION, "env_id": self.env_id, "env_kwargs": self.env_kwargs, "family": self.family,
            "cell_spec": self.cell_spec.to_dict(), "steps": self.steps, "seconds": self.seconds,
            "returns": self.returns, "replay_steps": self.replay_steps, "first_goal": self.first_goal,
            "iterations": self.iterations, "history": self.history,
            "starts": [[seed, index[key]] for seed, key in self.starts.items()],
            "connected": [[seed, *when] for seed, when in self.connected.items()],
            "edges": sorted([index[a], index[b]] for a, b in self.edges),
            "goal_from": [[index[k], *v] for k, v in self.goal_from.items() if k in index],
            "goals": [{"seed": g.seed, "score": g.score, "length": g.length, "found_step": g.found_step,
                       "found_seconds": g.found_seconds, "from": index.get(g.from_key)} for g in self.goals.values()],
            "cells": [{"key": list(c.key), "score": c.score, "length": c.length, "seed": c.seed, "chosen": c.chosen,
                       "seen": c.seen, "since_new": c.chosen_since_new, "found_step": c.found_step,
                       "found_seconds": c.found_seconds, "pose_sum": c.pose_sum, "pose_count": c.pose_count,
                       "state": c.state is not None} for c in cells],
        }
        states = {f"s{i}": np.frombuffer(c.state, dtype=np.uint8) for i, c in enumerate(cells) if c.state is not None}
        actions = {f"a{i}": c.actions for i, c in enumerate(cells)}
        actions.update({f"g{j}": g.actions for j, g in enumerate(self.goals.values())})
        with atomic_path(folder) as tmp:
            tmp.mkdir()
            (tmp / "archive.json").write_text(json.dumps(json_safe(meta), allow_nan=False))
            np.savez(tmp / "states.npz", **states)
            np.savez(tmp / "actions.npz", **actions)
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path) -> "Archive":
        """Read an archive written by :meth:`save`.

        :raises InputNotFoundError: no archive in ``folder``.
        """
        folder = Path(folder)
        if not (folder / "archive.json").is_file():
            raise InputNotFoundError(f"{folder}: no Go-Explore archive here (archive.json is missing). Fix: pass the "
                                     "archive folder a run wrote (<out>/archive), or start a new run")
        meta = json.loads((folder / "archive.json").read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ArchiveMismatchError(f"{folder}: archive format {meta.get('format')!r}, this version reads "
                                       f"{FORMAT_VERSION}. Fix: start a new run")
        archive = cls(meta["env_id"], meta["env_kwargs"], CellSpec.from_dict(meta["cell_spec"]), meta.get("family", ""))
        archive.steps, archive.seconds, archive.iterations = meta["steps"], meta["seconds"], meta["iterations"]
        archive.history = meta["history"]
        archive.returns, archive.replay_steps = meta["returns"], meta["replay_steps"]
        archive.first_goal = meta["first_goal"]
        with np.load(folder / "states.npz", allow_pickle=False) as states, \
                np.load(folder / "actions.npz", allow_pickle=False) as actions:
            keys = []
            for i, c in enumerate(meta["cells"]):
                key = tuple(c["key"])
                keys.append(key)
                archive.cells[key] = Cell(key, c["score"], c["length"], c["seed"],
                                          states[f"s{i}"].tobytes() if c["state"] else None, actions[f"a{i}"],
                                          c["chosen"], c["seen"], c["since_new"], c["found_step"], c["found_seconds"],
                                          list(c["pose_sum"]), c["pose_count"])
            for j, g in enumerate(meta["goals"]):
                archive.goals[g["seed"]] = GoalRecord(g["seed"], g["score"], g["length"], actions[f"g{j}"],
                                                      None if g["from"] is None else keys[g["from"]],
                                                      g["found_step"], g["found_seconds"])
        archive.starts = {int(seed): keys[i] for seed, i in meta["starts"]}
        archive.connected = {int(seed): [steps, seconds] for seed, steps, seconds in meta["connected"]}
        archive.edges = {(keys[a], keys[b]) for a, b in meta["edges"]}
        archive.goal_from = {keys[i]: [x, y, n] for i, x, y, n in meta["goal_from"]}
        return archive


def _plain(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Options as JSON would hold them (so a saved archive compares equal to the run's options)."""
    return json.loads(json.dumps(kwargs, sort_keys=True, default=str))

