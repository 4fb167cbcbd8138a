"""Generated Doom maps: the expert on door-and-key layouts, then BC -> RecurrentPPO within a wall budget."""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from sb3_plus.benchmarks.common import cpu_cores, save_result
from sb3_plus.benchmarks.learning import budget_arm

LAYOUTS = (0, 1, 2)


def _collect(env_id: str, episodes: int, dataset: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The expert's ``episodes`` (seeds 0+) into ``dataset``: its success, steps per episode and seconds."""
    from sb3_plus.data.collect import collect_expert

    report = collect_expert(env_id, episodes=episodes, seed=0, dataset_id=dataset, overwrite=True,
                            progress_bar=False, env_kwargs=env_kwargs)
    return {"success_rate": report.success_rate, "episodes": report.episodes,
            "steps_per_episode": round(report.steps / max(report.episodes, 1), 1),
            "seconds": round(report.seconds, 1)}


def bench_doormaps(layouts: Sequence[int] = LAYOUTS, expert_episodes: int = 50, budget_minutes: float = 20.0,
                   eval_episodes: int = 100, validation_episodes: int = 20) -> dict[str, Any]:
    """``VizdoomGen-doorkey-s<k>-v0`` for each layout ``k``: a USE door, a key, the door it unlocks, the goal.

    Per layout: the waypoint expert plays ``expert_episodes`` seeds (its success and steps per
    episode; a layout has no monsters and one start, so the expert's episodes repeat); those
    episodes are the dataset of BC -> RecurrentPPO (``zoo_configs/ppo_lstm.yml``, ``Vizdoom*``),
    which gets ``budget_minutes / len(layouts)`` wall-minutes counted from the start of the
    collection, so the whole family fits in ``budget_minutes``. The run's chosen, final and
    pretrained models then play ``eval_episodes`` held-out seeds (10000+), greedy and sampled.
    """
    from sb3_plus.envs.doom_maps import generated_env_id

    per_layout = budget_minutes / len(layouts)
    rows = []
    for layout in layouts:
        env_id = generated_env_id("doorkey", layout)
        dataset = f"sb3plus/bench/doorkey-s{layout}-v0"
        start = time.perf_counter()
        expert = _collect(env_id, expert_episodes, dataset, {"frame_skip": 4, "frame_stack": 1})
        row = budget_arm("ppo_lstm", env_id, "bc", dataset, per_layout * 60, start, eval_episodes,
                         validation_episodes)
        rows.append({"env": env_id, "expert": expert, **row})
        print(json.dumps(rows[-1]), flush=True)
    return save_result("doormaps", {
        "generator": "doorkey", "layouts": list(layouts), "budget_minutes": budget_minutes,
        "budget_minutes_per_layout": round(per_layout, 2), "rows": rows,
        "eval_seeds": f"10000-{10_000 + eval_episodes - 1}",
        "command": "python -m sb3_plus.bench --only doormaps"})


def bench_e1m1(episodes: int = 20, doom_skill: int = 2) -> dict[str, Any]:
    """Freedoom Phase 1 E1M1: the waypoint expert on the route planned from the WAD (doors, exit switch), with
    its combat, ``episodes`` seeds at ``doom_skill``: exits, and game and wall time per episode."""
    from sb3_plus.envs import make_env
    from sb3_plus.experts import make_expert

    env = make_env("VizdoomFreedoom1-v0", doom_skill=doom_skill)
    start = time.perf_counter()
    rows = []
    try:
        controller = make_expert(env)
        plan_seconds = time.perf_counter() - start
        for seed in range(episodes):
            began = time.perf_counter()
            _, info = env.reset(seed=seed)
            expert, steps, done = controller.reset(), 0, False
            while not done:
                _, _, terminated, truncated, info = env.step(expert.act(info["pose"]))
                steps, done = steps + 1, terminated or truncated
            wall = time.perf_counter() - began
            rows.append({"seed": seed, "exit": bool(info["success"]), "steps": steps,
                         "game_seconds": round(steps * 4 / 35, 1), "wall_seconds": round(wall, 2),
                         "health": info["pose"]["health"]})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        env.close()
    exits = [r for r in rows if r["exit"]]
    return save_result("e1m1_expert", {
        "env": "VizdoomFreedoom1-v0", "map": "E1M1", "doom_skill": doom_skill, "episodes": episodes,
        "exit_rate": len(exits) / max(len(rows), 1), "route": "planned from the WAD",
        "plan_seconds": round(plan_seconds, 2),
        "mean_game_seconds_exits": round(sum(r["game_seconds"] for r in exits) / max(len(exits), 1), 1),
        "mean_wall_seconds": round(sum(r["wall_seconds"] for r in rows) / max(len(rows), 1), 2), "rows": rows,
        "command": "python -m sb3_plus.bench --only e1m1"})


def bench_e1m1_pixels(budget_minutes: float = 60.0, expert_episodes: int = 40, eval_episodes: int = 20,
                      validation_episodes: int = 10, eval_freq: int = 200_000) -> dict[str, Any]:
    """Freedoom E1M1 from pixels: the expert's episodes -> BC -> DAgger -> RecurrentPPO within a wall budget.

    ``budget_minutes`` of wall time on the cores the process may use (60 on 2 cores, or 120 under
    ``taskset -c 1``: 2 CPU-hours either way), counted from the start of the collection of
    ``expert_episodes`` expert episodes (seeds 0+, doom_skill 2 and a 2-minute limit, as the zoo entry:
    success is the exit within 2 minutes of game time; the expert needs about 65 s). The settings are
    ``zoo_configs/ppo_lstm.yml``'s ``VizdoomFreedoom*`` entry: DAgger rounds validate on
    ``validation_episodes`` seeds (20000+), RL on as many every ``eval_freq`` steps: the curve. After the
    budget, the run's chosen, final and pretrained models play ``eval_episodes`` held-out seeds (10000+).
    """
    from sb3_plus.config import load_hyperparams

    env_id, dataset = "VizdoomFreedoom1-v0", "sb3plus/bench/e1m1-v0"
    start = time.perf_counter()
    expert = _collect(env_id, expert_episodes, dataset, load_hyperparams("ppo_lstm", env_id).env_kwargs)
    print(json.dumps({"expert": expert}), flush=True)
    # a failed validation episode plays to the zoo entry's time limit (1050 steps): keep time for them
    row = budget_arm("ppo_lstm", env_id, "dagger", dataset, budget_minutes * 60, start, eval_episodes,
                     validation_episodes, reserve=6.0 * validation_episodes, eval_freq=eval_freq)
    return save_result("e1m1_pixels", {
        "env": env_id, "map": "E1M1", "budget_minutes": budget_minutes,
        "cpu_hours_budget": round(cpu_cores() * budget_minutes / 60, 2), "expert": expert, **row,
        "eval_seeds": f"10000-{10_000 + eval_episodes - 1}",
        "target": ">= 50% exits on 20 held-out seeds within 2 CPU-hours",
        "command": "python -m sb3_plus.bench --only e1m1_pixels"})
