"""collect_expert: real Minari datasets, metadata, atomic writes, the CLI."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import minari
import numpy as np
import pytest

from sb3_plus.collect_expert import main as collect_main
from sb3_plus.data.collect import collect_expert, default_dataset_id
from sb3_plus.data.storage import DatasetExistsError
from sb3_plus.envs import make_env

REPO = Path(__file__).resolve().parents[1]


def test_default_dataset_id():
    assert default_dataset_id("VizdoomMyWayHome-v1") == "sb3plus/mywayhome/waypoint-v0"
    assert default_dataset_id("MazeEasy-v0") == "sb3plus/mazeeasy/waypoint-v0"


def test_maze_collection_is_a_plain_minari_dataset(minari_datasets_path):
    report = collect_expert("MazeEasyPixels-v0", episodes=12, seed=5, progress_bar=False)
    assert report.success_rate == 1.0 and report.episodes == 12
    assert Path(report.path) == minari_datasets_path / "sb3plus/mazeeasypixels/waypoint-v0"
    dataset = minari.load_dataset("sb3plus/mazeeasypixels/waypoint-v0")
    assert dataset.total_episodes == 12 and dataset.total_steps == report.steps
    meta = dataset.storage.metadata["sb3plus"]
    assert meta["env_id"] == "MazeEasyPixels-v0" and meta["expert"] == "waypoint" and meta["lossless"]
    assert meta["pose_fields"][:3] == ["x", "y", "heading"]
    episode_meta = list(dataset.storage.get_episode_metadata(range(12)))
    assert [m["seed"] for m in episode_meta] == list(range(5, 17))
    assert all(m["success"] for m in episode_meta)
    # lossless: the stored images are exactly what the env shows for the same seed
    episode = dataset[3]
    env = make_env("MazeEasyPixels-v0")
    obs, _ = env.reset(seed=8)
    assert np.array_equal(episode.observations[0], obs)
    for t, action in enumerate(episode.actions[:5]):
        obs, *_ = env.step(int(action))
        assert np.array_equal(episode.observations[t + 1], obs)
    env.close()
    assert episode.infos["success"][-1].item() is True or episode.infos["success"][-1].item() == 1
    # Minari can rebuild the env with the same preprocessing from the stored spec
    recovered = dataset.recover_environment()
    assert recovered.observation_space == dataset.observation_space
    recovered.close()


def test_vizdoom_mywayhome_collection(minari_datasets_path):
    report = collect_expert("VizdoomMyWayHome-v1", episodes=8, seed=100, progress_bar=False, measure_raw=True)
    assert report.success_rate == 1.0
    assert report.raw_steps_per_s and report.steps_per_s > 0
    dataset = minari.load_dataset(report.dataset_id)
    assert dataset.observation_space.shape == (64, 64, 1)
    episode = dataset[0]
    assert episode.observations.shape[0] == len(episode.actions) + 1
    assert episode.infos["pose"].shape == (len(episode.actions) + 1, 5)
    assert dataset.storage.metadata["sb3plus"]["family"] == "vizdoom"


def test_existing_dataset_needs_overwrite(minari_datasets_path):
    collect_expert("MazeEasy-v0", episodes=2, progress_bar=False, dataset_id="sb3plus/test/x-v0")
    with pytest.raises(DatasetExistsError, match="--overwrite"):
        collect_expert("MazeEasy-v0", episodes=3, progress_bar=False, dataset_id="sb3plus/test/x-v0")
    collect_expert("MazeEasy-v0", episodes=3, progress_bar=False, dataset_id="sb3plus/test/x-v0", overwrite=True)
    assert minari.load_dataset("sb3plus/test/x-v0").total_episodes == 3
    leftovers = [p.name for p in minari_datasets_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_bad_dataset_id_and_env(minari_datasets_path):
    with pytest.raises(ValueError, match="version"):
        collect_expert("MazeEasy-v0", episodes=1, dataset_id="sb3plus/no-version", progress_bar=False)
    with pytest.raises(Exception, match="Unknown env id"):
        collect_expert("NotAnEnv-v0", episodes=1, progress_bar=False)


def test_exception_mid_run_leaves_nothing(minari_datasets_path, monkeypatch):
    import sb3_plus.data.collect as collect_module
    from sb3_plus.rollout import EpisodeRecord

    calls = {"n": 0}
    real = EpisodeRecord.add

    def failing_add(self, *args):
        calls["n"] += 1
        if calls["n"] == 700:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(collect_module, "FLUSH_EVERY", 5)
    monkeypatch.setattr(EpisodeRecord, "add", failing_add)
    with pytest.raises(KeyboardInterrupt):
        collect_expert("MazeEasy-v0", episodes=200, progress_bar=False, dataset_id="sb3plus/test/cut-v0")
    assert not (minari_datasets_path / "sb3plus/test/cut-v0").exists()
    assert [p for p in minari_datasets_path.iterdir() if p.name.startswith(".staging")] == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_killed_cli_leaves_no_dataset_under_the_id(minari_datasets_path, sig):
    env = dict(os.environ, MINARI_DATASETS_PATH=str(minari_datasets_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sb3_plus.collect_expert", "--env", "MazeHard-v0", "--episodes", "100000",
         "--dataset-id", "sb3plus/test/killed-v0"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    # wait until chunks are being written to the staging folder
    deadline = time.time() + 60
    while time.time() < deadline:
        staged = list(minari_datasets_path.glob(".staging-*/sb3plus/test/killed-v0/data"))
        if staged and any(staged[0].iterdir()):
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("collection never started writing")
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert not (minari_datasets_path / "sb3plus/test/killed-v0").exists()
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "interrupted" in out
        assert list(minari_datasets_path.glob(".staging-*")) == []


def test_cli_prints_summary_and_clear_errors(minari_datasets_path, capsys):
    report = collect_main(["--env", "MazeMedium-v0", "--episodes", "4", "--no-progress"])
    out = capsys.readouterr().out
    assert "success 100.0%" in out and report.dataset_id in out and "MINARI_DATASETS_PATH" in out
    env = dict(os.environ, MINARI_DATASETS_PATH=str(minari_datasets_path))
    bad = subprocess.run([sys.executable, "-m", "sb3_plus.collect_expert", "--env", "MazeMedium-v0", "--episodes", "4"],
                         cwd=REPO, env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "already exists" in bad.stderr and "--overwrite" in bad.stderr
    route = subprocess.run([sys.executable, "-m", "sb3_plus.collect_expert", "--env", "VizdoomMyWayHome-v1",
                            "--episodes", "1", "--route", "nope.yaml"], cwd=REPO, env=env, capture_output=True, text=True)
    assert route.returncode == 2 and "nope.yaml" in route.stderr and "not found" in route.stderr


def test_hand_written_route_drives_collection(minari_datasets_path):
    report = collect_expert("VizdoomMyWayHome-v1", episodes=5, seed=300, progress_bar=False,
                            route=str(REPO / "experts/vizdoom/my_way_home_rooms.yaml"))
    assert report.success_rate == 1.0
    assert report.route_source.endswith("my_way_home_rooms.yaml")


def test_dataset_written_and_read_back_by_id_in_the_default_folder(tmp_path, monkeypatch):
    from sb3_plus.data.sequences import load_episodes
    from sb3_plus.data.storage import DatasetNotFoundError, load_dataset

    monkeypatch.delenv("MINARI_DATASETS_PATH")
    monkeypatch.chdir(tmp_path)
    report = collect_expert("MazeEasy-v0", episodes=3, seed=2, progress_bar=False, dataset_id="sb3plus/root/x-v0")
    assert Path(report.path) == tmp_path / "datasets/sb3plus/root/x-v0"
    episodes = load_episodes("sb3plus/root/x-v0")  # by id, from ./datasets, not Minari's ~/.minari
    assert [e.metadata["seed"] for e in episodes] == [2, 3, 4]
    assert sum(len(e) for e in episodes) == report.steps
    assert load_dataset("sb3plus/root/x-v0").total_episodes == 3
    with pytest.raises(DatasetNotFoundError, match=r"not found under .*datasets.*collect_expert"):
        load_episodes("sb3plus/root/missing-v0")


def test_user_errors_are_user_error_types(minari_datasets_path):
    from sb3_plus.data.collect import NoEpisodesKeptError
    from sb3_plus.errors import BadOptionError, UserError

    assert issubclass(DatasetExistsError, UserError) and issubclass(DatasetExistsError, FileExistsError)
    with pytest.raises(BadOptionError, match="episodes"):
        collect_expert("MazeEasy-v0", episodes=0, progress_bar=False)
    with pytest.raises(BadOptionError, match="unknown expert 'oracle'"):
        collect_expert("MazeEasy-v0", episodes=1, progress_bar=False, expert="oracle")
    assert issubclass(NoEpisodesKeptError, UserError)


def test_shipped_recipes_are_valid_and_tracked():
    from sb3_plus.data.recipes import load_recipe

    names = sorted(p.name for p in (REPO / "datasets").glob("*.yml"))
    assert {"mywayhome-waypoint.yml", "mazeeasy-waypoint.yml"} <= set(names)
    demo = load_recipe(REPO / "datasets/mywayhome-waypoint.yml")
    assert (demo.env, demo.episodes, demo.seed, demo.expert) == ("VizdoomMyWayHome-v1", 100, 0, "waypoint")
    assert demo.dataset_id == "sb3plus/mywayhome/waypoint-v0"
    for name in names:
        assert load_recipe(REPO / "datasets" / name).dataset_id.startswith("sb3plus/")
    ignored = subprocess.run(["git", "check-ignore", "datasets/mazeeasy-waypoint.yml", "datasets/README.md",
                              "datasets/sb3plus/mazeeasy/waypoint-v0/data/metadata.json"],
                             cwd=REPO, capture_output=True, text=True).stdout.split()
    assert ignored == ["datasets/sb3plus/mazeeasy/waypoint-v0/data/metadata.json"]  # only generated data is ignored


def test_recipe_runs_with_overrides(minari_datasets_path, tmp_path):
    from sb3_plus.data.recipes import collect_from_recipe, load_recipe

    recipe = tmp_path / "maze.yml"
    recipe.write_text("dataset_id: sb3plus/recipe/maze-v0\nenv: MazeEasy-v0\nenv_kwargs: {fixed_layout_seed: 3}\n"
                      "expert: waypoint\nroute: null\nepisodes: 50\nseed: 11\n")
    assert load_recipe(recipe).episodes == 50
    report = collect_from_recipe(recipe, episodes=3, progress_bar=False)
    assert report.dataset_id == "sb3plus/recipe/maze-v0" and report.episodes == 3
    dataset = minari.load_dataset("sb3plus/recipe/maze-v0")
    meta = dataset.storage.metadata["sb3plus"]
    assert meta["first_seed"] == 11 and meta["env_kwargs"] == {"fixed_layout_seed": 3}
    # the CLI: flags override the recipe, env options merge
    collect_main(["--recipe", str(recipe), "--episodes", "2", "--seed", "0", "--env-kwargs", "step_penalty:0.01",
                  "--overwrite", "--no-progress"])
    meta = minari.load_dataset("sb3plus/recipe/maze-v0").storage.metadata["sb3plus"]
    assert meta["episodes_played"] == 2 and meta["first_seed"] == 0
    assert meta["env_kwargs"] == {"fixed_layout_seed": 3, "step_penalty": 0.01}


def test_recipe_errors_name_the_key_and_the_allowed_ones(tmp_path, capsys):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.data.recipes import RecipeError, load_recipe
    from sb3_plus.errors import InputNotFoundError

    bad = tmp_path / "bad.yml"
    bad.write_text("env: MazeEasy-v0\nepisodez: 3\n")
    with pytest.raises(RecipeError, match=r"bad.yml: unknown key 'episodez'.*dataset_id, env, env_kwargs, expert"):
        load_recipe(bad)
    assert run_cli(collect_main, ["--recipe", str(bad)]) == 2
    assert "unknown key 'episodez'" in capsys.readouterr().err
    bad.write_text("env: MazeEasy-v0\nepisodes: many\n")
    with pytest.raises(RecipeError, match="episodes is 'many', it must be int"):
        load_recipe(bad)
    bad.write_text("episodes: 3\n")
    with pytest.raises(RecipeError, match="no env"):
        load_recipe(bad)
    with pytest.raises(InputNotFoundError, match="nope.yml"):
        load_recipe(tmp_path / "nope.yml")
    assert run_cli(collect_main, ["--episodes", "2"]) == 2
    assert "--env" in capsys.readouterr().err
