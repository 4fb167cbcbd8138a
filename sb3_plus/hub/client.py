"""The Hub client: endpoint and token resolution, and error translation around calls.

The endpoint is resolved at call time (argument, then ``$HF_ENDPOINT``, then
``huggingface_hub``'s default), so a process can point at a mirror or a local test server
after ``huggingface_hub`` was imported.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sb3_plus.errors import BadOptionError
from sb3_plus.hub.errors import HubAuthError, HubError, kept_note, no_token_message, translate

_ENV_LOCK = threading.RLock()


def check_repo_id(repo_id: str) -> str:
    """``ORG/NAME``, or a :class:`~sb3_plus.errors.BadOptionError` naming the fix."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise BadOptionError(f"repo id {repo_id!r} must be ORG/NAME (a user or organisation, then the model name), "
                             "e.g. --repo-id alice/ppo-MazeEasy-v0")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise BadOptionError(f"repo id {repo_id!r} is not valid on the Hub ({exc}). Fix: use letters, digits, '-', "
                             "'_' and '.', e.g. alice/ppo-MazeEasy-v0") from None
    return repo_id


def resolve_endpoint(endpoint: str | None = None) -> str:
    """The Hub URL to use: ``endpoint``, else ``$HF_ENDPOINT``, else ``https://huggingface.co``.

    :param endpoint: an explicit endpoint.
    """
    from huggingface_hub import constants

    return (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def resolve_token(token: str | None = None) -> str | None:
    """``token``, else the one ``huggingface_hub`` finds (``$HF_TOKEN``, then the saved login)."""
    from huggingface_hub import get_token

    return token or get_token()


def require_token(token: str | None, folder: str | Path | None = None, repo_id: str | None = None) -> str:
    """The token to upload with; a clear :class:`HubAuthError` (before any request) when there is none.

    :param token: an explicit token, or ``None`` to look one up.
    :param folder: the local folder kept on disk, named in the message.
    :param repo_id: the target repo, for the retry command in the message.
    """
    found = resolve_token(token)
    if not found:
        raise HubAuthError(no_token_message("upload") + kept_note(folder, repo_id), folder)
    return found


def make_api(endpoint: str | None = None, token: str | bool | None = None) -> Any:
    """A ``huggingface_hub.HfApi`` for ``endpoint`` (resolved at call time)."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=resolve_endpoint(endpoint), token=token, library_name="sb3-plus",
                 library_version=_version())


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("sb3-plus")
    except Exception:
        return "0"


@contextmanager
def hub_errors(action: str, repo_id: str | None, endpoint: str, folder: str | Path | None = None,
               repo_type: str = "model") -> Iterator[None]:
    """Turn ``huggingface_hub`` and network exceptions raised in the block into :class:`HubError`.

    :param action: what the block does (``"upload"``, ``"download"``), for messages.
    :param repo_id: the repo concerned.
    :param endpoint: the endpoint used.
    :param folder: a local folder kept on disk, named in upload errors.
    :param repo_type: ``"model"`` or ``"dataset"``.
    """
    try:
        yield
    except HubError:
        raise
    except Exception as exc:
        error = translate(exc, action=action, repo_id=repo_id, endpoint=endpoint, folder=folder,
                          repo_type=repo_type)
        if error is None:
            raise
        raise error from exc


@contextmanager
def process_hub_settings(endpoint: str, token: str | None = None,
                         env: dict[str, str] | None = None) -> Iterator[None]:
    """Point code that builds its own ``HfApi()`` (e.g. Minari's remote) at ``endpoint`` for the block.

    ``huggingface_hub`` reads ``HF_ENDPOINT`` once, at import, into ``constants.ENDPOINT``
    and its download URL template; this sets both (and ``HF_TOKEN`` when a token is given,
    and any ``env``) and restores everything afterwards.

    :param endpoint: the Hub URL.
    :param token: a token to expose as ``HF_TOKEN``.
    :param env: further environment variables to set.
    """
    from huggingface_hub import constants

    changes = dict(env or {})
    if token:
        changes["HF_TOKEN"] = token
    with _ENV_LOCK:
        old_endpoint, old_template = constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE
        old_env = {key: os.environ.get(key) for key in changes}
        constants.ENDPOINT = endpoint
        constants.HUGGINGFACE_CO_URL_TEMPLATE = endpoint + "/{repo_id}/resolve/{revision}/{filename}"
        os.environ.update(changes)
        try:
            yield
        finally:
            constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE = old_endpoint, old_template
            for key, value in old_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
