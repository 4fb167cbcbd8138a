"""Doom maps as code: descriptions, validation, UDMF/WAD, generated envs played in ViZDoom, routes, the WAD reader."""

import math

import pytest

from sb3_plus.envs import family_of, make_env
from sb3_plus.envs.doom_maps import (Door, Goal, MapDescription, MapError, Room, Start, Thing, WallSpot,
                                     compile_udmf, damage_corridor_layout, description_for, description_route,
                                     door_key_layout, load_map, map_features, map_from_dict, register_map,
                                     validate_map, wad_features)
from sb3_plus.envs.doom_maps.generate import corridor
from sb3_plus.envs.doom_maps.named import map_folders
from sb3_plus.envs.doom_maps.wad import bundled_wad, pack_wad, read_lumps, read_map
from sb3_plus.experts import RouteError, RouteMismatchError, check_route, load_route, make_expert

NOOP = 0  # the first action of a Discrete ViZDoom action space presses nothing


def _two_rooms(**changes):
    """Rooms 'a' and 'b' side by side with a 16-unit gap and a door 'd'; the goal in 'b'."""
    fields = dict(name="t", rooms=[Room("a", 0, 0, 256, 256), Room("b", 272, 0, 256, 256)],
                  start=Start(x=64, y=128), doors=[Door("d", ("a", "b"))], goal=Goal(room="b"))
    fields.update(changes)
    return MapDescription(**fields)


# -- validation ------------------------------------------------------------------------------
BAD_MAPS = {
    "overlap": (dict(rooms=[Room("a", 0, 0, 256, 256), Room("b", 200, 0, 256, 256)], doors=[]),
                ["rooms 'a' and 'b' overlap", "Fix: move 'b' east to x=256"]),
    "door_rooms_touch": (dict(rooms=[Room("a", 0, 0, 256, 256), Room("b", 256, 0, 256, 256)]),
                         ["door 'd' between 'a' and 'b'", "touch", "Fix: move room 'b' to x=272"]),
    "door_unknown_room": (dict(doors=[Door("d", ("a", "zzz"))]), ["door 'd'", "no room 'zzz'", "Fix: use two of"]),
    "door_not_facing": (dict(rooms=[Room("a", 0, 0, 256, 256), Room("b", 300, 300, 256, 256)]),
                        ["door 'd'", "do not face each other", "Fix: place the rooms side by side"]),
    "door_too_wide": (dict(doors=[Door("d", ("a", "b"), width=300)]), ["door 'd'", "share only 256", "Fix: width"]),
    "key_behind_its_door": (dict(doors=[Door("d", ("a", "b"), key="blue")], things=[Thing("BlueCard", room="b")]),
                            ["door 'd' between 'a' and 'b' is locked with the blue key",
                             "the blue key is in room b", "Fix: put a blue key",
                             "in a room reached from the start (a)"]),
    "no_key": (dict(doors=[Door("d", ("a", "b"), key="red")]), ["door 'd'", "there is no red key", "Fix"]),
    "thing_outside": (dict(things=[Thing("Medikit", x=1000, y=1000, name="med")]),
                      ["thing 'med' (Medikit) at (1000, 1000) is in no room", "Fix: place it inside a room"]),
    "unknown_thing": (dict(things=[Thing("Medkit", room="a")]), ["unknown type 'Medkit'", "Fix"]),
    "goal_unreachable": (dict(rooms=[Room("a", 0, 0, 256, 256), Room("b", 400, 0, 256, 256)], doors=[]),
                         ["the goal in room 'b' cannot be reached", "Fix: join room 'b'"]),
    "switch_missing": (dict(doors=[Door("d", ("a", "b"), trigger="switch")]), ["door 'd': its switch is missing",
                                                                               "Fix"]),
}


@pytest.mark.parametrize("case", sorted(BAD_MAPS))
def test_bad_descriptions_name_the_room_or_door_and_the_fix(case):
    changes, expected = BAD_MAPS[case]
    with pytest.raises(MapError) as err:
        compile_udmf(_two_rooms(**changes))
    for text in expected:
        assert text in str(err.value), f"{text!r} not in: {err.value}"


