"""The demo pipeline: expert episodes -> Minari dataset -> BC (recurrent) -> RL fine-tuning ->
evaluation on held-out seeds, a short report, a learning curve and a video."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


#: The demo's dataset recipe (ViZDoom MyWayHome, the waypoint expert).
DEMO_RECIPE = Path(__file__).resolve().parents[2] / "datasets" / "mywayhome-waypoint.yml"


def run_demo(recipe: str | os.PathLike = DEMO_RECIPE, algo: str = "ppo_lstm", episodes: int = 100,
             bc_epochs: int = 30, n_timesteps: int = 20_000, eval_episodes: int = 100,
             out: str | os.PathLike = "demo_out") -> dict[str, Any]:
    """Run the whole spine with defaults and return (and write to ``<out>/report.json``) its report.

    :param recipe: the dataset recipe (env, env options, expert, dataset id), see ``datasets/``.
    :param algo: RL algorithm after BC.
    :param episodes: expert episodes to collect.
    :param bc_epochs: BC epochs.
    :param n_timesteps: RL fine-tuning steps after BC.
    :param eval_episodes: held-out evaluation episodes (seeds from 10000).
    :param out: folder for datasets, runs, plot and video.
    """
    from sb3_plus.config import load_saved_config
    from sb3_plus.data.recipes import collect_from_recipe, load_recipe
    from sb3_plus.evaluate import evaluate, load_model
    from sb3_plus.training import train
    from sb3_plus.training.envs import find_vecnormalize
    from sb3_plus.video import record_video

    out = Path(out).resolve()
    os.environ.setdefault("MINARI_DATASETS_PATH", str(out / "datasets"))
    start = time.perf_counter()
    plan = load_recipe(recipe)
    env, dataset_id = plan.env, plan.dataset_id
    print(f"[1/4] expert: {episodes} episodes of {env} -> Minari dataset {dataset_id} ({recipe})", flush=True)
    collection = collect_from_recipe(plan, episodes=episodes, overwrite=True, measure_raw=True)
    print(collection.summary(), flush=True)
    print(f"[2/4] BC ({bc_epochs} epochs) then [3/4] {algo} for {n_timesteps} steps", flush=True)
    result = train(algo, env, n_timesteps=n_timesteps, log_folder=out / "logs", pretrain="bc",
                   dataset=dataset_id, pretrain_kwargs={"epochs": bc_epochs}, eval_freq=max(n_timesteps // 2, 1),
                   eval_episodes=20, progress=True)
    print(f"[4/4] evaluation on {eval_episodes} held-out seeds (from 10000)", flush=True)
    final = evaluate(result.model_path, env, episodes=eval_episodes, seed=10_000).summary()
    config = load_saved_config(result.run_dir / "config.yml", algo, env)
    video = record_video(load_model(result.model_path), env, out / "agent.mp4", config=config,
                         normalization=find_vecnormalize(result.model_path))
    report = {
        "env": env,
        "dataset": dataset_id,
        "expert_success_rate": collection.success_rate,
        "collection_steps_per_s": round(collection.steps_per_s),
        "collection_to_raw_ratio": round(collection.steps_per_s / collection.raw_steps_per_s, 3)
        if collection.raw_steps_per_s else None,
        "bc_holdout_agreement": round(result.pretrain["final_agreement"], 3),
        "bc_samples_per_s": round(result.pretrain["samples_per_second"]),
        "success_after_bc_20_eps": result.pretrain.get("eval", {}).get("success_rate"),
        "rl_steps": result.num_timesteps,
        "held_out_success_rate": final["success_rate"],
        "held_out_mean_return": round(final["mean_return"], 3),
        "held_out_episodes": final["episodes"],
        "run_dir": str(result.run_dir),
        "learning_curve": str(result.run_dir / "learning_curve.png"),
        "video": str(video),
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    print("\nsb3-plus demo report")
    for key, value in report.items():
        print(f"  {key:28s} {value}")
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report

