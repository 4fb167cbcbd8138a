"""Push and pull Minari datasets to and from the Hub with Minari's own Hugging Face remote.

Minari maps a dataset id ``<group>/<rest>`` on the remote ``hf://ORG`` to the Hub dataset
repo ``ORG/<group>``, folder ``<rest>`` (``sb3plus/mazeeasy/waypoint-v0`` ->
``ORG/sb3plus``, ``mazeeasy/waypoint-v0/``), and registers namespaces and datasets in
``namespace_metadata.json`` files there. These functions point Minari at the endpoint and
token given (Minari's remote builds its own ``HfApi()``), check what Minari leaves to
warnings (a dataset already on the remote, one already present locally) and turn Hub
failures into clear errors.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from sb3_plus.errors import BadOptionError, InputNotFoundError
from sb3_plus.hub.client import (hub_errors, make_api, process_hub_settings, require_token, resolve_endpoint,
                                 resolve_token)
from sb3_plus.hub.errors import HubNotFoundError, HubRepoExistsError


def remote_namespace(repo_id: str, dataset_id: str) -> str:
    """The Hub user or organisation of ``--repo-id`` for a dataset.

    Accepts ``ORG``, ``hf://ORG`` or ``ORG/<group>`` where ``<group>`` is the dataset id's
    first part (Minari's repo for it).

    :param repo_id: what the user passed.
    :param dataset_id: the Minari dataset id.
    """
    text = repo_id.removeprefix("hf://").strip("/")
    group = dataset_id.split("/", 1)[0]
    parts = text.split("/")
    if len(parts) == 1 and parts[0]:
        return parts[0]
    if len(parts) == 2 and parts[1] == group:
        return parts[0]
    raise BadOptionError(f"--repo-id {repo_id!r} does not fit dataset {dataset_id!r}: Minari stores it in the Hub "
                         f"dataset repo ORG/{group}. Fix: pass --repo-id ORG (or ORG/{group})")


def _local_metadata(root: Path, dataset_id: str) -> dict[str, Any] | None:
    try:
        return json.loads((root / dataset_id / "data" / "metadata.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None


def push_dataset(dataset_id: str, repo_id: str, token: str | None = None, endpoint: str | None = None,
                 root: str | Path | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Upload a local Minari dataset (e.g. from ``collect_expert``) to the Hub with ``minari.upload_dataset``.

    :param dataset_id: ``sb3plus/<env>/<expert>-vN``.
    :param repo_id: the Hub user or organisation (``ORG``, or ``ORG/<group>``).
    :param token: a token with write access (default ``$HF_TOKEN`` or the saved login).
    :param endpoint: the Hub URL (default ``$HF_ENDPOINT`` or huggingface.co).
    :param root: local Minari storage (default ``$MINARI_DATASETS_PATH`` or ``./datasets``).
    :param dry_run: check the dataset and say where it would go and which files; send nothing (no token needed).
    :raises HubRepoExistsError: the remote already has this dataset id.
    """
    import minari

    from sb3_plus.data.storage import check_dataset_id, datasets_root, minari_root

    check_dataset_id(dataset_id)
    namespace = remote_namespace(repo_id, dataset_id)
    root = Path(root).resolve() if root is not None else datasets_root()
    if _local_metadata(root, dataset_id) is None:
        raise InputNotFoundError(f"dataset {dataset_id!r} not found under {root}. Fix: make it with python -m "
                                 f"sb3_plus.collect_expert --env ... --dataset-id {dataset_id}, or set "
                                 "MINARI_DATASETS_PATH")
    endpoint = resolve_endpoint(endpoint)
    remote = f"hf://{namespace}"
    hub_repo = f"{namespace}/{dataset_id.split('/', 1)[0]}"
    if dry_run:
        local = root / dataset_id
        return {"dataset_id": dataset_id, "remote": remote, "repo_id": hub_repo, "dry_run": True,
                "url": f"{endpoint}/datasets/{hub_repo}", "local_path": str(local),
                "files": sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())}
    token = require_token(token)
    with process_hub_settings(endpoint, token, {"MINARI_REMOTE": remote}), minari_root(root), \
            hub_errors("upload", hub_repo, endpoint, repo_type="dataset"), contextlib.redirect_stdout(sys.stderr):
        make_api(endpoint, token).whoami()
        if dataset_id in minari.list_remote_datasets(remote_path=remote, prefix=dataset_id):
            raise HubRepoExistsError(f"dataset {dataset_id} is already on {remote} ({endpoint}/datasets/{hub_repo}). "
                                     "Fix: publish a new version (collect with --dataset-id ...-v<N+1>)")
        minari.upload_dataset(dataset_id, token)
    return {"dataset_id": dataset_id, "remote": remote, "repo_id": hub_repo, "dry_run": False,
            "url": f"{endpoint}/datasets/{hub_repo}", "local_path": str(root / dataset_id)}


def pull_dataset(dataset_id: str, repo_id: str, endpoint: str | None = None, token: str | None = None,
                 root: str | Path | None = None, force: bool = False) -> dict[str, Any]:
    """Download a Minari dataset from the Hub with ``minari.download_dataset``.

    :param dataset_id: the Minari dataset id.
    :param repo_id: the Hub user or organisation holding it (``ORG`` or ``ORG/<group>``).
    :param endpoint: the Hub URL.
    :param token: a token for private repos.
    :param root: local Minari storage to download into.
    :param force: replace a local dataset with the same id.
    """
    import minari

    from sb3_plus.data.storage import DatasetExistsError, check_dataset_id, datasets_root, minari_root

    check_dataset_id(dataset_id)
    namespace = remote_namespace(repo_id, dataset_id)
    root = Path(root).resolve() if root is not None else datasets_root()
    if (root / dataset_id).exists() and not force:
        raise DatasetExistsError(f"dataset {dataset_id!r} is already at {root / dataset_id}. Fix: use it as it is, "
                                 "or pass --force to download it again")
    root.mkdir(parents=True, exist_ok=True)
    endpoint = resolve_endpoint(endpoint)
    remote = f"hf://{namespace}"
    hub_repo = f"{namespace}/{dataset_id.split('/', 1)[0]}"
    with process_hub_settings(endpoint, resolve_token(token), {"MINARI_REMOTE": remote}), minari_root(root), \
            hub_errors("download", hub_repo, endpoint, repo_type="dataset"), contextlib.redirect_stdout(sys.stderr):
        try:
            minari.download_dataset(f"{remote}/{dataset_id}", force_download=force)
        except ValueError as exc:
            raise HubNotFoundError(f"{exc} (remote {remote} at {endpoint}). Fix: check --dataset and --repo-id, e.g. "
                                   f"list the datasets of the Hub repo {endpoint}/datasets/{hub_repo}") from None
    meta = _local_metadata(root, dataset_id)
    if meta is None:
        raise HubNotFoundError(f"Minari reported no error but {root / dataset_id} holds no dataset. Fix: check that "
                               f"{dataset_id} is on {remote}")
    return {"dataset_id": dataset_id, "remote": remote, "repo_id": hub_repo, "path": str(root / dataset_id),
            "total_episodes": meta.get("total_episodes"), "total_steps": meta.get("total_steps")}
