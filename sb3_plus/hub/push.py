"""Publish a training run to the Hugging Face Hub.

:func:`build_repo_folder` evaluates the run's model on held-out seeds, records a replay
and writes the repo folder (model zip, resolved config, env settings, ``results.json``,
learning curve, evaluations, model card); :func:`upload_repo_folder` sends a built folder
with ``huggingface_hub``'s client; :func:`push_to_hub` does both. A failed upload keeps
the folder, and ``--folder`` uploads it later without evaluating again.
"""

from __future__ import annotations

import datetime as _dt
import json
import pickle
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sb3_plus.evaluation import HELD_OUT_SEED
from sb3_plus.hub.card import REPLAY_FILE, CardInputs, algo_display_name, build_card, mean_reward_text
from sb3_plus.hub.client import hub_errors, make_api, require_token, resolve_endpoint
from sb3_plus.hub.errors import RunFilesError
from sb3_plus.hub.load import VECNORMALIZE_JSON
from sb3_plus.utils import atomic_path, write_json_atomic

#: Files every built repo folder has.
REPO_REQUIRED = ("README.md", "results.json", "config.yml", "run_info.json")

_DESCRIPTIONS = {
    "README.md": "this model card",
    "config.yml": "resolved RL Zoo hyperparameters (reload with sb3_plus.config.load_saved_config)",
    "env_kwargs.yml": "env settings passed to sb3_plus.envs.make_env",
    "run_info.json": "run record: algo, env, seed, dataset id, pretraining report, final evaluation",
    "command.txt": "the training command as run",
    "results.json": "held-out evaluation: mean/std return, success rate, episodes, seeds, deterministic",
    "learning_curve.png": "success rate and return against env steps",
    "evaluations.npz": "every evaluation during training (timesteps, returns, lengths, successes)",
    REPLAY_FILE: "one held-out episode, rendered",
    "vecnormalize.pkl": "VecNormalize statistics (pickle; loaded only with --trust-remote-pickle)",
    VECNORMALIZE_JSON: "VecNormalize statistics as JSON (used by the safe loader)",
}


@dataclass
class PushResult:
    """What :func:`push_to_hub` built and sent.

    :param folder: the local repo folder (kept after the upload).
    :param repo_id: the target repo.
    :param files: the folder's files.
    :param results: the held-out evaluation (``results.json``).
    :param dry_run: nothing was sent.
    :param repo_url: the repo's URL on the Hub.
    :param commit_url: the commit's URL.
    :param commit_oid: the commit id.
    """

    folder: Path
    repo_id: str
    files: list[str]
    results: dict[str, Any]
    dry_run: bool = False
    repo_url: str | None = None
    commit_url: str | None = None
    commit_oid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "repo_id": self.repo_id, "files": self.files, "dry_run": self.dry_run,
                "repo_url": self.repo_url, "commit_url": self.commit_url, "commit_oid": self.commit_oid,
                "results": self.results}


def check_repo_id(repo_id: str) -> str:
    """``ORG/NAME`` or a :class:`ValueError` naming the fix."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise ValueError(f"repo id {repo_id!r} must be ORG/NAME (a user or organisation, then the model name), "
                         "e.g. --repo-id alice/ppo-MazeEasy-v0")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise ValueError(f"repo id {repo_id!r} is not valid on the Hub ({exc}). Fix: use letters, digits, '-', "
                         "'_' and '.', e.g. alice/ppo-MazeEasy-v0") from None
    return repo_id


def default_repo_name(algo: str, env_id: str) -> str:
    """rl_zoo3's model name: ``ppo-MazeEasy-v0``."""
    return f"{algo}-{env_id.replace('/', '-')}"


