"""The pieces the benchmarks are made of: wall-clock snapshots, cell counting, invalid-action counting, the best
model of a memory run, the command line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sb3_plus.bench import main as bench_main
from sb3_plus.benchmarks.conveniences import InvalidActions
from sb3_plus.benchmarks.exploration import CellCounter, WallClockSnapshots, _random_cells
from sb3_plus.benchmarks.memory import _best_model
from sb3_plus.exploration.cells import CellSpec
from sb3_plus.models import evaluate_saved_model
from sb3_plus.training import train

FAST = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1"]
FIXED = {"fixed_layout_seed": 0, "fixed_start": True}


def test_wall_clock_snapshots_land_in_the_run_and_evaluate(tmp_path) -> None:
    # a clock started 100 s ago with a snapshot due every 30 s: three are due, one per step until caught up
    snapshots = WallClockSnapshots(every_s=30.0, start=time.perf_counter() - 100.0)
    result = train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path, hyperparams=FAST, eval_freq=0,
                   verbose=0, callback=snapshots)
    assert [s["steps"] for s in snapshots.saved] == [2, 4, 6]
    assert [Path(s["path"]).name for s in snapshots.saved] == ["wall_0.5min.zip", "wall_1min.zip", "wall_1.5min.zip"]
    first = snapshots.saved[0]
    assert first["path"].startswith(str(result.run_dir / "checkpoints" / "wall_"))
    # a snapshot is a model of the run: it evaluates with the run's env and settings
    assert evaluate_saved_model(first["path"], episodes=1, seed=10_000).seeds == [10_000]


def test_cell_counter_and_random_walk_count_distinct_maze_cells(tmp_path) -> None:
    spec = CellSpec(kind="pose", cell_size=1.0)
    counter = CellCounter(spec, every=128)
    train("ppo", "MazeHard-v0", n_timesteps=1024, log_folder=tmp_path, hyperparams=FAST, eval_freq=0, verbose=0,
          env_kwargs=FIXED, callback=counter)
    curve = [c for _, c in counter.curve]
    assert len(curve) == 8 and curve == sorted(curve) and 1 < curve[-1] <= 166
    walk = _random_cells("MazeHard-v0", FIXED, spec, steps=2000, every=500)
    assert [s for s, _ in walk] == [500, 1000, 1500, 2000]
    assert walk[0][1] <= walk[-1][1] < 166  # a random walk from the far corner does not see the whole maze


def test_bench_refuses_arms_of_another_benchmark(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        bench_main(["--only", "rnd", "--arms", "dagger"])
    assert exc.value.code == 2
    assert "names none of the rnd arms" in capsys.readouterr().err


def test_invalid_actions_counts_the_actions_a_fixed_mask_forbids_per_rollout(tmp_path) -> None:
    import numpy as np

    counter = InvalidActions(np.array([True, False, True]))  # forbid "turn right" in the maze
    train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path, hyperparams=FAST, eval_freq=0, verbose=0,
          callback=counter)
    assert counter.total == 256 and 0 < counter.invalid < 256  # an untrained policy turns right about a third
    assert [s for s, _ in counter.curve] == [128, 256]  # one point per rollout
    assert sum(rate * 128 for _, rate in counter.curve) == pytest.approx(counter.invalid)


def test_the_memory_check_picks_the_best_model_among_final_and_pretrained(tmp_path) -> None:
    rows = [{"arm": "scratch", "run_dir": str(tmp_path / "a"), "final_path": str(tmp_path / "a" / "f.zip"),
             "final_model": {"sampled_success_rate": 0.4}, "after_pretraining": None},
            {"arm": "dagger", "run_dir": str(tmp_path / "b"), "final_path": str(tmp_path / "b" / "f.zip"),
             "final_model": {"sampled_success_rate": 0.7}, "after_pretraining": {"sampled_success_rate": 0.9}}]
    assert _best_model(rows) == ("dagger", tmp_path / "b" / "pretrained.zip", "pretrained")
    rows[1]["final_model"]["sampled_success_rate"] = 0.95
    assert _best_model(rows) == ("dagger", tmp_path / "b" / "f.zip", "final")


def test_a_run_of_some_arms_gets_its_own_result_file_and_command() -> None:
    from sb3_plus.benchmarks.common import arms_run

    assert arms_run("e2e_mywayhome", ["dagger", "bc", "scratch"], ("scratch", "bc", "dagger"), "cmd") == \
        ("e2e_mywayhome", "cmd")
    assert arms_run("e2e_mywayhome", ["bc"], ("scratch", "bc", "dagger"), "cmd") == \
        ("e2e_mywayhome_bc", "cmd --arms bc")


def test_the_mario_curriculum_starts_from_the_1_1_benchmarks_pretrained_model(tmp_path) -> None:
    import json

    from sb3_plus.benchmarks.mario_levels import policy_of_level_11
    from sb3_plus.errors import InputNotFoundError

    with pytest.raises(InputNotFoundError, match="--only mario"):
        policy_of_level_11(tmp_path)
    runs = {arm: tmp_path / arm for arm in ("bc", "dagger", "scratch")}
    for arm, run in runs.items():
        run.mkdir()
        (run / "best_model.zip").write_bytes(b"zip")
    rows = [{"arm": arm, "run_dir": str(run), "model": "best_model.zip"} for arm, run in runs.items()]
    (tmp_path / "mario_11.json").write_text(json.dumps({"rows": rows}))
    assert policy_of_level_11(tmp_path) == runs["dagger"] / "best_model.zip"  # DAgger's before BC's, never scratch
    (runs["dagger"] / "best_model.zip").unlink()  # a run folder that is gone is skipped
    assert policy_of_level_11(tmp_path) == runs["bc"] / "best_model.zip"
    (runs["bc"] / "best_model.zip").unlink()
    with pytest.raises(InputNotFoundError, match="run folder is gone"):
        policy_of_level_11(tmp_path)


def test_a_finished_runs_held_out_row_reuses_the_pretrained_result_when_it_was_chosen(tmp_path, monkeypatch) -> None:
    import json

    import numpy as np

    import sb3_plus.benchmarks.learning as learning

    run = tmp_path / "run"
    run.mkdir()
    for name in ("final.zip", "best_model.zip", "pretrained.zip"):
        (run / name).write_bytes(b"model")
    (run / "run_info.json").write_text(json.dumps({"algo": "ppo", "model": "final.zip", "num_timesteps": 4096,
                                                   "pretrain": {"total_seconds": 60.0, "rounds": []}}))
    played = []

    def held_out(path, episodes, env_id, env_kwargs=None):
        played.append(Path(path).name)
        rate = 0.9 if Path(path).name == "pretrained.zip" else 0.1
        return {"success_rate": rate, "sampled_success_rate": rate, "mean_return": 1.0, "mean_length": 10.0}

    monkeypatch.setattr(learning, "_held_out", held_out)
    # the best validation right after pretraining, then after RL began
    for best_at, successes, expected in ((0, [1, 0, 0], ["pretrained.zip", "final.zip"]),
                                         (2048, [0, 1, 0], ["pretrained.zip", "final.zip", "best_model.zip"])):
        np.savez(run / "evaluations.npz", timesteps=[0, 2048, 4096], successes=[[s] for s in successes],
                 results=[[float(s)] for s in successes])
        played.clear()
        row = learning.arm_row(run, 100, "MazeEasy-v0", collect_seconds=30.0)
        assert played == expected
        assert row["model"] == "best_model.zip" and row["chosen_at_rl_steps"] == best_at
        assert row["held_out_success_rate"] == (0.9 if best_at == 0 else 0.1)
        assert row["rl_steps"] == 4096 and row["after_pretraining"]["minutes"] == 1.5 and row["wall_minutes"] is None


def test_the_mario_expert_benchmark_takes_levels_from_the_command_line(monkeypatch) -> None:
    import sb3_plus.benchmarks as benchmarks

    calls = []
    monkeypatch.setitem(benchmarks.BENCHES, "mario_expert", lambda **kwargs: calls.append(kwargs))
    bench_main(["--only", "mario_expert", "--levels", "1-2", "1-3"])
    bench_main(["--only", "mario_expert"])
    assert calls == [{"levels": ["1-2", "1-3"]}, {}]
