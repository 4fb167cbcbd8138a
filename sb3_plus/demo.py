"""``make demo``: the whole spine on ViZDoom MyWayHome with defaults.

Expert episodes -> Minari dataset -> BC (recurrent) -> RecurrentPPO fine-tuning ->
evaluation on held-out seeds, then a short report, a learning curve and a video.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from sb3_plus.cli_common import run_cli


def main(argv: Sequence[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m sb3_plus.demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--env", default="VizdoomMyWayHome-v1")
    p.add_argument("--algo", default="ppo_lstm")
    p.add_argument("--episodes", type=int, default=100, help="expert episodes to collect")
    p.add_argument("--bc-epochs", type=int, default=30)
    p.add_argument("-n", "--n-timesteps", type=int, default=20_000, help="RL fine-tuning steps after BC")
    p.add_argument("--eval-episodes", type=int, default=100, help="held-out evaluation episodes")
    p.add_argument("--out", default="demo_out", help="folder for datasets, runs, plot and video")
    args = p.parse_args(argv)

    from sb3_plus.data.collect import collect_expert
    from sb3_plus.evaluate import evaluate, load_model
    from sb3_plus.train import train
    from sb3_plus.video import record_video

    out = Path(args.out).resolve()
    os.environ.setdefault("MINARI_DATASETS_PATH", str(out / "datasets"))
    start = time.perf_counter()
    dataset_id = "sb3plus/demo/waypoint-v0"
    print(f"[1/4] expert: {args.episodes} episodes of {args.env} -> Minari dataset {dataset_id}", flush=True)
    collection = collect_expert(args.env, episodes=args.episodes, seed=0, dataset_id=dataset_id, overwrite=True,
                                measure_raw=True)
    print(collection.summary(), flush=True)
    print(f"[2/4] BC ({args.bc_epochs} epochs) then [3/4] {args.algo} for {args.n_timesteps} steps", flush=True)
    result = train(args.algo, args.env, n_timesteps=args.n_timesteps, log_folder=out / "logs", pretrain="bc",
                   dataset=dataset_id, pretrain_kwargs={"epochs": args.bc_epochs}, eval_freq=max(args.n_timesteps // 2, 1),
                   eval_episodes=20, progress=True)
    print(f"[4/4] evaluation on {args.eval_episodes} held-out seeds (from 10000)", flush=True)
    final = evaluate(result.model_path, args.env, episodes=args.eval_episodes, seed=10_000).summary()
    video = record_video(load_model(result.model_path), args.env, out / "agent.mp4",
                         env_kwargs=json.loads((result.run_dir / "run_info.json").read_text())["env_kwargs"])
    report = {
        "env": args.env,
        "dataset": dataset_id,
        "expert_success_rate": collection.success_rate,
        "collection_steps_per_s": round(collection.steps_per_s),
        "collection_to_raw_ratio": round(collection.steps_per_s / collection.raw_steps_per_s, 3)
        if collection.raw_steps_per_s else None,
        "bc_holdout_agreement": round(result.pretrain["holdout_agreement"][-1], 3),
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


if __name__ == "__main__":
    sys.exit(run_cli(main))