def test_exit_switch_on_an_opening_is_refused_with_a_fix():
    touching = _two_rooms(rooms=[Room("a", 0, 0, 256, 256), Room("b", 256, 0, 256, 256)], doors=[], goal=None,
                          exits=[WallSpot("a", "east")])
    with pytest.raises(MapError, match=r"exit #0 on the east wall of room 'a'.*opening to room 'b'.*Fix: move it"):
        compile_udmf(touching)


def test_all_problems_reported_at_once_and_a_good_map_passes():
    validate_map(_two_rooms())
    with pytest.raises(MapError, match=r"2 problems") as err:
        validate_map(_two_rooms(rooms=[Room("a", 0, 0, 256, 256), Room("b", 200, 0, 256, 256),
                                       Room("c", 600, 600, 20, 20)], doors=[]))
    assert "overlap" in str(err.value) and "too small" in str(err.value)


def test_yaml_descriptions_load_round_trip_and_errors_name_the_field(tmp_path, monkeypatch):
    shipped = load_map(map_folders()[0] / "tworooms.yaml")
    assert shipped == description_for("VizdoomGen-tworooms-v0") and shipped.doors[0].between == ("west", "east")
    layout = door_key_layout(7)
    path = tmp_path / "doorkey7.yaml"
    layout.save(path)
    assert load_map(path) == layout
    monkeypatch.setenv("SB3PLUS_DOOM_MAPS", str(tmp_path))  # map files found by name, e.g. in worker processes
    assert description_for("VizdoomGen-doorkey7-v0") == layout
    with pytest.raises(MapError, match=r"rooms\[0\]: unknown field 'colour'. Fix: use one of .*wall_texture"):
        map_from_dict({"name": "x", "rooms": [{"name": "a", "x": 0, "y": 0, "w": 64, "h": 64, "colour": 3}],
                       "start": {}})
    with pytest.raises(MapError, match=r"doors\[0\]: field 'between'.*two room names"):
        map_from_dict({"name": "x", "rooms": [], "start": {}, "doors": [{"name": "d", "between": "a"}]})


# -- UDMF, WAD, the reader --------------------------------------------------------------------
def test_generated_layouts_vary_with_the_seed_and_all_compile_and_route():
    shapes = set()
    for seed in range(20):
        for layout in (door_key_layout(seed), damage_corridor_layout(seed)):
            compile_udmf(layout)
            route = description_route(layout)
            assert route.goal is not None
        shapes.add(tuple((r.x, r.y, r.w, r.h) for r in door_key_layout(seed).rooms))
    assert len(shapes) >= 15
    assert {door_key_layout(s).doors[1].key for s in range(20)} == {"red", "blue", "yellow"}
    assert door_key_layout(3) == door_key_layout(3)
    a, b = Room("a", 0, 0, 256, 256), Room("b", 512, 64, 256, 256)
    joined = MapDescription("c", [a, b, corridor("c", a, b, width=64, damage=5)], Start(room="a"), goal=Goal(room="b"))
    assert [w.region for w in description_route(joined).waypoints.values()][-1] == 1  # through the corridor
    with pytest.raises(MapError, match=r"corridor 'c2': room 'a' is not east or north of room 'b'.*Fix"):
        corridor("c2", b, a)


def test_udmf_written_is_read_back_with_its_doors_key_exit_and_damage():
    layout = door_key_layout(5)
    wad = pack_wad([("MAP01", b""), ("TEXTMAP", compile_udmf(layout).encode()), ("ENDMAP", b"")])
    assert [name for name, _ in read_lumps(wad)] == ["MAP01", "TEXTMAP", "ENDMAP"]
    doom_map = read_map(wad)
    assert doom_map.format == "udmf" and doom_map.namespace == "zdoom"
    assert len(doom_map.sectors) == len(layout.rooms) + len(layout.doors)
    features = map_features(doom_map)
    colour = layout.doors[1].key
    assert [k.colour for k in features.keys] == [colour] and len(features.starts) == 1
    assert len(features.exits) == 1 and features.exits[0].trigger == "switch"
    assert len(features.doors) == 4 and all(d.trigger == "use" for d in features.doors)  # two faces per door
    assert {d.key for d in features.locked_doors()} == {colour} and len(features.locked_doors()) == 2
    for door in features.doors:
        (sector,) = door.sectors
        assert doom_map.sectors[sector].floor == doom_map.sectors[sector].ceiling  # doors start closed
    nukage = read_map(pack_wad([("MAP01", b""), ("TEXTMAP", compile_udmf(damage_corridor_layout(2)).encode()),
                                ("ENDMAP", b"")]))
    assert list(nukage.extra["sector_damage"]) == [1]


