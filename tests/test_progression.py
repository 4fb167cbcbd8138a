"""The checkpoint-progression video: one segment per checkpoint, early to late, labelled frames."""

from __future__ import annotations

import imageio.v2 as imageio
import pytest

from sb3_plus.errors import BadOptionError
from sb3_plus.progression import checkpoints_of, main, progression_video
from sb3_plus.training import train

FAST = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1", "vec_env_class:'dummy'"]


def test_one_segment_per_checkpoint_in_training_order(tmp_path) -> None:
    result = train("ppo", "MazeEasy-v0", n_timesteps=512, log_folder=tmp_path, hyperparams=FAST, eval_freq=0,
                   verbose=0, save_freq=128, keep_checkpoints=0)
    models = checkpoints_of(result.run_dir)
    assert [steps for steps, _ in models] == [128, 256, 384, 512, 512]  # four checkpoints, then the final model
    out = tmp_path / "progression.mp4"
    segments = progression_video(result.run_dir, out, seeds=[10_000, 10_001], max_steps=15)
    assert [s.steps for s in segments] == [128, 256, 384, 512, 512] and len(segments) == len(models)
    assert all(len(s.returns) == 2 and 2 <= s.frames <= 30 for s in segments)
    frames = imageio.mimread(out, memtest=False)
    assert len(frames) == sum(s.frames for s in segments)
    # the banner on top carries the label: white text on black, above the maze picture
    assert frames[0][:16].max() > 200 and frames[0][:16].mean() < 60


def test_command_line_and_bad_input(tmp_path, capsys) -> None:
    with pytest.raises(BadOptionError, match="not a run folder"):
        progression_video(tmp_path, tmp_path / "x.mp4")
    result = train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST, eval_freq=0,
                   verbose=0)
    report = main([str(result.run_dir), "--max-steps", "5"])
    assert report["video"].endswith("progression.mp4") and len(report["segments"]) == 1
    assert (result.run_dir / "progression.mp4").stat().st_size > 0
    assert not [p for p in result.run_dir.iterdir() if ".tmp" in p.name or p.name.startswith(".")]
