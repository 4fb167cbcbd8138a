"""Whole levels of the bundled IWADs: the env ids, the map option, and success = the exit used."""

import math

import pytest

from sb3_plus.envs import make_env
from sb3_plus.envs.doom_maps import wad_features
from sb3_plus.envs.doom_maps.wad import bundled_wad, read_map
from sb3_plus.errors import BadOptionError

FREEDOOM1 = bundled_wad("freedoom1.wad")


def _start(doom_map):
    return next((t.x, t.y) for t in read_map(FREEDOOM1, doom_map).things if t.type == 1)


def test_e1m1_starts_on_the_wads_player_start_and_takes_another_map_by_option():
    for doom_map, kwargs in (("E1M1", {}), ("E1M2", {"doom_map": "e1m2"})):
        env = make_env("VizdoomFreedoom1-v0", **kwargs)
        try:
            _, info = env.reset(seed=0)
            assert (info["pose"]["x"], info["pose"]["y"]) == _start(doom_map)
            assert set(env.get_wrapper_attr("expert_action_map")) >= {"turn_left", "turn_right", "forward", "use",
                                                                        "attack"}
        finally:
            env.close()


def test_using_the_exit_switch_ends_the_episode_with_success():
    exit_line = wad_features(FREEDOOM1, "E1M1").exits[0]
    doom_map = read_map(FREEDOOM1, "E1M1")
    x1, y1, x2, y2 = doom_map.line_points(doom_map.lines[exit_line.line])
    length = math.hypot(x2 - x1, y2 - y1)
    cx, cy = exit_line.center
    # 40 units in front of the switch (a line's front is on its right), facing it
    px, py = cx + 40 * (y2 - y1) / length, cy - 40 * (x2 - x1) / length
    facing = math.degrees(math.atan2(cy - py, cx - px)) % 360
    env = make_env("VizdoomFreedoom1-v0", game_args="+sv_cheats 1")
    try:
        env.reset(seed=0)
        env.unwrapped.game.send_game_command(f"warp {px} {py}")
        actions = env.get_wrapper_attr("expert_action_map")
        _, _, terminated, truncated, info = env.step(0)  # no button: the warp takes effect
        for _ in range(60):
            turn = (facing - info["pose"]["heading"] + 540) % 360 - 180
            action = actions["use"] if abs(turn) < 6 else actions["turn_left" if turn > 0 else "turn_right"]
            _, reward, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        assert terminated and not truncated and info["success"] and reward == 1.0
    finally:
        env.close()


def test_a_map_the_wad_does_not_hold_is_refused_with_the_maps_it_has():
    with pytest.raises(BadOptionError, match=r"freedoom1.wad has no map 'MAP01'; it has E1M1, .*Fix: pass "
                                             r"--env-kwargs doom_map:E1M1"):
        make_env("VizdoomFreedoom1-v0", doom_map="MAP01")


@pytest.fixture(scope="module")
def e1m1_route():
    from sb3_plus.envs.doom_maps.features import map_features
    from sb3_plus.experts.level_planner import plan_level_route

    level = read_map(FREEDOOM1, "E1M1")
    return plan_level_route(level, map_features(level), env_id="VizdoomFreedoom1-v0", map_name="freedoom1_e1m1")


def test_the_planned_e1m1_route_validates_and_presses_use_at_its_doors_and_the_exit(e1m1_route):
    from sb3_plus.experts.routes import Route

    assert Route(dict(e1m1_route.waypoints), family="vizdoom", map="freedoom1_e1m1")  # validates again
    spawn = _start("E1M1")
    start = min(e1m1_route.waypoints.values(), key=lambda w: math.dist(w.pos, spawn))
    path = e1m1_route.path_from(start.id)
    exit_line = wad_features(FREEDOOM1, "E1M1").exits[0]
    assert path[-1].id == "exit" and math.dist(path[-1].pos, exit_line.center) < 80
    assert path[-2].use  # the switch is pressed from the goal cell
    # the use waypoints in front of one door all face one point past it (one press per door)
    first_door = next(d for d in wad_features(FREEDOOM1, "E1M1").doors if d.line == 577)
    near = [w for w in e1m1_route.waypoints.values() if w.use and math.dist(w.pos, first_door.center) < 60]
    assert near and len({w.target for w in near}) == 1