def test_freedoom_e1m1_has_doors_a_blue_key_door_a_blue_key_and_an_exit(capsys):
    features = wad_features(bundled_wad("freedoom1.wad"), "E1M1")
    doom_map = read_map(bundled_wad("freedoom1.wad"), "E1M1")
    assert doom_map.format == "doom" and len(doom_map.lines) > 100
    manual = [d for d in features.doors if d.trigger == "use"]
    assert manual, "E1M1 has doors opened with USE"
    for door in manual:
        (sector,) = door.sectors
        assert doom_map.sectors[sector].ceiling <= doom_map.sectors[sector].floor + 8, "a door sector starts closed"
    assert [d for d in features.locked_doors("blue")], "a door locked with the blue key"
    assert any(k.colour == "blue" for k in features.keys), "the blue key"
    assert any(e.kind == "exit" and not e.secret for e in features.exits), "the exit"
    assert len(features.starts) == 1
    from sb3_plus.envs.doom_maps.__main__ import main

    main(["inspect", str(bundled_wad("freedoom1.wad")), "--map", "E1M1"])
    out = capsys.readouterr().out
    assert "blue key" in out and "exit" in out and "BlueCard" in out
    with pytest.raises(MapError, match=r"no map 'E9M9'; maps: E1M1, E1M2"):
        read_map(bundled_wad("freedoom1.wad"), "E9M9")
    e1m2 = read_map(bundled_wad("freedoom1.wad"), "E1M2")
    teleporters = map_features(e1m2).teleporters
    assert teleporters and all(t.trigger == "walk" and t.sectors for t in teleporters), "walk-over, to tagged sectors"
    destinations = [t for t in e1m2.things if t.type == 14]
    assert destinations, "teleport destinations stand in the tagged sectors"


def test_udmf_scenario_wad_read_like_the_engine_reads_it():
    doom_map = read_map(bundled_wad("my_way_home.wad"))
    assert doom_map.format == "udmf"
    env = make_env("VizdoomMyWayHome-v1")
    try:
        env.reset(seed=0)
        geometry = env.get_wrapper_attr("map_geometry")()
    finally:
        env.close()
    assert len(doom_map.sectors) == geometry.n_sectors
    armour = [(t.x, t.y) for t in doom_map.things if t.type == 2018]
    assert armour == [geometry.find_object("GreenArmor")]
    assert [round(s.floor) for s in doom_map.sectors] == [round(f) for f in geometry.floors]


# -- env ids and routes -----------------------------------------------------------------------
def test_generated_ids_belong_to_the_vizdoom_family_and_bad_ids_fail_before_any_engine():
    assert family_of("VizdoomGen-doorkey-v0") == family_of("VizdoomGen-doorkey-s12-v0") == "vizdoom"
    with pytest.raises(MapError, match=r"no map named 'nosuch'; known: .*doorkey.*Fix"):
        make_env("VizdoomGen-nosuch-v0")
    with pytest.raises(MapError, match=r"fixed layout.*Fix: use VizdoomGen-tworooms-v0"):
        make_env("VizdoomGen-tworooms-s3-v0")


def test_generated_route_validates_for_its_layout_only(tmp_path):
    env_id = "VizdoomGen-doorkey-s3-v0"
    route = description_route(description_for(env_id), env_id)
    uses = [w for w in route.waypoints.values() if w.use]
    assert len(uses) == 2  # one in front of each door
    check_route(route, env_id)
    from sb3_plus.envs.doom_maps.__main__ import main

    main(["route", env_id, "--out", str(tmp_path / "r.yaml")])
    assert load_route(tmp_path / "r.yaml").waypoints == route.waypoints
    check_route(tmp_path / "r.yaml", env_id)
    with pytest.raises(RouteMismatchError, match="VizdoomGen-doorkey-s4-v0"):
        check_route(tmp_path / "r.yaml", "VizdoomGen-doorkey-s4-v0")


# -- played in ViZDoom ------------------------------------------------------------------------
def _steps(env, action, n):
    info, total, done = None, 0.0, (False, False)
    for _ in range(n):
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        done = (terminated, truncated)
        if terminated or truncated:
            break
    return info, total, done


