"""Minari datasets to and from the Hub through Minari's own Hugging Face remote (local stand-in server)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hub_server import FakeHub, point_client_at  # noqa: E402

TOKEN = "hf_test_token"
DATASET_ID = "sb3plus/mazeeasy/waypoint-v0"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    server = FakeHub(users={TOKEN: {"name": "alice", "orgs": []}}).start()
    point_client_at(server, monkeypatch, tmp_path / "hf_home", TOKEN)
    yield server
    server.stop()


@pytest.fixture
def local_dataset(minari_datasets_path):
    from sb3_plus.data.collect import collect_expert

    collect_expert("MazeEasy-v0", episodes=3, seed=0, dataset_id=DATASET_ID, progress_bar=False)
    return minari_datasets_path


def _episodes(root: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    import minari

    from sb3_plus.data.storage import minari_root

    with minari_root(root):
        dataset = minari.load_dataset(DATASET_ID)
        return [(np.asarray(e.observations), np.asarray(e.actions)) for e in dataset.iterate_episodes()]


def test_push_and_pull_a_dataset(hub, local_dataset, tmp_path, capsys, monkeypatch):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.load_from_hub import main as load_main
    from sb3_plus.push_to_hub import main as push_main

    assert run_cli(push_main, ["--dataset", DATASET_ID, "--repo-id", "alice"]) == 0
    pushed = json.loads(capsys.readouterr().out)
    assert pushed["repo_id"] == "alice/sb3plus" and pushed["remote"] == "hf://alice"
    repo = hub.repo("alice/sb3plus", "dataset")
    local = {str(p.relative_to(local_dataset / "sb3plus")): p.read_bytes()
             for p in (local_dataset / DATASET_ID).rglob("*") if p.is_file()}
    assert local and all(repo.files[path] == content for path, content in local.items())
    registry = json.loads(repo.files["namespace_metadata.json"])
    assert DATASET_ID in registry["datasets"] and "sb3plus/mazeeasy" in registry["namespaces"]
    calls = hub.calls()
    assert ("POST", "/api/repos/create") in calls
    assert ("POST", "/api/datasets/alice/sb3plus/commit/main") in calls
    assert json.loads(next(r.body for r in hub.requests if r.path == "/api/repos/create"))["type"] == "dataset"

    other = tmp_path / "elsewhere"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(other))
    assert run_cli(load_main, ["--dataset", DATASET_ID, "--repo-id", "alice/sb3plus"]) == 0
    pulled = json.loads(capsys.readouterr().out)
    assert pulled["total_episodes"] == 3 and Path(pulled["path"]) == other.resolve() / DATASET_ID
    original, fetched = _episodes(local_dataset), _episodes(other)
    assert len(original) == len(fetched) == 3
    for (obs_a, act_a), (obs_b, act_b) in zip(original, fetched):
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_array_equal(act_a, act_b)


def test_dataset_dry_run_sends_nothing(no_requests, local_dataset, capsys):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.hub.datasets import push_dataset
    from sb3_plus.push_to_hub import main

    assert run_cli(main, ["--dataset", DATASET_ID, "--repo-id", "alice", "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    local = local_dataset / DATASET_ID
    assert out["dry_run"] is True and out["remote"] == "hf://alice" and out["repo_id"] == "alice/sb3plus"
    assert out["files"] == sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    assert push_dataset(DATASET_ID, "alice", token="hf_unused", dry_run=True)["local_path"] == str(local)


def test_dataset_errors(hub, local_dataset, tmp_path, monkeypatch):
    from sb3_plus.data.storage import DatasetExistsError
    from sb3_plus.errors import BadOptionError, InputNotFoundError
    from sb3_plus.hub import HubAuthError, HubNotFoundError, HubPermissionError, HubRepoExistsError
    from sb3_plus.hub.datasets import pull_dataset, push_dataset

    with pytest.raises(BadOptionError, match="ORG/sb3plus"):
        push_dataset(DATASET_ID, "alice/wrong-repo")
    with pytest.raises(InputNotFoundError, match="collect_expert"):
        push_dataset("sb3plus/mazeeasy/other-v0", "alice")
    with pytest.raises(HubPermissionError, match="'bob'"):
        push_dataset(DATASET_ID, "bob")
    with pytest.raises(HubNotFoundError, match="Fix"):
        pull_dataset(DATASET_ID, "alice", root=tmp_path / "empty")
    push_dataset(DATASET_ID, "alice")
    commits = len(hub.repo("alice/sb3plus", "dataset").commits)
    with pytest.raises(HubRepoExistsError, match="new version"):
        push_dataset(DATASET_ID, "alice")
    assert len(hub.repo("alice/sb3plus", "dataset").commits) == commits
    with pytest.raises(DatasetExistsError, match="--force"):
        pull_dataset(DATASET_ID, "alice")
    monkeypatch.delenv("HF_TOKEN")
    hub.requests.clear()
    with pytest.raises(HubAuthError, match="no Hugging Face token"):
        push_dataset(DATASET_ID, "alice")
    assert hub.requests == []