def read_run_folder(run_dir: str | Path, model: str = "final") -> tuple[dict[str, Any], Path]:
    """Check a run folder has what publishing needs; return its ``run_info`` and the model zip.

    :param run_dir: ``logs/<algo>/<env>_<N>``.
    :param model: ``"final"`` (the run's model), ``"best"`` (``best_model.zip``) or a zip name in the folder.
    :raises RunFilesError: naming every missing file and the fix.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFilesError(f"run folder {run_dir} not found. Fix: pass the folder written by python -m "
                            "sb3_plus.train, e.g. --run logs/ppo/MazeEasy-v0_1")
    missing = [name for name in ("run_info.json", "config.yml") if not (run_dir / name).is_file()]
    info: dict[str, Any] = {}
    if "run_info.json" not in missing:
        try:
            info = json.loads((run_dir / "run_info.json").read_text())
        except json.JSONDecodeError as exc:
            raise RunFilesError(f"{run_dir / 'run_info.json'} is not valid JSON ({exc}). Fix: restore it from the "
                                "training run, or train again") from None
        for key in ("algo", "env_id"):
            if not info.get(key):
                raise RunFilesError(f"{run_dir / 'run_info.json'} has no {key!r}. Fix: publish a folder written by "
                                    "python -m sb3_plus.train")
    if model == "final":
        name = info.get("model") or (f"{info['env_id'].replace('/', '_')}.zip" if info.get("env_id") else None)
        if name is None or not (run_dir / name).is_file():
            others = sorted(p.name for p in run_dir.glob("*.zip"))
            missing.append(name or "<env>.zip")
            if "interrupted.zip" in others:
                missing[-1] += " (the run was interrupted: finish it with python -m sb3_plus.train ... -i RUN, " \
                               "or pass --model interrupted.zip)"
    else:
        name = "best_model.zip" if model == "best" else model
        if not (run_dir / name).is_file():
            missing.append(name)
    if missing:
        present = sorted(p.name for p in run_dir.iterdir())
        raise RunFilesError(
            f"run folder {run_dir} lacks {', '.join(missing)} (it has: {', '.join(present) or 'nothing'}). Fix: pass "
            "a finished run folder of python -m sb3_plus.train (logs/<algo>/<env>_<N>)")
    return info, run_dir / name


def _dataset_info(dataset_id: str | None) -> dict[str, Any] | None:
    """The ``sb3plus`` block of a local Minari dataset's metadata (plain JSON), if at hand."""
    if not dataset_id:
        return None
    from sb3_plus.data.storage import datasets_root

    path = datasets_root() / dataset_id / "data" / "metadata.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    block = meta.get("sb3plus")
    return dict(block) if isinstance(block, dict) else None


def _config_entry(path: Path, env_id: str) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text()) or {}
    if env_id in data and isinstance(data[env_id], dict):
        return data[env_id]
    if len(data) == 1:
        return next(iter(data.values()))
    raise RunFilesError(f"{path} has no entry for {env_id}. Fix: publish the config.yml written by the run")


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
        "obs_rms": rms(norm.obs_rms), "ret_rms": rms(norm.ret_rms),
    }
    write_json_atomic(json_path, data)
    return Path(json_path)


def evaluate_for_hub(model_path: Path, info: dict[str, Any], episodes: int, seed: int, deterministic: bool,
                     device: str = "cpu") -> dict[str, Any]:
    """Evaluate ``model_path`` on held-out seeds; the ``results.json`` dict."""
    from sb3_plus.evaluate import evaluate

    result = evaluate(model_path, info["env_id"], episodes=episodes, seed=seed, algo=info["algo"],
                      deterministic=deterministic, env_kwargs=info.get("env_kwargs") or {}, device=device)
    summary = result.summary()
    return {
        "env_id": info["env_id"],
        "algo": info["algo"],
        "mean_reward": summary["mean_return"],
        "std_reward": summary["std_return"],
        "success_rate": summary["success_rate"],
        "successes": int(sum(bool(s) for s in result.successes)),
        "n_eval_episodes": summary["episodes"],
        "seeds": list(result.seeds),
        "first_seed": summary["first_seed"],
        "deterministic": deterministic,
        "is_deterministic": deterministic,
        "mean_length": summary["mean_length"],
        "std_length": summary["std_length"],
        "returns": [float(r) for r in result.returns],
        "eval_datetime": _dt.datetime.now().isoformat(timespec="seconds"),
    }


