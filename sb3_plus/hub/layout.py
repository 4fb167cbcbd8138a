"""The layout of a published model repo: its file names, the files it must have, and the model zip it loads.

Observation statistics travel as ``vecnormalize.json`` (:func:`export_vecnormalize` writes it,
:func:`read_vecnormalize_json` reads it), so that loading needs no unpickling; the run's
``vecnormalize.pkl`` is published too, for ``--trust-remote-pickle``.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from sb3_plus.hub.errors import RunFilesError
from sb3_plus.files import write_json_atomic

README = "README.md"
RESULTS = "results.json"
CONFIG = "config.yml"
RUN_INFO = "run_info.json"
ENV_KWARGS = "env_kwargs.yml"
COMMAND = "command.txt"
REPLAY_FILE = "replay.mp4"
LEARNING_CURVE = "learning_curve.png"
EVALUATIONS = "evaluations.npz"
VECNORMALIZE_PKL = "vecnormalize.pkl"
VECNORMALIZE_JSON = "vecnormalize.json"

#: Files every built repo folder has (besides the model zip).
REPO_REQUIRED = (README, RESULTS, CONFIG, RUN_INFO)
#: Files of the run folder copied as they are, when present.
COPIED_RUN_FILES = (LEARNING_CURVE, EVALUATIONS, VECNORMALIZE_PKL)
#: Files a download skips unless asked for everything (media).
SKIPPED_MEDIA = ("*.mp4", "*.png", "*.gif")
#: Zips of a run folder that are not its published model.
NOT_PUBLISHED_ZIPS = ("best_model.zip", "interrupted.zip")

DESCRIPTIONS = {
    README: "this model card",
    CONFIG: "resolved RL Zoo hyperparameters (reload with sb3_plus.config.load_saved_config)",
    ENV_KWARGS: "env settings passed to sb3_plus.envs.make_env",
    RUN_INFO: "run record: algo, env, seed, dataset id, pretraining report, final evaluation",
    COMMAND: "the training command as run",
    RESULTS: "held-out evaluation: mean/std return, success rate, episodes, seeds, deterministic",
    LEARNING_CURVE: "success rate and return against env steps",
    EVALUATIONS: "every evaluation during training (timesteps, returns, lengths, successes)",
    REPLAY_FILE: "one held-out episode, rendered",
    VECNORMALIZE_PKL: "VecNormalize statistics (pickle; loaded only with --trust-remote-pickle)",
    VECNORMALIZE_JSON: "VecNormalize statistics as JSON (used by the safe loader)",
}


def default_repo_name(algo: str, env_id: str) -> str:
    """rl_zoo3's model name: ``ppo-MazeEasy-v0``."""
    return f"{algo}-{env_id.replace('/', '-')}"


def model_file_name(algo: str, env_id: str) -> str:
    """The model zip's name in the repo: ``ppo-MazeEasy-v0.zip``."""
    return f"{default_repo_name(algo, env_id)}.zip"


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object of a repo folder; ``None`` when absent or not an object.

    :raises RunFilesError: the file is not valid JSON.
    """
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFilesError(f"{path} is not valid JSON ({exc}): it is truncated or corrupt. Fix: download the repo "
                            "again") from None
    return data if isinstance(data, dict) else None


def check_repo_folder(folder: str | Path) -> list[str]:
    """The files of a built repo folder; :class:`RunFilesError` when it is not one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFilesError(f"repo folder {folder} not found. Fix: build it with python -m sb3_plus.push_to_hub "
                            "--run RUN --repo-id ORG/NAME --dry-run")
    missing = [name for name in REPO_REQUIRED if not (folder / name).is_file()]
    if not any(folder.glob("*.zip")):
        missing.append("<model>.zip")
    if missing:
        raise RunFilesError(f"repo folder {folder} lacks {', '.join(missing)}. Fix: build it again with python -m "
                            "sb3_plus.push_to_hub --run RUN --repo-id ORG/NAME --dry-run")
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _model_file(folder: Path, info: dict[str, Any], results: dict[str, Any] | None) -> Path:
    for name in ((results or {}).get("model_file"), info.get("model")):
        if name and (folder / name).is_file():
            return folder / name
    zips = sorted(p for p in folder.glob("*.zip") if p.name not in NOT_PUBLISHED_ZIPS)
    if len(zips) == 1:
        return zips[0]
    raise RunFilesError(f"cannot tell which model zip of {folder} to load (found: "
                        f"{', '.join(p.name for p in zips) or 'none'}). Fix: pass a folder published by "
                        "python -m sb3_plus.push_to_hub, or a run folder of python -m sb3_plus.train")


