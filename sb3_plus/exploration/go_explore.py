"""Go-Explore, phase 1: remember the cells reached, return to a promising one, explore from it.

As in Ecoffet et al. ("First return, then explore", Nature 2021): an archive keeps, per cell, the
best trajectory found to it and the env state at its end (:mod:`sb3_plus.exploration.archive`);
each iteration draws cells by count-based weights, returns to each by restoring its state
(:mod:`sb3_plus.exploration.restore`) and explores from there with random actions that repeat the
previous one with probability ``repeat_prob``. ``n_envs`` envs each start from their own drawn
cell. Several start seeds share one archive: each seed's reset adds its start cell, and a seed
counts as solved once a chain of seen transitions leads from its start cell to the goal.

Phase 2 (:mod:`sb3_plus.exploration.discovered_routes`) turns the archive into a route file for
the waypoint expert; :func:`sb3_plus.exploration.go_explore_run.go_explore` runs both and writes
the files.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sb3_plus.errors import BadOptionError
from sb3_plus.exploration.archive import Archive, Cell, SelectionWeights
from sb3_plus.exploration.cells import CellKey, CellSpec, cell_key, pose_cell
from sb3_plus.exploration.restore import Restorer
from sb3_plus.rollout import success_of
from sb3_plus.utils import raise_if_interrupted

__all__ = ["GoExploreSettings", "Explorer", "explore_archive", "add_start_cells", "random_exploration",
           "family_defaults", "update_connected", "STOP_RULES", "RETURNS"]

#: When phase 1 stops before its budget: ``connected`` once every start seed reaches the goal through the
#: archive's transitions, ``goal`` at the first goal, ``budget`` never.
STOP_RULES = ("connected", "goal", "budget")
#: How an explorer goes back to a cell: restore its saved state, or replay its trajectory from a seeded reset.
RETURNS = ("restore", "replay")

#: Exploration defaults per family: steps per exploration and the probability of repeating an action.
#: Mazes: a turn is a quarter turn and a step one cell, so repeating mostly spins in place or presses into a
#: wall; short explorations of plain random actions found the goal of MazeHard (fixed layout 0, one start)
#: in 11k steps on average over 6 seeds (50-step explorations: 22k; repeating with p=0.25: 21k; random
#: actions from the start, no archive: not within 300k in 5 of 6). ViZDoom actions last 4 tics, so crossing
#: a room takes tens of repeated steps (the paper repeated with p=0.95 on Atari).
#: ``returns``: ViZDoom saves on the next two tics, and a save made while those tics reached the goal
#: stopped the engine ("Unknown net command"); its seeded resets replay exactly, so it goes back by replay.
#: ``lookahead``: route waypoints point this many cells ahead. A maze waypoint must point at a neighbouring
#: cell; on MyWayHome (32-unit cells) 1/2/3/4/5/6/8 gave 98/100/100/100/100/98/83% success on 60 held-out
#: spawns with 247/120/92/72/83/93/180 steps per episode: short lookaheads turn at every cell.
_FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "maze": {"explore_steps": 10, "repeat_prob": 0.0, "lookahead": 1, "returns": "restore"},
    "vizdoom": {"explore_steps": 100, "repeat_prob": 0.9, "lookahead": 4, "returns": "replay"},
}


def family_defaults(family: str) -> dict[str, Any]:
    """``explore_steps``, ``repeat_prob``, ``returns`` and the route's ``lookahead`` defaults for an env family."""
    return dict(_FAMILY_DEFAULTS.get(family, {"explore_steps": 100, "repeat_prob": 0.9, "lookahead": 1,
                                              "returns": "restore"}))


