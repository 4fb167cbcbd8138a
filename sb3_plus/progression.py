"""``python -m sb3_plus.progression``: one mp4 of a run's checkpoints from early to late, on the same seeds.

Every checkpoint of the run folder (``checkpoints/model_<steps>_steps.zip``, the ``wall_*`` snapshots
of the benchmarks, ``pretrained.zip``, then the final model) plays the same held-out seeds, one
segment each, in order of training steps; a banner over each frame names the checkpoint's steps,
the episode and the action taken. Train with ``--save-freq N --keep-checkpoints 0`` to keep them all.

Example::

    python -m sb3_plus.progression logs/ppo/MazeEasy-v0_1 --out progression.mp4 --seeds 10000 10001
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sb3_plus.cli_common import make_parser, print_json, run_cli
from sb3_plus.errors import BadOptionError

__all__ = ["Segment", "checkpoints_of", "progression_video", "main"]

_BANNER = 18  # pixels of the label above each frame


@dataclass
class Segment:
    """One checkpoint's part of the video."""

    checkpoint: str
    steps: int
    frames: int = 0
    returns: list[float] = field(default_factory=list)


def _steps_of(path: Path, info: dict[str, Any]) -> int:
    """Training steps of a checkpoint: from its name, or the run record for the final and pretrained models."""
    from sb3_plus.training.callbacks import checkpoint_steps

    if path.name.startswith("model_"):
        return checkpoint_steps(path)
    if path.name == "pretrained.zip":
        return 0
    if path.name.startswith("wall_"):
        import zipfile

        with zipfile.ZipFile(path) as archive:  # SB3 keeps num_timesteps in the zip's data
            import json

            return int(json.loads(archive.read("data")).get("num_timesteps", 0))
    return int(info.get("num_timesteps", 0))


def checkpoints_of(run_dir: str | Path) -> list[tuple[int, Path]]:
    """``(steps, zip)`` of every model a run folder holds, early to late (the final model last).

    :raises BadOptionError: a folder that is not a run folder, or holds no model.
    """
    from sb3_plus.models import read_run_json, run_model_file

    run_dir = Path(run_dir)
    info = read_run_json(run_dir / "run_info.json")
    if not info:
        raise BadOptionError(f"{run_dir} is not a run folder (no run_info.json). Fix: pass a folder that "
                             "python -m sb3_plus.train wrote, e.g. logs/ppo/MazeEasy-v0_1")
    found = sorted(run_dir.glob("checkpoints/model_*_steps.zip")) + sorted(run_dir.glob("checkpoints/wall_*.zip"))
    found += [p for p in (run_dir / "pretrained.zip",) if p.exists()]
    ordered = sorted((_steps_of(p, info), p) for p in found)
    final = run_model_file(run_dir, info)
    if final.exists():
        ordered.append((_steps_of(final, info), final))
    if not ordered:
        raise BadOptionError(f"{run_dir} holds no model yet. Fix: wait for the first checkpoint (--save-freq)")
    return ordered


def action_names(env: Any) -> list[str] | None:
    """Names of a discrete env's actions, where the env knows them (Atari, mazes, ViZDoom's single buttons)."""
    base = env.envs[0] if hasattr(env, "envs") else env
    try:
        return list(base.unwrapped.get_action_meanings())
    except AttributeError:
        pass
    try:
        mapping = base.get_wrapper_attr("expert_action_map")
    except AttributeError:
        return None
    names: dict[int, str] = {}
    for name, index in dict(mapping).items():
        names.setdefault(int(index), name)
    return [names.get(i, str(i)) for i in range(max(names) + 1)] if names else None


