"""Short mp4 replays of a model (for the demo, the Hub and README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np


def record_video(model: Any, env_id: str, path: str | Path, env_kwargs: dict[str, Any] | None = None,
                 seed: int = 10_000, max_steps: int = 600, fps: int = 20, deterministic: bool = True,
                 obs_transform: Callable[[Any], Any] | None = None) -> Path:
    """Play one episode with ``model`` and write the env's full-resolution frames as mp4.

    :param model: an SB3 / sb3-contrib model.
    :param env_id: env id (same preprocessing as training via ``env_kwargs``).
    :param path: output ``.mp4``.
    :param seed: episode seed.
    :param max_steps: stop after this many steps.
    :param fps: frames per second of the video.
    :param deterministic: greedy actions.
    :param obs_transform: applied to observations before ``predict`` (e.g. VecNormalize statistics).
    """
    import imageio.v2 as imageio

    from sb3_plus.envs import make_env
    from sb3_plus.evaluation import evaluate_model

    frames: list[np.ndarray] = []
    kwargs = dict(env_kwargs or {})
    kwargs.setdefault("render_mode", "rgb_array")
    env = make_env(env_id, **kwargs)

    def grab(e: Any) -> None:
        if len(frames) < max_steps:
            frames.append(_rgb_frame(e.render()))

    try:
        env.reset(seed=seed)
        grab(env)
        evaluate_model(model, env, episodes=1, seed=seed, deterministic=deterministic, obs_transform=obs_transform,
                       frame_callback=grab)
    finally:
        env.close()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimwrite(path, frames, fps=fps, macro_block_size=16)
    return path


def _rgb_frame(frame: Any) -> np.ndarray:
    """An RGB frame cropped to multiples of 16 (what the mp4 encoder wants)."""
    if frame is None:
        raise ValueError("the env renders no frames. Fix: use an env that supports render_mode='rgb_array'")
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=2)
    h, w = frame.shape[:2]
    return frame[: h - h % 16, : w - w % 16]