@dataclass
class GoExploreSettings:
    """Every knob of phase 1, with its default (``None``: the family's, see :func:`family_defaults`)."""

    start_seeds: tuple[int, ...] = (0,)
    """reset seeds whose start cells the archive must connect to the goal"""
    n_envs: int = 1
    """envs exploring side by side, each from its own drawn cell"""
    explore_steps: int | None = None
    """steps explored after each return to a cell"""
    repeat_prob: float | None = None
    """probability of repeating the previous action instead of drawing a new one"""
    returns: str | None = None
    """``restore`` (the env's saved states) or ``replay`` (reset with the cell's start seed, replay its actions:
    needs a deterministic env); default per family"""
    cells: str | None = None
    """``pose`` (info["pose"] bins + region) or ``frame`` (11x8, 8 grey levels); default pose where there is one"""
    cell_size: float | None = None
    """pose cells: bin side in pose units (default: maze 1, vizdoom 32)"""
    weights: SelectionWeights = field(default_factory=SelectionWeights)
    """count-based cell selection weights"""
    stop: str = "connected"
    """``connected``, ``goal`` or ``budget`` (see STOP_RULES)"""
    seed: int = 0
    """seed of cell selection and random actions"""
    check_every: int = 25
    """iterations between checks of the stop rule"""

    def __post_init__(self) -> None:
        if self.stop not in STOP_RULES:
            raise BadOptionError(f"unknown stop rule {self.stop!r}. Fix: use one of {', '.join(STOP_RULES)}")
        if self.n_envs < 1:
            raise BadOptionError(f"n_envs must be >= 1, got {self.n_envs}. Fix: pass n_envs=1 or more")
        if not self.start_seeds:
            raise BadOptionError("no start seed. Fix: pass at least one, e.g. start_seeds=(0,)")
        if self.explore_steps is not None and self.explore_steps < 1:
            raise BadOptionError(f"explore_steps must be >= 1, got {self.explore_steps}. Fix: pass e.g. 50")
        if self.returns is not None and self.returns not in RETURNS:
            raise BadOptionError(f"unknown way back {self.returns!r}. Fix: use one of {', '.join(RETURNS)}")
        if self.repeat_prob is not None and not 0.0 <= self.repeat_prob < 1.0:
            raise BadOptionError(f"repeat_prob must be in [0, 1), got {self.repeat_prob}. Fix: pass e.g. 0.9")

    def resolved(self, family: str) -> "GoExploreSettings":
        """A copy with the family's defaults filled in."""
        defaults = family_defaults(family)
        out = GoExploreSettings(**{**asdict(self), "weights": self.weights})
        out.start_seeds = tuple(int(s) for s in self.start_seeds)
        out.explore_steps = int(self.explore_steps or defaults["explore_steps"])
        out.repeat_prob = float(defaults["repeat_prob"] if self.repeat_prob is None else self.repeat_prob)
        out.returns = str(self.returns or defaults["returns"])
        return out


def _action_sampler(space: spaces.Space, rng: np.random.Generator) -> Callable[[], Any]:
    if isinstance(space, spaces.Discrete):
        n, start = int(space.n), int(space.start)
        return lambda: start + int(rng.integers(n))
    space.seed(int(rng.integers(2**31 - 1)))
    return space.sample


def _concat(prefix: np.ndarray, taken: list[Any]) -> np.ndarray:
    """The actions of a trajectory: the cell's, then those taken since returning to it."""
    if not taken:
        return prefix
    new = np.asarray(taken)
    return new if prefix.size == 0 else np.concatenate([prefix, new.astype(prefix.dtype, copy=False)])


def _goal_position(pose: dict | None, prev: dict | None, prev2: dict | None) -> tuple[float, float] | None:
    """Where the goal was reached. An env that repeats the last pose on its final step (ViZDoom) gets
    the last step's movement added once more."""
    if pose is None:
        return None
    x, y = float(pose["x"]), float(pose["y"])
    if prev is not None and prev2 is not None and (x, y) == (float(prev["x"]), float(prev["y"])):
        x, y = 2 * x - float(prev2["x"]), 2 * y - float(prev2["y"])
    return x, y


