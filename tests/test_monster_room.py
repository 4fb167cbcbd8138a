"""The monster room: its variants on disk, the hidden state per seed, the doors' rules, the modes, the expert,
and the early-stop wrapper."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from sb3_plus.envs import EarlyStop, make_env
from sb3_plus.envs.doom_maps.catalog import THING_TYPES
from sb3_plus.envs.doom_maps.monster_room import MODES, monster_room_layout, write_monster_room
from sb3_plus.envs.doom_maps.wad import map_names, read_map
from sb3_plus.errors import BadOptionError
from sb3_plus.experts import WaypointExpert
from sb3_plus.experts.monster_room import MonsterRoomExpert
from sb3_plus.training.envs import make_vec_env_for

DEMON = THING_TYPES["Demon"]


@pytest.fixture(scope="module")
def room():
    env = make_env("VizdoomMonsterRoom-v0")
    yield env
    env.close()


def _play(env, act, seed, limit=400, **options):
    obs, info = env.reset(seed=seed, options=options or None)
    first, total, uses = obs, 0.0, 0
    use = env.get_wrapper_attr("expert_action_map")["use"]
    for _ in range(limit):
        action = act(info)
        uses += int(action == use)
        obs, reward, terminated, truncated, info = env.step(action)
        total += reward
        if terminated or truncated:
            return info, total, uses, first
    raise AssertionError("the episode did not end")


def test_the_wad_holds_every_mode_with_and_without_the_monster(tmp_path):
    files = write_monster_room(folder=tmp_path)
    names = map_names(files.wad.read_bytes())
    assert names == [f"MAP{k:02d}" for k in range(1, 9)]
    for k, name in enumerate(names):
        mode, monster = MODES[k // 2], bool(k % 2)
        things = read_map(files.wad, name).things
        assert any(t.type == DEMON for t in things) == monster
        start = next(t for t in things if t.type == 1)
        layout = monster_room_layout(mode, monster).start
        assert (start.x, start.y, start.angle % 360) == (layout.x, layout.y, layout.angle % 360)
    assert "doom_scenario_path = VizdoomMonsterRoom-v0.wad" in files.cfg.read_text()


def test_seeds_select_the_hidden_state_and_the_engine_shows_it(room):
    drawn = {}
    for seed in range(8):
        _, info = room.reset(seed=seed)
        objects = {o.name for o in room.unwrapped.game.get_state().objects}
        assert ("Demon" in objects) == bool(info["pose"]["monster"])
        drawn[seed] = info["pose"]["monster"]
    assert set(drawn.values()) == {0.0, 1.0}, "both outcomes occur over a few seeds"
    assert all(room.reset(seed=s)[1]["pose"]["monster"] == m for s, m in drawn.items()), "a seed fixes the outcome"


def test_the_first_look_shows_the_monster_or_the_empty_room():
    env = make_env("VizdoomMonsterRoomEasy-v0")
    try:
        shown = env.reset(seed=0, options={"monster": True})[0].astype(float)
        empty = env.reset(seed=0, options={"monster": False})[0].astype(float)
        assert (np.abs(shown - empty) > 20).sum() >= 20, "the monster covers some pixels of a 64x64 frame"
        turned = env.reset(seed=0, options={"monster": True, "mode": "hard"})[0].astype(float)
        blank = env.reset(seed=0, options={"monster": False, "mode": "hard"})[0].astype(float)
        assert np.abs(turned - blank).max() < 1.0, "facing away, nothing tells the two apart"
    finally:
        env.close()


def test_show_cue_false_blanks_the_window_but_keeps_the_hidden_state_and_its_door():
    env = make_env("VizdoomMonsterRoomEasy-v0", show_cue=False)
    try:
        expert = MonsterRoomExpert(env)
        frames = {}
        for monster in (True, False):
            obs, info = env.reset(seed=0, options={"monster": monster})
            frames[monster] = obs.astype(float)
            assert info["pose"]["monster"] == float(monster)
            assert not any(o.name == "Demon" for o in env.unwrapped.game.get_state().objects)
            expert.reset()
            end, _, _, _ = _play(env, expert.act, seed=0, monster=monster)
            assert end["success"] and end["door"] == ("monster_end" if monster else "clear_end")
        assert np.abs(frames[True] - frames[False]).max() < 1.0, "the window looks the same either way"
    finally:
        env.close()


@pytest.mark.parametrize("mode", MODES)
def test_the_expert_solves_both_outcomes_pressing_use_once(room, mode):
    expert = MonsterRoomExpert(room)
    room.get_wrapper_attr("set_mode")(mode)
    for monster in (True, False):
        expert.reset()
        info, total, uses, _ = _play(room, expert.act, seed=1, monster=monster)
        assert info["success"] and total >= 1.0 and uses == 1 and expert.uses == 1
        assert info["door"] == ("monster_end" if monster else "clear_end")


def test_the_wrong_door_ends_the_episode_without_success(room):
    room.get_wrapper_attr("set_mode")("easy")
    wrong = WaypointExpert.for_env(room.get_wrapper_attr("expert_route_for")("easy", False), room)
    info, total, _, _ = _play(room, lambda i: wrong.act(i["pose"]), seed=2, monster=True)
    assert not info["success"] and info["door"] == "clear_end" and total <= -1.0


def test_mode_is_a_checked_env_option_and_a_curriculum_step():
    with pytest.raises(BadOptionError, match="mode 'medium'"):
        make_env("VizdoomMonsterRoom-v0", mode="medium")
    env = make_env("VizdoomMonsterRoom-v0", mode="turn", resolution=32)
    try:
        _, info = env.reset(seed=0)
        assert (info["pose"]["x"], info["pose"]["heading"] % 360) == (56.0, 0.0)
        env.get_wrapper_attr("set_mode")("far")
        _, info = env.reset()
        assert info["pose"]["x"] == 144.0 and info["pose"]["mode"] == MODES.index("far")
        assert env.get_wrapper_attr("episode_step_limit") == 263
    finally:
        env.close()
    venv = make_vec_env_for("VizdoomMonsterRoom-v0", 1, 0, {"resolution": 32})
    try:
        venv.env_method("set_mode", "easy")  # a curriculum's step, through the vectorised env
        venv.reset()
        assert venv.get_attr("mode") == ["easy"] and venv.envs[0].unwrapped.game.get_doom_map().upper() in {"MAP01",
                                                                                                          "MAP02"}
    finally:
        venv.close()


# --------------------------------------------------------------------------- early stop

class _Corridor(gym.Env):
    """x from 0 to 5; forward moves +1 until the wall at 5; actions 0 left, 1 right, 2 forward, 3 use."""

    observation_space = spaces.Box(0, 1, (1,), np.float32)
    action_space = spaces.Discrete(4)
    expert_action_map = {"turn_left": 0, "turn_right": 1, "forward": 2, "use": 3}

    def reset(self, *, seed=None, options=None):
        self.x = 0.0
        return np.zeros(1, np.float32), {"pose": {"x": self.x, "y": 0.0}}

    def step(self, action):
        if action == 2:
            self.x = min(self.x + 10.0, 50.0)
        return np.zeros(1, np.float32), 0.0, False, False, {"pose": {"x": self.x, "y": 0.0}}


def _until_stop(env, actions):
    env.reset()
    for k, action in enumerate(actions):
        _, reward, terminated, _, info = env.step(action)
        if terminated:
            return k, info["early_stop"], reward
    return None, "", 0.0


def test_early_stop_fires_on_use_loops_wiggles_and_walls_only():
    env = EarlyStop(_Corridor(), use_repeats=3, wiggle_repeats=4, stuck_steps=3, min_move=5.0, penalty=-0.1)
    assert _until_stop(env, [3, 3, 3, 3]) == (2, "use_loop", -0.1)
    assert _until_stop(env, [3, 2, 3, 2, 3, 2, 3]) == (None, "", 0.0), "USE between moves is no loop"
    assert _until_stop(env, [0, 1, 0, 1, 0]) == (3, "wiggle", -0.1)
    assert _until_stop(env, [0, 0, 1, 1, 0, 0])[1] == "", "turning around is no wiggle"
    assert _until_stop(env, [2] * 10) == (7, "wall", -0.1), "5 forward steps reach the wall, 3 more are stuck"
    with pytest.raises(BadOptionError, match="penalty 0.5 would reward stopping early"):
        EarlyStop(_Corridor(), penalty=0.5)


def test_early_stop_ends_walking_into_the_window_sill():
    env = EarlyStop(make_env("VizdoomMonsterRoomEasy-v0", resolution=32), stuck_steps=6, use_repeats=0,
                    wiggle_repeats=0)
    try:
        forward = env.get_wrapper_attr("expert_action_map")["forward"]
        env.reset(seed=0)
        for step in range(60):
            _, _, terminated, truncated, info = env.step(forward)
            if terminated or truncated:
                break
        assert info["early_stop"] == "wall" and step < 30
    finally:
        env.close()


def test_collect_expert_plays_the_room_with_its_own_expert(minari_datasets_path):
    from sb3_plus.data.collect import collect_expert

    report = collect_expert("VizdoomMonsterRoomEasy-v0", episodes=2, seed=0, dataset_id="sb3plus/test/monster-v0",
                            progress_bar=False)
    assert report.successes == 2 and report.route_source == "<generated:monster_room>"