def read_repo_folder(folder: Path) -> tuple[dict[str, Any], dict[str, Any] | None, Path]:
    """``run_info.json``, ``results.json`` (if any) and the model zip of a published repo (or a run folder).

    :raises RunFilesError: a file the loader needs is missing or unreadable.
    """
    info = read_json(folder / RUN_INFO)
    if info is None or not info.get("algo") or not info.get("env_id"):
        raise RunFilesError(f"{folder} has no usable {RUN_INFO} (algo and env id). Fix: pass a repo published by "
                            "python -m sb3_plus.push_to_hub or a run folder of python -m sb3_plus.train")
    if not (folder / CONFIG).is_file():
        raise RunFilesError(f"{folder} has no {CONFIG}, which the safe loader rebuilds the model from. Fix: "
                            "publish the run again with python -m sb3_plus.push_to_hub")
    results = read_json(folder / RESULTS)
    return info, results, _model_file(folder, info, results)


# ----------------------------------------------------------------------------- VecNormalize as JSON

def export_vecnormalize(pkl_path: str | Path, json_path: str | Path) -> Path:
    """Write a run's own ``VecNormalize`` statistics as JSON, readable without unpickling.

    :param pkl_path: the run's ``vecnormalize.pkl`` (written by this machine's training).
    :param json_path: where to write the JSON.
    """
    with open(pkl_path, "rb") as handle:
        norm = pickle.load(handle)  # the run's own file, written by sb3_plus.train

    def rms(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: rms(item) for key, item in value.items()}
        return {"mean": np.asarray(value.mean).tolist(), "var": np.asarray(value.var).tolist(),
                "count": float(value.count)}

    data = {
        "norm_obs": bool(norm.norm_obs), "norm_reward": bool(norm.norm_reward), "clip_obs": float(norm.clip_obs),
        "clip_reward": float(norm.clip_reward), "gamma": float(norm.gamma), "epsilon": float(norm.epsilon),
        "norm_obs_keys": list(norm.norm_obs_keys) if getattr(norm, "norm_obs_keys", None) else None,
        # obs_rms exists only with norm_obs
        "obs_rms": rms(norm.obs_rms) if "obs_rms" in vars(norm) else None, "ret_rms": rms(norm.ret_rms),
    }
    write_json_atomic(json_path, data)
    return Path(json_path)


def read_vecnormalize_json(path: Path, venv: Any) -> Any:
    """The statistics written by :func:`export_vecnormalize` as a ``VecNormalize`` frozen for evaluation.

    :param path: the ``vecnormalize.json``.
    :param venv: the ``VecEnv`` to wrap, or one gymnasium env (wrapped without building another).
    :return: a ``VecNormalize`` with ``training=False`` and ``norm_reward=False``.
    :raises RunFilesError: the file is unreadable or lacks the statistics.
    """
    from stable_baselines3.common.running_mean_std import RunningMeanStd
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

    data = read_json(path)
    if data is None or "obs_rms" not in data or "ret_rms" not in data:
        raise RunFilesError(f"{path} holds no VecNormalize statistics (obs_rms, ret_rms). Fix: publish the run again "
                            "with python -m sb3_plus.push_to_hub")
    if not isinstance(venv, VecEnv):
        env = venv
        venv = DummyVecEnv([lambda: env])
    norm = VecNormalize(venv, training=False, norm_obs=data.get("norm_obs", True), norm_reward=False,
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

    if data["obs_rms"] is not None:
        norm.obs_rms = rms(data["obs_rms"])
    norm.ret_rms = rms(data["ret_rms"])
    return norm
