"""Benchmarks of the training conveniences: action masks (MaskablePPO against PPO) and curricula (mazes)."""

from __future__ import annotations

import json
import tempfile
import time
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from sb3_plus.benchmarks.common import RESULTS, save_result

MASK_ENV = "VizdoomDefendCenter-v1"
MASK_KWARGS = {"max_buttons_pressed": 2}
CURRICULUM_ENV = "MazeHard-v0"
CURRICULUM = {"option": "size", "stages": [3, 5, 7, 9], "threshold": 0.8, "metric": "success"}


class InvalidActions(BaseCallback):
    """Count the training actions a fixed mask forbids (``mask[a]`` false), per rollout and in total."""

    def __init__(self, mask: np.ndarray) -> None:
        super().__init__()
        self.mask = np.asarray(mask, dtype=bool)
        self.invalid = self.total = 0
        self.curve: list[tuple[int, float]] = []
        self._rollout = [0, 0]

    def _on_step(self) -> bool:
        actions = np.asarray(self.locals["actions"]).reshape(-1).astype(int)
        bad = int((~self.mask[actions]).sum())
        self.invalid += bad
        self.total += actions.size
        self._rollout[0] += bad
        self._rollout[1] += actions.size
        return True

    def _on_rollout_end(self) -> None:
        if self._rollout[1]:
            self.curve.append((int(self.num_timesteps), self._rollout[0] / self._rollout[1]))
        self._rollout = [0, 0]


def _held_out(model_path: Any, env_id: str, episodes: int, env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Greedy and sampled success and return of a saved model on held-out seeds 10000+."""
    from sb3_plus.models import evaluate_saved_model

    out: dict[str, Any] = {"episodes": episodes}
    for name, deterministic in (("greedy", True), ("sampled", False)):
        summary = evaluate_saved_model(model_path, env_id, episodes=episodes, seed=10_000,
                                       deterministic=deterministic, env_kwargs=env_kwargs).summary()
        out[name] = {"success_rate": summary["success_rate"], "mean_return": round(summary["mean_return"], 3)}
    return out


def bench_masking(steps: int = 300_000, eval_every: int = 30_000, eval_episodes: int = 100) -> dict[str, Any]:
    """MaskablePPO against PPO on DefendTheCenter with button pairs (``max_buttons_pressed: 2``), same steps.

    Turning left and right at once is a masked action. Both arms use their shipped zoo entry and the same env
    options; a callback counts the training actions the mask forbids (MaskablePPO must never take
    one). Every ``eval_every`` steps the run's evaluation plays 10 validation seeds (the learning curve);
    the final models play ``eval_episodes`` held-out seeds (10000+).
    """
    from sb3_plus.envs import make_env
    from sb3_plus.training import train

    probe = make_env(MASK_ENV, **MASK_KWARGS)
    mask = np.asarray(probe.get_wrapper_attr("action_masks")(), dtype=bool)
    probe.close()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for algo in ("maskable_ppo", "ppo"):
            counter, curve = InvalidActions(mask), []
            start = time.perf_counter()
            result = train(algo, MASK_ENV, n_timesteps=steps, log_folder=work, verbose=0, eval_freq=eval_every,
                           eval_episodes=10, env_kwargs=MASK_KWARGS, callback=counter,
                           on_eval=lambda n, r, c=curve: c.append((int(n), round(r.mean_return, 3))))
            wall = time.perf_counter() - start
            rows.append({"algo": algo, "steps": result.num_timesteps, "wall_s": round(wall, 1),
                         "steps_per_s": round(result.num_timesteps / wall, 1),
                         "invalid_action_rate": counter.invalid / max(counter.total, 1),
                         "invalid_actions": counter.invalid, "actions": counter.total,
                         "invalid_rate_curve": [(s, round(r, 4)) for s, r in counter.curve],
                         "eval_return_curve": curve,
                         "held_out": _held_out(result.model_path, MASK_ENV, eval_episodes)})
            print(json.dumps({k: v for k, v in rows[-1].items() if "curve" not in k}), flush=True)
    plot = RESULTS / "masking_defend_center.png"
    _plot_masking(rows, plot)
    return save_result("masking_defend_center", {
        "env": MASK_ENV, "env_kwargs": MASK_KWARGS, "actions": int(mask.size),
        "masked_actions": [int(a) for a in np.flatnonzero(~mask)], "steps": steps, "rows": rows,
        "plot": str(plot), "command": "python -m sb3_plus.bench --only masking"})


def _plot_masking(rows: list[dict[str, Any]], out: Any) -> None:
    from sb3_plus.benchmarks.exploration import _axes, _save

    fig, ax = _axes()
    for row in rows:
        if row["eval_return_curve"]:
            ax.plot(*zip(*row["eval_return_curve"]), marker="o", label=row["algo"])
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean return, 10 validation seeds")
    ax.set_title(f"{MASK_ENV}, button pairs, left+right turn masked")
    _save(fig, ax, out)


def bench_curriculum(steps: int = 2_000_000, eval_episodes: int = 200) -> dict[str, Any]:
    """MazeHard with a new layout every episode: PPO with and without a maze-size curriculum, same env steps.

    The curriculum arm starts on 3x3-room mazes and moves to 5, 7 and then 9 (MazeHard's size) each
    time the run's evaluation (20 validation mazes) reaches 80% success; the other arm trains on
    MazeHard from the start. Both then play ``eval_episodes`` held-out MazeHard mazes (seeds 10000+).
    """
    from sb3_plus.training import train

    rows = []
    with tempfile.TemporaryDirectory() as work:
        for arm in ("curriculum", "no_curriculum"):
            hyper = [f"curriculum:{json.dumps(CURRICULUM)}"] if arm == "curriculum" else None
            start = time.perf_counter()
            result = train("ppo", CURRICULUM_ENV, n_timesteps=steps, log_folder=work, verbose=0, hyperparams=hyper)
            wall = time.perf_counter() - start
            state_file = result.run_dir / "curriculum.json"
            history = json.loads(state_file.read_text())["history"] if state_file.exists() else []
            rows.append({"arm": arm, "steps": result.num_timesteps, "wall_s": round(wall, 1), "stages": history,
                         "held_out": _held_out(result.model_path, CURRICULUM_ENV, eval_episodes, {"size": 9})})
            print(json.dumps(rows[-1]), flush=True)
    return save_result("curriculum_mazehard", {
        "env": CURRICULUM_ENV, "layouts": "a new maze every episode", "steps": steps, "curriculum": CURRICULUM,
        "rows": rows, "command": "python -m sb3_plus.bench --only curriculum"})
