"""A small stand-in for the Hugging Face Hub HTTP API, for tests.

It implements only what ``huggingface_hub``'s real client calls for the features under
test: ``whoami``, repo creation, README metadata validation, ``preupload`` + ``commit``
(every file is answered as a regular, non-LFS upload, so contents arrive base64-encoded in
the commit), repo info, tree listing, dataset listing and file download (``resolve``).
Every request is recorded (method, path, query, headers, body) so tests can check what
the client sent. Tokens map to users; a user may write to its own namespace and to its
organisations.

Usage::

    hub = FakeHub(users={"hf_test": {"name": "alice", "orgs": ["sb3org"]}})
    hub.start()       # hub.url -> "http://127.0.0.1:<port>"
    ...
    hub.stop()
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

_REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_API_REPO = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)(?:/(.*))?$")
_RESOLVE = re.compile(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


def git_blob_oid(content: bytes) -> str:
    """The git object id of a blob (what the Hub reports as a regular file's ``oid``)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def ndjson(self) -> list[Any]:
        """The body parsed as newline-delimited JSON (a commit payload)."""
        return [json.loads(line) for line in self.body.splitlines() if line.strip()]


@dataclass
class Repo:
    """A repository held in memory: its files at the latest commit."""

    repo_id: str
    repo_type: str
    private: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)
    commit_messages: list[str] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return self.commits[-1]


