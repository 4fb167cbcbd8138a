"""Saved models: reading and checking zips, telling the algorithm, evaluating a run on held-out seeds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FAST = {"n_envs": 1, "n_steps": 64, "batch_size": 64, "n_epochs": 1}


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def stacked_run(tmp_path_factory):
    """A PPO run on MazeEasy-v0 with the zoo's frame_stack and normalize, and a best_model.zip."""
    from sb3_plus.train import train

    base = tmp_path_factory.mktemp("models_run")
    result = train("ppo", "MazeEasy-v0", n_timesteps=128, seed=0, log_folder=base, eval_freq=64, eval_episodes=1,
                   hyperparams={**FAST, "frame_stack": 2, "normalize": True}, tensorboard=False, verbose=0)
    assert (result.run_dir / "best_model.zip").is_file() and (result.run_dir / "vecnormalize.pkl").is_file()
    return result


class _Tracked(gym.Wrapper):
    """Counts steps and records whether the env was closed."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.steps = 0
        self.closed = False

    def step(self, action):
        self.steps += 1
        return super().step(action)

    def close(self) -> None:
        self.closed = True
        super().close()


@pytest.fixture
def made_envs(monkeypatch):
    """Every env built through ``sb3_plus.envs.make_env`` during the test, tracked."""
    import sb3_plus.envs as envs

    made: list[_Tracked] = []
    real = envs.make_env

    def make(env_id, **kwargs):
        env = _Tracked(real(env_id, **kwargs))
        made.append(env)
        return env

    monkeypatch.setattr(envs, "make_env", make)
    return made


def _save(algo: str, path: Path) -> Path:
    from sb3_plus.config import ALGOS

    cls = ALGOS[algo]
    env = "Pendulum-v1" if algo in ("sac", "td3", "ddpg") else "CartPole-v1"
    kwargs = {"buffer_size": 16} if algo in ("sac", "td3", "ddpg", "dqn", "qrdqn") else {}
    cls("MlpLstmPolicy" if algo == "ppo_lstm" else "MlpPolicy", env, seed=0, **kwargs).save(path)
    return path


def _rewrite(src: Path, dest: Path, replace: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dest, "w") as new:
        for item in old.infolist():
            new.writestr(item, replace.get(item.filename, old.read(item.filename)))
    return dest


# ----------------------------------------------------------------------------- the algorithm

@pytest.mark.parametrize("algo", ["a2c", "sac", "td3", "ddpg", "dqn", "ppo", "ppo_lstm", "trpo", "qrdqn"])
def test_detect_algo_from_the_zip_alone(tmp_path, algo):
    from sb3_plus.config import ALGOS
    from sb3_plus.models import detect_algo, load_model

    path = _save(algo, tmp_path / "model.zip")
    assert detect_algo(path) == algo
    assert type(load_model(path)) is ALGOS[algo]


def test_run_info_names_the_algo_and_an_undetectable_zip_asks_for_algo(tmp_path, capsys):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.evaluate import main
    from sb3_plus.models import UnknownAlgoError, detect_algo

    (tmp_path / "run").mkdir()
    path = _save("ppo", tmp_path / "run" / "model.zip")
    (tmp_path / "run" / "run_info.json").write_text(json.dumps({"algo": "ppo_mask", "env_id": "CartPole-v1"}))
    assert detect_algo(path) == "ppo_mask"
    (tmp_path / "run" / "run_info.json").write_text(json.dumps({"algo": "nope", "env_id": "CartPole-v1"}))
    with pytest.raises(UnknownAlgoError, match="'nope'"):
        detect_algo(path)

    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data"))
    signature = {"clip_range", "n_epochs", "gae_lambda", "vf_coef"}  # what tells PPO from other algorithms
    bare = {key: value for key, value in data.items() if key not in signature}
    strange = _rewrite(path, tmp_path / "strange.zip", {"data": json.dumps(bare).encode()})
    with pytest.raises(UnknownAlgoError, match="--algo"):
        detect_algo(strange)
    assert run_cli(main, ["--model", str(strange), "--env", "CartPole-v1", "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot tell which algorithm") and "--algo" in err and str(strange) in err
    assert main(["--model", str(strange), "--env", "CartPole-v1", "--episodes", "1", "--algo", "ppo"])["episodes"] == 1


# ----------------------------------------------------------------------------- unreadable files

def test_truncated_corrupt_and_bad_json_zips_are_named(tmp_path):
    from sb3_plus.models import ModelFileError, read_model_zip

    good = _save("a2c", tmp_path / "good.zip")
    assert read_model_zip(good).observation_shape == (4,)
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="truncated") as info:
        read_model_zip(truncated)
    assert str(truncated) in str(info.value)

    bad_json = _rewrite(good, tmp_path / "bad_json.zip", {"data": b"{not json"})
    with pytest.raises(ModelFileError, match="not valid JSON") as info:
        read_model_zip(bad_json)
    assert str(bad_json) in str(info.value)

    with zipfile.ZipFile(good) as archive:  # flip one byte of policy.pth's stored data: the checksum fails
        entry = archive.getinfo("policy.pth")
    corrupt = bytearray(raw)
    start = entry.header_offset + 30 + len(entry.filename.encode()) + len(entry.extra)
    corrupt[start + entry.compress_size // 2] ^= 0xFF
    (tmp_path / "corrupt.zip").write_bytes(bytes(corrupt))
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        read_model_zip(tmp_path / "corrupt.zip")


def test_evaluate_a_truncated_zip_in_a_run_folder_is_one_clear_line(stacked_run, tmp_path):
    run = Path(shutil.copytree(stacked_run.run_dir, tmp_path / "run"))
    model = run / stacked_run.model_path.name
    model.write_bytes(model.read_bytes()[:1000])
    done = subprocess.run([sys.executable, "-m", "sb3_plus.evaluate", "--model", str(run), "--episodes", "1"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(model) in done.stderr and "truncated" in done.stderr


# ----------------------------------------------------------------------------- evaluation

def test_evaluate_refuses_zero_episodes_and_writes_valid_json(stacked_run, capsys):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.evaluate import main
    from sb3_plus.utils import json_safe

    assert run_cli(main, ["--model", str(stacked_run.model_path), "--episodes", "0"]) == 2
    assert "--episodes must be at least 1" in capsys.readouterr().err
    safe = json_safe({"a": float("nan"), "b": [np.float32("inf"), np.float64(1.5)], "c": (np.int64(2), None)})
    assert safe == {"a": None, "b": [None, 1.5], "c": [2, None]}
    json.dumps(safe, allow_nan=False)
    assert run_cli(main, ["--model", str(stacked_run.model_path), "--episodes", "1"]) == 0

    def no_constants(name):
        raise AssertionError(f"invalid JSON constant {name}")

    printed = json.loads(capsys.readouterr().out, parse_constant=no_constants)
    assert printed["episodes"] == 1 and printed["first_seed"] == 10_000


def test_evaluate_a_run_folder_uses_its_final_or_best_model(stacked_run):
    from sb3_plus.errors import BadOptionError
    from sb3_plus.evaluate import evaluate, main

    by_folder = main(["--model", str(stacked_run.run_dir), "--episodes", "3"])
    by_zip = evaluate(stacked_run.model_path, episodes=3).summary()
    assert by_folder == {**by_zip, "seconds": by_folder["seconds"]}
    best = evaluate(stacked_run.run_dir, episodes=3, best=True)
    assert best.returns == evaluate(stacked_run.run_dir / "best_model.zip", episodes=3).returns
    with pytest.raises(BadOptionError, match="--best"):
        evaluate(stacked_run.model_path, episodes=1, best=True)


def test_evaluation_env_matches_training_wrappers(stacked_run):
    """The run's frame_stack and frozen VecNormalize statistics, as training's VecEnv chain gives them."""
    from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack, VecNormalize

    from sb3_plus.config import load_saved_config
    from sb3_plus.envs import make_env
    from sb3_plus.training.envs import find_vec_normalize, make_eval_env

    config = load_saved_config(stacked_run.run_dir / "config.yml", "ppo", "MazeEasy-v0")
    stats = stacked_run.run_dir / "vecnormalize.pkl"
    env = make_eval_env(config, "MazeEasy-v0", {}, stats=stats)
    venv = VecNormalize.load(str(stats), VecFrameStack(DummyVecEnv([lambda: make_env("MazeEasy-v0")]), 2))
    venv.training = False
    try:
        norm = find_vec_normalize(env)
        assert norm.training is False and norm.norm_reward is False
        assert env.observation_space.shape == venv.observation_space.shape == (100,)
        env.seed(7)
        venv.seed(7)
        np.testing.assert_allclose(env.reset(), venv.reset(), rtol=1e-6)
        for action in [2, 0, 2, 2, 1, 2, 2]:
            obs, _, done, _ = env.step(np.array([action]))
            expected, _, expected_done, _ = venv.step(np.array([action]))
            assert done == expected_done
            np.testing.assert_allclose(obs, expected, rtol=1e-6)
    finally:
        env.close()
        venv.close()


def test_envs_built_to_evaluate_are_closed(stacked_run, made_envs):
    from sb3_plus.evaluate import evaluate

    result = evaluate(stacked_run.run_dir, episodes=2)
    assert len(result.returns) == 2
    assert made_envs and all(env.closed for env in made_envs)
    assert sum(env.steps for env in made_envs) == sum(result.lengths)


def test_record_video_stops_the_episode_after_max_steps(stacked_run, made_envs, tmp_path):
    import imageio.v2 as imageio

    from sb3_plus.config import load_saved_config
    from sb3_plus.models import load_model
    from sb3_plus.video import record_video

    config = load_saved_config(stacked_run.run_dir / "config.yml", "ppo", "MazeEasy-v0")
    model = load_model(stacked_run.model_path)
    path = record_video(model, "MazeEasy-v0", tmp_path / "replay.mp4", max_steps=5, config=config)
    assert [env.steps for env in made_envs] == [5] and made_envs[0].closed
    assert len(imageio.mimread(path)) == 5
