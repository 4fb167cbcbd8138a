"""Memory benchmark: the monster room in hard mode, imitation and RL arms against wall time, and the memory check."""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from sb3_plus.benchmarks.common import arms_run, save_result
from sb3_plus.benchmarks.learning import _held_out, budget_arm

MEMORY_ENV = "VizdoomMonsterRoom-v0"
# (arm, algo, pretraining): BC-only and DAgger-only are the pretrained policies of the bc and dagger arms
MEMORY_ARMS = ("scratch", "bc", "dagger", "ef_dagger")
_ARMS = {"scratch": ("ppo_lstm", None), "bc": ("ppo_lstm", "bc"), "dagger": ("ppo_lstm", "dagger"),
         "ef_dagger": ("ppo_explorer_follower", "dagger")}
_SETTINGS = {"scratch": "RecurrentPPO from scratch", "bc": "100 expert episodes -> BC -> RecurrentPPO",
             "dagger": "100 expert episodes -> DAgger -> RecurrentPPO",
             "ef_dagger": "100 expert episodes -> DAgger -> explorer/follower PPO"}
DATASET = "sb3plus/bench/monster-room-v0"
FEEDFORWARD_DATASET = "sb3plus/bench/monster-room-stack4-v0"


def bench_memory(budget_minutes: float = 8.0, eval_episodes: int = 100, validation_episodes: int = 50,
                 arms: Sequence[str] = MEMORY_ARMS, expert_episodes: int = 100) -> dict[str, Any]:
    """Hard mode of the monster room (start facing away from the window), the same wall budget per arm.

    Arms (one after the other, each counted from its start): RecurrentPPO from scratch; ``expert_episodes``
    expert episodes -> BC -> RecurrentPPO; -> DAgger -> RecurrentPPO; -> DAgger -> explorer/follower PPO,
    with the shipped zoo settings. Each arm's pretrained policy (BC only, DAgger only) and its
    chosen and final models play ``eval_episodes`` held-out seeds (10000+).

    The memory check: the best recurrent model plays the same seeds with the window blanked
    (``show_cue: false``; the right door is still drawn), and a feedforward policy (PPO's CnnPolicy,
    4 stacked frames, BC on the expert's episodes) plays them with the cue shown. A policy that
    remembers what it saw falls to chance (about 50%) without the cue; the feedforward one, which
    cannot remember past its frame stack, stays near chance with it.
    """
    from sb3_plus.data.collect import collect_expert

    rows = []
    for arm in arms:
        algo, pretrain = _ARMS[arm]
        start = time.perf_counter()
        if pretrain:
            collect_expert(MEMORY_ENV, episodes=expert_episodes, seed=0, dataset_id=DATASET, overwrite=True,
                           progress_bar=False, env_kwargs={"frame_skip": 4, "frame_stack": 1})
        row = budget_arm(algo, MEMORY_ENV, pretrain, DATASET, budget_minutes * 60, start, eval_episodes,
                         validation_episodes)
        rows.append({"setting": _SETTINGS[arm], "arm": arm, **row})
        print(json.dumps(rows[-1]), flush=True)
    check = memory_check(rows, eval_episodes, expert_episodes)
    name, command = arms_run("memory_monster_room", arms, MEMORY_ARMS,
                             f"python -m sb3_plus.bench --only memory --budget-minutes {budget_minutes}")
    return save_result(name, {
        "env": MEMORY_ENV, "mode": "hard", "budget_minutes": budget_minutes, "rows": rows, "memory_check": check,
        "eval_seeds": f"10000-{10_000 + eval_episodes - 1}",
        "command": command})


def _best_model(rows: list[dict[str, Any]]) -> tuple[str, Any, str]:
    """(arm, model path, which) of the highest sampled held-out success among all arms' models."""
    from pathlib import Path

    from sb3_plus.training.run import PRETRAINED_MODEL

    candidates = []
    for row in rows:
        run = Path(row["run_dir"])
        candidates.append((row["final_model"]["sampled_success_rate"], row["arm"], Path(row["final_path"]), "final"))
        if row["after_pretraining"] is not None:
            candidates.append((row["after_pretraining"]["sampled_success_rate"], row["arm"], run / PRETRAINED_MODEL,
                               "pretrained"))
    _, arm, path, which = max(candidates, key=lambda c: c[0])
    return arm, path, which


def memory_check(rows: list[dict[str, Any]], eval_episodes: int, expert_episodes: int = 100) -> dict[str, Any]:
    """The best model without the cue, and a feedforward BC policy with it (see :func:`bench_memory`)."""
    from sb3_plus.data.collect import collect_expert
    from sb3_plus.training import train
    from sb3_plus.training.run import PRETRAINED_MODEL

    out: dict[str, Any] = {}
    if rows:
        arm, path, which = _best_model(rows)
        out["best"] = {"arm": arm, "model": which, "cue_shown": _held_out(path, eval_episodes, MEMORY_ENV),
                       "cue_blanked": _held_out(path, eval_episodes, MEMORY_ENV, {"show_cue": False})}
    stack = {"frame_skip": 4, "frame_stack": 4}
    collect_expert(MEMORY_ENV, episodes=expert_episodes, seed=0, dataset_id=FEEDFORWARD_DATASET, overwrite=True,
                   progress_bar=False, env_kwargs=stack)
    # BC only: the RL steps after it are one critic-only rollout, so the policy is BC's
    result = train("ppo", MEMORY_ENV, n_timesteps=1024, log_folder="bench/runs", verbose=0, eval_freq=0,
                   pretrain="bc", dataset=FEEDFORWARD_DATASET)
    out["feedforward"] = {"policy": "CnnPolicy, 4 stacked frames (gap 1), BC on 100 expert episodes",
                          "cue_shown": _held_out(result.run_dir / PRETRAINED_MODEL, eval_episodes, MEMORY_ENV)}
    print(json.dumps(out), flush=True)
    return out