def _labelled(frame: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    from sb3_plus.video import _rgb_frame

    frame = _rgb_frame(frame)
    canvas = Image.new("RGB", (frame.shape[1], frame.shape[0] + _BANNER - _BANNER % 16 + 16), (0, 0, 0))
    canvas.paste(Image.fromarray(frame), (0, canvas.height - frame.shape[0]))
    ImageDraw.Draw(canvas).text((3, 3), text, fill=(255, 255, 255))
    return np.asarray(canvas)


def _scaled(frame: np.ndarray, width: int) -> np.ndarray:
    """Small frames (a 50-pixel maze) grow so that the label fits."""
    from PIL import Image

    if frame.shape[1] >= width:
        return frame
    factor = int(np.ceil(width / frame.shape[1]))
    return np.asarray(Image.fromarray(frame).resize((frame.shape[1] * factor, frame.shape[0] * factor),
                                                    Image.NEAREST))


def progression_video(run_dir: str | Path, out: str | Path, seeds: Sequence[int] = (10_000,), max_steps: int = 300,
                      fps: int = 20, deterministic: bool = True) -> list[Segment]:
    """Write the progression mp4 of a run folder and return its segments (see the module).

    :param run_dir: a run folder.
    :param out: the mp4 to write (atomically).
    :param seeds: episode seeds every checkpoint plays.
    :param max_steps: steps per episode at most.
    :param fps: frames per second.
    :param deterministic: greedy actions.
    """
    import imageio.v2 as imageio

    from sb3_plus.files import atomic_path
    from sb3_plus.models import _run_config, load_model, read_run_json
    from sb3_plus.rollout import PolicyActor, play_episodes
    from sb3_plus.training.envs import find_vecnormalize, make_eval_env

    if max_steps < 1 or not seeds:
        raise BadOptionError("the video needs at least one seed and one step. Fix: pass --seeds and --max-steps >= 1")
    run_dir = Path(run_dir)
    models = checkpoints_of(run_dir)
    info = read_run_json(run_dir / "run_info.json")
    config = _run_config(run_dir, info)
    frames: list[np.ndarray] = []
    segments = []
    for steps, path in models:
        segment = Segment(path.name, steps)
        env = make_eval_env(config, info["env_id"], stats=find_vecnormalize(path), render_mode="rgb_array")
        names = action_names(env)
        model = load_model(path)

        def grab(step: Any, segment: Segment = segment, names: list[str] | None = names) -> None:
            if "terminal_observation" in step.info:
                return
            action = int(np.asarray(step.action).ravel()[0]) if np.asarray(step.action).size == 1 else step.action
            label = names[action] if names and isinstance(action, int) and action < len(names) else str(action)
            frame = _scaled(np.asarray(step.env.render()), 240)
            frames.append(_labelled(frame, f"{segment.steps:,} steps | seed {step.seed} | t {step.t} | {label}"))
            segment.frames += 1

        try:
            played = play_episodes(env, PolicyActor(model, deterministic=deterministic), seeds=list(seeds),
                                   on_step=grab, max_steps=max_steps)
        finally:
            env.close()
        segment.returns = [round(float(r), 3) for r in played.returns]
        segments.append(segment)
    sizes = {f.shape for f in frames}
    if len(sizes) > 1:  # checkpoints of another resolution cannot share one video
        raise BadOptionError(f"the checkpoints render frames of different sizes {sorted(sizes)}. Fix: pass a run "
                             "whose checkpoints play one env")
    with atomic_path(Path(out), suffix=".mp4") as tmp:
        imageio.mimwrite(tmp, frames, fps=fps, macro_block_size=16, format="FFMPEG", codec="libx264")
    return segments


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("progression", __doc__)
    p.add_argument("run_dir", help="a run folder (logs/<algo>/<env>_<N>)")
    p.add_argument("--out", default=None, help="the mp4 (default: <run_dir>/progression.mp4)")
    p.add_argument("--seeds", type=int, nargs="+", default=[10_000], help="episode seeds (default 10000)")
    p.add_argument("--max-steps", type=int, default=300, help="steps per episode at most (default 300)")
    p.add_argument("--fps", type=int, default=20, help="frames per second (default 20)")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of greedy")
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    out = Path(args.out) if args.out else Path(args.run_dir) / "progression.mp4"
    segments = progression_video(args.run_dir, out, args.seeds, args.max_steps, args.fps, not args.stochastic)
    report = {"video": str(out), "segments": [vars(s) for s in segments]}
    print_json(report)
    return report


if __name__ == "__main__":
    sys.exit(run_cli(main))
