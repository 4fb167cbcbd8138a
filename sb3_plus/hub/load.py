"""Download a published model and load it without unpickling anything from the repo.

An SB3 zip holds ``data`` (JSON whose class, schedule and space entries are cloudpickled)
and ``policy.pth`` (a torch state dict). The safe path, the default, never touches the
pickled entries: it rebuilds the algorithm from the repo's ``config.yml`` and env id with
sb3-plus's own config parser (which evaluates nothing), then loads ``policy.pth`` with
``torch.load(weights_only=True)``. Observation normalization comes from
``vecnormalize.json``. ``trust_remote_pickle=True`` (``--trust-remote-pickle``) is the
explicit consent to the plain ``ALGO.load(zip)`` path, which unpickles code.
"""

from __future__ import annotations

import inspect
import io
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sb3_plus.evaluation import HELD_OUT_SEED, EvalResult
from sb3_plus.hub.client import hub_errors, make_api, resolve_endpoint, resolve_token
from sb3_plus.hub.errors import RunFilesError, UnsafeLoadError

VECNORMALIZE_JSON = "vecnormalize.json"
#: Files a download skips unless asked for everything (media; pickles unless trusted).
SKIPPED_MEDIA = ("*.mp4", "*.png", "*.gif")


@dataclass
class LoadedModel:
    """A model loaded from a published repo folder (or a run folder).

    :param model: the SB3 / sb3-contrib model.
    :param folder: the folder it came from.
    :param algo: the algo key.
    :param env_id: the env it was trained on.
    :param env_kwargs: the env settings of the run.
    :param model_file: the zip it was read from.
    :param safe: loaded from weights and configs only (nothing unpickled).
    :param obs_transform: observation normalization to apply before ``predict`` (or ``None``).
    :param results: the published held-out evaluation (``results.json``), if present.
    """

    model: Any
    folder: Path
    algo: str
    env_id: str
    env_kwargs: dict[str, Any]
    model_file: Path
    safe: bool
    obs_transform: Callable[[Any], Any] | None = None
    results: dict[str, Any] | None = None
    config: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"folder": str(self.folder), "algo": self.algo, "env_id": self.env_id, "env_kwargs": self.env_kwargs,
                "model_file": self.model_file.name, "safe": self.safe,
                "normalized_observations": self.obs_transform is not None,
                "num_timesteps": int(getattr(self.model, "num_timesteps", 0)), "published_results": self.results}


# ----------------------------------------------------------------------------- download

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
    from sb3_plus.hub.push import check_repo_id

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

def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RunFilesError(f"{path} is not valid JSON ({exc}). Fix: download the repo again") from None
    return data if isinstance(data, dict) else None


def _model_file(folder: Path, info: dict[str, Any], results: dict[str, Any] | None) -> Path:
    for name in ((results or {}).get("model_file"), info.get("model")):
        if name and (folder / name).is_file():
            return folder / name
    zips = sorted(p for p in folder.glob("*.zip") if p.name not in ("best_model.zip", "interrupted.zip"))
    if len(zips) == 1:
        return zips[0]
    raise RunFilesError(f"cannot tell which model zip of {folder} to load (found: "
                        f"{', '.join(p.name for p in zips) or 'none'}). Fix: pass a folder published by "
                        "python -m sb3_plus.push_to_hub, or a run folder of python -m sb3_plus.train")


def _read_folder(folder: Path) -> tuple[dict[str, Any], dict[str, Any] | None, Path]:
    info = _read_json(folder / "run_info.json")
    if info is None or not info.get("algo") or not info.get("env_id"):
        raise RunFilesError(f"{folder} has no usable run_info.json (algo and env id). Fix: pass a repo published by "
                            "python -m sb3_plus.push_to_hub or a run folder of python -m sb3_plus.train")
    if not (folder / "config.yml").is_file():
        raise RunFilesError(f"{folder} has no config.yml, which the safe loader rebuilds the model from. Fix: "
                            "publish the run again with python -m sb3_plus.push_to_hub")
    results = _read_json(folder / "results.json")
    return info, results, _model_file(folder, info, results)