def record_replay(folder: Path, path: Path, seed: int, max_steps: int, device: str = "cpu") -> Path | None:
    """Record one held-out episode of the model in repo ``folder`` as mp4, loading it as users will (safely).

    Returns ``None`` with a warning when the env cannot render or the model cannot be loaded safely.
    """
    from sb3_plus.hub.load import load_published_model, record_episode

    try:
        loaded = load_published_model(folder, device=device)
        return record_episode(loaded, path, seed=seed, max_steps=max_steps)
    except Exception as exc:  # a replay is a bonus: never lose the publication for it
        warnings.warn(f"no replay video: {type(exc).__name__}: {exc}. Fix: make the env render rgb_array frames, "
                      "or pass --no-video", stacklevel=2)
        return None


def build_repo_folder(
    run_dir: str | Path,
    repo_id: str,
    out_dir: str | Path | None = None,
    n_eval_episodes: int = 10,
    eval_seed: int = HELD_OUT_SEED,
    deterministic: bool = True,
    video: bool = True,
    video_length: int = 600,
    model: str = "final",
    dataset_repo_id: str | None = None,
    device: str = "cpu",
    verbose: int = 1,
    license: str | None = "mit",
) -> tuple[Path, dict[str, Any]]:
    """Evaluate the run and write the repo folder; nothing leaves the machine.

    :param run_dir: the run folder.
    :param repo_id: ``ORG/NAME`` (named in the card's commands).
    :param out_dir: the folder to write (default ``<run_dir>/hub/<ORG>__<NAME>``); replaced atomically.
    :param n_eval_episodes: held-out evaluation episodes.
    :param eval_seed: first evaluation seed.
    :param deterministic: greedy actions in the evaluation.
    :param video: record ``replay.mp4``.
    :param video_length: maximum frames of the replay.
    :param model: ``"final"``, ``"best"`` or a zip name in the run folder.
    :param dataset_repo_id: the Hub dataset repo of the run's dataset, for the card's metadata.
    :param device: torch device for evaluation.
    :param verbose: 0 silent, 1 progress lines.
    :param license: the license id in the card's metadata (``None``: none).
    :return: the folder and the ``results.json`` dict.
    """
    from sb3_plus.utils import set_torch_threads

    check_repo_id(repo_id)
    if n_eval_episodes < 1:
        raise ValueError(f"n_eval_episodes must be at least 1, got {n_eval_episodes}")
    set_torch_threads()
    run_dir = Path(run_dir)
    info, model_path = read_run_folder(run_dir, model)
    env_id, algo = info["env_id"], info["algo"]
    folder = Path(out_dir) if out_dir is not None else run_dir / "hub" / repo_id.replace("/", "__")
    model_file = f"{default_repo_name(algo, env_id)}.zip"
    config = _config_entry(run_dir / "config.yml", env_id)

    if verbose:
        print(f"evaluating {model_path} on {n_eval_episodes} held-out episodes (seeds from {eval_seed}) ...",
              file=sys.stderr, flush=True)
    results = evaluate_for_hub(model_path, info, n_eval_episodes, eval_seed, deterministic, device)
    results.update(model_file=model_file, source_model=model_path.name,
                   num_timesteps=info.get("num_timesteps"), video_seed=eval_seed)

    with atomic_path(folder) as tmp:
        tmp.mkdir()
        shutil.copy2(model_path, tmp / model_file)
        shutil.copy2(run_dir / "config.yml", tmp / "config.yml")
        (tmp / "config.yml").chmod(0o644)
        (tmp / "env_kwargs.yml").write_text(yaml.safe_dump(info.get("env_kwargs") or {}, sort_keys=True))
        published = dict(info)
        published.update(model=model_file, published={"repo_id": repo_id, "source_model": model_path.name,
                                                       "model_file": model_file})
        write_json_atomic(tmp / "run_info.json", published)
        command = (run_dir / "command.txt").read_text().strip() if (run_dir / "command.txt").is_file() else None
        if command:
            (tmp / "command.txt").write_text(command + "\n")
        for name in ("learning_curve.png", "evaluations.npz", "vecnormalize.pkl"):
            if (run_dir / name).is_file():
                shutil.copy2(run_dir / name, tmp / name)
        if (run_dir / "vecnormalize.pkl").is_file():
            export_vecnormalize(run_dir / "vecnormalize.pkl", tmp / VECNORMALIZE_JSON)
        if video:
            if verbose:
                print("recording a replay ...", file=sys.stderr, flush=True)
            record_replay(tmp, tmp / REPLAY_FILE, eval_seed, video_length, device)
        write_json_atomic(tmp / "results.json", results)
        files = {p.name: _DESCRIPTIONS.get(p.name, "") for p in tmp.iterdir() if p.is_file()}
        files[model_file] = f"the {algo_display_name(algo)} model ({model_path.name} of the run)"
        files["README.md"] = _DESCRIPTIONS["README.md"]
        card = build_card(CardInputs(
            repo_id=repo_id, run_info=info, config=config, results=results, model_file=model_file, files=files,
            command=command, dataset_info=_dataset_info(info.get("dataset_id")), dataset_repo_id=dataset_repo_id,
            license=license))
        (tmp / "README.md").write_text(card, encoding="utf-8")
    if verbose:
        print(f"built {folder}: mean reward {mean_reward_text(results['mean_reward'], results['std_reward'])}, "
              f"success rate {results['success_rate']:.1%}", file=sys.stderr, flush=True)
    return folder, results


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


