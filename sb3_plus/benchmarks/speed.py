"""Speed benchmarks: expert collection rate, training FPS, BC samples/s and agreement."""

from __future__ import annotations

import json
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


def _raw_env_rate(env_kwargs: dict[str, Any], steps: int = 3000) -> float:
    """Agent steps/s of one env in this process, random actions, no learning: the game's own speed here."""
    import numpy as np

    from sb3_plus.envs import make_env

    env = make_env(ENV, **env_kwargs)
    try:
        env.reset(seed=0)
        actions = np.random.default_rng(0).integers(0, env.action_space.n, steps)
        start = time.perf_counter()
        for action in actions:
            _, _, terminated, truncated, _ = env.step(int(action))
            if terminated or truncated:
                env.reset()
        return steps / (time.perf_counter() - start)
    finally:
        env.close()


def _collection_rate(env_kwargs: dict[str, Any], n_envs: int, vec_env: str, steps: int = 4096) -> float:
    """Agent steps/s of the vectorised envs alone (random actions, no policy, no update)."""
    import numpy as np

    from sb3_plus.training.envs import make_vec_env_for

    venv = make_vec_env_for(ENV, n_envs, 0, env_kwargs, vec_env)
    try:
        venv.reset()
        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for _ in range(steps // n_envs):
            venv.step(rng.integers(0, venv.action_space.n, n_envs))
        return (steps // n_envs) * n_envs / (time.perf_counter() - start)
    finally:
        venv.close()


def _fps(algo_cls: type, policy: str, env_kwargs: dict[str, Any], hyper: dict[str, Any], steps: int,
         vec_env: str = "dummy", update_threads: int = 1, env_id: str = ENV) -> float:
    """Training agent steps/s over ``steps`` steps after one warm-up rollout and update."""
    from sb3_plus.training.callbacks import UpdateThreads
    from sb3_plus.training.envs import make_vec_env_for
    from sb3_plus.utils import set_torch_threads

    hyper = dict(hyper)
    venv = make_vec_env_for(env_id, hyper.pop("n_envs", 8), 0, env_kwargs, vec_env)
    threads = UpdateThreads(1, update_threads)
    try:
        model = algo_cls(policy, venv, seed=0, verbose=0, **hyper)
        model.learn(model.n_steps * model.n_envs, callback=threads)
        start = time.perf_counter()
        model.learn(steps, reset_num_timesteps=False, callback=threads)
        return steps / (time.perf_counter() - start)
    finally:
        venv.close()
        set_torch_threads(1)


def bench_fps(steps: int = 8192) -> dict[str, Any]:
    """Training steps/s on MyWayHome, as a ratio to the raw env rate measured in the same run.

    Per algorithm: plain SB3 defaults (NatureCNN 84x84); plain SB3 / sb3-contrib with sb3-plus's network
    and config (SmallCNN 64x64, same batch sizes; envs in the learner's process, one torch thread); and
    sb3-plus as ``train`` runs it (``ALGOS`` classes, the config's ``vec_env_class``, update threads).
    """
    import sb3_contrib
    import stable_baselines3 as sb3

    from sb3_plus.config import ALGOS, load_hyperparams
    from sb3_plus.utils import default_update_threads

    raw = _raw_env_rate(load_hyperparams("ppo_lstm", ENV).env_kwargs)
    rows = []
    for algo, plain_cls in (("ppo", sb3.PPO), ("ppo_lstm", sb3_contrib.RecurrentPPO)):
        config = load_hyperparams(algo, ENV)
        hyper = {"n_envs": config.n_envs, **config.model_kwargs()}
        plain_policy = "CnnPolicy" if algo == "ppo" else "CnnLstmPolicy"
        # SB3 defaults: 84x84 observations, NatureCNN, n_steps 2048 (ppo) / 128 (ppo_lstm), 10 epochs; 2 envs
        measured = {
            "SB3 defaults (NatureCNN 84x84)": _fps(
                plain_cls, plain_policy, {"resolution": 84, "frame_stack": 4 if algo == "ppo" else 1},
                {"n_envs": 2}, steps // 2),
            "SB3 + sb3-plus network and config": _fps(plain_cls, config.policy, config.env_kwargs, hyper, steps),
            "sb3-plus": _fps(ALGOS[algo], config.policy, config.env_kwargs, hyper, steps, config.vec_env_class,
                             default_update_threads()),
        }
        for setting, fps in measured.items():
            rows.append({"algo": algo, "setting": setting, "steps_per_s": round(fps, 1),
                         "ratio_to_raw": round(fps / raw, 3)})
        print(json.dumps(rows[-3:]), flush=True)
    collection = {vec_env: round(_collection_rate(load_hyperparams("ppo_lstm", ENV).env_kwargs, 8, vec_env), 1)
                  for vec_env in ("dummy", "workers")}
    return save_result("fps", {"env": ENV, "steps_measured": steps, "raw_env_steps_per_s": round(raw, 1),
                               "collection_only_steps_per_s": collection, "rows": rows,
                               "command": "python -m sb3_plus.bench --only fps"})


def bench_cnn_fps(steps: int = 4096) -> dict[str, Any]:
    """Training steps/s of PPO with SmallCNN, ImpalaCNN and ImpalaCNN twice as wide, same config otherwise:
    MyWayHome (1 channel x 4 frames) and Procgen CoinRun (RGB), as ``train`` runs them."""
    from sb3_plus.config import ALGOS, load_hyperparams
    from sb3_plus.policies import ImpalaCNN, SmallCNN
    from sb3_plus.utils import default_update_threads

    networks = {"SmallCNN": (SmallCNN, {}), "ImpalaCNN": (ImpalaCNN, {}), "ImpalaCNN width 2": (ImpalaCNN, {"width": 2})}
    rows = []
    for env_id in (ENV, "Procgen-coinrun-v0"):
        config = load_hyperparams("ppo", env_id)
        for name, (cls, kwargs) in networks.items():
            policy_kwargs = {**config.policy_kwargs, "features_extractor_class": cls, "features_extractor_kwargs": kwargs}
            hyper = {"n_envs": 8, **config.model_kwargs(), "n_steps": 128, "batch_size": 256,
                     "policy_kwargs": policy_kwargs}
            fps = _fps(ALGOS["ppo"], config.policy, config.env_kwargs, hyper, steps, config.vec_env_class,
                       default_update_threads(), env_id=env_id)
            rows.append({"env": env_id, "network": name, "steps_per_s": round(fps, 1)})
            print(json.dumps(rows[-1]), flush=True)
    return save_result("cnn_fps", {"steps_measured": steps, "rows": rows, "settings": "ppo, 8 envs, n_steps 128, "
                                   "batch 256, the shipped entry otherwise",
                                   "command": "python -m sb3_plus.bench --only cnn_fps"})


BC_STYLES = ("waypoint", "hysteresis")
BC_TARGETS = {"agreement": 0.9, "seconds": 60.0, "success_rate": 0.9}


def _bc_row(algo: str, style: str, episodes: int, max_seconds: float, eval_episodes: int) -> dict[str, Any]:
    """One style's data, one algorithm's policy: BC for ``max_seconds``, then success on held-out seeds."""
    import numpy as np

    from sb3_plus.config import ALGOS, load_hyperparams
    from sb3_plus.data.collect import collect_expert
    from sb3_plus.envs import make_env
    from sb3_plus.evaluation import HELD_OUT_SEED, evaluate_model
    from sb3_plus.imitation.bc import train_bc
    from sb3_plus.imitation.settings import BCSettings
    from sb3_plus.training.envs import make_vec_env_for
    from sb3_plus.training.pretrain import pretrain_settings_for

    config = load_hyperparams(algo, ENV)
    # the data is played with the algo's own preprocessing (ppo stacks 4 frames)
    dataset_id = f"sb3plus/bench/{style}-{algo.replace('_', '')}-v1"
    collected = collect_expert(ENV, episodes=episodes, seed=0, dataset_id=dataset_id, env_kwargs=config.env_kwargs,
                               expert=style, overwrite=True, progress_bar=False)
    venv = make_vec_env_for(ENV, 1, 0, config.env_kwargs)
    try:
        model = ALGOS[algo](config.policy, venv, seed=0, verbose=0, **config.model_kwargs())
    finally:
        venv.close()
    # the config's BC settings, trained for the whole budget (no early stop) to time both targets
    settings = BCSettings.from_dict(pretrain_settings_for("bc", config.pretrain)).replace(
        epochs=10_000, patience=None, max_seconds=max_seconds, gamma=model.gamma)
    report = train_bc(model.policy, dataset_id, settings, progress_bar=False)
    env = make_env(ENV, **config.env_kwargs)
    try:
        evaluation = evaluate_model(model.policy, env, episodes=eval_episodes, seed=HELD_OUT_SEED)
    finally:
        env.close()
    reached = report.seconds_to.get(f"{BC_TARGETS['agreement']:g}")
    return {"algo": algo, "policy": config.policy, "expert": style, "dataset": f"{dataset_id} ({episodes} episodes)",
            "expert_success_rate": collected.successes / episodes,
            "bc_settings": {k: v for k, v in settings.to_dict().items() if k != "seed"},
            "epochs": report.epochs_run, "bc_seconds": round(report.total_seconds, 1),
            "samples_per_s": round(report.samples_per_second),
            "agreement": round(report.final_agreement, 3), "best_epoch": report.best_epoch,
            "agreement_per_epoch": [round(a, 3) for a in report.holdout_agreement],
            "seconds_to": {k: round(v, 1) for k, v in report.seconds_to.items()}, "epochs_to": report.epochs_to,
            "head_rescaled_from": report.head_rescaled_from,
            "held_out_success_rate": evaluation.success_rate, "eval_episodes": eval_episodes,
            "eval_seeds": f"{HELD_OUT_SEED}-{HELD_OUT_SEED + eval_episodes - 1}",
            "mean_length": round(float(np.mean(evaluation.lengths)), 1),
            "meets_targets": {"agreement_in_time": reached is not None and reached <= BC_TARGETS["seconds"],
                              "success": evaluation.success_rate >= BC_TARGETS["success_rate"]}}


def bench_bc(episodes: int = 100, max_seconds: float = 60.0, eval_episodes: int = 100,
             algos: tuple[str, ...] = ("ppo_lstm", "ppo"), styles: tuple[str, ...] = BC_STYLES) -> dict[str, Any]:
    """BC on ``episodes`` expert episodes of each expert style, for each algorithm's policy.

    Per row: held-out agreement (10% of the episodes) and the seconds and epochs to reach 0.9
    and 0.95, within ``max_seconds`` of BC (dataset loading included); then the success rate
    of the cloned policy alone on ``eval_episodes`` held-out seeds from 10000, before any RL.
    """
    rows = []
    for style in styles:
        for algo in algos:
            rows.append(_bc_row(algo, style, episodes, max_seconds, eval_episodes))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "agreement_per_epoch"}), flush=True)
    return save_result("bc", {"env": ENV, "targets": BC_TARGETS, "rows": rows,
                              "command": "python -m sb3_plus.bench --only bc"})