def read_sb3_zip(zip_path: Path, device: str = "cpu") -> tuple[dict[str, Any], dict[str, Any]]:
    """The plain-JSON part of an SB3 zip's ``data`` and its policy weights, without unpickling.

    Entries of ``data`` that SB3 stored cloudpickled (``":serialized:"``) are dropped;
    ``policy.pth`` is read with ``torch.load(weights_only=True)``.

    :param zip_path: the model zip.
    :param device: torch device for the tensors.
    :raises UnsafeLoadError: when the zip is not an SB3 save or its weights need unpickling.
    """
    import pickle

    import torch

    try:
        with zipfile.ZipFile(zip_path) as archive:
            names = set(archive.namelist())
            if "policy.pth" not in names:
                raise UnsafeLoadError(f"{zip_path.name} has no policy.pth, so it is not an SB3 save. Fix: publish "
                                      "a model saved by Stable-Baselines3 (python -m sb3_plus.train)")
            raw_weights = archive.read("policy.pth")
            raw_data = archive.read("data") if "data" in names else b"{}"
    except zipfile.BadZipFile as exc:
        raise UnsafeLoadError(f"{zip_path} is not a zip file ({exc}). Fix: download the repo again") from None
    try:
        data = json.loads(raw_data)
    except json.JSONDecodeError:
        data = {}
    plain = {key: value for key, value in data.items()
             if not (isinstance(value, dict) and ":serialized:" in value and set(value) <= {":type:", ":serialized:"})}
    try:
        state = torch.load(io.BytesIO(raw_weights), map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeLoadError(
            f"policy.pth in {zip_path.name} holds more than tensors, so it cannot be loaded weights-only ({exc}). "
            "Fix: if you trust the repo, pass --trust-remote-pickle (trust_remote_pickle=True)") from None
    return plain, state


def _space_shape(entry: Any) -> tuple[int, ...] | None:
    if isinstance(entry, dict) and isinstance(entry.get("_shape"), list):
        return tuple(int(x) for x in entry["_shape"])
    return None


def build_model_from_config(config: Any, env_id: str, env_kwargs: dict[str, Any], device: str = "cpu") -> Any:
    """A fresh model of the config's algorithm on one env (weights random), for loading weights into.

    Off-policy replay buffers are made minimal: they play no part in acting.
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack

    from sb3_plus.config import ALGOS
    from sb3_plus.envs import make_env

    algo_cls = ALGOS[config.algo]
    venv = DummyVecEnv([lambda: make_env(env_id, **env_kwargs)])
    if config.frame_stack:
        venv = VecFrameStack(venv, config.frame_stack)
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


def _normalizer_from_json(path: Path, env_id: str, env_kwargs: dict[str, Any]) -> Callable[[Any], Any]:
    from stable_baselines3.common.running_mean_std import RunningMeanStd
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from sb3_plus.envs import make_env

    data = _read_json(path) or {}
    norm = VecNormalize(DummyVecEnv([lambda: make_env(env_id, **env_kwargs)]), training=False,
                        norm_obs=data.get("norm_obs", True), norm_reward=data.get("norm_reward", False),
                        clip_obs=data.get("clip_obs", 10.0), clip_reward=data.get("clip_reward", 10.0),
                        gamma=data.get("gamma", 0.99), epsilon=data.get("epsilon", 1e-8),
                        norm_obs_keys=data.get("norm_obs_keys"))

    def rms(entry: dict[str, Any]) -> Any:
        if "mean" not in entry:
            return {key: rms(value) for key, value in entry.items()}
        out = RunningMeanStd(shape=np.asarray(entry["mean"]).shape)
        out.mean = np.asarray(entry["mean"], dtype=np.float64)
        out.var = np.asarray(entry["var"], dtype=np.float64)
        out.count = float(entry["count"])
        return out

    norm.obs_rms = rms(data["obs_rms"])
    norm.ret_rms = rms(data["ret_rms"])
    return norm.normalize_obs


def _normalizer_from_pickle(path: Path, env_id: str, env_kwargs: dict[str, Any]) -> Callable[[Any], Any]:
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from sb3_plus.envs import make_env

    norm = VecNormalize.load(str(path), DummyVecEnv([lambda: make_env(env_id, **env_kwargs)]))
    norm.training = False
    return norm.normalize_obs


def load_published_model(folder: str | Path, trust_remote_pickle: bool = False, device: str = "cpu") -> LoadedModel:
    """Load the model of a published repo folder (or of a run folder).

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
    info, results, zip_path = _read_folder(folder)
    algo, env_id = info["algo"], info["env_id"]
    if algo not in ALGOS:
        raise UnsafeLoadError(f"{folder}: unknown algo {algo!r}. Fix: install the package that registers it "
                              f"(known: {', '.join(sorted(ALGOS))})")
    config = load_saved_config(folder / "config.yml", algo, env_id)
    env_kwargs = dict(info.get("env_kwargs") if info.get("env_kwargs") is not None else config.env_kwargs)
    transform = None
    if trust_remote_pickle:
        model = ALGOS[algo].load(zip_path, device=device)
        if (folder / "vecnormalize.pkl").is_file():
            transform = _normalizer_from_pickle(folder / "vecnormalize.pkl", env_id, env_kwargs)
        elif (folder / VECNORMALIZE_JSON).is_file():
            transform = _normalizer_from_json(folder / VECNORMALIZE_JSON, env_id, env_kwargs)
        return LoadedModel(model, folder, algo, env_id, env_kwargs, zip_path, safe=False, obs_transform=transform,
                           results=results, config=config)

    data, state = read_sb3_zip(zip_path, device)
    if config.normalize:
        if not (folder / VECNORMALIZE_JSON).is_file():
            raise UnsafeLoadError(
                f"{folder}: the model was trained on normalized observations but the repo has no {VECNORMALIZE_JSON} "
                "(only a pickle). Fix: republish it with python -m sb3_plus.push_to_hub, or, if you trust the repo, "
                "pass --trust-remote-pickle")
        transform = _normalizer_from_json(folder / VECNORMALIZE_JSON, env_id, env_kwargs)
    model = build_model_from_config(config, env_id, env_kwargs, device)
    saved_shape = _space_shape(data.get("observation_space"))
    if saved_shape is not None and saved_shape != tuple(model.observation_space.shape or ()):
        raise UnsafeLoadError(
            f"the model in {zip_path.name} expects observations of shape {saved_shape} but {env_id} with env settings "
            f"{env_kwargs} gives {tuple(model.observation_space.shape or ())}. Fix: check env_kwargs in run_info.json "
            "and config.yml of the repo")
    try:
        model.policy.load_state_dict(state)
    except (RuntimeError, KeyError) as exc:
        raise UnsafeLoadError(
            f"the weights in {zip_path.name} do not fit the {config.algo} policy rebuilt from config.yml: "
            f"{str(exc).splitlines()[0]}. Fix: check config.yml matches the model, or, if you trust the repo, pass "
            "--trust-remote-pickle") from None
    if isinstance(data.get("num_timesteps"), int):
        model.num_timesteps = data["num_timesteps"]
    return LoadedModel(model, folder, algo, env_id, env_kwargs, zip_path, safe=True, obs_transform=transform,
                       results=results, config=config)


def load_from_hub(repo_id: str, revision: str | None = None, out_dir: str | Path | None = None,
                  trust_remote_pickle: bool = False, token: str | None = None, endpoint: str | None = None,
                  device: str = "cpu") -> LoadedModel:
    """Download ``repo_id`` and load its model (weights and configs only unless ``trust_remote_pickle``).

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


# ----------------------------------------------------------------------------- playing

def record_episode(loaded: LoadedModel, path: str | Path, seed: int = HELD_OUT_SEED, max_steps: int = 600,
                   fps: int = 20, deterministic: bool = True) -> Path:
    """Play one episode (observation normalization included) and write its frames as mp4.

    :param loaded: the model.
    :param path: the ``.mp4`` to write.
    :param seed: the episode seed.
    :param max_steps: frames kept at most.
    :param fps: frames per second.
    :param deterministic: greedy actions.
    """
    from sb3_plus.video import record_video

    return record_video(loaded.model, loaded.env_id, path, loaded.env_kwargs, seed=seed, max_steps=max_steps,
                        fps=fps, deterministic=deterministic, obs_transform=loaded.obs_transform)


def evaluate_loaded(loaded: LoadedModel, episodes: int = 10, seed: int = HELD_OUT_SEED,
                    deterministic: bool = True) -> EvalResult:
    """Evaluate a loaded model on held-out seeds ``seed .. seed+episodes-1``."""
    from sb3_plus.envs import make_env
    from sb3_plus.evaluation import evaluate_model

    env = make_env(loaded.env_id, **loaded.env_kwargs)
    try:
        return evaluate_model(loaded.model, env, episodes, seed, deterministic, loaded.obs_transform)
    finally:
        env.close()


def enjoy(repo_id: str | None = None, folder: str | Path | None = None, episodes: int = 10,
          seed: int = HELD_OUT_SEED, deterministic: bool = True, video: str | Path | None = None,
          video_length: int = 600, trust_remote_pickle: bool = False, revision: str | None = None,
          out_dir: str | Path | None = None, endpoint: str | None = None, device: str = "cpu") -> dict[str, Any]:
    """Load a published model (from the Hub or a local folder), evaluate it and optionally record a replay.

    :param repo_id: ``ORG/NAME`` to download, or ``None`` with ``folder``.
    :param folder: a downloaded repo or a run folder.
    :param episodes: held-out episodes (0: none).
    :param seed: first seed.
    :param deterministic: greedy actions.
    :param video: write a replay of the first episode here.
    :param video_length: maximum frames of the replay.
    :param trust_remote_pickle: consent to unpickling (see :func:`load_published_model`).
    :param revision: a branch, tag or commit of the repo.
    :param out_dir: download folder.
    :param endpoint: the Hub URL.
    :param device: torch device.
    :return: a JSON-ready report: what was loaded, the evaluation, the video path.
    """
    if (repo_id is None) == (folder is None):
        raise ValueError("pass exactly one of --repo-id ORG/NAME or --folder PATH")
    if repo_id is not None:
        loaded = load_from_hub(repo_id, revision, out_dir, trust_remote_pickle, endpoint=endpoint, device=device)
    else:
        loaded = load_published_model(Path(folder), trust_remote_pickle, device)  # type: ignore[arg-type]
    report: dict[str, Any] = {"loaded": loaded.describe()}
    if episodes > 0:
        report["evaluation"] = evaluate_loaded(loaded, episodes, seed, deterministic).summary()
    if video is not None:
        report["video"] = str(record_episode(loaded, video, seed, video_length, deterministic=deterministic))
    return report
