"""The envs of a run: training envs and evaluation envs built in one place, with the same wrappers."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def make_vec_env_for(env_id: str, n_envs: int, seed: int, env_kwargs: dict[str, Any], vec_env: str = "dummy",
                     monitor_dir: str | None = None) -> Any:
    """Vectorised envs from :func:`sb3_plus.envs.make_env`, with Monitor recording ``success``."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from sb3_plus.envs import family_of, make_env

    if vec_env not in ("dummy", "subproc"):
        raise ValueError(f"--vec-env must be dummy or subproc, got {vec_env!r}")
    cls = SubprocVecEnv if vec_env == "subproc" and n_envs > 1 else DummyVecEnv
    # the pose families report success on every step; plain gymnasium envs do not
    keywords = ("success",) if family_of(env_id) != "gym" else ()
    return make_vec_env(make_env, n_envs=n_envs, seed=seed, vec_env_cls=cls, monitor_dir=monitor_dir,
                        env_kwargs={"env_id": env_id, **env_kwargs}, monitor_kwargs={"info_keywords": keywords})


def _wrap_vec(venv: Any, config: Any, run_dir: Path | None, resume_from: Path | None) -> Any:
    from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize

    if config.frame_stack:
        venv = VecFrameStack(venv, config.frame_stack)
    if config.normalize:
        kwargs = config.normalize if isinstance(config.normalize, dict) else {}
        stats = _vecnormalize_for(resume_from) if resume_from else None
        if stats is not None:
            venv = VecNormalize.load(str(stats), venv)
        else:
            venv = VecNormalize(venv, **kwargs)
    return venv


def _vecnormalize_for(model_path: Path) -> Path | None:
    candidates = [model_path.parent / model_path.name.replace("model_", "vecnormalize_").replace(".zip", ".pkl"),
                  model_path.parent / "vecnormalize.pkl"]
    return next((c for c in candidates if c.exists()), None)
