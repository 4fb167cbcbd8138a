"""The envs of a run, built in one place so that evaluation always sees the wrappers training sees.

Training: ``make_env`` -> Monitor (+ the config's ``env_wrapper``, as rl-zoo3 applies it) x ``n_envs`` -> Dummy/SubprocVecEnv
-> ``VecFrameStack`` (zoo ``frame_stack``) -> ``VecNormalize`` (zoo ``normalize``). Evaluation: the same
chain with one env, its ``VecNormalize`` frozen and synchronised with the training statistics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from sb3_plus.config.keys import VEC_ENV_CLASSES
from sb3_plus.errors import BadOptionError



def make_vec_env_for(env_id: str, n_envs: int, seed: int, env_kwargs: dict[str, Any], vec_env: str = "dummy",
                     monitor_dir: str | None = None, wrapper: Callable[[Any], Any] | None = None) -> Any:
    """Vectorised envs from :func:`sb3_plus.envs.make_env`, with Monitor recording ``success``.

    :param env_id: any id :func:`sb3_plus.envs.make_env` builds.
    :param n_envs: number of envs.
    :param seed: seed of the first env (env ``i`` gets ``seed + i``).
    :param env_kwargs: the env's options.
    :param vec_env: ``dummy``, ``subproc`` or ``workers``.
    :param monitor_dir: where Monitor writes its CSV files (default: nowhere).
    :param wrapper: applied to each env after Monitor (the zoo ``env_wrapper``, as SB3's ``make_vec_env`` does).
    """
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from sb3_plus.envs import family_of, make_env
    from sb3_plus.envs.registry import reports_success

    if vec_env not in VEC_ENV_CLASSES:
        raise BadOptionError(f"--vec-env must be one of {', '.join(VEC_ENV_CLASSES)}, got {vec_env!r}")
    from sb3_plus.envs.vec_workers import WorkerVecEnv

    cls = {"subproc": SubprocVecEnv, "workers": WorkerVecEnv}.get(vec_env, DummyVecEnv) if n_envs > 1 else DummyVecEnv
    # the pose families report success on every step; plain gymnasium envs and scored games do not
    family_of(env_id)  # loads the built-in families
    keywords = ("success",) if reports_success(env_id) else ()
    return make_vec_env(make_env, n_envs=n_envs, seed=seed, vec_env_cls=cls, monitor_dir=monitor_dir,
                        env_kwargs={"env_id": env_id, **env_kwargs}, monitor_kwargs={"info_keywords": keywords},
                        wrapper_class=wrapper)


def vecnormalize_path_for(model_path: Path) -> Path:
    """Where the VecNormalize statistics of a model zip live: ``model_X.zip`` -> ``vecnormalize_X.pkl``,
    ``best_model.zip`` -> ``best_vecnormalize.pkl``, any other zip -> ``vecnormalize.pkl`` beside it."""
    name = model_path.name
    if "model" in name:
        return model_path.parent / name.replace("model", "vecnormalize").replace(".zip", ".pkl")
    return model_path.parent / "vecnormalize.pkl"


def find_vecnormalize(model_path: Path) -> Path | None:
    """The statistics saved with ``model_path`` (its own file, else the run's ``vecnormalize.pkl``)."""
    candidates = [vecnormalize_path_for(model_path), model_path.parent / "vecnormalize.pkl",
                  model_path.parent.parent / "vecnormalize.pkl"]
    return next((c for c in candidates if c.exists()), None)


def wrap_vec_env(venv: Any, config: Any, *, stats: Path | None = None, training: bool = True) -> Any:
    """Add the config's vectorised wrappers (``frame_stack``, ``normalize``) to ``venv``.

    :param venv: the vectorised envs.
    :param config: the run's :class:`sb3_plus.config.TrainConfig`.
    :param stats: saved VecNormalize statistics to continue from (a resumed run, an evaluation).
    :param training: False for evaluation envs: statistics frozen, rewards not normalised.
    """
    from stable_baselines3.common.vec_env import VecFrameStack, VecNormalize, VecTransposeImage

    if config.normalize and _has_channel_last_images(venv.observation_space):
        # VecNormalize turns image spaces into float boxes, which SB3 would then no longer transpose
        venv = VecTransposeImage(venv)
    if config.frame_stack:
        venv = VecFrameStack(venv, config.frame_stack)
    if config.normalize:
        if stats is not None:
            venv = VecNormalize.load(str(stats), venv)
        else:
            venv = VecNormalize(venv, **config.vec_normalize_kwargs())
        if not training:
            venv.training = False
            venv.norm_reward = False
    return venv


def _has_channel_last_images(space: Any) -> bool:
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first

    subspaces = space.spaces.values() if isinstance(space, spaces.Dict) else [space]
    return any(is_image_space(s) and not is_image_space_channels_first(s) for s in subspaces)


def make_training_env(config: Any, env_id: str, seed: int, stats: Path | None = None) -> Any:
    """The run's training envs: ``config.n_envs`` envs with all the config's wrappers (and the family's
    training-only options, such as Atari's episodic life, unless the config sets them)."""
    from sb3_plus.envs import family_of
    from sb3_plus.envs.registry import training_env_kwargs

    family_of(env_id)  # loads the built-in families
    venv = make_vec_env_for(env_id, config.n_envs, seed, training_env_kwargs(env_id, config.env_kwargs),
                            config.vec_env_class, wrapper=config.env_wrapper_fn())
    try:
        return wrap_vec_env(venv, config, stats=stats)
    except BaseException:
        venv.close()
        raise


def make_eval_env(config: Any, env_id: str, env_kwargs: dict[str, Any] | None = None, *,
                  stats: Path | None = None, render_mode: str | None = None) -> Any:
    """One evaluation env (a one-env ``VecEnv``) with the wrappers training used; ``VecNormalize`` frozen;
    the family's training-only options at their evaluation values (Atari: whole games, real scores).

    Training, evaluation during training, ``evaluate``, the Hub loader and videos all build their
    envs here, so a model is always played behind the wrappers it learned with. The statistics come
    from ``stats`` (a ``vecnormalize*.pkl``), or are copied in before each evaluation with
    :func:`copy_normalization`.

    :param config: the run's :class:`sb3_plus.config.TrainConfig` (``None``: the plain env).
    :param env_id: the env.
    :param env_kwargs: env options (default: the config's).
    :param stats: saved VecNormalize statistics.
    :param render_mode: e.g. ``"rgb_array"`` for videos.
    """
    if env_kwargs is None:
        env_kwargs = dict(config.env_kwargs) if config is not None else {}
    if render_mode is not None:
        env_kwargs = {**env_kwargs, "render_mode": render_mode}
    from sb3_plus.envs import family_of
    from sb3_plus.envs.registry import evaluation_env_kwargs

    family_of(env_id)  # loads the built-in families
    env_kwargs = evaluation_env_kwargs(env_id, env_kwargs)
    wrapper = config.env_wrapper_fn() if config is not None else None
    venv = make_vec_env_for(env_id, 1, 0, env_kwargs, "dummy", wrapper=wrapper)
    try:
        if config is not None:
            return wrap_vec_env(venv, config, stats=stats, training=False)
        if stats is not None:  # a model without its run's config: its statistics alone
            from sb3_plus.models import load_vecnormalize

            return load_vecnormalize(stats, venv)
        return venv
    except BaseException:
        venv.close()
        raise


def find_vec_normalize(venv: Any) -> Any:
    """The ``VecNormalize`` in a chain of VecEnv wrappers (under ``VecTransposeImage`` too), or ``None``."""
    from stable_baselines3.common.vec_env import VecEnvWrapper, VecNormalize

    while isinstance(venv, VecEnvWrapper):
        if isinstance(venv, VecNormalize):
            return venv
        venv = venv.venv
    return None


def copy_normalization(source: Any, target_env: Any) -> bool:
    """Copy the statistics of ``source`` (a ``VecNormalize``) into the ``VecNormalize`` of ``target_env``.

    SB3's ``sync_envs_normalization`` walks both wrapper chains in step, so it needs them to be the
    same; a training chain has a ``VecTransposeImage`` on top for image observations. Returns whether
    there was something to copy into.
    """
    import copy

    target = find_vec_normalize(target_env)
    if source is None or target is None:
        return False
    for name in ("obs_rms", "ret_rms"):  # obs_rms exists only with norm_obs (a VecEnv's getattr would look below)
        if name in vars(source):
            setattr(target, name, copy.deepcopy(vars(source)[name]))
    return True
