"""Publishing to and loading from the Hub: real huggingface_hub client, local stand-in server (hub_server.py)."""

from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from hub_server import FakeHub, closed_port_url, point_client_at  # noqa: E402

TOKEN = "hf_test_token"
USERS = {TOKEN: {"name": "alice", "orgs": ["sb3org"]}}
DATASET_ID = "sb3plus/mazeeasy/waypoint-v0"
REPO = "alice/ppo-MazeEasy-v0"


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real run: expert dataset, BC pretraining, a few hundred PPO steps on MazeEasy-v0."""
    from sb3_plus.data.collect import collect_expert
    from sb3_plus.data.storage import minari_root
    from sb3_plus.train import train

    base = tmp_path_factory.mktemp("hub_run")
    datasets = base / "datasets"
    with minari_root(datasets):
        collect_expert("MazeEasy-v0", episodes=4, seed=0, dataset_id=DATASET_ID, progress_bar=False)
        result = train("ppo", "MazeEasy-v0", n_timesteps=256, seed=0, log_folder=base / "logs", eval_freq=256,
                       eval_episodes=2, hyperparams={"n_envs": 1, "n_steps": 128, "batch_size": 64, "n_epochs": 1},
                       pretrain="bc", dataset=DATASET_ID, pretrain_kwargs={"epochs": 1}, tensorboard=False,
                       verbose=0, command="python -m sb3_plus.train --algo ppo --env MazeEasy-v0 -n 256 "
                                          f"--pretrain bc --dataset {DATASET_ID} --pretrain-epochs 1")
    return {"run_dir": result.run_dir, "model_path": result.model_path, "datasets": datasets}


@pytest.fixture(scope="module")
def built(run, tmp_path_factory):
    """The repo folder of ``run``, built once (3 held-out episodes, no video)."""
    from sb3_plus.data.storage import minari_root
    from sb3_plus.hub.build import build_repo_folder

    out = tmp_path_factory.mktemp("hub_built") / "repo"
    with minari_root(run["datasets"]):
        folder, results = build_repo_folder(run["run_dir"], REPO, out_dir=out, n_eval_episodes=3, video=False,
                                            verbose=0)
    return folder


@pytest.fixture
def hub(tmp_path, monkeypatch):
    server = FakeHub(users=USERS).start()
    point_client_at(server, monkeypatch, tmp_path / "hf_home", TOKEN)
    yield server
    server.stop()


@pytest.fixture
def made_envs(monkeypatch):
    """Every env built through ``sb3_plus.envs.make_env`` during the test."""
    import gymnasium as gym

    import sb3_plus.envs as envs

    made = []
    real = envs.make_env

    class Tracked(gym.Wrapper):
        closed = False

        def close(self):
            self.closed = True
            super().close()

    def make(env_id, **kwargs):
        made.append(Tracked(real(env_id, **kwargs)))
        return made[-1]

    monkeypatch.setattr(envs, "make_env", make)
    return made


def _copy(folder: Path, dest: Path) -> Path:
    shutil.copytree(folder, dest)
    return dest


def _load_original(run):
    from sb3_plus.evaluate import load_model

    return load_model(run["model_path"], "ppo")


def _observations(n: int = 30) -> np.ndarray:
    from sb3_plus.envs import make_env

    env = make_env("MazeEasy-v0")
    obs = []
    for seed in range(n):
        o, _ = env.reset(seed=20_000 + seed)
        obs.append(o)
        o, *_ = env.step(env.action_space.sample())
        obs.append(o)
    env.close()
    return np.stack(obs)


def _same_policy(a, b) -> None:
    sa, sb = a.policy.state_dict(), b.policy.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert np.array_equal(sa[key].cpu().numpy(), sb[key].cpu().numpy()), key
    obs = _observations()
    np.testing.assert_array_equal(a.predict(obs, deterministic=True)[0], b.predict(obs, deterministic=True)[0])


# ----------------------------------------------------------------------------- dry run and card

def test_dry_run_builds_the_repo_folder_without_any_request(run, hub, tmp_path, monkeypatch):
    from sb3_plus.evaluate import evaluate
    from sb3_plus.hub.push import push_to_hub

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(run["datasets"]))
    result = push_to_hub(run["run_dir"], REPO, n_eval_episodes=3, out_dir=tmp_path / "repo", dry_run=True,
                         video_length=40, verbose=0)
    folder = result.folder
    assert result.dry_run and hub.requests == []
    assert set(result.files) == {"README.md", "ppo-MazeEasy-v0.zip", "config.yml", "env_kwargs.yml", "run_info.json",
                                 "command.txt", "results.json", "replay.mp4", "learning_curve.png",
                                 "evaluations.npz"}
    assert (folder / "ppo-MazeEasy-v0.zip").read_bytes() == run["model_path"].read_bytes()
    assert (folder / "config.yml").read_text() == (run["run_dir"] / "config.yml").read_text()
    assert yaml.safe_load((folder / "env_kwargs.yml").read_text()) == {}
    results = json.loads((folder / "results.json").read_text())
    expected = evaluate(run["model_path"], "MazeEasy-v0", episodes=3, seed=10_000)
    assert results["seeds"] == [10_000, 10_001, 10_002] and results["n_eval_episodes"] == 3
    assert results["deterministic"] is True and results["model_file"] == "ppo-MazeEasy-v0.zip"
    assert results["mean_reward"] == pytest.approx(expected.mean_return)
    assert results["std_reward"] == pytest.approx(expected.std_return)
    assert results["success_rate"] == pytest.approx(expected.success_rate)
    import imageio.v2 as imageio

    frames = imageio.mimread(folder / "replay.mp4")  # one frame per step of an episode cut after 40 steps
    assert len(frames) == min(expected.lengths[0], 40) and frames[0].shape[2] == 3
    published = json.loads((folder / "run_info.json").read_text())
    assert published["model"] == "ppo-MazeEasy-v0.zip" and published["dataset_id"] == DATASET_ID


def test_card_metadata_follows_hub_conventions(built, run):
    from huggingface_hub import ModelCard, metadata_load
    from huggingface_hub.repocard_data import model_index_to_eval_results

    results = json.loads((built / "results.json").read_text())
    meta = metadata_load(built / "README.md")
    assert meta["library_name"] == "stable-baselines3"
    assert {"reinforcement-learning", "stable-baselines3", "sb3-plus", "deep-reinforcement-learning",
            "MazeEasy-v0"} <= set(meta["tags"])
    name, evals = model_index_to_eval_results(meta["model-index"])
    assert name == "PPO"
    by_metric = {e.metric_type: e for e in evals}
    mean = by_metric["mean_reward"]
    assert mean.metric_value == f"{results['mean_reward']:.2f} +/- {results['std_reward']:.2f}"
    assert mean.task_type == "reinforcement-learning" and mean.dataset_type == "MazeEasy-v0"
    assert by_metric["success_rate"].metric_value == pytest.approx(results["success_rate"])
    card = ModelCard.load(built / "README.md")
    assert card.data.library_name == "stable-baselines3" and card.data.model_name == "PPO"
    text = card.text
    config = yaml.safe_load((run["run_dir"] / "config.yml").read_text())["MazeEasy-v0"]
    for key in ("n_steps", "batch_size", "learning_rate", "policy_kwargs"):
        assert f"| {key} |" in text
    assert "`lin_0.0003`" in text and "`128`" in text
    assert DATASET_ID in text and "BC on" in text and "waypoint" in text
    assert "python -m sb3_plus.collect_expert --env MazeEasy-v0 --episodes 4 --seed 0 " \
           f"--dataset-id {DATASET_ID}" in text
    assert (built / "command.txt").read_text().strip() in text
    assert f"-conf hub/{REPO}/config.yml --seed 0" in text
    assert f"python -m sb3_plus.load_from_hub --repo-id {REPO}" in text
    assert f"python -m sb3_plus.enjoy --repo-id {REPO}" in text
    assert "Tuning**: none" in text and card.data.license == "mit"
    assert {"imitation-learning", "behavior-cloning"} <= set(card.data.tags)
    assert config["n_steps"] == 128


def test_card_shows_a_tuning_study_without_its_password(built):
    from huggingface_hub import ModelCard

    from sb3_plus.hub.card import CardInputs, build_card

    info = json.loads((built / "run_info.json").read_text())
    info["tuning"] = {"study_name": "maze-ppo", "storage": "postgresql://tuner:s3cret@db:5432/optuna",
                      "trial_number": 7, "best_value": 0.9}
    config = yaml.safe_load((built / "config.yml").read_text())["MazeEasy-v0"]
    results = json.loads((built / "results.json").read_text())
    text = build_card(CardInputs(repo_id=REPO, run_info=info, config=config, results=results,
                                 model_file="ppo-MazeEasy-v0.zip"))
    ModelCard(text)
    assert "Optuna study" in text and "maze-ppo" in text and "`7`" in text
    assert "s3cret" not in text and "postgresql://tuner:***@db:5432/optuna" in text

    info.update(dataset_id=None, pretrain=None, tuning=None)
    text = build_card(CardInputs(repo_id=REPO, run_info=info, config=config, results=results,
                                 model_file="ppo-MazeEasy-v0.zip", license=None))
    card = ModelCard(text)
    assert card.data.license is None and "imitation-learning" not in card.data.tags
    assert "none; the agent learned from its own experience only" in text and "Pretraining**: none" in text
    assert "collect_expert" not in text and "--pretrain" not in text


# ----------------------------------------------------------------------------- upload

def test_upload_request_sequence_and_files(built, hub):
    from sb3_plus.hub.push import upload_repo_folder

    result = upload_repo_folder(built, REPO)
    assert hub.calls() == [
        ("GET", "/api/whoami-v2"),
        ("POST", "/api/repos/create"),
        ("POST", "/api/validate-yaml"),
        ("POST", f"/api/models/{REPO}/preupload/main"),
        ("POST", f"/api/models/{REPO}/commit/main"),
    ]
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in hub.requests)
    create = hub.requests[1].json()
    assert create["name"] == "ppo-MazeEasy-v0" and create["organization"] == "alice" and create["type"] == "model"
    local = {p.name: p.read_bytes() for p in built.iterdir() if p.is_file()}
    preupload = hub.requests[3].json()
    assert {f["path"] for f in preupload["files"]} == set(local)
    assert {f["path"]: f["size"] for f in preupload["files"]} == {k: len(v) for k, v in local.items()}
    commit = hub.requests[4]
    assert commit.headers["content-type"] == "application/x-ndjson"
    lines = commit.ndjson()
    assert lines[0]["key"] == "header" and "mean reward" in lines[0]["value"]["summary"]
    sent = {line["value"]["path"]: base64.b64decode(line["value"]["content"]) for line in lines[1:]}
    assert sent == local
    repo = hub.repo(REPO)
    assert {k: v for k, v in repo.files.items() if k != ".gitattributes"} == local
    assert result.commit_oid == repo.sha and result.repo_url.endswith(REPO)
    assert yaml.safe_load(hub.requests[2].json()["content"].split("---")[1])["library_name"] == "stable-baselines3"


def test_cli_pushes_a_run_to_an_organisation(run, hub, capsys, monkeypatch):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.push_to_hub import main

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(run["datasets"]))
    code = run_cli(main, ["--run", str(run["run_dir"]), "--repo-id", "sb3org/maze-ppo", "--episodes", "2",
                          "--no-video"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] is False and out["commit_oid"] == hub.repo("sb3org/maze-ppo").sha
    files = hub.repo("sb3org/maze-ppo").files
    assert {"README.md", "ppo-MazeEasy-v0.zip", "results.json", "config.yml"} <= set(files)
    assert json.loads(files["results.json"])["n_eval_episodes"] == 2
    kept = {p.name: p.read_bytes() for p in Path(out["folder"]).iterdir()}
    assert kept == {name: content for name, content in files.items() if name != ".gitattributes"}


# ----------------------------------------------------------------------------- download and load

def test_download_and_safe_load_give_the_original_model(built, run, hub, tmp_path):
    from sb3_plus.hub.load import load_from_hub
    from sb3_plus.hub.play import evaluate_loaded
    from sb3_plus.hub.push import upload_repo_folder

    upload_repo_folder(built, REPO)
    hub.requests.clear()
    loaded = load_from_hub(REPO, out_dir=tmp_path / "dl")
    request_paths = [r.path for r in hub.requests]
    assert f"/api/models/{REPO}/revision/main" in request_paths
    assert any(p.startswith(f"/{REPO}/resolve/") and p.endswith("ppo-MazeEasy-v0.zip") for p in request_paths)
    assert loaded.safe and loaded.algo == "ppo" and loaded.env_id == "MazeEasy-v0"
    assert (tmp_path / "dl" / "config.yml").read_bytes() == (built / "config.yml").read_bytes()
    original = _load_original(run)
    _same_policy(original, loaded.model)
    assert loaded.model.num_timesteps == original.num_timesteps
    published = json.loads((built / "results.json").read_text())
    with loaded:
        again = evaluate_loaded(loaded, episodes=3, seed=10_000)
    assert again.returns == pytest.approx(published["returns"]) and loaded.env is None
    with load_from_hub(REPO, out_dir=tmp_path / "dl_trusted", trust_remote_pickle=True) as trusted:
        assert not trusted.safe
        _same_policy(original, trusted.model)
        assert evaluate_loaded(trusted, episodes=3, seed=10_000).returns == pytest.approx(published["returns"])


def _poison(zip_path: Path, dest: Path, marker: Path) -> int:
    """Copy an SB3 zip, replacing every cloudpickled entry of ``data`` by a payload that creates ``marker``."""

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    blob = base64.b64encode(pickle.dumps(Payload())).decode()
    poisoned = 0
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(dest, "w") as out:
        for item in src.infolist():
            raw = src.read(item.filename)
            if item.filename == "data":
                data = json.loads(raw)
                for value in data.values():
                    if isinstance(value, dict) and ":serialized:" in value:
                        value[":serialized:"] = blob
                        poisoned += 1
                raw = json.dumps(data).encode()
            out.writestr(item, raw)
    return poisoned


def test_safe_load_never_unpickles_repo_content(built, run, tmp_path, monkeypatch):
    import cloudpickle

    from sb3_plus.hub.load import load_published_model

    folder = _copy(built, tmp_path / "repo")
    marker = tmp_path / "pwned"
    zip_path = folder / "ppo-MazeEasy-v0.zip"
    clean = tmp_path / "clean.zip"
    shutil.copy2(zip_path, clean)
    assert _poison(clean, zip_path, marker) >= 5

    def refuse(*args, **kwargs):
        raise AssertionError("the safe path unpickled repo content")

    with monkeypatch.context() as patch:
        patch.setattr(cloudpickle, "loads", refuse)
        patch.setattr(pickle, "loads", refuse)
        patch.setattr(pickle, "load", refuse)
        loaded = load_published_model(folder)
    with loaded:
        assert loaded.safe and not marker.exists()
        _same_policy(_load_original(run), loaded.model)

    # the payload is live: the trusting path runs it
    try:
        load_published_model(folder, trust_remote_pickle=True)
    except Exception:
        pass
    assert marker.exists()


def test_weights_that_need_unpickling_are_refused(built, tmp_path):
    import io

    import torch

    from sb3_plus.hub import UnsafeLoadError
    from sb3_plus.hub.load import load_published_model

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    folder = _copy(built, tmp_path / "repo")
    zip_path = folder / "ppo-MazeEasy-v0.zip"
    buffer = io.BytesIO()
    torch.save({"weights": Payload()}, buffer)
    with zipfile.ZipFile(built / "ppo-MazeEasy-v0.zip") as src, zipfile.ZipFile(zip_path, "w") as out:
        for item in src.infolist():
            out.writestr(item, buffer.getvalue() if item.filename == "policy.pth" else src.read(item.filename))
    with pytest.raises(UnsafeLoadError, match="--trust-remote-pickle"):
        load_published_model(folder)
    assert not marker.exists()


def test_load_from_hub_and_enjoy_commands(built, hub, tmp_path, capsys):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.enjoy import main as enjoy_main
    from sb3_plus.hub.push import upload_repo_folder
    from sb3_plus.load_from_hub import main as load_main

    upload_repo_folder(built, REPO)
    out_dir = tmp_path / "dl"
    assert run_cli(load_main, ["--repo-id", REPO, "--out", str(out_dir), "--episodes", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["loaded"]["safe"] is True and report["evaluation"]["episodes"] == 2
    assert "replay.mp4" not in report["files"] and "ppo-MazeEasy-v0.zip" in report["files"]
    published = json.loads((built / "results.json").read_text())
    assert report["evaluation"]["mean_return"] == pytest.approx(np.mean(published["returns"][:2]))
    video = tmp_path / "watch.mp4"
    assert run_cli(enjoy_main, ["--folder", str(out_dir), "--episodes", "1", "--video", str(video),
                                "--video-length", "30"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["evaluation"]["first_seed"] == 10_000 and report["loaded"]["safe"] is True
    import imageio.v2 as imageio

    frames = imageio.mimread(video)  # the replay is of the evaluated episode (seed 10000), cut after 30 steps
    assert report["video"] == str(video) and len(frames) == min(report["evaluation"]["mean_length"], 30)
    assert run_cli(enjoy_main, ["--repo-id", REPO, "--out", str(tmp_path / "dl2"), "--episodes", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["evaluation"]["episodes"] == 1


def test_vecnormalize_statistics_travel_as_json(tmp_path):
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from sb3_plus.envs import make_env
    from sb3_plus.hub.layout import export_vecnormalize, read_vecnormalize_json
    from sb3_plus.models import load_vecnormalize

    norm = VecNormalize(DummyVecEnv([lambda: make_env("CartPole-v1")]), clip_obs=0.5)
    norm.reset()
    for _ in range(50):
        norm.step(np.array([norm.action_space.sample()]))
    norm.save(str(tmp_path / "vecnormalize.pkl"))
    export_vecnormalize(tmp_path / "vecnormalize.pkl", tmp_path / "vecnormalize.json")
    env = make_env("CartPole-v1")
    from_json = read_vecnormalize_json(tmp_path / "vecnormalize.json", env)
    from_pickle = load_vecnormalize(tmp_path / "vecnormalize.pkl", env)
    for loaded in (from_json, from_pickle):
        assert loaded.training is False and loaded.norm_reward is False and loaded.clip_obs == 0.5
    obs = np.array([0.1, -0.3, 0.05, 0.7], dtype=np.float32)
    norm.training = False
    np.testing.assert_allclose(from_json.normalize_obs(obs), norm.normalize_obs(obs), rtol=1e-6)
    np.testing.assert_allclose(from_pickle.normalize_obs(obs), norm.normalize_obs(obs), rtol=1e-6)
    assert np.abs(from_json.normalize_obs(obs * 100)).max() == pytest.approx(0.5)
    env.close()


# ----------------------------------------------------------------------------- errors

def test_push_without_token_fails_before_any_request_and_keeps_the_folder(run, hub, tmp_path, monkeypatch, capsys):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.hub import HubAuthError
    from sb3_plus.hub.push import push_to_hub
    from sb3_plus.push_to_hub import main

    monkeypatch.delenv("HF_TOKEN")
    out = tmp_path / "repo"
    with pytest.raises(HubAuthError) as info:
        push_to_hub(run["run_dir"], REPO, n_eval_episodes=1, video=False, out_dir=out, verbose=0)
    message = str(info.value)
    assert "no Hugging Face token" in message and "hf auth login" in message and str(out.resolve()) in message
    assert f"--folder {out.resolve()} --repo-id {REPO}" in message
    assert hub.requests == [] and (out / "README.md").is_file() and info.value.folder == out.resolve()
    assert run_cli(main, ["--folder", str(out), "--repo-id", REPO]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Hugging Face token") and len(err.strip().splitlines()) == 1
    assert hub.requests == []


def test_push_with_a_rejected_token(built, hub, monkeypatch):
    from sb3_plus.hub import HubAuthError
    from sb3_plus.hub.push import upload_repo_folder

    monkeypatch.setenv("HF_TOKEN", "hf_expired")
    with pytest.raises(HubAuthError, match="rejected your token") as info:
        upload_repo_folder(built, REPO)
    assert str(built.resolve()) in str(info.value)
    assert hub.calls() == [("GET", "/api/whoami-v2")] and hub.repo(REPO) is None


def test_push_without_permission_on_the_namespace(built, hub):
    from sb3_plus.hub import HubPermissionError
    from sb3_plus.hub.push import upload_repo_folder

    with pytest.raises(HubPermissionError) as info:
        upload_repo_folder(built, "bob/ppo-MazeEasy-v0")
    message = str(info.value)
    assert "403" in message and "'bob'" in message and "kept at" in message
    assert not any("/commit/" in path for _, path in hub.calls()) and hub.repo("bob/ppo-MazeEasy-v0") is None


def test_push_to_an_existing_repo_needs_update(built, hub):
    from sb3_plus.hub import HubRepoExistsError
    from sb3_plus.hub.push import upload_repo_folder

    hub.add_repo(REPO, files={"README.md": b"old"})
    with pytest.raises(HubRepoExistsError, match="--update") as info:
        upload_repo_folder(built, REPO)
    assert "kept at" in str(info.value)
    assert hub.repo(REPO).files["README.md"] == b"old"
    upload_repo_folder(built, REPO, update=True)
    assert hub.repo(REPO).files["README.md"] == (built / "README.md").read_bytes()
    assert len(hub.repo(REPO).commits) == 2


def test_push_and_load_with_the_network_unreachable(built, hub, monkeypatch, tmp_path):
    from sb3_plus.hub import HubNetworkError
    from sb3_plus.hub.load import load_from_hub
    from sb3_plus.hub.push import upload_repo_folder

    url = closed_port_url()
    monkeypatch.setenv("HF_ENDPOINT", url)
    with pytest.raises(HubNetworkError) as info:
        upload_repo_folder(built, REPO)
    assert f"cannot reach the Hub at {url}" in str(info.value) and "kept at" in str(info.value)
    with pytest.raises(HubNetworkError, match="cannot reach the Hub"):
        load_from_hub(REPO, out_dir=tmp_path / "dl")
    assert hub.requests == []


def test_missing_run_files_are_named(run, tmp_path, capsys):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.hub import RunFilesError
    from sb3_plus.hub.push import push_to_hub
    from sb3_plus.push_to_hub import main

    broken = _copy(run["run_dir"], tmp_path / "run")
    (broken / "config.yml").unlink()
    (broken / "MazeEasy-v0.zip").unlink()
    with pytest.raises(RunFilesError) as info:
        push_to_hub(broken, REPO, dry_run=True, verbose=0)
    assert "config.yml" in str(info.value) and "MazeEasy-v0.zip" in str(info.value)
    assert run_cli(main, ["--run", str(tmp_path / "nope"), "--repo-id", REPO, "--dry-run"]) == 2
    assert "run folder" in capsys.readouterr().err
    assert run_cli(main, ["--run", str(broken), "--repo-id", "not-a-repo-id", "--dry-run"]) == 2
    assert "ORG/NAME" in capsys.readouterr().err


def test_loading_a_missing_repo(hub, tmp_path):
    from sb3_plus.hub import HubNotFoundError
    from sb3_plus.hub.load import load_from_hub

    with pytest.raises(HubNotFoundError, match="was not found"):
        load_from_hub("alice/nothing-here", out_dir=tmp_path / "dl")


def test_push_command_as_a_process(built, hub, tmp_path):
    import subprocess

    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HOME": str(tmp_path / "hf_home"),
           "HF_HUB_DISABLE_TELEMETRY": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "sb3_plus.push_to_hub", "--folder", str(built), "--repo-id", REPO],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["commit_oid"] == hub.repo(REPO).sha


# ----------------------------------------------------------------------------- dry runs, unreadable files, envs

def test_dry_run_sends_nothing_on_any_path(run, built, no_requests, tmp_path, capsys, monkeypatch):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.push_to_hub import main

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(run["datasets"]))
    assert run_cli(main, ["--folder", str(built), "--repo-id", REPO, "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] is True and out["commit_oid"] is None and out["repo_url"] is None
    assert set(out["files"]) == {p.name for p in built.iterdir()}
    assert run_cli(main, ["--dataset", DATASET_ID, "--repo-id", "alice", "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] is True and out["repo_id"] == "alice/sb3plus" and "data/metadata.json" in out["files"]
    assert run_cli(main, ["--run", str(run["run_dir"]), "--repo-id", REPO, "--dry-run", "--episodes", "1",
                          "--no-video", "--out", str(tmp_path / "repo")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] is True and (tmp_path / "repo" / "README.md").is_file()


def test_unreadable_run_files_are_named_before_anything_is_built(run, tmp_path, capsys):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.hub.build import build_repo_folder
    from sb3_plus.models import ModelFileError
    from sb3_plus.push_to_hub import main

    broken = _copy(run["run_dir"], tmp_path / "run")
    model = broken / "MazeEasy-v0.zip"
    model.write_bytes(model.read_bytes()[:2000])
    before = sorted(broken.rglob("*"))
    assert run_cli(main, ["--run", str(broken), "--repo-id", REPO, "--dry-run", "--no-video"]) == 2
    err = capsys.readouterr().err
    assert str(model) in err and "truncated" in err and len(err.strip().splitlines()) == 1
    assert sorted(broken.rglob("*")) == before
    shutil.copy2(run["model_path"], model)
    (broken / "run_info.json").write_text('{"algo": "ppo", "env_id": ')
    with pytest.raises(ModelFileError, match="run_info.json is truncated or corrupt"):
        build_repo_folder(broken, REPO, video=False, verbose=0)


def test_loading_and_playing_close_every_env_they_build(built, made_envs, tmp_path):
    from sb3_plus.hub.load import load_published_model
    from sb3_plus.hub.play import enjoy, evaluate_loaded

    with load_published_model(built) as loaded:
        first = evaluate_loaded(loaded, episodes=2)
        assert evaluate_loaded(loaded, episodes=2).returns == first.returns
        assert len(made_envs) == 1 and not made_envs[0].closed  # one env, used again
    assert loaded.env is None and made_envs[0].closed
    report = enjoy(folder=built, episodes=1, video=tmp_path / "replay.mp4", video_length=5)
    assert report["evaluation"]["episodes"] == 1
    assert len(made_envs) == 3 and all(env.closed for env in made_envs)


def test_card_calls_validation_seeds_validation_not_held_out():
    from sb3_plus.hub.card import _pretrain_lines

    lines = "\n".join(_pretrain_lines({"method": "bc", "dataset_id": "sb3plus/x/y-v0", "eval": {
        "success_rate": 0.9, "mean_return": 0.8, "episodes": 20, "first_seed": 20000}}))
    assert "20 validation episodes (seeds from 20000" in lines
    assert "held-out episodes" not in lines


def test_a_published_best_model_carries_its_own_normalization(tmp_path):
    import pickle

    from sb3_plus.hub.build import build_repo_folder
    from sb3_plus.training import train

    result = train("ppo", "MazeEasy-v0", n_timesteps=512, log_folder=tmp_path / "logs", verbose=0, eval_freq=128,
                   eval_episodes=2, hyperparams=["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1",
                                                 "normalize:True"])
    folder, _ = build_repo_folder(result.run_dir, "alice/best", out_dir=tmp_path / "hub", n_eval_episodes=1,
                                  video=False, model="best", verbose=0)
    with open(result.run_dir / "best_vecnormalize.pkl", "rb") as handle:
        best = pickle.load(handle)
    with open(result.run_dir / "vecnormalize.pkl", "rb") as handle:
        final = pickle.load(handle)
    published = json.loads((folder / "vecnormalize.json").read_text())
    assert np.allclose(published["obs_rms"]["mean"], best.obs_rms.mean)
    if best.obs_rms.count != final.obs_rms.count:
        assert not np.allclose(published["obs_rms"]["mean"], final.obs_rms.mean)
