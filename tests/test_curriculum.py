"""Curricula: the stages move on passing evaluations, are logged and saved, resume, and bad settings are named."""

from __future__ import annotations

import json

import pytest

from sb3_plus.errors import BadOptionError
from sb3_plus.training import train
from sb3_plus.training.curriculum import parse_curriculum

FAST = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1", "vec_env_class:'dummy'"]


def _curriculum(threshold: float = 0.0, stages=(2, 3, 4)) -> list[str]:
    return FAST + [f"curriculum:{{option: size, stages: {list(stages)}, threshold: {threshold}, metric: return}}"]


def test_stages_move_on_passing_evaluations_and_resume_at_their_stage(tmp_path) -> None:
    # threshold 0 on the return: every evaluation passes, so each one moves to the next stage
    seen: list[int] = []
    result = train("ppo", "MazeEasy-v0", n_timesteps=384, log_folder=tmp_path, hyperparams=_curriculum(),
                   eval_freq=128, eval_episodes=1, verbose=0,
                   on_eval=lambda steps, r: seen.append(steps))
    state = json.loads((result.run_dir / "curriculum.json").read_text())
    assert state["stage"] == 2 and [h["value"] for h in state["history"]] == [3, 4]
    assert [h["steps"] for h in state["history"]] == sorted(h["steps"] for h in state["history"])
    assert seen  # the user's own on_eval still hears every evaluation
    progress = (result.run_dir / "tb" / "progress.csv").read_text().splitlines()
    column = progress[0].split(",").index("curriculum/stage")
    stages = {row.split(",")[column] for row in progress[1:] if row.split(",")[column]}
    assert {"0", "1", "2"} <= {s.split(".")[0] for s in stages}
    # the final stage is the env the model now plays: maze size 4
    from sb3_plus.models import load_model

    model = load_model(result.model_path)
    assert model is not None
    resumed = train("ppo", "MazeEasy-v0", n_timesteps=512, trained_agent=result.run_dir, hyperparams=_curriculum(),
                    eval_freq=128, eval_episodes=1, verbose=0)
    again = json.loads((resumed.run_dir / "curriculum.json").read_text())
    assert again["stage"] == 2 and len(again["history"]) == 2  # resumed at its last stage, nothing repeated


def test_a_failing_evaluation_keeps_the_stage(tmp_path) -> None:
    result = train("ppo", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path, eval_freq=128, eval_episodes=1,
                   verbose=0, hyperparams=FAST + ["curriculum:{option: size, stages: [2, 3], threshold: 1.0}",
                                                  "env_kwargs:{max_episode_steps: 2}"])
    assert not (result.run_dir / "curriculum.json").exists()  # 2 steps never reach the goal: stage 0 kept


@pytest.mark.parametrize("raw, match", [
    ({"option": "size"}, "at least two values"),
    ({"option": "size", "stages": [2, 3], "speed": 1}, "unknown key"),
    ({"option": "size", "stages": [2, 3], "threshold": 2.0}, "success rate in"),
    ({"option": "size", "stages": [2, 3], "metric": "reward"}, "not one of success, return"),
    ("size", "must be a mapping"),
])
def test_bad_settings_are_named(raw, match) -> None:
    with pytest.raises(BadOptionError, match=match):
        parse_curriculum(raw)


def test_an_option_the_env_does_not_take_fails_before_any_folder(tmp_path) -> None:
    with pytest.raises(BadOptionError, match="'width' is not an option of MazeEasy-v0.*Fix: use one of"):
        train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, verbose=0,
              hyperparams=FAST + ["curriculum:{option: width, stages: [2, 3]}"])
    with pytest.raises(BadOptionError, match="size"):
        train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, verbose=0,
              hyperparams=FAST + ["curriculum:{option: size, stages: [2, -3]}"])
    with pytest.raises(BadOptionError, match="evaluation is off"):
        train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, verbose=0, eval_freq=0,
              hyperparams=FAST + ["curriculum:{option: size, stages: [2, 3]}"])
    assert not any(tmp_path.rglob("config.yml"))


def test_recurrent_runs_restart_their_memory_at_a_new_stage(tmp_path) -> None:
    result = train("ppo_lstm", "MazeEasy-v0", n_timesteps=256, log_folder=tmp_path, hyperparams=_curriculum(),
                   eval_freq=128, eval_episodes=1, verbose=0)
    state = json.loads((result.run_dir / "curriculum.json").read_text())
    assert state["stage"] >= 1 and result.num_timesteps == 256
