"""The demo: the pipeline (:mod:`sb3_plus.pipelines.pipeline`) with the demo's recipe: expert episodes ->
Minari dataset -> BC (recurrent) -> RL fine-tuning -> evaluation on held-out seeds, then a short report, a
learning curve and a video."""

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
    """Run the whole spine with defaults (every stage again) and return (and write to ``<out>/demo_report.json``)
    its report.

    :param recipe: the dataset recipe (env, env options, expert, dataset id), see ``datasets/``.
    :param algo: RL algorithm after BC.
    :param episodes: expert episodes to collect.
    :param bc_epochs: BC epochs.
    :param n_timesteps: RL fine-tuning steps after BC.
    :param eval_episodes: held-out evaluation episodes (seeds from 10000).
    :param out: folder for datasets, runs, plot and video.
    """
    from sb3_plus.pipelines.pipeline import run_pipeline

    out = Path(out).resolve()
    start = time.perf_counter()
    steps = {
        "env": load_recipe_env(recipe), "out": str(out),
        "collect": {"recipe": str(recipe), "episodes": episodes, "measure_raw": True},
        "train": {"algo": algo, "pretrain": "bc", "pretrain_kwargs": {"epochs": bc_epochs},
                  "n_timesteps": n_timesteps, "eval_freq": max(n_timesteps // 2, 1), "eval_episodes": 20},
        "evaluate": {"episodes": eval_episodes, "seed": 10_000},
        "video": {"max_steps": 600},
    }
    stages = run_pipeline(steps, restart=True, verbose=0)["stages"]
    collection, trained = stages["collect"]["result"], stages["train"]["result"]
    final, pretrain = stages["evaluate"]["result"], trained["pretrain"]
    raw = collection.get("raw_steps_per_s")
    report = {
        "env": steps["env"],
        "dataset": collection["dataset_id"],
        "expert_success_rate": collection["success_rate"],
        "collection_steps_per_s": collection["steps_per_s"],
        "collection_to_raw_ratio": round(collection["steps_per_s"] / raw, 3) if raw else None,
        "bc_holdout_agreement": round(pretrain["final_agreement"], 3),
        "bc_samples_per_s": round(pretrain["samples_per_second"]),
        "success_after_bc_20_eps": (trained.get("pretrain_eval") or {}).get("success_rate"),
        "rl_steps": trained["rl_steps"],
        "held_out_success_rate": final["success_rate"],
        "held_out_mean_return": round(final["mean_return"], 3),
        "held_out_episodes": final["episodes"],
        "run_dir": trained["run_dir"],
        "learning_curve": str(Path(trained["run_dir"]) / "learning_curve.png"),
        "video": stages["video"]["result"]["video"],
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    print("\nsb3-plus demo report")
    for key, value in report.items():
        print(f"  {key:28s} {value}")
    (out / "demo_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report



def load_recipe_env(recipe: str | os.PathLike) -> str:
    """The env of a dataset recipe."""
    from sb3_plus.data.recipes import load_recipe

    return load_recipe(recipe).env