class FakeHub:
    """The in-memory Hub and its HTTP server on 127.0.0.1 (a free port).

    :param users: token -> ``{"name": user, "orgs": [org, ...]}``.
    """

    def __init__(self, users: dict[str, dict[str, Any]] | None = None) -> None:
        self.users = users or {}
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[RecordedRequest] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        assert self._server is not None, "call start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeHub":
        hub = self

        class Handler(_Handler):
            pass

        Handler.hub = hub
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ------------------------------------------------------------------ helpers for tests
    def add_repo(self, repo_id: str, repo_type: str = "model", files: dict[str, bytes] | None = None,
                 private: bool = False) -> Repo:
        """Create a repo directly (e.g. one owned by someone else)."""
        with self.lock:
            repo = Repo(repo_id, repo_type, private)
            repo.files.update(files or {})
            repo.commits.append(self._new_sha())
            repo.commit_messages.append("initial commit")
            self.repos[(repo_type, repo_id)] = repo
            return repo

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo | None:
        return self.repos.get((repo_type, repo_id))

    def calls(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every recorded request, in order."""
        return [(r.method, r.path) for r in self.requests]

    def _new_sha(self) -> str:
        self._counter += 1
        return hashlib.sha1(f"commit-{self._counter}-{time.time_ns()}".encode()).hexdigest()

    def user_for(self, headers: dict[str, str]) -> dict[str, Any] | None:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        return self.users.get(auth.split(" ", 1)[1].strip())

    @staticmethod
    def can_write(user: dict[str, Any] | None, repo_id: str) -> bool:
        if user is None:
            return False
        return repo_id.split("/", 1)[0] in {user["name"], *user.get("orgs", [])}


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # ------------------------------------------------------------------ plumbing
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self) -> tuple[str, dict[str, list[str]], dict[str, str], bytes]:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._body()
        with self.hub.lock:
            self.hub.requests.append(RecordedRequest(self.command, path, query, headers, body))
        return path, query, headers, body

    def _send(self, status: int, payload: Any = None, headers: dict[str, str] | None = None,
              raw: bytes | None = None, head: bool = False) -> None:
        body = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _error(self, status: int, message: str, code: str | None = None, head: bool = False,
               extra: dict[str, str] | None = None) -> None:
        headers = {"X-Error-Message": message, **(extra or {})}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, {"error": message}, headers, head=head)

    # ------------------------------------------------------------------ verbs
    def do_GET(self) -> None:
        self._dispatch(*self._record())

    def do_HEAD(self) -> None:
        self._dispatch(*self._record())

    def do_POST(self) -> None:
        self._dispatch(*self._record())

    def _dispatch(self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes) -> None:
        hub = self.hub
        user = hub.user_for(headers)
        method = self.command
        bad_token = "authorization" in headers and user is None
        if bad_token:
            return self._error(401, "Invalid credentials in Authorization header")
        if path == "/api/whoami-v2" and method == "GET":
            if user is None:
                return self._error(401, "Invalid credentials in Authorization header")
            orgs = [{"name": org, "type": "org"} for org in user.get("orgs", [])]
            return self._send(200, {"type": "user", "name": user["name"], "orgs": orgs,
                                    "auth": {"type": "access_token", "accessToken": {"role": "write"}}})
        if path == "/api/repos/create" and method == "POST":
            return self._create_repo(user, json.loads(body or b"{}"))
        if path == "/api/validate-yaml" and method == "POST":
            return self._validate_yaml(json.loads(body or b"{}"))
        if path in ("/api/models", "/api/datasets") and method == "GET":
            return self._list_repos(_REPO_TYPES[path.rsplit("/", 1)[1]], query, user)
        match = _API_REPO.match(path)
        if match:
            repo_type, repo_id, rest = _REPO_TYPES[match.group(1)], match.group(2), match.group(3) or ""
            return self._repo_api(method, repo_type, repo_id, rest, query, user, body)
        match = _RESOLVE.match(path)
        if match and method in ("GET", "HEAD"):
            repo_type = _REPO_TYPES[match.group(1)] if match.group(1) else "model"
            return self._resolve(repo_type, match.group(2), match.group(3), match.group(4), user, method == "HEAD")
        return self._error(404, f"no route for {method} {path}")

    # ------------------------------------------------------------------ endpoints
    def _create_repo(self, user: dict[str, Any] | None, payload: dict[str, Any]) -> None:
        hub = self.hub
        if user is None:
            return self._error(401, "You must be authenticated to create a repo")
        name, organization = payload.get("name"), payload.get("organization")
        repo_id = f"{organization}/{name}" if organization else f"{user['name']}/{name}"
        repo_type = payload.get("type") or "model"
        if not hub.can_write(user, repo_id):
            return self._error(403, f"You don't have the rights to create a {repo_type} under the namespace "
                                    f"\"{repo_id.split('/')[0]}\"")
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        with hub.lock:
            if (repo_type, repo_id) in hub.repos:
                # like the Hub, a conflict still names the repo's URL (the client reads it with exist_ok=True)
                message = f"You already created this {repo_type} repo"
                return self._send(409, {"error": message, "url": f"{hub.url}/{prefix}{repo_id}"},
                                  {"X-Error-Message": message})
            repo = Repo(repo_id, repo_type, private=payload.get("visibility") == "private")
            repo.files[".gitattributes"] = b"*.zip filter=lfs diff=lfs merge=lfs -text\n"
            repo.commits.append(hub._new_sha())
            repo.commit_messages.append("initial commit")
            hub.repos[(repo_type, repo_id)] = repo
        self._send(200, {"url": f"{hub.url}/{prefix}{repo_id}", "name": repo_id, "id": repo_id})

    def _validate_yaml(self, payload: dict[str, Any]) -> None:
        content = payload.get("content", "")
        match = re.match(r"^---\n(.*?)\n---\n", content, re.S)
        if match:
            try:
                data = yaml.safe_load(match.group(1))
            except yaml.YAMLError as exc:
                return self._send(400, {"errors": [{"message": f"invalid YAML: {exc}"}], "warnings": []})
            if not isinstance(data, dict):
                return self._send(400, {"errors": [{"message": "metadata must be a mapping"}], "warnings": []})
        self._send(200, {"errors": [], "warnings": []})

    def _list_repos(self, repo_type: str, query: dict[str, list[str]], user: dict[str, Any] | None) -> None:
        author = (query.get("author") or [None])[0]
        search = query.get("search") or []
        out = []
        with self.hub.lock:
            for (kind, repo_id), repo in self.hub.repos.items():
                if kind != repo_type or (author and repo_id.split("/")[0] != author):
                    continue
                if repo.private and not self.hub.can_write(user, repo_id):
                    continue
                if any(term not in repo_id for term in search):
                    continue
                out.append({"id": repo_id, "_id": repo.sha[:24], "author": repo_id.split("/")[0],
                            "sha": repo.sha, "private": repo.private, "tags": [], "downloads": 0, "likes": 0})
        self._send(200, out)

    def _get_repo(self, repo_type: str, repo_id: str, user: dict[str, Any] | None, head: bool = False) -> Repo | None:
        repo = self.hub.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and not self.hub.can_write(user, repo_id)):
            self._error(404, "Repository not found", "RepoNotFound", head=head)
            return None
        return repo

    def _repo_api(self, method: str, repo_type: str, repo_id: str, rest: str, query: dict[str, list[str]],
                  user: dict[str, Any] | None, body: bytes) -> None:
        hub = self.hub
        repo = self._get_repo(repo_type, repo_id, user)
        if repo is None:
            return
        action, _, tail = rest.partition("/")
        if method == "POST" and action in ("preupload", "commit"):
            if not hub.can_write(user, repo_id):
                return self._error(403, f"You don't have the rights to write to {repo_id}")
            if action == "preupload":
                files = json.loads(body)["files"]
                with hub.lock:
                    answer = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                               "oid": git_blob_oid(repo.files[f["path"]]) if f["path"] in repo.files else None}
                              for f in files]
                return self._send(200, {"files": answer, "commitOid": repo.sha})
            return self._commit(repo, body)
        if method == "GET" and action in ("", "revision"):
            with hub.lock:
                info = {"id": repo_id, "_id": repo.sha[:24], "sha": repo.sha, "private": repo.private,
                        "author": repo_id.split("/")[0], "lastModified": "2026-01-01T00:00:00.000Z",
                        "tags": [], "downloads": 0, "likes": 0,
                        "siblings": [{"rfilename": p, "size": len(c), "blobId": git_blob_oid(c)}
                                     for p, c in sorted(repo.files.items())]}
            return self._send(200, info)
        if method == "GET" and action == "tree":
            revision, _, prefix = tail.partition("/")
            recursive = (query.get("recursive") or ["False"])[0].lower() == "true"
            return self._tree(repo, prefix, recursive)
        return self._error(404, f"no route for {method} {rest!r}")

    def _commit(self, repo: Repo, body: bytes) -> None:
        hub = self.hub
        items = [json.loads(line) for line in body.splitlines() if line.strip()]
        message = ""
        changes: dict[str, bytes | None] = {}
        for item in items:
            key, value = item["key"], item["value"]
            if key == "header":
                message = value.get("summary", "")
            elif key == "file":
                if value.get("encoding") != "base64":
                    return self._error(400, f"unsupported encoding {value.get('encoding')!r}")
                changes[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                changes[value["path"]] = None
            elif key == "lfsFile":
                return self._error(400, "this test server only takes regular uploads")
            elif key == "deletedFolder":
                folder = value["path"].rstrip("/") + "/"
                changes.update({p: None for p in repo.files if p.startswith(folder)})
        with hub.lock:
            for path, content in changes.items():
                if content is None:
                    repo.files.pop(path, None)
                else:
                    repo.files[path] = content
            repo.commits.append(hub._new_sha())
            repo.commit_messages.append(message)
            sha = repo.sha
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        self._send(200, {"success": True, "commitOid": sha, "commitUrl": f"{hub.url}/{prefix}{repo.repo_id}/commit/{sha}",
                         "hookOutput": ""})

    def _tree(self, repo: Repo, prefix: str, recursive: bool) -> None:
        prefix = prefix.strip("/")
        base = f"{prefix}/" if prefix else ""
        entries: dict[str, dict[str, Any]] = {}
        with self.hub.lock:
            for path, content in sorted(repo.files.items()):
                if not path.startswith(base):
                    continue
                parts = path[len(base):].split("/")
                for depth in range(1, len(parts)):
                    folder = base + "/".join(parts[:depth])
                    if recursive or depth == 1:
                        entries.setdefault(folder, {"type": "directory", "oid": "0" * 40, "size": 0, "path": folder})
                if recursive or len(parts) == 1:
                    entries[path] = {"type": "file", "oid": git_blob_oid(content), "size": len(content), "path": path}
        if prefix and not entries:
            return self._error(404, f"{prefix} not found", "EntryNotFound")
        self._send(200, list(entries.values()))

    def _resolve(self, repo_type: str, repo_id: str, revision: str, filename: str, user: dict[str, Any] | None,
                 head: bool) -> None:
        repo = self._get_repo(repo_type, repo_id, user, head=head)
        if repo is None:
            return
        if revision != "main" and revision not in repo.commits:
            return self._error(404, f"Invalid rev id: {revision}", "RevisionNotFound", head=head)
        with self.hub.lock:
            content = repo.files.get(filename)
            sha = repo.sha
        if content is None:
            return self._error(404, "Entry not found", "EntryNotFound", head=head, extra={"X-Repo-Commit": sha})
        self._send(200, raw=content, head=head,
                   headers={"X-Repo-Commit": sha, "ETag": f'"{git_blob_oid(content)}"'})


def point_client_at(hub: FakeHub, monkeypatch: Any, home: Any, token: str | None) -> None:
    """Point ``huggingface_hub``'s real client at ``hub`` for one test.

    ``HF_ENDPOINT`` and ``HF_TOKEN`` are set in the environment (read by sb3-plus at call
    time; ``huggingface_hub`` itself read ``HF_ENDPOINT`` at import). Caches and the token
    file move under ``home`` so no login or cache of the machine is used, and telemetry is
    off so the client makes no request besides the ones under test.

    :param hub: the running server.
    :param monkeypatch: pytest's monkeypatch.
    :param home: a temporary folder.
    :param token: the token to expose as ``HF_TOKEN`` (``None``: no token at all).
    """
    from huggingface_hub import constants

    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    if token is None:
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    else:
        monkeypatch.setenv("HF_TOKEN", token)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_XET_CACHE", str(home / "xet"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