class Explorer:
    """One env that returns to cells and explores from them.

    :param env: the env.
    :param restorer: its way back to saved states; ``None``: go back by replaying a cell's trajectory from
        a reset with its start seed (a deterministic env).
    :param spec: how states become cells.
    :param rng: random actions.
    """

    def __init__(self, env: gym.Env, restorer: Restorer | None, spec: CellSpec, rng: np.random.Generator) -> None:
        self.env, self.restorer, self.spec, self.rng = env, restorer, spec, rng
        self.sample = _action_sampler(env.action_space, rng)
        self._ended = False
        try:  # a family that reports its pose between steps (ViZDoom) tells where an inexact restore landed
            pose = env.get_wrapper_attr("pose")
        except AttributeError:
            pose = None
        self._pose = pose if callable(pose) and spec is not None and spec.kind == "pose" else None

    def _restored_cell(self, cell: Cell) -> CellKey | None:
        """The cell the env is in right after returning to ``cell`` (``None``: unknown)."""
        if self.restorer is None or self.restorer.exact:
            return cell.key
        return None if self._pose is None else pose_cell(self._pose(), self.spec)

    def return_to(self, cell: Cell, archive: Archive) -> bool:
        """Put the env in ``cell``'s state: restore it, or replay its trajectory (counted in ``replay_steps``).

        :return: false when a replay ended early (the env is not deterministic: the cell is skipped).
        """
        if self.restorer is not None:
            self.restorer.restore(self.restorer.decode(cell.state))
            return True
        self.env.reset(seed=cell.seed)
        for action in cell.actions.tolist():
            _, _, terminated, truncated, _ = self.env.step(action)
            archive.replay_steps += 1
            if terminated or truncated:
                return False
        return True

    def state(self) -> bytes | None:
        """The env's current state, encoded (``None``: it could not be saved; empty when going back by replay)."""
        if self.restorer is None:
            return b""
        snapshot = self.restorer.snapshot()
        if snapshot is None:
            self._ended = True  # saving ended the episode: this exploration is over
            return None
        return self.restorer.encode(snapshot)

    def explore(self, archive: Archive, cell: Cell, steps: int, repeat_prob: float) -> bool:
        """Return to ``cell`` and take up to ``steps`` random actions, growing ``archive``.

        :return: whether a new cell was found.
        """
        env, rng, spec = self.env, self.rng, self.spec
        cell.chosen += 1
        cell.chosen_since_new += 1
        score, length, seed, prefix = cell.score, cell.length, cell.seed, cell.actions
        taken: list[Any] = []
        self._ended = False
        if not self.return_to(cell, archive):
            return False
        prev = self._restored_cell(cell)
        pose = prev_pose = prev_pose2 = None
        action, found_new = None, False
        for _ in range(steps):
            if action is None or rng.random() >= repeat_prob:
                action = self.sample()
            obs, reward, terminated, truncated, info = env.step(action)
            archive.steps += 1
            taken.append(action)
            score += float(reward)
            length += 1
            prev_pose2, prev_pose, pose = prev_pose, pose, info.get("pose")
            if success_of(info):
                archive.add_goal(prev if prev is not None else cell.key, _goal_position(pose, prev_pose, prev_pose2),
                                 score, length, seed, lambda: _concat(prefix, taken))
                break
            if terminated or truncated:
                break
            key = cell_key(obs, info, spec)
            found_new |= archive.offer(key, score, length, seed, self.state, lambda: _concat(prefix, taken), pose)
            if prev is not None:
                archive.add_edge(prev, key)
            prev = key
            if self._ended:
                break
        if found_new:
            cell.chosen_since_new = 0
        return found_new


