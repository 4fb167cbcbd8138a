"""Super Mario Bros benchmarks: the expert on each shipped route, and 1-1 from pixels within a CPU budget."""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from sb3_plus.benchmarks.common import arms_run, cpu_cores, save_result
from sb3_plus.benchmarks.learning import budget_arm

MARIO_ARMS = ("bc", "dagger", "scratch")
DEFAULT_MARIO_ARMS = ("bc", "scratch")
_SETTINGS = {"scratch": "PPO from scratch", "bc": "expert episodes -> BC -> PPO",
             "dagger": "expert episodes -> BC -> DAgger -> PPO"}


def shipped_levels() -> list[str]:
    """The levels with a route in ``experts/mario/`` (``1-1``, ...), in world and stage order."""
    from sb3_plus.experts import routes_dir

    return sorted(p.stem for p in (routes_dir() / "mario").glob("*-*.yaml"))


def _expert_episode(env: Any, controller: Any, seed: int) -> dict[str, Any]:
    _, info = env.reset(seed=seed)
    controller.reset()
    steps, done, furthest = 0, False, 0.0
    while not done:
        _, _, terminated, truncated, info = env.step(controller.act(info))
        steps, done = steps + 1, terminated or truncated
        furthest = max(furthest, float(info["pose"]["x"]))
    return {"seed": seed, "clear": bool(info.get("success")), "steps": steps, "x": int(furthest)}


def bench_mario_expert(levels: Sequence[str] | None = None, episodes: int = 100,
                       sticky_actions: float = 0.25) -> dict[str, Any]:
    """The Mario expert on each level with a shipped route (``experts/mario/``): ``episodes`` seeds
    (0+) with ``sticky_actions``; the clear rate, steps per episode, and where the failures ended."""
    from sb3_plus.envs import make_env
    from sb3_plus.experts import make_expert

    rows = []
    for level in levels or shipped_levels():
        env = make_env(f"SuperMarioBros-{level}-v0", sticky_actions=sticky_actions)
        try:
            controller, start = make_expert(env), time.perf_counter()
            played = [_expert_episode(env, controller, seed) for seed in range(episodes)]
            wall = time.perf_counter() - start
        finally:
            env.close()
        clears = [p for p in played if p["clear"]]
        rows.append({"level": level, "clear_rate": len(clears) / episodes, "episodes": episodes,
                     "steps_per_clear": round(sum(p["steps"] for p in clears) / max(len(clears), 1), 1),
                     "steps_per_s": round(sum(p["steps"] for p in played) / wall, 1),
                     "failures": [{k: p[k] for k in ("seed", "x", "steps")} for p in played if not p["clear"]]})
        print(json.dumps(rows[-1]), flush=True)
    name, command = "mario_expert", "python -m sb3_plus.bench --only mario_expert"
    if levels:  # a subset of levels gets its own file
        name, command = f"{name}_{'_'.join(levels)}", f"{command} --levels {' '.join(levels)}"
    return save_result(name, {
        "sticky_actions": sticky_actions, "seeds": f"0-{episodes - 1}", "rows": rows,
        "target": "clears 1-1 on >= 95% of 100 seeds with sticky actions",
        "command": command})


def bench_mario(budget_minutes: float = 30.0, arms: Sequence[str] = DEFAULT_MARIO_ARMS, expert_episodes: int = 50,
                eval_episodes: int = 100, validation_episodes: int = 20) -> dict[str, Any]:
    """World 1-1 from pixels (``zoo_configs/ppo.yml``'s ``SuperMarioBros-1-1-v0`` entry): each arm gets
    ``budget_minutes`` of wall time on the cores the process may use (30 on 2 cores: 1 CPU-hour),
    counted from its start. ``scratch``: PPO alone. ``bc`` / ``dagger``: ``expert_episodes`` expert
    episodes (seeds 0+, no sticky actions, as the zoo entry's envs), BC (then DAgger rounds), then PPO.

    The pretrained arms validate on ``validation_episodes`` seeds (20000+) after pretraining and at the
    end and keep the better; after the budget the chosen, final and pretrained models play
    ``eval_episodes`` held-out seeds (10000+), greedy and sampled.
    """
    from sb3_plus.config import load_hyperparams
    from sb3_plus.data.collect import collect_expert

    env_id, dataset = "SuperMarioBros-1-1-v0", "sb3plus/bench/mario11-v0"
    rows = []
    for arm in arms:
        start = time.perf_counter()
        expert = None
        if arm != "scratch":
            report = collect_expert(env_id, episodes=expert_episodes, seed=0, dataset_id=dataset, overwrite=True,
                                    progress_bar=False, env_kwargs=load_hyperparams("ppo", env_id).env_kwargs)
            expert = {"clear_rate": report.success_rate, "episodes": report.episodes, "steps": report.steps}
        row = budget_arm("ppo", env_id, None if arm == "scratch" else arm, dataset, budget_minutes * 60, start,
                         eval_episodes, validation_episodes)
        rows.append({"arm": arm, "setting": _SETTINGS[arm], "expert": expert, **row})
        print(json.dumps(rows[-1]), flush=True)
    name, command = arms_run("mario_11", arms, DEFAULT_MARIO_ARMS, "python -m sb3_plus.bench --only mario")
    return save_result(name, {
        "env": env_id, "budget_minutes": budget_minutes,
        "cpu_hours_per_arm": round(cpu_cores() * budget_minutes / 60, 2), "rows": rows,
        "eval_seeds": f"10000-{10_000 + eval_episodes - 1}",
        "target": ">= 50% clears on 100 held-out seeds for the pretrained arm, 1 CPU-hour each",
        "command": command})
