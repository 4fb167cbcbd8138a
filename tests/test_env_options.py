"""Env options are checked (name, type, range, fix) before any engine starts."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from sb3_plus.cli_common import parse_kv
from sb3_plus.envs import EnvFamily, make_env
from sb3_plus.envs import maze, registry, vizdoom  # noqa: F401  (registers the families)
from sb3_plus.envs.options import OptionSpec, check_env_options
from sb3_plus.envs.wrappers import ChannelFrameStack, StickyActions
from sb3_plus.errors import BadOptionError


@pytest.fixture
def no_engine(monkeypatch):
    """Fail the test if the ViZDoom family gets as far as building (starting an engine)."""
    family = registry.find_family("VizdoomMyWayHome-v1")

    def build(env_id, **kwargs):
        raise AssertionError(f"the engine was started for {env_id} with {kwargs}")

    monkeypatch.setattr(family, "build", build)


@pytest.mark.parametrize("pair, words", [
    ("frame_skip:0", ["frame_skip 0", "an integer from 1", "frame_skip:4"]),
    ("frame_skip:abc", ["frame_skip 'abc'", "an integer", "frame_skip:4"]),
    ("resolution:-1", ["resolution -1", "[height, width]", "resolution:64"]),
    ("frame_stack:0", ["frame_stack 0", ">= 1"]),
    ("sticky_actions:1.5", ["sticky_actions 1.5", "[0, 1)"]),
    ("doom_skill:9", ["doom_skill 9", "from 1 to 5"]),
    ("episode_timeout:0", ["episode_timeout 0", ">= 1"]),
    ("grayscale:maybe", ["grayscale 'maybe'", "true or false"]),
    ("screen_resolution:RES_1X1", ["screen_resolution 'RES_1X1'", "RES_160X120"]),
    ("frame_skp:4", ["unknown option 'frame_skp'", "did you mean 'frame_skip'", "allowed: "]),
    ("view_size:5", ["unknown option 'view_size'", "an option of the maze family"]),
])
def test_bad_vizdoom_options_fail_before_the_engine_starts(no_engine, pair, words):
    options = parse_kv([pair], "env kwarg")  # exactly what --env-kwargs hands over
    with pytest.raises(BadOptionError) as err:
        make_env("VizdoomMyWayHome-v1", **options)
    message = str(err.value)
    assert message.startswith("VizdoomMyWayHome-v1: ") and "Fix:" in message
    for word in words:
        assert word in message, (word, message)


def test_collect_cli_reports_a_bad_option_as_one_line(no_engine, capsys):
    from sb3_plus.cli_common import run_cli
    from sb3_plus.collect_expert import main

    code = run_cli(main, ["--env", "VizdoomMyWayHome-v1", "--episodes", "1", "--no-progress",
                          "--env-kwargs", "frame_skip:0"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "frame_skip 0" in err


def test_good_vizdoom_options_pass(monkeypatch):
    family = registry.find_family("VizdoomMyWayHome-v1")
    seen = {}
    monkeypatch.setattr(family, "build", lambda env_id, **kw: seen.update(kw) or gym.make("CartPole-v1"))
    options = dict(resolution=[48, 64], grayscale=False, frame_skip=np.int64(2), frame_stack=1, sticky_actions=0,
                   screen_resolution="RES_320X240", doom_map="MAP01", doom_skill=None, episode_timeout=300,
                   max_buttons_pressed=0, render_mode="rgb_array", game_args="+sv_cheats 1")
    make_env("VizdoomMyWayHome-v1", **options)
    assert seen == options


@pytest.mark.parametrize("options, words", [
    ({"view_size": 4}, ["view_size 4", "odd integer"]),
    ({"view_size": "5"}, ["view_size '5'", "odd integer"]),
    ({"size": 1}, ["size 1", "from 2"]),
    ({"loops": -1}, ["loops -1", ">= 0"]),
    ({"obs_type": "rgb"}, ["obs_type 'rgb'", "vector, pixels, dict"]),
    ({"max_episode_steps": 0}, ["max_episode_steps 0"]),
    ({"step_penalty": "high"}, ["step_penalty 'high'", "a number"]),
    ({"fixed_layout_seed": 2.5}, ["fixed_layout_seed 2.5", "an integer"]),
    ({"frame_stack": 4}, ["unknown option 'frame_stack'", "an option of the vizdoom family"]),
    ({"difficulty": "hard"}, ["unknown option 'difficulty'", "comes from the env id"]),
])
def test_bad_maze_options_name_the_option(options, words):
    with pytest.raises(BadOptionError) as err:
        make_env("MazeEasy-v0", **options)
    for word in ["MazeEasy-v0: ", "Fix:", *words]:
        assert word in str(err.value), (word, str(err.value))


def test_maze_env_built_directly_checks_too():
    with pytest.raises(BadOptionError, match="view_size 4 .* odd integer"):
        gym.make("MazeEasy-v0", view_size=4)
    with pytest.raises(BadOptionError, match="difficulty 'huge'.*easy, medium, hard"):
        gym.make("MazeEasy-v0", difficulty="huge")
    with pytest.raises(BadOptionError, match="layout_seed must be an integer"):
        make_env("MazeEasy-v0").reset(options={"layout_seed": "x"})


def test_shared_wrappers_name_their_option():
    with pytest.raises(BadOptionError, match="frame_stack '2' is not supported"):
        ChannelFrameStack(make_env("MazeEasyPixels-v0"), "2")
    with pytest.raises(BadOptionError, match="sticky_actions 'often' is not supported"):
        StickyActions(make_env("MazeEasy-v0"), "often")
    with pytest.raises(BadOptionError, match="sticky_actions True"):
        StickyActions(make_env("MazeEasy-v0"), True)


def test_custom_family_brings_its_own_option_table(monkeypatch):
    table = {"level": OptionSpec("level", "int", "which level", 1, low=1, high=3)}
    family = EnvFamily("toy", lambda env_id: env_id == "Toy-v0", lambda env_id, **kw: gym.make("CartPole-v1"),
                       options=table)
    monkeypatch.setitem(registry._FAMILIES, "toy", family)
    assert make_env("Toy-v0", level=2) is not None
    with pytest.raises(BadOptionError, match="Toy-v0: level 4 is not supported; level must be an integer from 1 to 3"):
        make_env("Toy-v0", level=4)
    with pytest.raises(BadOptionError, match="unknown option 'lvl'"):
        check_env_options("toy", "Toy-v0", {"lvl": 1}, table)


def test_option_tables_cover_what_the_families_accept():
    import inspect

    from sb3_plus.envs.options import MAZE_OPTIONS, VIZDOOM_OPTIONS

    # config_file and geometry: how generated maps and whole levels (sb3_plus.envs.doom_maps) hand their scenario
    # and their WAD's sectors over, not env options
    vizdoom_params = set(inspect.signature(vizdoom.make_vizdoom).parameters) - {"env_id", "config_file", "geometry"}
    assert set(VIZDOOM_OPTIONS) == vizdoom_params == set(vizdoom._OPTIONS)
    maze_params = set(inspect.signature(maze.MazeEnv.__init__).parameters) - {"self", "difficulty"}
    assert set(MAZE_OPTIONS) == maze_params
