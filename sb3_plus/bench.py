"""``make bench``: speed and learning benchmarks, JSON under ``bench/results/``.

1. ``e2e_mywayhome``: success on 100 held-out seeds vs wall time, BC + RecurrentPPO against
   RecurrentPPO from scratch with the same wall budget, in the same run.
2. ``fps``: training FPS of PPO / RecurrentPPO on the sb3-plus ViZDoom preprocessing
   (64x64 gray, SmallCNN, tuned batch) beside plain SB3 defaults (CnnPolicy / CnnLstmPolicy, 84x84).
3. ``bc``: BC samples/s and time to 95% held-out action agreement on MyWayHome.
4. ``collect``: expert success on 200 MyWayHome seeds and collection/raw step-rate ratio.

Example: ``python -m sb3_plus.bench --only fps collect`` (``--budget-minutes`` for the e2e run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from sb3_plus.utils import set_torch_threads, write_json_atomic

RESULTS = Path("bench/results")
ENV = "VizdoomMyWayHome-v1"


def _save(name: str, data: dict[str, Any]) -> dict[str, Any]:
    data = {"benchmark": name, "cpu_count": os.cpu_count(), "torch_threads": set_torch_threads(), **data}
    write_json_atomic(RESULTS / f"{name}.json", data)
    print(json.dumps(data, indent=2, default=str), flush=True)
    return data


def bench_collect(episodes: int = 200) -> dict[str, Any]:
    from sb3_plus.data.collect import collect_expert

    report = collect_expert(ENV, episodes=episodes, seed=0, dataset_id="sb3plus/bench/waypoint-v0", overwrite=True,
                            measure_raw=True, progress_bar=False)
    return _save("collect", {"env": ENV, **report.to_dict(),
                             "command": f"python -m sb3_plus.collect_expert --env {ENV} --episodes {episodes} "
                                        "--measure-raw"})


def _fps(algo: str, policy: str, env_kwargs: dict[str, Any], hyper: dict[str, Any], steps: int) -> float:
    from sb3_plus.config import ALGOS
    from sb3_plus.train import make_vec_env_for

    venv = make_vec_env_for(ENV, hyper.pop("n_envs", 8), 0, env_kwargs)
    try:
        model = ALGOS[algo](policy, venv, seed=0, verbose=0, **hyper)
        start = time.perf_counter()
        model.learn(steps)
        return model.num_timesteps / (time.perf_counter() - start)
    finally:
        venv.close()


def bench_fps(steps: int = 4096) -> dict[str, Any]:
    from sb3_plus.config import load_hyperparams

    rows = []
    for algo in ("ppo", "ppo_lstm"):
        config = load_hyperparams(algo, ENV)
        ours = _fps(algo, config.policy, config.env_kwargs, {"n_envs": config.n_envs, **config.model_kwargs()}, steps)
        plain_policy = "CnnPolicy" if algo == "ppo" else "CnnLstmPolicy"
        # SB3 defaults: 84x84 observations, NatureCNN, n_steps 2048 (ppo) / 128 (ppo_lstm), 10 epochs; 2 envs
        plain = _fps(algo, plain_policy, {"resolution": 84, "frame_stack": 4 if algo == "ppo" else 1},
                     {"n_envs": 2}, steps)
        rows.append({"algo": algo, "sb3plus_fps": round(ours, 1), "plain_sb3_fps": round(plain, 1),
                     "ratio": round(ours / plain, 2), "sb3plus_policy": f"{config.policy} + SmallCNN 64x64",
                     "plain_policy": f"{plain_policy} NatureCNN 84x84 (SB3 defaults)"})
    return _save("fps", {"env": ENV, "steps_measured": steps, "rows": rows,
                         "command": "python -m sb3_plus.bench --only fps"})


def bench_bc(epochs: int = 40) -> dict[str, Any]:
    import minari

    from sb3_plus.config import ALGOS, load_hyperparams
    from sb3_plus.data.storage import datasets_root, minari_root
    from sb3_plus.imitation.bc import train_bc
    from sb3_plus.train import make_vec_env_for

    if not (datasets_root() / "sb3plus/bench/waypoint-v0").exists():
        bench_collect()
    with minari_root(datasets_root()):
        dataset = minari.load_dataset("sb3plus/bench/waypoint-v0")
    rows = []
    for algo in ("ppo", "ppo_lstm"):
        config = load_hyperparams(algo, ENV)
        venv = make_vec_env_for(ENV, 1, 0, config.env_kwargs)
        model = ALGOS[algo](config.policy, venv, seed=0, verbose=0, **config.model_kwargs())
        venv.close()
        reached: dict[str, float | None] = {"t": None}
        start = time.perf_counter()

        def on_epoch(report: Any) -> None:
            if reached["t"] is None and report.holdout_agreement and report.holdout_agreement[-1] >= 0.95:
                reached["t"] = time.perf_counter() - start

        report = train_bc(model.policy, dataset, epochs=epochs, progress_bar=False, callback=on_epoch)
        rows.append({"algo": algo, "samples_per_s": round(report.samples_per_second), "epochs": report.epochs_run,
                     "final_agreement": round(report.holdout_agreement[-1], 3),
                     "best_agreement": round(max(report.holdout_agreement), 3),
                     "seconds_to_95pct_agreement": None if reached["t"] is None else round(reached["t"], 1),
                     "total_seconds": round(report.total_seconds, 1)})
    return _save("bc", {"env": ENV, "dataset": "sb3plus/bench/waypoint-v0 (200 episodes)", "rows": rows,
                        "command": "python -m sb3_plus.bench --only bc"})


def bench_e2e(budget_minutes: float = 10.0, eval_episodes: int = 100) -> dict[str, Any]:
    from sb3_plus.data.collect import collect_expert
    from sb3_plus.evaluate import evaluate
    from sb3_plus.train import train

    budget = budget_minutes * 60
    rows = []
    for label, pretrain in (("bc+ppo_lstm", True), ("ppo_lstm from scratch", False)):
        start = time.perf_counter()
        kwargs: dict[str, Any] = {}
        if pretrain:
            collect_expert(ENV, episodes=100, seed=0, dataset_id="sb3plus/bench/e2e-v0", overwrite=True,
                           progress_bar=False)
            kwargs = {"pretrain": "bc", "dataset": "sb3plus/bench/e2e-v0", "pretrain_kwargs": {"epochs": 30}}
        used = time.perf_counter() - start
        # collection and BC (about 45 s) count against the same wall budget as RL
        result = train("ppo_lstm", ENV, n_timesteps=10**8, log_folder="bench/runs", eval_freq=0, verbose=0,
                       max_seconds=max(budget - used - (45.0 if pretrain else 0.0), 30.0), **kwargs)
        wall = time.perf_counter() - start
        final = evaluate(result.model_path, ENV, episodes=eval_episodes, seed=10_000).summary()
        rows.append({"setting": label, "wall_minutes": round(wall / 60, 2), "rl_steps": result.num_timesteps,
                     "held_out_success_rate": final["success_rate"], "mean_return": round(final["mean_return"], 3),
                     "eval_episodes": final["episodes"],
                     "bc_agreement": round(result.pretrain["holdout_agreement"][-1], 3) if result.pretrain else None,
                     "run_dir": str(result.run_dir)})
    return _save("e2e_mywayhome", {"env": ENV, "budget_minutes": budget_minutes, "rows": rows,
                                   "command": f"python -m sb3_plus.bench --only e2e --budget-minutes {budget_minutes}"})


BENCHES = {"collect": bench_collect, "fps": bench_fps, "bc": bench_bc, "e2e": bench_e2e}


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sb3_plus.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="+", choices=sorted(BENCHES), default=list(BENCHES))
    p.add_argument("--budget-minutes", type=float, default=10.0, help="wall budget of each e2e setting")
    args = p.parse_args(argv)
    set_torch_threads()
    os.environ.setdefault("MINARI_DATASETS_PATH", str(Path("bench/datasets").resolve()))
    for name in args.only:
        if name == "e2e":
            bench_e2e(args.budget_minutes)
        else:
            BENCHES[name]()


if __name__ == "__main__":
    sys.exit(main())
