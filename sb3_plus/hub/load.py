"""Download a published model and load it without unpickling anything from the repo.

An SB3 zip holds ``data`` (JSON whose class, schedule and space entries are cloudpickled)
and ``policy.pth`` (a torch state dict). The safe path, the default, never touches the
pickled entries: it rebuilds the algorithm from the repo's ``config.yml`` and env id with
sb3-plus's own config parser (which evaluates nothing), then loads ``policy.pth`` with
``torch.load(weights_only=True)``. Observation normalization comes from
``vecnormalize.json``. ``trust_remote_pickle=True`` (``--trust-remote-pickle``) is the
explicit consent to the plain ``ALGO.load(zip)`` path, which unpickles code.

A :class:`LoadedModel` owns the one env it was loaded with (built with the run's wrappers,
used again for evaluation): close it, or use it as a context manager.
"""

from __future__ import annotations

import inspect
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sb3_plus.hub.client import check_repo_id, hub_errors, make_api, resolve_endpoint, resolve_token
from sb3_plus.hub.errors import RunFilesError, UnsafeLoadError
from sb3_plus.hub.layout import CONFIG, SKIPPED_MEDIA, VECNORMALIZE_JSON, VECNORMALIZE_PKL, read_repo_folder, \
    read_vecnormalize_json
from sb3_plus.models import ModelZip, check_observation_shape, load_vecnormalize, read_model_zip
from sb3_plus.training.envs import copy_normalization, make_eval_env


@dataclass
class LoadedModel:
    """A model loaded from a published repo folder (or a run folder), with the env it was loaded with.

    :param model: the SB3 / sb3-contrib model.
    :param folder: the folder it came from.
    :param algo: the algo key.
    :param env_id: the env it was trained on.
    :param env_kwargs: the env settings of the run.
    :param model_file: the zip it was read from.
    :param safe: loaded from weights and configs only (nothing unpickled).
    :param normalized: its env normalizes observations with the published statistics (frozen).
    :param results: the published held-out evaluation (``results.json``), if present.
    :param config: the run's :class:`sb3_plus.config.TrainConfig`.
    :param env: the evaluation env (the run's wrappers) this object owns; ``None`` once closed.
    """

    model: Any
    folder: Path
    algo: str
    env_id: str
    env_kwargs: dict[str, Any]
    model_file: Path
    safe: bool
    normalized: bool = False
    results: dict[str, Any] | None = None
    config: Any = None
    env: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        """Close the env this object owns (a game process for ViZDoom); safe to call twice."""
        env, self.env = self.env, None
        if env is not None:
            env.close()

    def __enter__(self) -> LoadedModel:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"folder": str(self.folder), "algo": self.algo, "env_id": self.env_id, "env_kwargs": self.env_kwargs,
                "model_file": self.model_file.name, "safe": self.safe,
                "normalized_observations": self.normalized,
                "num_timesteps": int(getattr(self.model, "num_timesteps", 0)), "published_results": self.results}


def download_repo(repo_id: str, revision: str | None = None, out_dir: str | Path | None = None,
                  token: str | None = None, endpoint: str | None = None, include_pickles: bool = False,
                  include_media: bool = False) -> Path:
    """Download a model repo with ``huggingface_hub``'s client; return the local folder.

    :param repo_id: ``ORG/NAME``.
    :param revision: a branch, tag or commit (default ``main``).
    :param out_dir: download into this folder (default: the Hugging Face cache).
    :param token: a token for private repos (default: ``$HF_TOKEN`` or the saved login).
    :param endpoint: the Hub URL (default ``$HF_ENDPOINT`` or huggingface.co).
    :param include_pickles: also fetch ``*.pkl`` files (only useful with ``trust_remote_pickle``).
    :param include_media: also fetch the replay video and plots.
    """
    check_repo_id(repo_id)
    endpoint = resolve_endpoint(endpoint)
    api = make_api(endpoint, resolve_token(token))
    ignore = [] if include_media else list(SKIPPED_MEDIA)
    if not include_pickles:
        ignore.append("*.pkl")
    with hub_errors("download", repo_id, endpoint):
        path = api.snapshot_download(repo_id=repo_id, repo_type="model", revision=revision,
                                     local_dir=str(out_dir) if out_dir is not None else None,
                                     ignore_patterns=ignore or None)
    return Path(path)


# ----------------------------------------------------------------------------- safe loading