def _drive_to(env, info, x, y, steps=80):
    """Turn towards (x, y) and walk there, from the pose."""
    act = env.get_wrapper_attr("expert_action_map")
    for _ in range(steps):
        p = info["pose"]
        if math.hypot(x - p["x"], y - p["y"]) < 16:
            break
        error = (math.degrees(math.atan2(y - p["y"], x - p["x"])) - p["heading"] + 180) % 360 - 180
        action = act["turn_left"] if error > 10 else act["turn_right"] if error < -10 else act["forward"]
        info, _, _ = _steps(env, action, 1)
    return info


def _face_east(env, info):
    act = env.get_wrapper_attr("expert_action_map")
    for _ in range(40):
        error = (-info["pose"]["heading"] + 180) % 360 - 180
        if abs(error) < 5:
            break
        info, _, _ = _steps(env, act["turn_left"] if error > 0 else act["turn_right"], 1)
    return info


def test_door_opens_on_use_and_reaching_the_goal_ends_with_success():
    env = make_env("VizdoomGen-tworooms-v0")  # start (64, 128) facing east; the door's face at x=256
    try:
        act = env.get_wrapper_attr("expert_action_map")
        _, info = env.reset(seed=0)
        assert env.get_wrapper_attr("scenario") == "VizdoomGen-tworooms-v0"
        info, _, done = _steps(env, act["forward"], 15)
        assert info["pose"]["x"] < 245 and done == (False, False), "the closed door stops the player"
        _steps(env, act["use"], 1)
        _steps(env, NOOP, 12)
        info, reward, done = _steps(env, act["forward"], 30)
        assert info["pose"]["x"] > 300 and info["pose"]["sector"] == 1, "through the open door into the east room"
        assert done == (True, False) and info["success"] and reward >= 1.0, "the goal ends the episode with success"
    finally:
        env.close()
    assert not env.unwrapped.game.is_running()


def test_locked_door_stays_shut_without_its_key_and_opens_with_it():
    register_map("test_locked", _two_rooms(name="locked", doors=[Door("d", ("a", "b"), key="blue")],
                                           things=[Thing("BlueCard", x=64, y=208)], goal=Goal(x=420, y=128)))
    env = make_env("VizdoomGen-test_locked-v0")
    try:
        act = env.get_wrapper_attr("expert_action_map")
        game = env.unwrapped.game
        _, info = env.reset(seed=0)
        _steps(env, act["forward"], 12)
        _steps(env, act["use"], 1)
        _steps(env, NOOP, 12)
        info, _, _ = _steps(env, act["forward"], 10)
        assert info["pose"]["x"] < 245, "without the key the locked door stays shut"
        assert "BlueCard" in {o.name for o in game.get_state().objects}
        info = _drive_to(env, info, 64, 208)
        assert "BlueCard" not in {o.name for o in game.get_state().objects}, "walking over the key picks it up"
        info = _face_east(env, _drive_to(env, info, 200, 128))
        _steps(env, act["use"], 1)
        _steps(env, NOOP, 12)
        info, _, done = _steps(env, act["forward"], 30)
        assert info["pose"]["x"] > 300 and done == (True, False) and info["success"], "with the key it opens"
    finally:
        env.close()


def test_damage_floor_lowers_health():
    register_map("test_damage", MapDescription(
        name="damage",
        rooms=[Room("safe", 0, 0, 256, 256), Room("pool", 256, 64, 256, 128, damage=10, damage_interval=8)],
        start=Start(x=64, y=128), exits=[WallSpot("pool", "east")]))
    env = make_env("VizdoomGen-test_damage-v0")
    try:
        act = env.get_wrapper_attr("expert_action_map")
        _, info = env.reset(seed=0)
        info, _, _ = _steps(env, NOOP, 10)
        assert info["pose"]["health"] == 100 and info["pose"]["sector"] == 0
        for _ in range(20):
            info, _, _ = _steps(env, act["forward"], 1)
            if info["pose"]["sector"] == 1:
                break
        info, _, done = _steps(env, NOOP, 10)
        assert info["pose"]["sector"] == 1 and info["pose"]["health"] <= 80 and done == (False, False)
    finally:
        env.close()


