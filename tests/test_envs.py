"""make_env, the shared wrappers and the ViZDoom family (real ViZDoom)."""

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from sb3_plus.errors import BadOptionError
from sb3_plus.envs import UnknownEnvError, make_env
from sb3_plus.envs.wrappers import ChannelFrameStack, ScenarioRandomizer, StickyActions

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = ["VizdoomBasic-v1", "VizdoomMyWayHome-v1", "VizdoomDeadlyCorridor-v1", "VizdoomDefendCenter-v1",
             "VizdoomHealthGathering-v1"]


def test_unknown_env_lists_families_and_how_to_register():
    with pytest.raises(UnknownEnvError) as err:
        make_env("NoSuchGame-v9")
    msg = str(err.value)
    assert "NoSuchGame-v9" in msg and "vizdoom" in msg and "maze" in msg and "register_family" in msg


def test_plain_gymnasium_id_still_works():
    env = make_env("CartPole-v1")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4,)
    assert env.unwrapped.sb3plus_spec.kwargs["env_id"] == "CartPole-v1"
    env.close()


@pytest.mark.parametrize("env_id", SCENARIOS)
def test_vizdoom_scenarios_preprocessed_with_pose(env_id):
    env = make_env(env_id, resolution=48, frame_stack=2)
    try:
        obs, info = env.reset(seed=1)
        assert obs.shape == (48, 48, 2) and obs.dtype == np.uint8
        assert env.observation_space.contains(obs)
        assert set(info) >= {"pose", "success"}
        assert set(info["pose"]) == {"x", "y", "heading", "sector", "health"}
        obs, reward, term, trunc, info2 = env.step(env.action_space.sample())
        assert set(info2) == set(info) and set(info2["pose"]) == set(info["pose"])
        assert env.observation_space.contains(obs)
    finally:
        env.close()


def test_vizdoom_pose_tracks_movement_and_geometry():
    env = make_env("VizdoomMyWayHome-v1")
    try:
        _, info = env.reset(seed=3)
        actions = env.get_wrapper_attr("expert_action_map")
        assert {"turn_left", "turn_right", "forward"} <= set(actions)
        heading = info["pose"]["heading"]
        _, _, _, _, info = env.step(actions["turn_left"])
        assert (info["pose"]["heading"] - heading) % 360 > 0.5, "turning left increases heading"
        start = np.array([info["pose"]["x"], info["pose"]["y"]])
        for _ in range(4):
            _, _, _, _, info = env.step(actions["forward"])
        moved = np.array([info["pose"]["x"], info["pose"]["y"]]) - start
        assert np.linalg.norm(moved) > 10
        geo = env.get_wrapper_attr("map_geometry")()
        assert geo.n_sectors == 18
        assert geo.find_object("GreenArmor") == (1040.0, -352.0)
        assert geo.sector_at(info["pose"]["x"], info["pose"]["y"]) == int(info["pose"]["sector"]) >= 0
        assert geo.sector_at(-5000, -5000) == -1
    finally:
        env.close()


def test_vizdoom_save_and_restore_state(tmp_path):
    env = make_env("VizdoomMyWayHome-v1")
    try:
        _, info = env.reset(seed=0)
        fwd = env.get_wrapper_attr("expert_action_map")["forward"]
        for _ in range(3):
            _, _, _, _, info = env.step(fwd)
        saved = info["pose"]
        env.get_wrapper_attr("save_state")(tmp_path / "state.sav")
        for _ in range(6):
            _, _, _, _, info = env.step(fwd)
        away = np.hypot(info["pose"]["x"] - saved["x"], info["pose"]["y"] - saved["y"])
        assert away > 40
        env.get_wrapper_attr("load_state")(tmp_path / "state.sav")
        restored = env.get_wrapper_attr("pose")()
        # ViZDoom saves on the next tic and drops momentum: back to within one action of the save
        assert np.hypot(restored["x"] - saved["x"], restored["y"] - saved["y"]) < 16
        assert restored["heading"] == pytest.approx(saved["heading"])
        with pytest.raises(FileNotFoundError):
            env.get_wrapper_attr("load_state")(tmp_path / "missing.sav")
    finally:
        env.close()


