"""Publish a training run to the Hugging Face Hub.

:func:`~sb3_plus.hub.build.build_repo_folder` evaluates the run's model on held-out seeds,
records a replay and writes the repo folder (model zip, resolved config, env settings,
``results.json``, learning curve, evaluations, model card); :func:`upload_repo_folder`
sends a built folder with ``huggingface_hub``'s client; :func:`push_to_hub` does both. A
failed upload keeps the folder, and ``--folder`` uploads it later without evaluating again.
``dry_run`` never sends anything: it builds or checks, and says what would be sent.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sb3_plus.evaluation import HELD_OUT_SEED
from sb3_plus.hub.build import build_repo_folder
from sb3_plus.hub.card import algo_display_name, mean_reward_text
from sb3_plus.hub.client import check_repo_id, hub_errors, make_api, require_token, resolve_endpoint
from sb3_plus.hub.layout import RESULTS, check_repo_folder

__all__ = ["PushResult", "build_repo_folder", "push_to_hub", "upload_repo_folder"]


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


def _commit_message(results: dict[str, Any]) -> str:
    success = results.get("success_rate")
    return (f"{algo_display_name(results.get('algo', '?'))} on {results.get('env_id', '?')}: mean reward "
            f"{mean_reward_text(results.get('mean_reward'), results.get('std_reward'))}, success rate "
            f"{'n/a' if success is None else format(float(success), '.1%')} (sb3-plus)")


def upload_repo_folder(
    folder: str | Path,
    repo_id: str,
    token: str | None = None,
    endpoint: str | None = None,
    private: bool = False,
    update: bool = False,
    commit_message: str | None = None,
    dry_run: bool = False,
) -> PushResult:
    """Upload a built repo folder with ``huggingface_hub``'s client (one commit).

    :param folder: a folder written by :func:`build_repo_folder`.
    :param repo_id: ``ORG/NAME``.
    :param token: a token with write access (default: ``$HF_TOKEN`` or the saved login).
    :param endpoint: the Hub URL (default ``$HF_ENDPOINT`` or huggingface.co).
    :param private: create the repo private.
    :param update: the repo may already exist (a new commit is added); otherwise an existing repo is an error.
    :param commit_message: the commit message.
    :param dry_run: check the folder and return what would be sent; send nothing (no token needed).
    :raises HubError: no token, token rejected, no permission, repo exists, network unreachable; the folder is kept.
    """
    check_repo_id(repo_id)
    folder = Path(folder).resolve()
    files = check_repo_folder(folder)
    results = json.loads((folder / RESULTS).read_text())
    if dry_run:
        return PushResult(folder=folder, repo_id=repo_id, files=files, results=results, dry_run=True)
    endpoint = resolve_endpoint(endpoint)
    token = require_token(token, folder, repo_id)
    api = make_api(endpoint, token)
    with hub_errors("upload", repo_id, endpoint, folder):
        api.whoami()
        repo_url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=update)
        commit = api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type="model",
                                   commit_message=commit_message or _commit_message(results))
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
    folder, _ = build_repo_folder(run_dir, repo_id, out_dir, n_eval_episodes, eval_seed, deterministic, video,
                                  video_length, model, dataset_repo_id, device, verbose, license)
    result = upload_repo_folder(folder, repo_id, token=token, endpoint=endpoint, private=private, update=update,
                                commit_message=commit_message, dry_run=dry_run)
    if verbose and not dry_run:
        print(f"published {result.repo_url}", file=sys.stderr, flush=True)
    return result