def _play_expert(env, route, seed=0, steps=400):
    controller = make_expert(env, "waypoint", route)
    _, info = env.reset(seed=seed)
    controller.reset()
    total, done = 0.0, (False, False)
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(controller.act(info))
        total += reward
        done = (terminated, truncated)
        if terminated or truncated:
            break
    return info, total, done


def test_switch_door_opens_from_its_switch_not_from_its_face():
    switch = WallSpot("a", "east", at=40)  # beside the door, on the wall the door is in, in line with the start
    register_map("test_switch", _two_rooms(name="switch", start=Start(x=64, y=40), doors=[
        Door("d", ("a", "b"), trigger="switch", switch=switch)]))
    env = make_env("VizdoomGen-test_switch-v0")
    try:
        act = env.get_wrapper_attr("expert_action_map")
        _, info = env.reset(seed=0)
        _face_east(env, _drive_to(env, info, 180, 128))
        _steps(env, act["forward"], 8)
        _steps(env, act["use"], 1)
        _steps(env, NOOP, 12)
        info, _, _ = _steps(env, act["forward"], 10)
        assert info["pose"]["x"] < 245, "USE on the face of a switch-operated door does nothing"
        info, _, done = _play_expert(env, env.get_wrapper_attr("expert_route"), seed=1)
        assert done == (True, False) and info["success"], "the route presses the switch, then walks through"
    finally:
        env.close()
    elsewhere = _two_rooms(doors=[Door("d", ("a", "b"), trigger="switch", switch=WallSpot("a", "north"))])
    validate_map(elsewhere)  # a valid map...
    with pytest.raises(RouteError, match=r"door 'd' opens from a switch that is not on the east wall.*Fix"):
        description_route(elsewhere)  # ...whose switch a one-way waypoint route cannot visit and come back from


def test_death_and_time_out_end_episodes_without_success():
    register_map("test_deadly", MapDescription(
        name="deadly",
        rooms=[Room("safe", 0, 0, 128, 256), Room("lava", 128, 0, 256, 256, damage=1000, damage_interval=4)],
        start=Start(x=64, y=128), goal=Goal(x=340, y=220), death_penalty=5.0,
        things=[Thing("ZombieMan", x=360, y=40, angle=270), Thing("Medikit", room="safe", x=32, y=32)]))
    env = make_env("VizdoomGen-test_deadly-v0")
    try:
        act = env.get_wrapper_attr("expert_action_map")
        env.reset(seed=0)
        objects = env.get_wrapper_attr("map_geometry")().objects
        assert ("Zombieman", 360.0, 40.0) in objects and ("Medikit", 32.0, 32.0) in objects
        assert ("GreenArmor", 340.0, 220.0) in objects, "the goal's marker"
        info, reward, done = _steps(env, act["forward"], 20)
        assert done == (True, False) and not info["success"] and reward <= -5.0, "death ends the episode, penalised"
    finally:
        env.close()
    env = make_env("VizdoomGen-tworooms-v0", episode_timeout=40)
    try:
        _, first = env.reset(seed=0)
        info, _, done = _steps(env, NOOP, 30)
        assert done[1] and not info["success"], "the time limit truncates the episode"
        assert set(info) == set(first), "the same info keys on reset and every step"
    finally:
        env.close()


@pytest.mark.parametrize("env_id", ["VizdoomGen-doorkey-s3-v0", "VizdoomGen-nukage-s1-v0"])
def test_waypoint_expert_reaches_the_goal_or_exit_of_a_generated_map(env_id):
    env = make_env(env_id)
    try:
        info, total, done = _play_expert(env, env.get_wrapper_attr("expert_route"))
        assert done == (True, False) and info["success"] and total >= 1.0
        if "nukage" in env_id:
            assert info["pose"]["health"] < 100, "the corridor's floor hurt on the way to the exit"
    finally:
        env.close()


def test_collect_expert_on_a_generated_map_with_its_route(tmp_path):
    from sb3_plus.data.collect import collect_expert
    from sb3_plus.envs.doom_maps.__main__ import main

    env_id = "VizdoomGen-nukage-s2-v0"
    main(["route", env_id, "--out", str(tmp_path / "route.yaml")])
    report = collect_expert(env_id, episodes=2, route=tmp_path / "route.yaml", progress_bar=False,
                            env_kwargs={"resolution": 32})
    assert report.successes == 2 and report.route_source == str(tmp_path / "route.yaml")