def test_vizdoom_writes_nothing_into_working_directory(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("SB3PLUS_CACHE", str(tmp_path / "cache"))
    env = make_env("VizdoomBasic-v1")
    env.reset(seed=0)
    env.step(0)
    env.close()
    assert list(work.iterdir()) == []
    assert (tmp_path / "cache" / "vizdoom" / "_vizdoom.ini").exists()


def test_vizdoom_observations_are_writable_so_sb3_does_not_warn():
    import warnings

    from stable_baselines3 import PPO

    env = make_env("VizdoomMyWayHome-v1")
    try:
        obs, _ = env.reset(seed=0)
        assert obs.flags.writeable
        obs, *_ = env.step(0)
        assert obs.flags.writeable
        model = PPO("CnnPolicy", env, n_steps=16, batch_size=16, seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.predict(obs, deterministic=True)
    finally:
        env.close()


def test_vizdoom_unknown_option():
    with pytest.raises(BadOptionError, match="unknown option"):
        make_env("VizdoomBasic-v1", colour="red")
    with pytest.raises(ValueError, match="render_mode 'human' is not supported"):
        make_env("VizdoomBasic-v1", render_mode="human")


def test_vizdoom_video_of_a_policy(tmp_path):
    import imageio.v2 as imageio
    from stable_baselines3 import PPO

    from sb3_plus.video import record_video

    env = make_env("VizdoomMyWayHome-v1", render_mode="rgb_array", frame_stack=2)
    try:
        assert env.render_mode == "rgb_array"
        env.reset(seed=0)
        frame = env.render()
        assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8 and frame.any()
        model = PPO("CnnPolicy", env, n_steps=16, batch_size=16, seed=0)
    finally:
        env.close()
    path = record_video(model, "VizdoomMyWayHome-v1", tmp_path / "agent.mp4", env_kwargs={"frame_stack": 2},
                        max_steps=12)
    frames = imageio.mimread(path)
    assert len(frames) == 12 and frames[0].shape[-1] == 3


def _children(pid: int) -> set[int]:
    out = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out.update(int(t) for t in text)
    return out


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from sb3_plus.envs import make_env
    env = make_env("VizdoomBasic-v1")
    env.reset(seed=0)
    kids = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        kids.update(int(t) for t in (task / "children").read_text().split())
    print(" ".join(map(str, sorted(kids))), flush=True)
    mode = sys.argv[1]
    if mode == "raise":
        raise RuntimeError("boom")
    time.sleep(60)
    """
)


@pytest.mark.parametrize("mode", ["sigterm", "sigint", "raise"])
def test_no_orphan_vizdoom_process(mode):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO)
    line = proc.stdout.readline().split()
    kids = [int(k) for k in line]
    assert kids, f"the env started no ViZDoom process: {proc.stderr.read()}"
    assert all(_alive(k) for k in kids)
    if mode == "sigterm":
        proc.send_signal(signal.SIGTERM)
    elif mode == "sigint":
        proc.send_signal(signal.SIGINT)
    proc.wait(timeout=90)  # closing the engine is slow when the cores are busy
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(k) for k in kids):
        time.sleep(0.1)
    assert not any(_alive(k) for k in kids), f"ViZDoom process left running after {mode}"


def test_channel_frame_stack_and_sticky_actions():
    env = ChannelFrameStack(make_env("MazeEasyPixels-v0"), 3)
    obs, _ = env.reset(seed=0)
    assert obs.shape[-1] == 3 and np.array_equal(obs[..., 0], obs[..., 2])
    obs2, *_ = env.step(2)
    assert env.observation_space.contains(obs2)
    with pytest.raises(ValueError):
        ChannelFrameStack(make_env("CartPole-v1"), 2)
    sticky = StickyActions(make_env("MazeEasy-v0"), p=0.5)
    sticky.reset(seed=0)
    seen = []
    for a in [0, 1] * 50:
        sticky.step(a)
        seen.append(sticky.last_action)
    # with p=0.5 some actions must have been replaced by the previous one
    assert seen != [0, 1] * 50
    with pytest.raises(ValueError):
        StickyActions(make_env("CartPole-v1"), p=1.5)


def test_scenario_randomizer_is_seeded_and_checks_spaces():
    scenarios = ["MazeEasy-v0", "MazeMedium-v0", {"env_id": "MazeHard-v0"}]
    env = ScenarioRandomizer(scenarios)
    picks = []
    env.reset(seed=123)
    for _ in range(30):
        _, info = env.reset()
        picks.append(info["scenario"])
        _, _, _, _, info = env.step(0)
        assert info["scenario"] == picks[-1]
    assert set(picks) == {0, 1, 2}
    again = ScenarioRandomizer(scenarios)
    again.reset(seed=123)
    assert [again.reset()[1]["scenario"] for _ in range(30)] == picks
    env.close()
    again.close()
    mixed = ScenarioRandomizer(["MazeEasy-v0", "MazeEasyPixels-v0"])
    with pytest.raises(ValueError, match="same preprocessing"):
        for _ in range(20):
            mixed.reset()
    mixed.close()
    with pytest.raises(ValueError):
        ScenarioRandomizer([])
