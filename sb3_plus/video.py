"""Short mp4 replays of a model (for the demo, the Hub and README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def record_video(model: Any, env_id: str, path: str | Path, env_kwargs: dict[str, Any] | None = None,
                 seed: int = 10_000, max_steps: int = 600, fps: int = 20) -> Path:
    """Play one episode with ``model`` and write the env's full-resolution frames as mp4.

    :param model: an SB3 / sb3-contrib model.
    :param env_id: env id (same preprocessing as training via ``env_kwargs``).
    :param path: output ``.mp4``.
    :param seed: episode seed.
    :param max_steps: stop after this many steps.
    :param fps: frames per second of the video.
    """
    import imageio.v2 as imageio

    from sb3_plus.envs import make_env
    from sb3_plus.evaluation import evaluate_model

    frames: list[np.ndarray] = []
    env = make_env(env_id, **(env_kwargs or {}))

    def grab(e: Any) -> None:
        if len(frames) < max_steps:
            frame = np.asarray(e.render())
            if frame.ndim == 2:
                frame = np.repeat(frame[..., None], 3, axis=2)
            h, w = frame.shape[:2]
            frames.append(frame[: h - h % 16, : w - w % 16])

    try:
        env.reset(seed=seed)
        grab(env)
        evaluate_model(model, env, episodes=1, seed=seed, frame_callback=grab)
    finally:
        env.close()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimwrite(path, frames, fps=fps, macro_block_size=16)
    return path