def upload_repo_folder(
    folder: str | Path,
    repo_id: str,
    token: str | None = None,
    endpoint: str | None = None,
    private: bool = False,
    update: bool = False,
    commit_message: str | None = None,
) -> PushResult:
    """Upload a built repo folder with ``huggingface_hub``'s client (one commit).

    :param folder: a folder written by :func:`build_repo_folder`.
    :param repo_id: ``ORG/NAME``.
    :param token: a token with write access (default: ``$HF_TOKEN`` or the saved login).
    :param endpoint: the Hub URL (default ``$HF_ENDPOINT`` or huggingface.co).
    :param private: create the repo private.
    :param update: the repo may already exist (a new commit is added); otherwise an existing repo is an error.
    :param commit_message: the commit message.
    :raises HubError: no token, token rejected, no permission, repo exists, network unreachable; the folder is kept.
    """
    check_repo_id(repo_id)
    folder = Path(folder).resolve()
    files = check_repo_folder(folder)
    results = json.loads((folder / "results.json").read_text())
    endpoint = resolve_endpoint(endpoint)
    token = require_token(token, folder, repo_id)
    api = make_api(endpoint, token)
    message = commit_message or (
        f"{algo_display_name(results.get('algo', '?'))} on {results.get('env_id', '?')}: mean reward "
        f"{mean_reward_text(results['mean_reward'], results['std_reward'])}, success rate "
        f"{float(results.get('success_rate', float('nan'))):.1%} (sb3-plus)")
    with hub_errors("upload", repo_id, endpoint, folder):
        api.whoami()
        repo_url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=update)
        commit = api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type="model", commit_message=message)
    return PushResult(folder=folder, repo_id=repo_id, files=files, results=results, repo_url=str(repo_url),
                      commit_url=getattr(commit, "commit_url", None), commit_oid=getattr(commit, "oid", None))


def push_to_hub(
    run_dir: str | Path,
    repo_id: str,
    n_eval_episodes: int = 10,
    eval_seed: int = HELD_OUT_SEED,
    deterministic: bool = True,
    video: bool = True,
    video_length: int = 600,
    model: str = "final",
    out_dir: str | Path | None = None,
    dry_run: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    private: bool = False,
    update: bool = False,
    commit_message: str | None = None,
    dataset_repo_id: str | None = None,
    device: str = "cpu",
    verbose: int = 1,
    license: str | None = "mit",
) -> PushResult:
    """Evaluate a run, build its repo folder and upload it (or only build it with ``dry_run``).

    See :func:`build_repo_folder` and :func:`upload_repo_folder` for the parameters.
    """
    check_repo_id(repo_id)
    folder, results = build_repo_folder(run_dir, repo_id, out_dir, n_eval_episodes, eval_seed, deterministic, video,
                                        video_length, model, dataset_repo_id, device, verbose, license)
    if dry_run:
        return PushResult(folder=folder.resolve(), repo_id=repo_id, files=check_repo_folder(folder),
                          results=results, dry_run=True)
    result = upload_repo_folder(folder, repo_id, token=token, endpoint=endpoint, private=private, update=update,
                                commit_message=commit_message)
    if verbose:
        print(f"published {result.repo_url}", file=sys.stderr, flush=True)
    return result
