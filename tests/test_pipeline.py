"""One command for the chain: stages in order, resumable between stages and inside training, clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sb3_plus.pipelines.pipeline import PipelineError, run_pipeline

REPO = Path(__file__).resolve().parents[1]


def _recipe(tmp_path: Path, **train) -> dict:
    return {"env": "MazeEasy-v0", "env_kwargs": {"fixed_layout_seed": 3}, "out": str(tmp_path / "out"),
            "collect": {"dataset_id": "sb3plus/pipetest/maze-v0", "episodes": 6},
            "train": {"algo": "ppo", "pretrain": "bc", "pretrain_kwargs": {"epochs": 2}, "n_timesteps": 256,
                      "eval_freq": 0, "hyperparams": {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1,
                                                      "vec_env_class": "dummy"}, **train},
            "evaluate": {"episodes": 3}, "video": {"max_steps": 20},
            "push": {"repo_id": "me/ppo-MazeEasy-v0", "dry_run": True, "n_eval_episodes": 2}}


def test_stages_run_in_order_and_a_stop_between_stages_goes_on(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))
    recipe = _recipe(tmp_path)
    first = run_pipeline(recipe, until="collect", verbose=0)
    assert list(first["stages"]) == ["collect"] and first["pending"] == ["train", "evaluate", "video", "push"]
    collected = first["stages"]["collect"]
    report = run_pipeline(recipe, verbose=0)
    assert list(report["stages"]) == ["collect", "train", "evaluate", "video", "push"] and not report["pending"]
    assert report["stages"]["collect"] == collected  # not collected again
    trained = report["stages"]["train"]["result"]
    assert trained["rl_steps"] == 256 and trained["pretrain"]["method"] == "bc"
    assert report["stages"]["evaluate"]["result"]["episodes"] == 3
    assert Path(report["stages"]["video"]["result"]["video"]).stat().st_size > 0
    pushed = report["stages"]["push"]["result"]
    assert pushed["dry_run"] and (Path(pushed["folder"]) / "README.md").exists()
    assert json.loads((tmp_path / "out" / "report.json").read_text())["pending"] == []
    # everything done: a third run only reports
    again = run_pipeline(recipe, verbose=0)
    assert again["stages"]["train"] == report["stages"]["train"]
    # a finished stage whose settings changed is refused, unless restarted
    changed = _recipe(tmp_path, n_timesteps=512)
    with pytest.raises(PipelineError, match="train stage changed.*--restart"):
        run_pipeline(changed, verbose=0)
    assert run_pipeline(changed, restart=True, verbose=0)["stages"]["train"]["result"]["rl_steps"] == 512


def test_a_killed_training_stage_resumes_its_run(tmp_path) -> None:
    recipe = {"env": "MazeEasy-v0", "out": str(tmp_path / "out"),
              "train": {"algo": "ppo", "n_timesteps": 30_720, "eval_freq": 0, "save_freq": 1024,
                        "hyperparams": {"n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1,
                                        "vec_env_class": "dummy"}}}
    path = tmp_path / "recipe.yml"
    path.write_text(yaml.safe_dump(recipe))
    command = [sys.executable, "-m", "sb3_plus.pipeline", str(path)]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    state_file = tmp_path / "out" / "pipeline.json"
    deadline = time.time() + 120
    run_dir = None
    while time.time() < deadline:
        found = list((tmp_path / "out" / "logs" / "ppo").glob("MazeEasy-v0_*/checkpoints/model_*_steps.zip"))
        if found:
            run_dir = str(found[0].parent.parent)
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert run_dir, "the training stage never saved a checkpoint"
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    state = json.loads(state_file.read_text())
    assert state["train"]["finished"] and state["train"]["result"]["run_dir"] == run_dir  # the same run, resumed
    assert state["train"]["result"]["rl_steps"] == 30_720
    assert (Path(run_dir) / "command.txt").read_text().count("sb3_plus.pipeline") == 2


@pytest.mark.parametrize("change, match", [
    ({"trian": {}}, "unknown stage or key 'trian'.*did you mean 'train'"),
    ({"train": [1, 2]}, "train must be a mapping"),
    ({"env": None}, "no env"),
    ({"push": {"dry_run": True}}, "push needs repo_id"),
    ({"train": {"algo": "ppo", "lr": 1}}, "unknown key\\(s\\) \\['lr'\\]"),
])
def test_bad_recipes_are_named(tmp_path, change, match) -> None:
    recipe = {"env": "MazeEasy-v0", "out": str(tmp_path), "train": {"algo": "ppo"}, **change}
    with pytest.raises(PipelineError, match=match):
        run_pipeline(recipe, verbose=0)


def test_command_line_errors_are_one_line(tmp_path) -> None:
    bad = tmp_path / "r.yml"
    bad.write_text("env: MazeEasy-v0\nevaluate: {}\n")
    done = subprocess.run([sys.executable, "-m", "sb3_plus.pipeline", str(bad)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("error:") and "no train stage" in done.stderr
    assert "Traceback" not in done.stderr
    shipped = yaml.safe_load((REPO / "recipes" / "mazeeasy-bc-ppo.yml").read_text())
    from sb3_plus.pipelines.pipeline import check_recipe

    assert list(check_recipe(shipped)) == list(shipped) + ([] if "env_kwargs" in shipped else ["env_kwargs"])
