"""Short mp4 replays of a model (for the demo, the Hub and README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sb3_plus.errors import BadOptionError


def record_video(model: Any, env_id: str, path: str | Path, env_kwargs: dict[str, Any] | None = None,
                 seed: int = 10_000, max_steps: int = 600, fps: int = 20, deterministic: bool = True,
                 config: Any = None, normalization: Any = None) -> Path:
    """Play one episode with ``model`` and write the env's full-resolution frames as mp4.

    :param model: an SB3 / sb3-contrib model.
    :param env_id: env id (same preprocessing as training via ``env_kwargs``).
    :param path: output ``.mp4``.
    :param env_kwargs: env options (default: the config's).
    :param seed: episode seed.
    :param max_steps: the episode stops (is truncated) after this many steps; the video holds one
        frame per step (the frame after it, but for the step that ended the episode in the game), so at
        most ``max_steps`` frames.
    :param fps: frames per second of the video.
    :param deterministic: greedy actions.
    :param config: the run's :class:`sb3_plus.config.TrainConfig`: the env is built with its wrappers
        (:func:`sb3_plus.training.envs.make_eval_env`).
    :param normalization: the observation statistics: a ``vecnormalize*.pkl`` path, or an env or
        ``VecNormalize`` holding them.
    """
    import imageio.v2 as imageio

    from sb3_plus.rollout import PolicyActor, play_episodes
    from sb3_plus.training.envs import copy_normalization, find_vec_normalize, make_eval_env

    if max_steps < 1:
        raise BadOptionError(f"the replay needs at least 1 step, got {max_steps}. Fix: pass --video-length 1 or more")
    frames: list[np.ndarray] = []
    stats = Path(normalization) if isinstance(normalization, (str, Path)) else None
    env = make_eval_env(config, env_id, env_kwargs, stats=stats, render_mode="rgb_array")

    def grab(step: Any) -> None:
        if "terminal_observation" not in step.info:  # the game ended: the env already shows the next episode
            frames.append(_rgb_frame(step.env.render()))

    try:
        if normalization is not None and stats is None:
            copy_normalization(find_vec_normalize(normalization) or normalization, env)
        play_episodes(env, PolicyActor(model, deterministic=deterministic), 1, seed, on_step=grab,
                      max_steps=max_steps)
    finally:
        env.close()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimwrite(path, frames, fps=fps, macro_block_size=16)
    return path


def _rgb_frame(frame: Any) -> np.ndarray:
    """An RGB frame cropped to multiples of 16 (what the mp4 encoder wants)."""
    if frame is None:
        raise BadOptionError("the env renders no frames. Fix: use an env that supports render_mode='rgb_array'")
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=2)
    h, w = frame.shape[:2]
    return frame[: h - h % 16, : w - w % 16]
