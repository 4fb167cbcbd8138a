"""The run folder ``<log_folder>/<algo>/<env>_<N>/``: created, found again to resume, and written.

What a run folder holds: the model zip, ``config.yml`` (the resolved config, reloadable),
``command.txt`` (every command the run was started or resumed with, one per line),
``run_info.json``, ``evaluations.npz``, ``best_model.zip``, ``learning_curve.png``,
TensorBoard and CSV logs in ``tb/``, ``checkpoints/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sb3_plus.errors import InputNotFoundError
from sb3_plus.files import write_json_atomic


def run_numbers(log_folder: Path, algo: str, env_id: str) -> list[int]:
    """The numbers N of the run folders ``<log_folder>/<algo>/<env>_<N>`` that exist, in order."""
    name = env_id.replace("/", "_")
    return sorted(int(p.name.rsplit("_", 1)[1]) for p in (Path(log_folder) / algo).glob(f"{name}_*")
                  if p.name.rsplit("_", 1)[1].isdigit())


def next_run_dir(log_folder: Path, algo: str, env_id: str) -> Path:
    """Create and return the next free ``<log_folder>/<algo>/<env>_<N>``."""
    base = Path(log_folder) / algo
    base.mkdir(parents=True, exist_ok=True)
    name = env_id.replace("/", "_")
    ids = run_numbers(log_folder, algo, env_id)
    while True:  # another process may take the same number at the same time
        run = base / f"{name}_{max(ids, default=0) + 1}"
        try:
            run.mkdir()
            return run
        except FileExistsError:
            ids.append(max(ids, default=0) + 1)


def run_folder_of(path: Path) -> Path:
    """The run folder of ``-i PATH`` (a run folder, its model zip, or a checkpoint)."""
    path = Path(path)
    if path.is_dir():
        return path
    return path.parent.parent if path.parent.name == "checkpoints" else path.parent


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """``run_info.json`` of a run folder (empty for a folder without one)."""
    path = Path(run_dir) / "run_info.json"
    return json.loads(path.read_text()) if path.exists() else {}


def unfinished_pretraining(run_dir: Path) -> dict[str, Any] | None:
    """The pretraining record of a run that was stopped before its pretraining finished."""
    pretrain = read_run_info(run_dir).get("pretrain")
    if isinstance(pretrain, dict) and pretrain.get("finished") is False:
        return pretrain
    return None


def find_resume_model(path: Path) -> tuple[Path | None, Path]:
    """``-i`` accepts a model zip or a run folder; return (model zip, run folder to write into).

    A run folder killed during pretraining, before any model was saved, gives ``(None, folder)``.
    """
    path = Path(path)
    if path.is_dir():
        if unfinished_pretraining(path) is not None and not any(path.glob("*.zip")):
            return None, path
        # the newest of checkpoints, an interrupted save and a finished run's model
        candidates = [*(path / "checkpoints").glob("model_*_steps.zip"),
                      *(p for p in path.glob("*.zip") if p.name != "best_model.zip")]
        if not candidates:
            raise InputNotFoundError(f"no checkpoint or model zip in {path}. "
                                     "Fix: pass a .zip, or a run folder with checkpoints/")
        candidates.sort(key=lambda p: p.stat().st_mtime)
        return candidates[-1], path
    if not path.is_file():
        raise InputNotFoundError(f"trained agent {path} not found. Fix: pass a model .zip or a run folder")
    return path, run_folder_of(path)


def find_init_model(path: Path) -> Path:
    """``--init-model`` accepts a model zip or a run folder (its ``best_model.zip``, else its final model)."""
    path = Path(path)
    if path.is_dir():
        best = path / "best_model.zip"
        finals = sorted((p for p in path.glob("*.zip") if p.name not in ("best_model.zip", "interrupted.zip")),
                        key=lambda p: p.stat().st_mtime)
        if best.is_file():
            return best
        if finals:
            return finals[-1]
        raise InputNotFoundError(f"no best_model.zip or final model in {path}. Fix: pass a model .zip, or the "
                                 "folder of a finished run")
    if not path.is_file():
        raise InputNotFoundError(f"--init-model {path} not found. Fix: pass a model .zip or a run folder")
    return path


def append_command(run_dir: Path, command: str) -> None:
    """Add the command to ``command.txt``: a resumed run keeps every command it was run with."""
    with open(Path(run_dir) / "command.txt", "a", encoding="utf-8") as handle:
        handle.write(command.rstrip("\n") + "\n")


def write_run_info(run_dir: Path, info: dict[str, Any]) -> None:
    write_json_atomic(Path(run_dir) / "run_info.json", info)


def plot_learning_curve(run_dir: Path) -> Path | None:
    """``learning_curve.png``: success rate and return against env steps from ``evaluations.npz``."""
    path = Path(run_dir) / "evaluations.npz"
    if not path.exists():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with np.load(path) as data:
        steps = data["timesteps"]
        success = np.array([np.mean(s) for s in data["successes"]])
        returns = np.array([np.mean(r) for r in data["results"]])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, success, marker="o", label="success rate")
    ax.set_xlabel("env steps")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.02, 1.02)
    ax2 = ax.twinx()
    ax2.plot(steps, returns, color="tab:orange", alpha=0.6, label="mean return")
    ax2.set_ylabel("mean return")
    ax.set_title(Path(run_dir).name)
    fig.tight_layout()
    out = Path(run_dir) / "learning_curve.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
