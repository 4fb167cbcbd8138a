"""The Mario env's ``peek`` (play ahead, come back exactly), the expert's lookahead, route settings and routes."""

from __future__ import annotations

import numpy as np
import pytest

from sb3_plus.envs import make_env
from sb3_plus.experts import check_route, load_route, make_expert, route_from_dict, routes_dir
from sb3_plus.experts.mario_expert import MarioExpert, MarioExpertController
from sb3_plus.experts.routes import RouteError

LEVEL = "SuperMarioBros-1-1-v0"


@pytest.fixture(scope="module")
def env():
    env = make_env(LEVEL)
    yield env
    env.close()


def test_peek_plays_ahead_and_comes_back_exactly(env):
    mario = env.unwrapped
    run = mario.mario_action_map["run"]
    env.reset(seed=5)
    for _ in range(10):
        env.step(run)
    ram, obs, rng = mario.ram.copy(), mario.current_observation().copy(), mario.np_random.bit_generator.state
    seen = []
    ahead = mario.peek(lambda pose: seen.append(pose["x"]) or run, 60)
    # running into the first goomba without jumping kills Mario; the present is untouched
    assert ahead["died"] and not ahead["flag"] and ahead["steps"] < 60
    assert ahead["furthest"] > seen[0] and len(ahead["path"]) == ahead["steps"] - 1
    assert np.array_equal(mario.ram, ram) and np.array_equal(mario.current_observation(), obs)
    assert mario.np_random.bit_generator.state == rng
    # the game after a peek goes on as it would have without it
    _, _, _, _, info = env.step(run)
    assert info["pose"]["x"] == ahead["path"][0][0]
    # with sticky actions, a seed gives one game; safe plays are safe whatever is drawn
    jump = mario.mario_action_map["jump"]
    again = [mario.peek(lambda pose: jump, 40, sticky=0.5, seed=3) for _ in range(2)]
    assert again[0] == again[1]
    assert not mario.peek(lambda pose: 0, 5, sticky=0.5, seed=1)["died"]


def test_lookahead_saves_the_expert_from_what_its_rules_miss(env):
    """Without enemy jumps the rules run into 1-1's first goomba; looking ahead, the expert gets past it."""
    mario = env.unwrapped
    route = load_route(routes_dir() / "mario" / "1-1.yaml")
    reached = {}
    for lookahead in (0, 28):
        expert = MarioExpert(route, mario.mario_action_map, enemy_distance=0, lookahead=lookahead, peek=mario.peek)
        _, info = env.reset(seed=0)
        done = False
        while not done and info["pose"]["x"] < 600:
            _, _, terminated, truncated, info = env.step(expert.act(info["pose"]))
            done = terminated or truncated
        reached[lookahead] = (done, info["pose"]["x"])
    assert reached[0][0] and reached[0][1] < 400, "the rules alone die at the first goomba"
    assert not reached[28][0] and reached[28][1] >= 600, "the lookahead jumps it"


def test_route_expert_settings_reach_the_expert_and_bad_ones_are_clear_errors(env, tmp_path):
    route = {"family": "mario", "map": "1-1", "expert": {"lookahead": 12, "low_hop": 2},
             "waypoints": [{"id": "a", "pos": [0, 0], "target": None}]}
    controller = MarioExpertController(env, route_from_dict(route, "r.yaml"))
    expert = controller._experts["1-1"]
    assert (expert.lookahead, expert.low_hop, expert.peek is not None) == (12, 2, True)
    for settings, message in (({"fly": 1}, "unknown Mario expert setting 'fly'.*Fix: use some of"),
                              ({"lookahead": -1}, "'lookahead' is negative")):
        with pytest.raises(RouteError, match=message):
            MarioExpertController(env, route_from_dict(dict(route, expert=settings), "r.yaml"))
        with pytest.raises(RouteError, match=message):  # the route check says so before any episode
            check_route(route_from_dict(dict(route, expert=settings), "r.yaml"), LEVEL)
    for value, message in (([1], "expected a mapping"), ({"lookahead": "far"}, "must be a number")):
        with pytest.raises(RouteError, match=f"r.yaml: field 'expert': .*{message}.*Fix"):
            route_from_dict(dict(route, expert=value), "r.yaml")
    maze = {"family": "maze", "expert": {"lookahead": 4}, "waypoints": [{"id": "a", "pos": [1, 1], "target": None}]}
    with pytest.raises(RouteError, match="maze expert takes no settings"):
        check_route(route_from_dict(maze, "m.yaml"), "MazeEasy-v0")


@pytest.mark.parametrize("level", ["1-2", "1-3", "1-4"])
def test_routes_ship_for_the_first_world_with_the_lookahead_on(level):
    env = make_env(f"SuperMarioBros-{level}-v0")
    try:
        controller = make_expert(env)
        assert controller.route_source.endswith(f"mario/{level}.yaml")
        expert = controller._experts[level]
        assert expert.lookahead > 0 and [s.x for s in expert.steps] == sorted(s.x for s in expert.steps)
        _, info = env.reset(seed=0)
        controller.reset()
        for _ in range(30):  # the start of the level, with looks
            _, _, terminated, _, info = env.step(controller.act(info))
            assert not terminated
        assert info["pose"]["x"] > 100
    finally:
        env.close()
