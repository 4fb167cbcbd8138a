"""Atari benchmark: PPO on Pong from the shipped zoo entry, mean return against wall time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sb3_plus.benchmarks.common import RESULTS, cpu_cores, save_result
from sb3_plus.benchmarks.exploration import _axes, _save, snapshot_run

PONG = "ALE/Pong-v5"


def _score(model_path: Path, episodes: int) -> dict[str, Any]:
    """Mean game score (the real one: evaluation plays whole games, unclipped) on held-out seeds 10000+."""
    from sb3_plus.models import evaluate_saved_model

    result = evaluate_saved_model(model_path, PONG, episodes=episodes, seed=10_000)
    return {"mean_return": round(result.mean_return, 2), "std_return": round(result.std_return, 2),
            "episodes": episodes}


def bench_pong(budget_minutes: float = 60.0, snapshot_minutes: float | None = None,
               eval_episodes: int = 20) -> dict[str, Any]:
    """PPO on Pong (``zoo_configs/ppo.yml``: rl-zoo3's ``atari`` settings, 8 envs in worker processes) for
    ``budget_minutes`` of wall time on the cores the process may use (60 minutes on 2 cores, or 120 under
    ``taskset -c 0``: 2 CPU-hours either way).

    A snapshot is saved every ``snapshot_minutes`` (a sixth of the budget when not given); after the
    budget each snapshot and the final model play ``eval_episodes`` held-out games (seeds 10000+, greedy):
    the score against wall time and steps.
    """
    snapshot_minutes = snapshot_minutes or budget_minutes / 6
    result, wall, curve, final = snapshot_run("ppo", PONG, budget_minutes, snapshot_minutes, _score, eval_episodes,
                                              eval_episodes)
    plot = RESULTS / "pong.png"
    fig, ax = _axes()
    points = [(c["minutes"], c["mean_return"]) for c in curve] + [(final["minutes"], final["mean_return"])]
    ax.plot(*zip(*points), marker="o", label="PPO, greedy")
    ax.set_xlabel("wall minutes")
    ax.set_ylabel(f"mean score, {eval_episodes} held-out games")
    ax.set_title(PONG)
    _save(fig, ax, plot)
    return save_result("pong", {
        "env": PONG, "budget_minutes": budget_minutes, "cpu_hours": round(cpu_cores() * wall / 3600, 2),
        "rl_steps": result.num_timesteps,
        "steps_per_s": round(result.num_timesteps / wall, 1), "final": final, "curve": curve,
        "target": "mean return >= 18 on 20 held-out games within 2 CPU-hours", "plot": str(plot),
        "run_dir": str(result.run_dir), "command": "python -m sb3_plus.bench --only pong"})
