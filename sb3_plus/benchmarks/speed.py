"""Speed benchmarks: expert collection rate, training FPS, BC samples/s and agreement."""

from __future__ import annotations

import time
from typing import Any


from sb3_plus.benchmarks.common import ENV, save_result


def bench_collect(episodes: int = 200) -> dict[str, Any]:
    from sb3_plus.data.collect import collect_expert

    report = collect_expert(ENV, episodes=episodes, seed=0, dataset_id="sb3plus/bench/waypoint-v0", overwrite=True,
                            measure_raw=True, progress_bar=False)
    return save_result("collect", {"env": ENV, **report.to_dict(),
                             "command": f"python -m sb3_plus.collect_expert --env {ENV} --episodes {episodes} "
                                        "--measure-raw"})


def _fps(algo: str, policy: str, env_kwargs: dict[str, Any], hyper: dict[str, Any], steps: int) -> float:
    from sb3_plus.config import ALGOS
    from sb3_plus.training.envs import make_vec_env_for

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
    return save_result("fps", {"env": ENV, "steps_measured": steps, "rows": rows,
                         "command": "python -m sb3_plus.bench --only fps"})


def bench_bc(epochs: int = 40, episodes: int = 200) -> dict[str, Any]:
    from sb3_plus.config import ALGOS, load_hyperparams
    from sb3_plus.data.collect import collect_expert
    from sb3_plus.data.storage import datasets_root, load_dataset
    from sb3_plus.imitation.bc import train_bc
    from sb3_plus.training.envs import make_vec_env_for

    rows = []
    for algo in ("ppo", "ppo_lstm"):
        config = load_hyperparams(algo, ENV)
        # the dataset is played with the algo's own preprocessing (ppo stacks 4 frames)
        dataset_id = f"sb3plus/bench/waypoint-{algo.replace('_', '')}-v0"
        if not (datasets_root() / dataset_id).exists():
            collect_expert(ENV, episodes=episodes, seed=0, dataset_id=dataset_id, env_kwargs=config.env_kwargs,
                           progress_bar=False)
        dataset = load_dataset(dataset_id)
        venv = make_vec_env_for(ENV, 1, 0, config.env_kwargs)
        model = ALGOS[algo](config.policy, venv, seed=0, verbose=0, **config.model_kwargs())
        venv.close()
        reached: dict[str, float | None] = {"t": None}
        start = time.perf_counter()

        def on_epoch(report: Any) -> None:
            if reached["t"] is None and report.holdout_agreement and report.holdout_agreement[-1] >= 0.95:
                reached["t"] = time.perf_counter() - start

        report = train_bc(model.policy, dataset, epochs=epochs, progress_bar=False, callback=on_epoch)
        rows.append({"algo": algo, "policy": config.policy, "dataset": f"{dataset_id} ({episodes} episodes)",
                     "samples_per_s": round(report.samples_per_second), "epochs": report.epochs_run,
                     "final_agreement": round(report.holdout_agreement[-1], 3),
                     "best_agreement": round(max(report.holdout_agreement), 3),
                     "seconds_to_95pct_agreement": None if reached["t"] is None else round(reached["t"], 1),
                     "total_seconds": round(report.total_seconds, 1)})
    return save_result("bc", {"env": ENV, "rows": rows, "command": "python -m sb3_plus.bench --only bc"})