def add_start_cells(archive: Archive, explorer: Explorer, seeds: tuple[int, ...]) -> None:
    """Reset with each seed not yet in the archive and add the cell it starts in."""
    for seed in seeds:
        if int(seed) in archive.starts:
            continue
        obs, info = explorer.env.reset(seed=int(seed))
        archive.add_start(int(seed), cell_key(obs, info, explorer.spec), explorer.state(), info.get("pose"))


def update_connected(archive: Archive) -> list[int]:
    """Record when each start seed first got a way to the goal (``archive.connected``); return those seeds."""
    if not archive.goal_from:
        return []
    from sb3_plus.exploration.discovered_routes import connected_seeds

    seeds = connected_seeds(archive)
    for seed in seeds:
        archive.connected.setdefault(seed, [archive.steps, round(archive.seconds, 3)])
    return seeds


def _stop_now(archive: Archive, settings: GoExploreSettings) -> bool:
    connected = update_connected(archive)
    if settings.stop == "goal":
        return bool(archive.goals)
    return settings.stop == "connected" and len(connected) == len(archive.starts)


def explore_archive(archive: Archive, explorers: list[Explorer], settings: GoExploreSettings,
                    max_steps: int | None = None, max_seconds: float | None = None,
                    on_iteration: Callable[[Archive], None] | None = None) -> Archive:
    """Grow ``archive`` until the stop rule holds or the budget is spent (phase 1).

    :param archive: the archive (with its start cells, :func:`add_start_cells`).
    :param explorers: one per env.
    :param settings: resolved settings (:meth:`GoExploreSettings.resolved`).
    :param max_steps: env steps to take in this call.
    :param max_seconds: wall seconds for this call.
    :param on_iteration: called after every iteration (progress bars, periodic saves).
    """
    if max_steps is None and max_seconds is None:
        raise BadOptionError("Go-Explore needs a budget. Fix: pass max_steps, max_seconds (--steps, --minutes) or both")
    rng = np.random.default_rng([settings.seed, archive.iterations])
    start, steps0, seconds0 = time.perf_counter(), archive.steps, archive.seconds
    last_record = -1.0
    while True:
        raise_if_interrupted()
        elapsed = time.perf_counter() - start
        archive.seconds = seconds0 + elapsed
        if (max_steps is not None and archive.steps - steps0 >= max_steps) or \
                (max_seconds is not None and elapsed >= max_seconds):
            break
        cells_before = len(archive.cells)
        for explorer, cell in zip(explorers, archive.select(rng, len(explorers), settings.weights)):
            explorer.explore(archive, cell, settings.explore_steps, settings.repeat_prob)
        archive.iterations += 1
        if len(archive.cells) != cells_before or elapsed - last_record >= 1.0:
            archive.record_history()
            last_record = elapsed
        if on_iteration is not None:
            on_iteration(archive)
        if archive.iterations % settings.check_every == 0 and _stop_now(archive, settings):
            break
    archive.seconds = seconds0 + time.perf_counter() - start
    update_connected(archive)
    archive.record_history()
    return archive


def random_exploration(env: gym.Env, max_steps: int, seed: int = 0, repeat_prob: float = 0.0,
                       reset_seed: int | None = None) -> int | None:
    """The baseline: random actions (repeated with ``repeat_prob``) from resets, no archive.

    :param env: the env.
    :param max_steps: the step budget.
    :param seed: seed of the random actions.
    :param reset_seed: seed of every reset (the same start each time, as Go-Explore's start seed);
        ``None``: the env's generator draws the starts.
    :return: the env steps taken when the goal was first reached, or ``None`` within the budget.
    """
    rng = np.random.default_rng(seed)
    sample = _action_sampler(env.action_space, rng)
    env.reset(seed=reset_seed)
    action = None
    for step in range(1, max_steps + 1):
        if action is None or rng.random() >= repeat_prob:
            action = sample()
        _, _, terminated, truncated, info = env.step(action)
        if success_of(info):
            return step
        if terminated or truncated:
            env.reset(seed=reset_seed)
            action = None
    return None
