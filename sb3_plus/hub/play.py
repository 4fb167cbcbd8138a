"""Play a published model: evaluate it on held-out seeds and record a replay (``enjoy``, ``load_from_hub``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sb3_plus.errors import BadOptionError
from sb3_plus.evaluation import HELD_OUT_SEED, EvalResult
from sb3_plus.hub.load import LoadedModel, download_repo, load_from_hub, load_published_model


def record_episode(loaded: LoadedModel, path: str | Path, seed: int = HELD_OUT_SEED, max_steps: int = 600,
                   fps: int = 20, deterministic: bool = True) -> Path:
    """Play one episode (the run's wrappers and observation normalization included) and write it as mp4.

    :param loaded: the model.
    :param path: the ``.mp4`` to write.
    :param seed: the episode seed.
    :param max_steps: the episode stops after this many steps.
    :param fps: frames per second.
    :param deterministic: greedy actions.
    """
    from sb3_plus.video import record_video

    return record_video(loaded.model, loaded.env_id, path, loaded.env_kwargs, seed=seed, max_steps=max_steps,
                        fps=fps, deterministic=deterministic, config=loaded.config,
                        normalization=loaded.env if loaded.normalized else None)


def evaluate_loaded(loaded: LoadedModel, episodes: int = 10, seed: int = HELD_OUT_SEED,
                    deterministic: bool = True) -> EvalResult:
    """Evaluate a loaded model on held-out seeds ``seed .. seed+episodes-1`` (in the env it owns, if open)."""
    from sb3_plus.evaluation import evaluate_model

    if episodes < 1:
        raise BadOptionError(f"episodes must be at least 1, got {episodes}. Fix: pass --episodes 1 or more")
    if loaded.env is None:
        raise BadOptionError(f"the model from {loaded.folder} was closed. Fix: load it again")
    return evaluate_model(loaded.model, loaded.env, episodes, seed, deterministic)


def _report(loaded: LoadedModel, episodes: int, seed: int, deterministic: bool, video: str | Path | None,
            video_length: int) -> dict[str, Any]:
    from sb3_plus.utils import json_safe

    report: dict[str, Any] = {"loaded": loaded.describe()}
    if episodes > 0:
        report["evaluation"] = evaluate_loaded(loaded, episodes, seed, deterministic).summary()
    if video is not None:
        report["video"] = str(record_episode(loaded, video, seed, video_length, deterministic=deterministic))
    return json_safe(report)


def enjoy(repo_id: str | None = None, folder: str | Path | None = None, episodes: int = 10,
          seed: int = HELD_OUT_SEED, deterministic: bool = True, video: str | Path | None = None,
          video_length: int = 600, trust_remote_pickle: bool = False, revision: str | None = None,
          out_dir: str | Path | None = None, endpoint: str | None = None, device: str = "cpu",
          render: bool = False) -> dict[str, Any]:
    """Load a published model (from the Hub or a local folder), evaluate it and optionally record a replay.

    :param repo_id: ``ORG/NAME`` to download, or ``None`` with ``folder``.
    :param folder: a downloaded repo or a run folder.
    :param episodes: held-out episodes (0: none).
    :param seed: first seed.
    :param deterministic: greedy actions.
    :param video: write a replay of the first episode here.
    :param video_length: the replay stops after this many steps.
    :param trust_remote_pickle: consent to unpickling (see :func:`load_published_model`).
    :param revision: a branch, tag or commit of the repo.
    :param out_dir: download folder.
    :param endpoint: the Hub URL.
    :param device: torch device.
    :param render: record a replay even without ``video`` (to ``enjoy-<repo or folder>.mp4``).
    :return: a JSON-ready report: what was loaded, the evaluation, the video path.
    """
    if (repo_id is None) == (folder is None):
        raise BadOptionError("pass exactly one of --repo-id ORG/NAME or --folder PATH")
    if episodes < 0:
        raise BadOptionError(f"--episodes must be 0 (no evaluation) or more, got {episodes}")
    if render and video is None:
        video = f"enjoy-{str(repo_id or folder).rstrip('/').replace('/', '-')}.mp4"
    if repo_id is not None:
        loaded = load_from_hub(repo_id, revision, out_dir, trust_remote_pickle, endpoint=endpoint, device=device)
    else:
        loaded = load_published_model(Path(folder), trust_remote_pickle, device)  # type: ignore[arg-type]
    with loaded:
        return _report(loaded, episodes, seed, deterministic, video, video_length)


def download_and_load(repo_id: str, revision: str | None = None, out_dir: str | Path | None = None,
                      download_only: bool = False, trust_remote_pickle: bool = False, episodes: int = 0,
                      seed: int = HELD_OUT_SEED, deterministic: bool = True, endpoint: str | None = None,
                      device: str = "cpu") -> dict[str, Any]:
    """Download a model repo, then load it (and evaluate it with ``episodes`` > 0); what ``load_from_hub`` prints.

    :param repo_id: ``ORG/NAME``.
    :param revision: a branch, tag or commit.
    :param out_dir: download folder (default: the Hugging Face cache).
    :param download_only: load nothing.
    :param trust_remote_pickle: consent to unpickling (see :func:`load_published_model`).
    :param episodes: held-out episodes to evaluate after loading (0: none).
    :param seed: first seed.
    :param deterministic: greedy actions.
    :param endpoint: the Hub URL.
    :param device: torch device.
    """
    if episodes < 0:
        raise BadOptionError(f"--episodes must be 0 (no evaluation) or more, got {episodes}")
    folder = download_repo(repo_id, revision, out_dir, endpoint=endpoint, include_pickles=trust_remote_pickle)
    out: dict[str, Any] = {"repo_id": repo_id, "folder": str(folder),
                           "files": sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                                           if p.is_file() and ".cache" not in p.parts)}
    if not download_only:
        with load_published_model(folder, trust_remote_pickle=trust_remote_pickle, device=device) as loaded:
            out.update(_report(loaded, episodes, seed, deterministic, None, 0))
    return out