def _weights_only(saved: ModelZip, device: str) -> dict[str, Any]:
    """``policy.pth`` read with ``torch.load(weights_only=True)``: tensors only, nothing unpickled."""
    import pickle

    import torch

    try:
        return torch.load(io.BytesIO(saved.read("policy.pth")), map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeLoadError(
            f"policy.pth in {saved.path.name} holds more than tensors, so it cannot be loaded weights-only ({exc}). "
            "Fix: if you trust the repo, pass --trust-remote-pickle (trust_remote_pickle=True)") from None


def build_model_from_config(config: Any, env: Any, device: str = "cpu") -> Any:
    """A fresh model of the config's algorithm on ``env`` (weights random), for loading weights into.

    :param config: the run's :class:`sb3_plus.config.TrainConfig`.
    :param env: the evaluation env (the run's wrappers); it is shared, not copied.
    :param device: torch device.

    Off-policy replay buffers are made minimal: they play no part in acting.
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

    from sb3_plus.config import ALGOS

    algo_cls = ALGOS[config.algo]
    venv = env if isinstance(env, VecEnv) else DummyVecEnv([lambda: env])
    kwargs = config.model_kwargs()
    kwargs.pop("tensorboard_log", None)
    params = inspect.signature(algo_cls.__init__).parameters
    if "buffer_size" in params:
        kwargs["buffer_size"] = 1
        if "optimize_memory_usage" in params:
            kwargs["optimize_memory_usage"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return algo_cls(config.policy_class(), venv, device=device, verbose=0, **kwargs)


def _safe_model(saved: ModelZip, config: Any, env: Any, env_id: str, env_kwargs: dict[str, Any],
                device: str) -> Any:
    state = _weights_only(saved, device)
    model = build_model_from_config(config, env, device)
    check_observation_shape(saved.observation_shape, model.observation_space, model_file=saved.path, env_id=env_id,
                            env_kwargs=env_kwargs)
    try:
        model.set_parameters({"policy": state}, exact_match=False, device=device)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise UnsafeLoadError(
            f"the weights in {saved.path.name} do not fit the {config.algo} policy rebuilt from {CONFIG}: "
            f"{str(exc).splitlines()[0]}. Fix: check {CONFIG} matches the model, or, if you trust the repo, pass "
            "--trust-remote-pickle") from None
    num_timesteps = saved.data.get("num_timesteps")
    if isinstance(num_timesteps, int):
        model.num_timesteps = num_timesteps
    return model


def _load_normalization(folder: Path, config: Any, env: Any, trust_remote_pickle: bool) -> bool:
    """Put the published statistics into the env's (frozen) ``VecNormalize``; whether there were any."""
    if trust_remote_pickle and (folder / VECNORMALIZE_PKL).is_file():
        return copy_normalization(load_vecnormalize(folder / VECNORMALIZE_PKL, env), env)
    if (folder / VECNORMALIZE_JSON).is_file():
        return copy_normalization(read_vecnormalize_json(folder / VECNORMALIZE_JSON, env), env)
    if config.normalize and not trust_remote_pickle:
        raise UnsafeLoadError(
            f"{folder}: the model was trained on normalized observations but the repo has no {VECNORMALIZE_JSON} "
            "(only a pickle). Fix: republish it with python -m sb3_plus.push_to_hub, or, if you trust the repo, "
            "pass --trust-remote-pickle")
    return False


def load_published_model(folder: str | Path, trust_remote_pickle: bool = False, device: str = "cpu") -> LoadedModel:
    """Load the model of a published repo folder (or of a run folder).

    The result owns its evaluation env: close it (``with load_published_model(...) as loaded:``).

    :param folder: the downloaded repo (or a run folder with ``config.yml`` and ``run_info.json``).
    :param trust_remote_pickle: use ``ALGO.load(zip)``, which unpickles code from the zip, and
        ``vecnormalize.pkl``; only for repos you trust.
    :param device: torch device.
    :raises UnsafeLoadError: when weights and configs alone cannot rebuild the model (the message says why).
    """
    from sb3_plus.config import ALGOS, load_saved_config
    from sb3_plus.utils import set_torch_threads

    set_torch_threads()
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFilesError(f"model folder {folder} not found. Fix: pass a downloaded repo or a run folder")
    info, results, zip_path = read_repo_folder(folder)
    algo, env_id = info["algo"], info["env_id"]
    if algo not in ALGOS:
        raise UnsafeLoadError(f"{folder}: unknown algo {algo!r}. Fix: install the package that registers it "
                              f"(known: {', '.join(sorted(ALGOS))})")
    config = load_saved_config(folder / CONFIG, algo, env_id)
    env_kwargs = dict(info.get("env_kwargs") if info.get("env_kwargs") is not None else config.env_kwargs)
    saved = read_model_zip(zip_path)
    env = make_eval_env(config, env_id, env_kwargs)
    try:
        normalized = _load_normalization(folder, config, env, trust_remote_pickle)
        if trust_remote_pickle:
            model = ALGOS[algo].load(zip_path, device=device)
            check_observation_shape(model.observation_space.shape, env.observation_space, model_file=zip_path,
                                    env_id=env_id, env_kwargs=env_kwargs)
        else:
            model = _safe_model(saved, config, env, env_id, env_kwargs, device)
    except BaseException:
        env.close()
        raise
    return LoadedModel(model, folder, algo, env_id, env_kwargs, zip_path, safe=not trust_remote_pickle,
                       normalized=normalized, results=results, config=config, env=env)


def load_from_hub(repo_id: str, revision: str | None = None, out_dir: str | Path | None = None,
                  trust_remote_pickle: bool = False, token: str | None = None, endpoint: str | None = None,
                  device: str = "cpu") -> LoadedModel:
    """Download ``repo_id`` and load its model (weights and configs only unless ``trust_remote_pickle``).

    The result owns its evaluation env: close it (``with load_from_hub(...) as loaded:``).

    :param repo_id: ``ORG/NAME``.
    :param revision: a branch, tag or commit.
    :param out_dir: download into this folder (default: the Hugging Face cache).
    :param trust_remote_pickle: consent to unpickling the zip and ``vecnormalize.pkl``.
    :param token: a token for private repos.
    :param endpoint: the Hub URL.
    :param device: torch device.
    """
    folder = download_repo(repo_id, revision, out_dir, token, endpoint, include_pickles=trust_remote_pickle)
    return load_published_model(folder, trust_remote_pickle=trust_remote_pickle, device=device)