def test_the_expert_exits_e1m1_pressing_use_once_per_door_and_fights_with_monsters(e1m1_route):
    from sb3_plus.experts import WaypointExpert

    for args, skill in (("-nomonsters", 3), ("+sv_cheats 0", 2)):
        env = make_env("VizdoomFreedoom1-v0", game_args=args, doom_skill=skill)
        try:
            expert = WaypointExpert.for_env(e1m1_route, env)
            _, info = env.reset(seed=0)
            counts = {"use": 0, "attack": 0}
            for _ in range(1500):
                action = expert.act(info["pose"])
                for name in counts:
                    counts[name] += int(action == expert.action_map[name])
                _, _, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
            assert info["success"], (args, info["pose"])
            assert counts["use"] == 4  # three doors on the way, then the exit switch
            assert (counts["attack"] > 0) == (args != "-nomonsters")
        finally:
            env.close()


def test_the_expert_turns_to_a_monster_in_view_and_fires_once_lined_up(e1m1_route):
    from sb3_plus.experts import WaypointExpert

    actions = {"turn_left": 0, "turn_right": 1, "forward": 2, "use": 3, "attack": 4}
    expert = WaypointExpert(e1m1_route, actions)
    pose = {"x": -416.0, "y": 256.0, "heading": 0.0, "sector": 140.0}
    walking = expert.act(pose)
    assert walking != actions["attack"]
    assert expert.act({**pose, "enemy": 1.0, "enemy_bearing": 20.0, "enemy_distance": 300.0}) == actions["turn_left"]
    assert expert.act({**pose, "enemy": 1.0, "enemy_bearing": -20.0, "enemy_distance": 300.0}) == actions["turn_right"]
    assert expert.act({**pose, "enemy": 1.0, "enemy_bearing": 1.0, "enemy_distance": 300.0}) == actions["attack"]
    assert expert.act({**pose, "enemy": 1.0, "enemy_bearing": 1.0, "enemy_distance": 5000.0}) == walking  # too far
    assert WaypointExpert(e1m1_route, actions, combat=False).act({**pose, "enemy": 1.0, "enemy_bearing": 1.0,
                                                                   "enemy_distance": 300.0}) == walking
    from sb3_plus.experts.hysteresis import HysteresisExpert  # the other expert style takes the same option

    assert HysteresisExpert(e1m1_route, actions).act({**pose, "enemy": 1.0, "enemy_bearing": 1.0,
                                                      "enemy_distance": 300.0}) == actions["attack"]


def test_the_level_env_carries_its_route_and_collects_expert_episodes(minari_datasets_path):
    from sb3_plus.data.collect import collect_expert

    report = collect_expert("VizdoomFreedoom1-v0", episodes=1, seed=0, dataset_id="sb3plus/test/e1m1-v0",
                            env_kwargs={"game_args": "-nomonsters"}, progress_bar=False)
    assert report.successes == 1 and report.route_source == "<planned:E1M1>"


def test_the_route_command_writes_a_level_route_that_loads_for_its_level_only(tmp_path, capsys):
    from sb3_plus.envs.doom_maps.__main__ import main
    from sb3_plus.experts import RouteMismatchError, check_route, load_route

    main(["route", "VizdoomFreedoom1-v0", "--out", str(tmp_path / "e1m1.yaml")])
    assert "freedoom1_e1m1" in capsys.readouterr().out
    route = load_route(tmp_path / "e1m1.yaml")
    assert route.map == "freedoom1_e1m1" and any(w.use for w in route.waypoints.values())
    check_route(route, "VizdoomFreedoom1-v0", doom_map="e1m1")
    with pytest.raises(RouteMismatchError):
        check_route(route, "VizdoomFreedoom1-v0", doom_map="E1M2")
