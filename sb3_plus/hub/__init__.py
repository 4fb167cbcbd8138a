"""Publishing to and loading from the Hugging Face Hub.

- :func:`push_to_hub` evaluates a run on held-out seeds, records a replay and uploads the
  model, resolved config, env settings, ``results.json``, learning curve, evaluations and
  a model card (``build_repo_folder`` / ``upload_repo_folder`` do the two halves).
- :func:`load_from_hub` downloads a model and loads it from weights and configs only;
  unpickling needs ``trust_remote_pickle=True``; the :class:`LoadedModel` owns its evaluation env
  (``with load_from_hub(...) as loaded:`` closes it). :func:`enjoy` evaluates and records it.
- :func:`push_dataset` / :func:`pull_dataset` move Minari datasets through Minari's own
  Hugging Face remote.

The published layout (file names, required files, statistics as JSON) lives in
:mod:`sb3_plus.hub.layout`.

Command lines: ``python -m sb3_plus.push_to_hub``, ``python -m sb3_plus.load_from_hub``,
``python -m sb3_plus.enjoy``.
"""

from __future__ import annotations

from typing import Any

from sb3_plus.hub.errors import (HubAuthError, HubError, HubNetworkError, HubNotFoundError, HubPermissionError,
                                 HubRepoExistsError, RunFilesError, UnsafeLoadError)

_LAZY = {
    "push_to_hub": "sb3_plus.hub.push",
    "build_repo_folder": "sb3_plus.hub.build",
    "upload_repo_folder": "sb3_plus.hub.push",
    "PushResult": "sb3_plus.hub.push",
    "load_from_hub": "sb3_plus.hub.load",
    "load_published_model": "sb3_plus.hub.load",
    "download_repo": "sb3_plus.hub.load",
    "enjoy": "sb3_plus.hub.play",
    "evaluate_loaded": "sb3_plus.hub.play",
    "LoadedModel": "sb3_plus.hub.load",
    "push_dataset": "sb3_plus.hub.datasets",
    "pull_dataset": "sb3_plus.hub.datasets",
    "build_card": "sb3_plus.hub.card",
}

__all__ = [*_LAZY, "HubError", "HubAuthError", "HubPermissionError", "HubRepoExistsError", "HubNetworkError",
           "HubNotFoundError", "UnsafeLoadError", "RunFilesError"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sb3_plus.hub' has no attribute {name!r}")
