"""Exploration benchmarks: RND against plain RecurrentPPO from scratch, and cells discovered per env step."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from stable_baselines3.common.callbacks import BaseCallback

from sb3_plus.benchmarks.common import ENV, RESULTS, arms_run, save_result

RND_ARMS = ("ppo_lstm_rnd", "ppo_lstm")


class WallClockSnapshots(BaseCallback):
    """Save ``checkpoints/wall_<minutes>min.zip`` every ``every_s`` seconds of wall time since ``start``."""

    def __init__(self, every_s: float, start: float) -> None:
        super().__init__()
        self.every_s, self.start = every_s, start
        self.saved: list[dict[str, Any]] = []
        self.run_dir = Path(".")

    def _init_callback(self) -> None:
        # the run folder is the one holding config.yml above the logger's folder (``tb/``)
        path = Path(self.model.logger.get_dir())
        while path.parent != path and not (path / "config.yml").exists():
            path = path.parent
        self.run_dir = path

    def _on_step(self) -> bool:
        elapsed = time.perf_counter() - self.start
        if elapsed >= self.every_s * (len(self.saved) + 1):
            self.snapshot(elapsed)
        return True

    def snapshot(self, elapsed: float) -> None:
        from sb3_plus.training.callbacks import save_model_and_stats

        minutes = self.every_s * (len(self.saved) + 1) / 60
        path = self.run_dir / "checkpoints" / f"wall_{minutes:g}min.zip"
        save_model_and_stats(self.model, path)
        self.saved.append({"minutes": round(elapsed / 60, 2), "steps": int(self.num_timesteps), "path": str(path)})


def snapshot_run(algo: str, env_id: str, budget_minutes: float, snapshot_minutes: float,
                 score: Callable[[Path, int], dict[str, Any]], curve_episodes: int,
                 eval_episodes: int) -> tuple[Any, float, list[dict[str, Any]], dict[str, Any]]:
    """Train ``algo`` on ``env_id`` for ``budget_minutes`` of wall time with a snapshot every ``snapshot_minutes``,
    then ``score(model_path, episodes)`` each snapshot (``curve_episodes``) and the final model (``eval_episodes``).

    :return: ``(train result, wall seconds, curve, final)``.
    """
    from sb3_plus.training import train

    start = time.perf_counter()
    snapshots = WallClockSnapshots(snapshot_minutes * 60, start)
    result = train(algo, env_id, n_timesteps=10**9, log_folder="bench/runs", verbose=1, eval_freq=0,
                   max_seconds=budget_minutes * 60, callback=snapshots)
    wall = time.perf_counter() - start
    curve = []
    for snap in snapshots.saved:
        curve.append(dict(snap, **score(Path(snap["path"]), curve_episodes)))
        print(json.dumps(curve[-1]), flush=True)
    final = dict(score(result.model_path, eval_episodes), minutes=round(wall / 60, 2), steps=result.num_timesteps)
    return result, wall, curve, final


def bench_rnd(budget_minutes: float = 60.0, snapshot_minutes: float = 10.0, curve_episodes: int = 50,
              eval_episodes: int = 100, arms: Sequence[str] = RND_ARMS) -> dict[str, Any]:
    """MyWayHome from scratch, no expert: RND-RecurrentPPO against plain RecurrentPPO, the same wall budget each.

    The arms run one after the other, each alone on the machine, with the shipped zoo settings
    (``zoo_configs/ppo_lstm_rnd.yml`` and ``ppo_lstm.yml``). Every ``snapshot_minutes`` of wall time a
    snapshot is saved; after the budget, every snapshot plays ``curve_episodes`` held-out seeds (10000+)
    and the final model ``eval_episodes``, greedy and sampled: success against wall time per arm.
    """
    rows = []
    for algo in arms:
        result, wall, curve, final = snapshot_run(algo, ENV, budget_minutes, snapshot_minutes, _success,
                                                  curve_episodes, eval_episodes)
        rows.append({"algo": algo, "rl_steps": result.num_timesteps, "wall_minutes": round(wall / 60, 2),
                     "final": final, "curve": curve, "run_dir": str(result.run_dir)})
        print(json.dumps(rows[-1]), flush=True)
    _plot_curves(rows, RESULTS / "rnd_mywayhome.png")
    name, command = arms_run("rnd_mywayhome", arms, RND_ARMS,
                             f"python -m sb3_plus.bench --only rnd --budget-minutes {budget_minutes}")
    return save_result(name, {
        "env": ENV, "budget_minutes": budget_minutes, "rows": rows, "plot": str(RESULTS / "rnd_mywayhome.png"),
        "eval_seeds": f"10000-{10_000 + eval_episodes - 1}", "curve_seeds": f"10000-{10_000 + curve_episodes - 1}",
        "command": command})


def _success(model_path: Path, episodes: int) -> dict[str, Any]:
    from sb3_plus.models import evaluate_saved_model

    greedy = evaluate_saved_model(model_path, ENV, episodes=episodes, seed=10_000).summary()
    sampled = evaluate_saved_model(model_path, ENV, episodes=episodes, seed=10_000, deterministic=False).summary()
    return {"success_rate": greedy["success_rate"], "sampled_success_rate": sampled["success_rate"],
            "episodes": episodes}


def _axes() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4))


def _save(fig: Any, ax: Any, out: Path) -> None:
    import matplotlib.pyplot as plt

    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _plot_curves(rows: list[dict[str, Any]], out: Path) -> None:
    fig, ax = _axes()
    for row in rows:
        points = [(0.0, 0.0)] + [(c["minutes"], c["sampled_success_rate"]) for c in row["curve"]]
        points.append((row["final"]["minutes"], row["final"]["sampled_success_rate"]))
        ax.plot(*zip(*points), marker="o", label=f"{row['algo']} (sampled actions)")
    ax.set_xlabel("wall minutes (2 cores)")
    ax.set_ylabel("held-out success")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{ENV} from scratch")
    _save(fig, ax, out)


class CellCounter(BaseCallback):
    """Count the distinct pose cells the training envs visit, recording ``(steps, cells)`` every ``every`` steps."""

    def __init__(self, spec: Any, every: int) -> None:
        super().__init__()
        self.spec, self.every = spec, every
        self.cells: set = set()
        self.curve: list[tuple[int, int]] = []

    def _on_step(self) -> bool:
        from sb3_plus.exploration.cells import pose_cell

        for info in self.locals["infos"]:
            self.cells.add(pose_cell(info["pose"], self.spec))
        if self.num_timesteps // self.every > len(self.curve):
            self.curve.append((int(self.num_timesteps), len(self.cells)))
        return True


def _random_cells(env_id: str, env_kwargs: dict[str, Any], spec: Any, steps: int, every: int,
                  seed: int = 0) -> list[tuple[int, int]]:
    """Uniformly random actions from resets: ``(steps, distinct cells)`` every ``every`` steps."""
    import numpy as np

    from sb3_plus.envs import make_env
    from sb3_plus.exploration.cells import pose_cell

    env = make_env(env_id, **env_kwargs)
    env.action_space.seed(seed)
    rng = np.random.default_rng(seed)
    cells, curve = set(), []
    try:
        _, info = env.reset(seed=int(rng.integers(2**31)))
        cells.add(pose_cell(info["pose"], spec))
        for step in range(1, steps + 1):
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            cells.add(pose_cell(info["pose"], spec))
            if terminated or truncated:
                _, info = env.reset(seed=int(rng.integers(2**31)))
                cells.add(pose_cell(info["pose"], spec))
            if step % every == 0:
                curve.append((step, len(cells)))
    finally:
        env.close()
    return curve


def bench_cells(steps: int = 100_000, env_id: str = "MazeHard-v0", layout_seed: int = 0) -> dict[str, Any]:
    """Cells discovered against env steps on one fixed MazeHard layout: random actions, PPO+RND, Go-Explore.

    Cells are pose cells (one per maze grid cell). Every episode starts on the cell farthest from
    the goal (``fixed_start``). Random actions play from resets, PPO+RND trains with
    ``zoo_configs/ppo_rnd.yml`` (its ``norm_init_steps`` random-action steps come before the counted
    steps), Go-Explore runs until the budget. Same env step budget for all three.
    """
    import tempfile

    from sb3_plus.envs import make_env
    from sb3_plus.exploration import GoExploreSettings, go_explore
    from sb3_plus.exploration.cells import default_cell_spec
    from sb3_plus.training import train

    env_kwargs = {"fixed_layout_seed": layout_seed, "fixed_start": True}
    probe = make_env(env_id, **env_kwargs)
    _, info = probe.reset(seed=0)
    spec = default_cell_spec("maze", info)
    free_cells = int((~probe.unwrapped.layout().grid).sum())
    probe.close()
    every = max(1, steps // 100)
    curves: dict[str, list[tuple[int, int]]] = {"random": _random_cells(env_id, env_kwargs, spec, steps, every)}
    counter = CellCounter(spec, every)
    with tempfile.TemporaryDirectory() as work:
        train("ppo_rnd", env_id, n_timesteps=steps, log_folder=work, verbose=0, eval_freq=0, env_kwargs=env_kwargs,
              callback=counter)
        curves["ppo_rnd"] = counter.curve
        report = go_explore(env_id, out=Path(work) / "go", steps=steps, env_kwargs=env_kwargs,
                            settings=GoExploreSettings(stop="budget"), check_route=False)
        history = json.loads((Path(work) / "go" / "archive" / "archive.json").read_text())["history"]
    curves["go_explore"] = [(int(h[0]), int(h[2])) for h in history]
    _plot_cells(curves, env_id, RESULTS / "cells_mazehard.png")
    return save_result("cells_mazehard", {
        "env": env_id, "env_kwargs": env_kwargs, "steps": steps, "free_cells": free_cells,
        "final_cells": {name: curve[-1][1] if curve else 0 for name, curve in curves.items()},
        # Go-Explore's archive keeps the goal as a goal, not a cell: all cells but one is the whole maze
        "steps_to_all_cells_but_one": {name: next((s for s, c in curve if c >= free_cells - 1), None)
                                       for name, curve in curves.items()},
        "go_explore_first_goal_step": report.first_goal_step, "curves": curves,
        "plot": str(RESULTS / "cells_mazehard.png"), "command": "python -m sb3_plus.bench --only cells"})


def _plot_cells(curves: dict[str, list[tuple[int, int]]], env_id: str, out: Path) -> None:
    fig, ax = _axes()
    for name, curve in curves.items():
        if curve:
            ax.plot(*zip(*curve), label=name)
    ax.set_xlabel("env steps")
    ax.set_ylabel("distinct cells visited")
    ax.set_title(f"{env_id}, one fixed layout")
    _save(fig, ax, out)
