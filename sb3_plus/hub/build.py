"""Build the repo folder of a training run: evaluate on held-out seeds, record a replay, write the card.

Nothing leaves the machine here; :mod:`sb3_plus.hub.push` uploads what :func:`build_repo_folder` wrote.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml

from sb3_plus.errors import BadOptionError
from sb3_plus.evaluation import HELD_OUT_SEED
from sb3_plus.hub.card import CardInputs, algo_display_name, build_card, mean_reward_text
from sb3_plus.hub.client import check_repo_id
from sb3_plus.hub.errors import RunFilesError
from sb3_plus.hub.layout import (COMMAND, CONFIG, COPIED_RUN_FILES, DESCRIPTIONS, ENV_KWARGS, README, REPLAY_FILE,
                                 RESULTS, RUN_INFO, VECNORMALIZE_JSON, VECNORMALIZE_PKL, export_vecnormalize,
                                 model_file_name)
from sb3_plus.models import ModelFileError, read_model_zip, read_run_json, run_model_file
from sb3_plus.training.envs import find_vecnormalize
from sb3_plus.utils import json_safe
from sb3_plus.files import atomic_path, write_json_atomic


def read_run_folder(run_dir: str | Path, model: str = "final") -> tuple[dict[str, Any], Path]:
    """Check a run folder has what publishing needs; return its ``run_info`` and the model zip.

    :param run_dir: ``logs/<algo>/<env>_<N>``.
    :param model: ``"final"`` (the run's model), ``"best"`` (``best_model.zip``) or a zip name in the folder.
    :raises RunFilesError: naming every missing file and the fix.
    :raises ModelFileError: the model zip or ``run_info.json`` is truncated or corrupt.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFilesError(f"run folder {run_dir} not found. Fix: pass the folder written by python -m "
                            "sb3_plus.train, e.g. --run logs/ppo/MazeEasy-v0_1")
    missing = [name for name in (RUN_INFO, CONFIG) if not (run_dir / name).is_file()]
    info = read_run_json(run_dir / RUN_INFO)
    if RUN_INFO not in missing:
        for key in ("algo", "env_id"):
            if not info.get(key):
                raise RunFilesError(f"{run_dir / RUN_INFO} has no {key!r}. Fix: publish a folder written by "
                                    "python -m sb3_plus.train")
    model_path = run_model_file(run_dir, info, model)
    if not model_path.is_file():
        missing.append(model_path.name)
        if model == "final" and (run_dir / "interrupted.zip").is_file():
            missing[-1] += (" (the run was interrupted: finish it with python -m sb3_plus.train ... -i RUN, "
                            "or pass --model interrupted.zip)")
    if missing:
        present = sorted(p.name for p in run_dir.iterdir())
        raise RunFilesError(
            f"run folder {run_dir} lacks {', '.join(missing)} (it has: {', '.join(present) or 'nothing'}). Fix: pass "
            "a finished run folder of python -m sb3_plus.train (logs/<algo>/<env>_<N>)")
    read_model_zip(model_path)
    return info, model_path


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
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ModelFileError(f"{path} is not valid YAML ({exc}): it is truncated or corrupt. Fix: restore it from the "
                             "training run") from None
    if env_id in data and isinstance(data[env_id], dict):
        return data[env_id]
    if len(data) == 1:
        return next(iter(data.values()))
    raise RunFilesError(f"{path} has no entry for {env_id}. Fix: publish the config.yml written by the run")


def evaluate_for_hub(model_path: Path, info: dict[str, Any], episodes: int, seed: int, deterministic: bool,
                     device: str = "cpu") -> dict[str, Any]:
    """Evaluate ``model_path`` on held-out seeds; the ``results.json`` dict (valid JSON: no NaN)."""
    from sb3_plus.models import evaluate_saved_model

    result = evaluate_saved_model(model_path, info["env_id"], episodes=episodes, seed=seed, algo=info["algo"],
                                  deterministic=deterministic, env_kwargs=info.get("env_kwargs") or {}, device=device)
    summary = result.summary()
    return json_safe({
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
    })


def record_replay(folder: Path, path: Path, seed: int, max_steps: int, device: str = "cpu") -> Path | None:
    """Record one held-out episode of the model in repo ``folder`` as mp4, loading it as users will (safely).

    Returns ``None`` with a warning when the env cannot render or the model cannot be loaded safely.
    """
    from sb3_plus.hub.load import load_published_model
    from sb3_plus.hub.play import record_episode

    try:
        with load_published_model(folder, device=device) as loaded:
            return record_episode(loaded, path, seed=seed, max_steps=max_steps)
    except Exception as exc:  # a replay is a bonus: never lose the publication for it
        warnings.warn(f"no replay video: {type(exc).__name__}: {exc}. Fix: make the env render rgb_array frames, "
                      "or pass --no-video", stacklevel=2)
        return None


def _write_files(tmp: Path, run_dir: Path, model_path: Path, model_file: str, info: dict[str, Any],
                 repo_id: str) -> str | None:
    """Copy the run's files into the repo folder ``tmp``; return the recorded training command."""
    shutil.copy2(model_path, tmp / model_file)
    shutil.copy2(run_dir / CONFIG, tmp / CONFIG)
    (tmp / CONFIG).chmod(0o644)
    (tmp / ENV_KWARGS).write_text(yaml.safe_dump(info.get("env_kwargs") or {}, sort_keys=True))
    published = dict(info)
    published.update(model=model_file, published={"repo_id": repo_id, "source_model": model_path.name,
                                                   "model_file": model_file})
    write_json_atomic(tmp / RUN_INFO, json_safe(published))
    command = (run_dir / COMMAND).read_text().strip() if (run_dir / COMMAND).is_file() else None
    if command:
        (tmp / COMMAND).write_text(command + "\n")
    for name in COPIED_RUN_FILES:
        if name != VECNORMALIZE_PKL and (run_dir / name).is_file():
            shutil.copy2(run_dir / name, tmp / name)
    stats = find_vecnormalize(model_path)  # the published model's own statistics (best_model: best_vecnormalize)
    if stats is not None:
        shutil.copy2(stats, tmp / VECNORMALIZE_PKL)
        export_vecnormalize(stats, tmp / VECNORMALIZE_JSON)
    return command


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
    :param video_length: the replay stops after this many steps.
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
        raise BadOptionError(f"--episodes must be at least 1, got {n_eval_episodes}")
    set_torch_threads()
    run_dir = Path(run_dir)
    info, model_path = read_run_folder(run_dir, model)
    env_id, algo = info["env_id"], info["algo"]
    folder = Path(out_dir) if out_dir is not None else run_dir / "hub" / repo_id.replace("/", "__")
    model_file = model_file_name(algo, env_id)
    config = _config_entry(run_dir / CONFIG, env_id)

    if verbose:
        print(f"evaluating {model_path} on {n_eval_episodes} held-out episodes (seeds from {eval_seed}) ...",
              file=sys.stderr, flush=True)
    results = evaluate_for_hub(model_path, info, n_eval_episodes, eval_seed, deterministic, device)
    results.update(model_file=model_file, source_model=model_path.name,
                   num_timesteps=info.get("num_timesteps"), video_seed=eval_seed)

    with atomic_path(folder) as tmp:
        tmp.mkdir()
        command = _write_files(tmp, run_dir, model_path, model_file, info, repo_id)
        if video:
            if verbose:
                print("recording a replay ...", file=sys.stderr, flush=True)
            record_replay(tmp, tmp / REPLAY_FILE, eval_seed, video_length, device)
        write_json_atomic(tmp / RESULTS, results)
        files = {p.name: DESCRIPTIONS.get(p.name, "") for p in tmp.iterdir() if p.is_file()}
        files[model_file] = f"the {algo_display_name(algo)} model ({model_path.name} of the run)"
        files[README] = DESCRIPTIONS[README]
        card = build_card(CardInputs(
            repo_id=repo_id, run_info=info, config=config, results=results, model_file=model_file, files=files,
            command=command, dataset_info=_dataset_info(info.get("dataset_id")), dataset_repo_id=dataset_repo_id,
            license=license))
        (tmp / README).write_text(card, encoding="utf-8")
    if verbose:
        success = results["success_rate"]
        print(f"built {folder}: mean reward {mean_reward_text(results['mean_reward'], results['std_reward'])}, "
              f"success rate {'n/a' if success is None else format(success, '.1%')}", file=sys.stderr, flush=True)
    return folder, results
