"""Generalisation benchmark: SmallCNN against the IMPALA CNN, with and without augmentations, on unseen mazes."""

from __future__ import annotations

import json
import tempfile
import time
from typing import Any, Sequence

from sb3_plus.benchmarks.common import arms_run, save_result

GEN_ENV = "MazeEasyPixels-v0"
TRAIN_LAYOUTS = 200
# potential-based shaping by the maze distance to the goal (it keeps the optimal policy): from the sparse
# reward alone, no arm found the goal within this budget (0-7% success after 300k steps)
SHAPING = ("env_wrapper:[{sb3_plus.envs.shaping.PotentialShaping: "
           "{potential: maze_distance, gamma: 0.99, scale: 0.1}}]")
# (arm name, features extractor, augmentations). No flip: the view is egocentric, a mirror swaps left and right.
GEN_ARMS: tuple[tuple[str, str, list[str] | None], ...] = (
    ("small", "SmallCNN", None),
    ("small_aug", "SmallCNN", ["shift", "intensity"]),
    ("impala", "ImpalaCNN", None),
    ("impala_aug", "ImpalaCNN", ["shift", "intensity"]),
    # augmentations that keep the agent where it is in the frame (run with --arms)
    ("small_intensity", "SmallCNN", ["intensity"]),
    ("small_crop", "SmallCNN", ["crop"]),
)
#: the arms of the table (``--only generalisation``); the others run with ``--arms``
DEFAULT_GEN_ARMS = ("small", "small_aug", "impala", "impala_aug")
GEN_ARM_NAMES = tuple(name for name, _, _ in GEN_ARMS)


def _rates(model_path: Any, episodes: int, env_kwargs: dict[str, Any]) -> dict[str, float]:
    from sb3_plus.models import evaluate_saved_model

    out = {}
    for name, deterministic in (("greedy", True), ("sampled", False)):
        out[name] = evaluate_saved_model(model_path, GEN_ENV, episodes=episodes, seed=10_000,
                                         deterministic=deterministic, env_kwargs=env_kwargs).success_rate
    return out


def bench_generalisation(steps: int = 300_000, eval_episodes: int = 200,
                         arms: Sequence[str] = DEFAULT_GEN_ARMS) -> dict[str, Any]:
    """PPO on 200 training mazes (``num_layouts: 200``), then success on those mazes and on unseen ones.

    Four arms, the same env steps each, one after the other: SmallCNN and the IMPALA CNN, each with
    and without ``augment: [shift, intensity]``, otherwise the shipped ``Maze*Pixels-v0`` entry of
    ``zoo_configs/ppo.yml``, with the maze-distance shaping of :data:`SHAPING`. Each final model plays
    ``eval_episodes`` held-out episodes (seeds 10000+) on the training mazes (new starts) and on unseen
    mazes (any layout), greedy and sampled.
    """
    from sb3_plus.training import train

    rows = []
    with tempfile.TemporaryDirectory() as work:
        for arm, extractor, augment in (a for a in GEN_ARMS if a[0] in arms):
            hyper = [f"policy_kwargs:dict(features_extractor_class={extractor}, net_arch=[])",
                     f"augment:{json.dumps(augment)}", SHAPING]
            start = time.perf_counter()
            result = train("ppo", GEN_ENV, n_timesteps=steps, log_folder=work, verbose=0, eval_freq=0,
                           hyperparams=hyper, env_kwargs={"num_layouts": TRAIN_LAYOUTS})
            wall = time.perf_counter() - start
            train_rates = _rates(result.model_path, eval_episodes, {})
            test_rates = _rates(result.model_path, eval_episodes, {"num_layouts": None})
            rows.append({"arm": arm, "features_extractor": extractor, "augment": augment,
                         "steps": result.num_timesteps, "wall_s": round(wall, 1),
                         "steps_per_s": round(result.num_timesteps / wall, 1),
                         "train_layouts": train_rates, "unseen_layouts": test_rates,
                         "gap_sampled": round(train_rates["sampled"] - test_rates["sampled"], 3)})
            print(json.dumps(rows[-1]), flush=True)
    best = max(rows, key=lambda r: r["unseen_layouts"]["sampled"])
    name, command = arms_run("generalisation_maze", arms, DEFAULT_GEN_ARMS,
                             "python -m sb3_plus.bench --only generalisation")
    return save_result(name, {
        "env": GEN_ENV, "train_layouts": TRAIN_LAYOUTS, "steps": steps, "eval_episodes": eval_episodes,
        "eval_seeds": f"10000-{10_000 + eval_episodes - 1}", "shaping": SHAPING, "rows": rows,
        "best_unseen_arm": best["arm"],
        "command": command})
