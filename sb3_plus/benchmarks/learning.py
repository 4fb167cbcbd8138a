"""Learning benchmarks: MyWayHome end to end within a wall budget, BC vs DAgger on mazes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence


from sb3_plus.benchmarks.common import ENV, arms_run, save_result

E2E_ARMS = ("scratch", "bc", "dagger")
_E2E_SETTINGS = {"scratch": "RecurrentPPO from scratch", "bc": "100 expert episodes -> BC -> RecurrentPPO",
                 "dagger": "100 expert episodes -> DAgger -> RecurrentPPO"}


def bench_e2e(budget_minutes: float = 10.0, eval_episodes: int = 100, validation_episodes: int = 50,
              arms: Sequence[str] = E2E_ARMS) -> dict[str, Any]:
    """Each arm gets the same wall budget, counted from its start: collection, pretraining and RL.

    ``scratch``: RecurrentPPO from scratch. ``bc``: 100 expert episodes -> BC -> RecurrentPPO.
    ``dagger``: the same episodes -> DAgger (settings from zoo_configs/ppo_lstm.yml) -> RecurrentPPO.

    Within the budget, the pretrained arms evaluate on ``validation_episodes`` validation seeds
    (20000+) right after pretraining and after RL; ``best_model.zip`` is the better of the two,
    as ``train`` keeps it. After the budget, the run's model (``best_model.zip``; the final model
    for ``scratch``, which has nothing to choose from) and the final model are evaluated on
    ``eval_episodes`` held-out seeds (10000+) that no step of the run has seen.
    """
    from sb3_plus.data.collect import collect_expert
    from sb3_plus.evaluation import VALIDATION_SEED

    rows = []
    for arm in arms:
        start = time.perf_counter()
        if arm != "scratch":
            collect_expert(ENV, episodes=100, seed=0, dataset_id="sb3plus/bench/e2e-v0", overwrite=True,
                           progress_bar=False)
        row = budget_arm("ppo_lstm", ENV, None if arm == "scratch" else arm, "sb3plus/bench/e2e-v0",
                         budget_minutes * 60, start, eval_episodes, validation_episodes)
        rows.append({"setting": _E2E_SETTINGS[arm], "arm": arm, **row})
        print(json.dumps(rows[-1]), flush=True)
    name, command = arms_run("e2e_mywayhome", arms, E2E_ARMS,
                             f"python -m sb3_plus.bench --only e2e --budget-minutes {budget_minutes}")
    return save_result(name, {
        "env": ENV, "budget_minutes": budget_minutes, "rows": rows,
        "eval_seeds": f"10000-{10_000 + eval_episodes - 1}",
        "validation_seeds": f"{VALIDATION_SEED}-{VALIDATION_SEED + validation_episodes - 1}",
        "command": command})


def budget_arm(algo: str, env_id: str, pretrain: str | None, dataset_id: str | None, budget: float, start: float,
               eval_episodes: int, validation_episodes: int, reserve: float | None = None,
               eval_freq: int = 10**12, **train_kwargs: Any) -> dict[str, Any]:
    """One arm of a wall-budget comparison: ``train`` until ``budget`` seconds after ``start``, then held-out play.

    A pretrained arm (``pretrain`` ``bc`` or ``dagger`` on ``dataset_id``) evaluates on
    ``validation_episodes`` validation seeds (20000+) right after pretraining and after RL; the run
    keeps the better as ``best_model.zip``. After the budget, that model, the final one and the
    pretrained one play ``eval_episodes`` held-out seeds (10000+), greedy and sampled. ``reserve``: the
    seconds kept back for the closing validation (0.4 per episode when not given); ``eval_freq``: RL steps
    between validations in between (none by default). ``train_kwargs`` go to ``train`` (e.g. ``init_model``,
    whose run validates as a pretrained one does).
    """
    from sb3_plus.evaluation import VALIDATION_SEED
    from sb3_plus.training import train

    # the closing validation evaluation runs after RL and must fit in the budget: 50 episodes of a
    # policy that reaches the goal take about 15 s on 2 cores
    started = bool(pretrain or train_kwargs.get("init_model"))
    if reserve is None:
        reserve = 0.4 * validation_episodes if started else 0.0
    kwargs: dict[str, Any] = {"eval_freq": 0}
    if started:  # by default evaluations only after pretraining and at the end (a frequency beyond any run)
        kwargs = {"pretrain": pretrain, "dataset": dataset_id if pretrain else None, "eval_freq": eval_freq,
                  "eval_episodes": validation_episodes, "eval_seed": VALIDATION_SEED}
    collect_seconds = time.perf_counter() - start
    result = train(algo, env_id, n_timesteps=10**8, log_folder="bench/runs", verbose=1,
                   max_seconds=budget - collect_seconds - reserve, **kwargs, **train_kwargs)
    wall = time.perf_counter() - start
    return arm_row(result.run_dir, eval_episodes, env_id, wall_seconds=wall, collect_seconds=collect_seconds,
                   algo=algo)


def arm_row(run_dir: str | Path, eval_episodes: int, env_id: str, wall_seconds: float | None = None,
            collect_seconds: float = 0.0, algo: str | None = None) -> dict[str, Any]:
    """The held-out part of :func:`budget_arm` for a finished run folder: its chosen model (``best_model.zip``
    when there is one), final model and pretrained model on ``eval_episodes`` held-out seeds (10000+),
    with what ``run_info.json`` records of its pretraining and RL steps."""
    from sb3_plus.training.run import PRETRAINED_MODEL
    from sb3_plus.training.run_folder import read_run_info

    run_dir = Path(run_dir)
    info = read_run_info(run_dir)
    final_path = run_dir / info["model"]
    best = run_dir / "best_model.zip"
    chosen = best if best.exists() else final_path
    validation = _validation_record(run_dir)
    pretrained = run_dir / PRETRAINED_MODEL
    before_rl = _held_out(pretrained, eval_episodes, env_id) if pretrained.exists() else None
    final = _held_out(final_path, eval_episodes, env_id)
    if chosen == final_path:
        picked = final
    elif before_rl is not None and validation.get("best_at_steps") == 0:  # the best is the pretrained policy
        picked = before_rl
    else:
        picked = _held_out(chosen, eval_episodes, env_id)
    pre = info.get("pretrain") or {}
    return {
        "algo": algo or info["algo"], "wall_minutes": None if wall_seconds is None else round(wall_seconds / 60, 2),
        "collect_seconds": round(collect_seconds, 1),
        "pretrain_seconds": round(pre.get("total_seconds", 0.0), 1), "rl_steps": info["num_timesteps"],
        "model": chosen.name, "chosen_at_rl_steps": validation.get("best_at_steps"),
        "held_out_success_rate": picked["success_rate"], "mean_return": picked["mean_return"],
        "mean_length": picked["mean_length"], "eval_episodes": eval_episodes,
        "final_model": final,
        "after_pretraining": None if before_rl is None else dict(
            before_rl, minutes=round((collect_seconds + pre.get("total_seconds", 0.0)) / 60, 2)),
        "final_beats_pretrained": None if before_rl is None else final["success_rate"] > before_rl["success_rate"],
        "validation": validation,
        "dagger_rounds": [{k: r[k] for k in ("round", "beta", "learner_agreement", "eval_success",
                                             "dataset_steps", "seconds")} for r in pre.get("rounds", [])],
        "run_dir": str(run_dir), "final_path": str(final_path)}


def _validation_record(run_dir: Path) -> dict[str, Any]:
    """The run's validation evaluations (``evaluations.npz``): steps, success rates, and the chosen one."""
    import numpy as np

    from sb3_plus.training.callbacks import best_evaluation

    path = run_dir / "evaluations.npz"
    if not path.exists():
        return {}
    with np.load(path) as data:
        steps = [int(s) for s in data["timesteps"]]
        rates = [float(np.mean(s)) for s in data["successes"]]
        returns = [float(np.mean(r)) for r in data["results"]]
    return {"at_steps": steps, "success_rates": rates, "best_at_steps": steps[best_evaluation(rates, returns)]}


