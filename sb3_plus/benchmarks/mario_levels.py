"""Super Mario Bros beyond one level: the 1-1 policy continued on 1-2, and 1-1 measured again (forgetting)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

from sb3_plus.benchmarks.common import RESULTS, arms_run, cpu_cores, save_result
from sb3_plus.benchmarks.learning import _held_out, budget_arm
from sb3_plus.errors import InputNotFoundError

CURRICULUM_ARMS = ("rl", "dagger")
DEFAULT_CURRICULUM_ARMS = ("rl",)
_CURRICULUM_SETTINGS = {"dagger": "1-2 expert episodes -> DAgger from the 1-1 policy -> PPO on 1-2",
                        "rl": "PPO on 1-2 from the 1-1 policy"}


def level_id(level: str) -> str:
    return f"SuperMarioBros-{level}-v0"


def policy_of_level_11(results: Path = RESULTS) -> Path:
    """The model the 1-1 benchmark (``--only mario``) chose for its pretrained arm (DAgger before BC).

    :raises InputNotFoundError: no such result or model on this machine (the fix: run that benchmark).
    """
    for name in ("mario_11_dagger", "mario_11", "mario_11_bc"):
        path = results / f"{name}.json"
        if not path.is_file():
            continue
        rows = [r for r in json.loads(path.read_text())["rows"] if r["arm"] in ("dagger", "bc")]
        for row in sorted(rows, key=lambda r: r["arm"] != "dagger"):
            model = Path(row["run_dir"]) / row["model"]
            if model.is_file():
                return model
    raise InputNotFoundError(f"no 1-1 policy of `python -m sb3_plus.bench --only mario` under {results} (or its "
                             "run folder is gone). Fix: run that benchmark first, or pass source=MODEL.zip")


def bench_mario_curriculum(budget_minutes: float = 30.0, arms: Sequence[str] = DEFAULT_CURRICULUM_ARMS,
                           expert_episodes: int = 30, eval_episodes: int = 50, validation_episodes: int = 20,
                           source: str | Path | None = None) -> dict[str, Any]:
    """World 1-2 from the 1-1 policy (``--init-model``), then 1-1 again: does 1-2 cost 1-1?

    ``source``: the 1-1 model (default: the pretrained arm of ``--only mario``). Each arm gets
    ``budget_minutes`` on the cores the process may use, from its start: ``rl`` runs PPO from the 1-1
    policy; ``dagger`` (which needs a 1-2 route, ``experts/mario/1-2.yaml``) collects ``expert_episodes``
    1-2 expert episodes and runs DAgger from the 1-1 policy, then PPO. Both validate on 1-2 at the start
    and end and keep the better. Held-out seeds (10000+, ``eval_episodes``) on both levels for the 1-1
    policy, then the final model's on both (1-1 again: what 1-2 cost it) and the chosen one's.
    """
    from sb3_plus.config import load_hyperparams
    from sb3_plus.data.collect import collect_expert

    source = Path(source) if source else policy_of_level_11()
    target = level_id("1-2")
    kwargs = load_hyperparams("ppo", target).env_kwargs  # a run's own env options do not follow it to other levels
    before = {level: _held_out(source, eval_episodes, level_id(level), kwargs) for level in ("1-1", "1-2")}
    print(json.dumps({"before": before}), flush=True)
    rows = []
    for arm in arms:
        start, dataset, expert = time.perf_counter(), None, None
        if arm == "dagger":
            dataset = "sb3plus/bench/mario12-v0"
            report = collect_expert(target, episodes=expert_episodes, seed=0, dataset_id=dataset, overwrite=True,
                                    progress_bar=False, env_kwargs=kwargs)
            expert = {"clear_rate": report.success_rate, "episodes": report.episodes, "steps": report.steps}
        row = budget_arm("ppo", target, "dagger" if arm == "dagger" else None, dataset, budget_minutes * 60, start,
                         eval_episodes, validation_episodes, init_model=source)
        # 1-1 again: the policy after its 1-2 training (forgetting), and the run's chosen one when that differs
        final = Path(row["final_path"])
        row["level_11_after"] = _held_out(final, eval_episodes, level_id("1-1"), kwargs)
        if row["chosen_at_rl_steps"] == 0 and arm == "rl":  # the 1-1 policy itself, already played on 1-1 above
            row["level_11_chosen"] = before["1-1"]
        elif row["model"] != final.name:
            row["level_11_chosen"] = _held_out(Path(row["run_dir"]) / row["model"], eval_episodes,
                                               level_id("1-1"), kwargs)
        rows.append({"arm": arm, "setting": _CURRICULUM_SETTINGS[arm], "expert": expert, **row})
        print(json.dumps(rows[-1]), flush=True)
    name, command = arms_run("mario_curriculum", arms, DEFAULT_CURRICULUM_ARMS,
                             "python -m sb3_plus.bench --only mario_curriculum")
    return save_result(name, {
        "source": str(source), "levels": ["1-1", "1-2"], "budget_minutes": budget_minutes,
        "cpu_hours_per_arm": round(cpu_cores() * budget_minutes / 60, 2), "before": before, "rows": rows,
        "eval_seeds": f"10000-{10_000 + eval_episodes - 1}",
        "what": "held-out clears on 1-2 and on 1-1 of the 1-1 policy, then of the model continued on 1-2",
        "command": command})


DISTILL_LEVELS = ("1-1", "1-2", "1-3", "1-4")


def bench_mario_distill(levels: Sequence[str] = DISTILL_LEVELS, expert_episodes: int = 48,
                        eval_episodes: int = 20, dagger: dict[str, Any] | None = None) -> dict[str, Any]:
    """One policy for several levels, distilled from the expert: ``expert_episodes`` expert episodes on
    ``SuperMarioBrosRandomStages-v0`` (each a level drawn from ``levels``; seeds 0+), BC, then the zoo
    entry's DAgger rounds on the same levels, and no RL. The distilled policy then plays each level on
    ``eval_episodes`` held-out seeds (10000+), greedy and sampled. ``dagger``: DAgger settings over the
    zoo entry's (e.g. ``{"rounds": 2}``).
    """
    from sb3_plus.config import load_hyperparams
    from sb3_plus.data.collect import collect_expert
    from sb3_plus.envs.mario import RANDOM_ID
    from sb3_plus.training import train
    from sb3_plus.training.run import PRETRAINED_MODEL

    level_kwargs = load_hyperparams("ppo", RANDOM_ID).env_kwargs
    kwargs = {**level_kwargs, "stages": ",".join(levels)}
    dataset, start = "sb3plus/bench/mario-levels-v0", time.perf_counter()
    report = collect_expert(RANDOM_ID, episodes=expert_episodes, seed=0, dataset_id=dataset, overwrite=True,
                            progress_bar=False, env_kwargs=kwargs)
    collect_seconds = time.perf_counter() - start
    # one PPO rollout after DAgger (the smallest run train allows); the distilled policy is pretrained.zip
    result = train("ppo", RANDOM_ID, n_timesteps=1024, log_folder="bench/runs", verbose=1, pretrain="dagger",
                   dataset=dataset, env_kwargs=kwargs, eval_freq=0, pretrain_kwargs=dagger)
    policy = result.run_dir / PRETRAINED_MODEL
    pre = result.pretrain or {}
    rows = []
    for level in levels:
        rows.append({"level": level, **_held_out(policy, eval_episodes, level_id(level), level_kwargs)})
        print(json.dumps(rows[-1]), flush=True)
    return save_result("mario_distill", {
        "levels": list(levels), "expert": {"episodes": report.episodes, "clear_rate": report.success_rate,
                                           "steps": report.steps, "seconds": round(collect_seconds, 1)},
        "dagger_seconds": round(pre.get("total_seconds", 0.0), 1),
        "dagger_rounds": [{k: r[k] for k in ("round", "beta", "learner_agreement", "rollout_success", "dataset_steps",
                                             "seconds")} for r in pre.get("rounds", [])],
        "model": str(policy), "rows": rows, "eval_seeds": f"10000-{10_000 + eval_episodes - 1}",
        "what": "one policy distilled by DAgger from the expert on several levels; held-out clears per level",
        "command": "python -m sb3_plus.bench --only mario_distill"})
