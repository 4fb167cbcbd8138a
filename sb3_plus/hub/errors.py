"""Errors of Hub publishing and loading, each naming the problem and the fix.

:func:`translate` turns what ``huggingface_hub`` (and its HTTP stack) raises into one of
these, adding where the locally built repo folder was kept so that nothing is lost.
This module imports nothing heavy, so command lines can register its classes cheaply.
"""

from __future__ import annotations

from pathlib import Path

from sb3_plus.errors import UserError


class HubError(UserError):
    """Something went wrong between sb3-plus and the Hugging Face Hub.

    :param message: the full message (problem and fix).
    :param folder: the local repo folder that was kept, if any.
    """

    def __init__(self, message: str, folder: str | Path | None = None) -> None:
        super().__init__(message)
        self.folder = Path(folder) if folder is not None else None


class HubAuthError(HubError):
    """No token was found, or the Hub rejected it."""


class HubPermissionError(HubError):
    """The token may not write to (or read) the repo or its namespace."""


class HubRepoExistsError(HubError):
    """The repo (or dataset) is already on the Hub and updating it was not asked for."""


class HubNetworkError(HubError):
    """The Hub endpoint could not be reached."""


class HubNotFoundError(HubError):
    """The repo, revision or file does not exist on the Hub (or is private)."""


class UnsafeLoadError(HubError):
    """A published model cannot be loaded from weights and configs alone."""


class RunFilesError(UserError, FileNotFoundError):
    """A run folder or repo folder lacks files that publishing or loading needs, or has unreadable ones."""


#: The Hub's user-error types, for callers that listed them before :class:`UserError` covered them.
HUB_ERRORS: tuple[type[BaseException], ...] = (HubError, RunFilesError)


def kept_note(folder: str | Path | None, repo_id: str | None) -> str:
    """The sentence telling where the built folder is and how to upload it later."""
    if folder is None:
        return ""
    retry = f"python -m sb3_plus.push_to_hub --folder {folder} --repo-id {repo_id or 'ORG/NAME'}"
    return f" Nothing is lost: the repo folder is kept at {folder}; upload it later with: {retry}"


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _server_message(exc: BaseException) -> str:
    message = getattr(exc, "server_message", None)
    message = " ".join(str(message).split()) if message else ""
    return f" (the Hub said: {message})" if message else ""


def _is_network_error(exc: BaseException) -> bool:
    try:
        import httpx2
    except ImportError:  # pragma: no cover - huggingface_hub depends on it
        httpx2 = None  # type: ignore[assignment]
    from huggingface_hub.errors import OfflineModeIsEnabled

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if httpx2 is not None and isinstance(current, httpx2.TransportError):
            return True
        if isinstance(current, (OfflineModeIsEnabled, ConnectionError, TimeoutError)):
            return True
        current = current.__cause__ or current.__context__
    return False


def translate(exc: BaseException, *, action: str, repo_id: str | None, endpoint: str,
              folder: str | Path | None = None, repo_type: str = "model") -> HubError | None:
    """A clear :class:`HubError` for an exception raised by ``huggingface_hub``, or ``None``.

    :param exc: the exception.
    :param action: what was being done (``"upload"``, ``"download"``, ...), for the message.
    :param repo_id: the repo concerned.
    :param endpoint: the Hub endpoint used.
    :param folder: the local repo folder kept on disk, mentioned in the message.
    :param repo_type: ``"model"`` or ``"dataset"``.
    """
    from huggingface_hub.errors import (HfHubHTTPError, LocalEntryNotFoundError, LocalTokenNotFoundError,
                                        RemoteEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError)

    kept = kept_note(folder, repo_id) if action == "upload" else ""
    what = f"{repo_type} repo {repo_id}" if repo_id else "the Hub"
    if isinstance(exc, LocalEntryNotFoundError) and isinstance(exc.__cause__, HfHubHTTPError):
        return translate(exc.__cause__, action=action, repo_id=repo_id, endpoint=endpoint, folder=folder,
                         repo_type=repo_type)
    if isinstance(exc, LocalTokenNotFoundError):
        return HubAuthError(no_token_message(action) + kept, folder)
    if isinstance(exc, RevisionNotFoundError):
        return HubNotFoundError(f"revision not found in {what}{_server_message(exc)}. Fix: check --revision "
                                "(a branch, tag or commit of the repo)", folder)
    if isinstance(exc, LocalEntryNotFoundError) or (_is_network_error(exc) and not isinstance(exc, HfHubHTTPError)):
        return HubNetworkError(
            f"cannot reach the Hub at {endpoint} to {action} {what} ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())}). Fix: check "
            "your network connection, proxy settings and HF_ENDPOINT, then retry." + kept, folder)
    if isinstance(exc, RemoteEntryNotFoundError):
        return HubNotFoundError(f"a file was not found in {what}{_server_message(exc)}. Fix: check the file name, "
                                "or that the repo was published with python -m sb3_plus.push_to_hub", folder)
    if isinstance(exc, HfHubHTTPError):
        status = _status(exc)
        namespace = repo_id.split("/")[0] if repo_id and "/" in repo_id else repo_id
        if isinstance(exc, RepositoryNotFoundError) and action != "upload":
            return HubNotFoundError(
                f"{what} was not found at {endpoint} (or it is private and your token may not read it)"
                f"{_server_message(exc)}. Fix: check --repo-id, or log in with a token that can read it "
                "(hf auth login, or HF_TOKEN)", folder)
        if status == 401:
            return HubAuthError(
                f"the Hub at {endpoint} rejected your token (401 Unauthorized){_server_message(exc)}. Fix: create a "
                f"token{' with write access' if action == 'upload' else ''} at https://huggingface.co/settings/tokens "
                f"and log in with `hf auth login` or set HF_TOKEN.{kept}", folder)
        if status == 403:
            return HubPermissionError(
                f"no permission to {action} {what} (403 Forbidden){_server_message(exc)}. Fix: use a token with "
                f"write access to the namespace {namespace!r} (an organisation needs you as a member with write "
                f"rights; fine-grained tokens need 'write' on it), or publish under your own user name.{kept}",
                folder)
        if status == 409:
            return HubRepoExistsError(
                f"{what} already exists{_server_message(exc)}. Fix: pass --update (update=True) to add a new commit "
                f"to it, or choose another --repo-id.{kept}", folder)
        if status is not None and status >= 500:
            return HubNetworkError(
                f"the Hub at {endpoint} failed with {status} while trying to {action} {what}{_server_message(exc)}. "
                f"Fix: retry later.{kept}", folder)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return HubError(f"the Hub refused to {action} {what}: {first}{_server_message(exc)}.{kept}", folder)
    return None


def no_token_message(action: str = "upload") -> str:
    """The message for a missing token."""
    return (f"no Hugging Face token found, so nothing can {'be uploaded' if action == 'upload' else 'be sent'}. "
            "Fix: log in with `hf auth login` (token with write access from "
            "https://huggingface.co/settings/tokens), or set HF_TOKEN=hf_... in the environment.")