def _held_out(model_path: Path, episodes: int, env_id: str = ENV,
              env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Success on the held-out seeds (10000+), greedy and with sampled actions, and the greedy return and length."""
    from sb3_plus.models import evaluate_saved_model

    greedy = evaluate_saved_model(model_path, env_id, episodes=episodes, seed=10_000, env_kwargs=env_kwargs).summary()
    sampled = evaluate_saved_model(model_path, env_id, episodes=episodes, seed=10_000, deterministic=False,
                                   env_kwargs=env_kwargs).summary()
    return {"success_rate": greedy["success_rate"], "sampled_success_rate": sampled["success_rate"],
            "mean_return": round(greedy["mean_return"], 3), "mean_length": round(greedy["mean_length"], 1)}


def bench_maze(rounds: int = 8, eval_episodes: int = 100) -> dict[str, Any]:
    """BC vs DAgger on mazes, same number of episodes played and the same training schedule.

    BC is DAgger with beta 1 in every round (only expert play is recorded), so both arms
    see ``rounds x episodes`` episodes and the same BC epochs; only who drives differs.
    Success of the final policy alone on held-out seeds (new start positions; new mazes
    for the random-layout settings).
    """
    import tempfile

    from sb3_plus.config import ALGOS, load_hyperparams
    from sb3_plus.envs import make_env
    from sb3_plus.evaluation import evaluate_model
    from sb3_plus.imitation.dagger import train_dagger

    # (env id, env kwargs, what is held out, episodes per round)
    settings = [("MazeMedium-v0", {"fixed_layout_seed": 0}, "one maze, held-out starts", 20),
                ("MazeHard-v0", {"fixed_layout_seed": 0}, "one maze, held-out starts", 20),
                ("MazeEasy-v0", {}, "new maze every episode, held-out mazes", 60),
                ("MazeMedium-v0", {}, "new maze every episode, held-out mazes", 60)]
    rows = []
    for env_id, env_kwargs, what, episodes in settings:
        for method in ("bc", "dagger"):
            config = load_hyperparams("ppo_lstm", env_id)
            model = ALGOS["ppo_lstm"](config.policy, make_env(env_id, **env_kwargs), seed=0, **config.model_kwargs())
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as work:
                report = train_dagger(model.policy, env_id, work, env_kwargs=env_kwargs, rounds=rounds,
                                      episodes_per_round=episodes, epochs=10, eval_episodes=0,
                                      betas=[1.0] * rounds if method == "bc" else None, progress_bar=False,
                                      verbose=0)
            seconds = time.perf_counter() - start
            env = make_env(env_id, **env_kwargs)
            result = evaluate_model(model, env, eval_episodes, 10_000)
            env.close()
            rows.append({"env": env_id, "env_kwargs": env_kwargs, "setting": what, "method": method,
                         "held_out_success_rate": result.success_rate, "eval_episodes": eval_episodes,
                         "episodes_played": rounds * episodes,
                         "labelled_steps": report.rounds[-1].dataset_steps, "seconds": round(seconds, 1)})
            print(rows[-1], flush=True)
    return save_result("maze_bc_vs_dagger", {"policy": "ppo_lstm MlpLstmPolicy (zoo_configs/ppo_lstm.yml Maze*)",
                                       "rounds": rounds, "rows": rows,
                                       "command": "python -m sb3_plus.bench --only maze"})


def bench_goexplore(start_seeds: int = 10, episodes: int = 100, eval_episodes: int = 100) -> dict[str, Any]:
    """MyWayHome with no hand-written route and no planner: Go-Explore -> its route -> expert dataset -> DAgger.

    Go-Explore connects ``start_seeds`` start seeds to the goal; the waypoint expert plays ``episodes``
    episodes on the discovered route; ``train --pretrain dagger`` with the shipped settings distils it
    into a pixel policy (1,024 RL steps after it, all in the critic-only phase, so the policy is DAgger's);
    the policy then plays ``eval_episodes`` held-out seeds (10000+), greedy and sampled.
    """
    import shutil
    import tempfile

    from sb3_plus.data.collect import collect_expert
    from sb3_plus.exploration import GoExploreSettings, go_explore
    from sb3_plus.training import train

    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="goexplore-bench-"))
    try:
        explored = go_explore(ENV, out=work / "go_explore", minutes=5,
                              settings=GoExploreSettings(start_seeds=tuple(range(start_seeds))))
        explore_seconds = time.perf_counter() - start
        collected = collect_expert(ENV, episodes=episodes, seed=0, dataset_id="sb3plus/bench/goexplore-v0",
                                   route=explored.route, overwrite=True, progress_bar=False)
        collect_seconds = time.perf_counter() - start - explore_seconds
        result = train("ppo_lstm", ENV, n_timesteps=1024, log_folder=str(work / "logs"), verbose=0, eval_freq=0,
                       pretrain="dagger", dataset="sb3plus/bench/goexplore-v0", route=explored.route)
        chain_seconds = time.perf_counter() - start
        policy = _held_out(result.model_path, eval_episodes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return save_result("goexplore_chain", {
        "env": ENV, "start_seeds": start_seeds, "connected_seeds": explored.connected_seeds,
        "explore_steps": explored.steps, "explore_seconds": round(explore_seconds, 1),
        "route_waypoints": explored.route_waypoints, "route_success": explored.route_success,
        "expert_success_rate": collected.successes / episodes, "collect_seconds": round(collect_seconds, 1),
        "dagger_seconds": round((result.pretrain or {}).get("total_seconds", 0.0), 1),
        "chain_minutes": round(chain_seconds / 60, 2), "held_out": policy,
        "eval_seeds": f"10000-{10_000 + eval_episodes - 1}",
        "command": "python -m sb3_plus.bench --only goexplore"})
