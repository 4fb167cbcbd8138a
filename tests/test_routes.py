"""Route files: loading, validation errors that name file/waypoint/field, and the follower rule."""

from pathlib import Path

import pytest
import yaml

from sb3_plus.experts import RouteError, WaypointExpert, load_route, route_from_dict
from sb3_plus.experts.follower import ExpertActionError, expert_action_map

ACTIONS = {"turn_left": "L", "turn_right": "R", "forward": "F", "use": "U"}
REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path, data, name="route.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def _route(waypoints, **extra):
    return {"family": "vizdoom", "map": "test", "waypoints": waypoints, **extra}


GOOD = [
    {"id": "a", "pos": [0, 0], "target": "b"},
    {"id": "b", "pos": [10, 0], "target": "c", "use": True},
    {"id": "c", "pos": [10, 10], "target": None},
]


def test_load_valid_route(tmp_path):
    route = load_route(_write(tmp_path, _route(GOOD)))
    assert len(route) == 3
    assert route.goal.id == "c"
    assert [w.id for w in route.path_from("a")] == ["a", "b", "c"]
    assert route.waypoints["b"].use and not route.waypoints["b"].use_pushed


def test_shipped_route_files_validate():
    files = sorted((REPO / "experts").rglob("*.yaml"))
    assert files, "at least one hand-written route ships with the project"
    for path in files:
        route = load_route(path)
        assert route.goal.target is None


@pytest.mark.parametrize(
    "waypoints, waypoint, field, words",
    [
        ([{"id": "a", "target": None}], "a", "pos", "missing"),
        ([{"id": "a", "pos": [0, 0]}], "a", "target", "missing"),
        ([{"pos": [0, 0], "target": None}], "#0", "id", "missing"),
        ([{"id": "a", "pos": [0, 0], "target": "zzz"}], "a", "target", "unknown target 'zzz'"),
        ([{"id": "a", "pos": "here", "target": None}], "a", "pos", "expected a list"),
        ([{"id": "a", "pos": [0, "x"], "target": None}], "a", "pos", "finite numbers"),
        ([{"id": "a", "pos": [0, 0, 0], "target": None}], "a", "pos", "expected a list"),
        ([{"id": "a", "pos": [0, 0], "target": None, "use": "yes"}], "a", "use", "true or false"),
        ([{"id": "a", "pos": [0, 0], "target": None, "use_pushed": 1}], "a", "use_pushed", "true or false"),
        ([{"id": "a", "pos": [0, 0], "target": None, "speed": 3}], "a", "speed", "unknown field"),
        ([{"id": "a", "pos": [0, 0], "target": None}, {"id": "a", "pos": [1, 1], "target": None}], "a", "id", "duplicate"),
        (
            [{"id": "a", "pos": [0, 0], "target": "b"}, {"id": "b", "pos": [1, 0], "target": "a"},
             {"id": "g", "pos": [5, 5], "target": None}],
            "a", "target", "cycle with no exit",
        ),
        ([{"id": "a", "pos": [0, 0], "target": "b"}, {"id": "b", "pos": [1, 0], "target": "a"}], "a", "target", "cycle"),
    ],
)
def test_malformed_routes_name_file_waypoint_field(tmp_path, waypoints, waypoint, field, words):
    path = _write(tmp_path, _route(waypoints))
    with pytest.raises(RouteError) as err:
        load_route(path)
    message = str(err.value)
    assert str(path) in message
    assert f"waypoint {waypoint!r}" in message
    assert f"field {field!r}" in message
    assert words in message
    assert "Fix:" in message


@pytest.mark.parametrize(
    "data, words",
    [
        (_route([]), "empty"),
        ({"family": "x"}, "missing field"),
        ("- just\n- a list\n", "expected a mapping"),
        ("waypoints: [\n", "not valid YAML"),
        (_route(GOOD, colour="red"), "unknown field"),
        ({"waypoints": {"a": 1}}, "expected a list"),
    ],
)
def test_malformed_files(tmp_path, data, words):
    path = _write(tmp_path, data)
    with pytest.raises(RouteError, match=words) as err:
        load_route(path)
    assert str(path) in str(err.value)


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(RouteError, match="not found"):
        load_route(tmp_path / "nope.yaml")


def test_route_save_round_trip(tmp_path):
    route = route_from_dict(_route(GOOD), source="mem")
    route.save(tmp_path / "out.yaml")
    again = load_route(tmp_path / "out.yaml")
    assert again.waypoints == route.waypoints


def test_follower_turns_then_uses_then_walks():
    route = route_from_dict(_route(GOOD))
    expert = WaypointExpert(route, ACTIONS, facing_tolerance=10)
    # at a, target b is east (0 deg): facing north -> turn right
    assert expert.act({"x": 0, "y": 0, "heading": 90}) == "R"
    assert expert.act({"x": 0, "y": 0, "heading": -90}) == "L"
    assert expert.act({"x": 0, "y": 0, "heading": 3}) == "F"
    # at b (use), facing its target c (north): press use once, then walk
    assert expert.act({"x": 10, "y": 0.5, "heading": 90}) == "U"
    assert expert.act({"x": 10, "y": 0.5, "heading": 90}) == "F"
    expert.reset()
    assert expert.act({"x": 10, "y": 0.5, "heading": 90}) == "U", "reset forgets USE presses"


def test_follower_prefers_waypoints_of_own_region():
    wps = [
        {"id": "near_other_room", "pos": [1, 0], "target": "goal", "region": 2},
        {"id": "mine", "pos": [0, 50], "target": "goal", "region": 1},
        {"id": "goal", "pos": [0, 100], "target": None, "region": 1},
    ]
    expert = WaypointExpert(route_from_dict(_route(wps)), ACTIONS)
    assert expert.closest({"x": 0, "y": 0, "heading": 0, "sector": 1}).id == "mine"
    assert expert.closest({"x": 0, "y": 0, "heading": 0}).id == "near_other_room"


def test_follower_needs_pose():
    expert = WaypointExpert(route_from_dict(_route(GOOD)), ACTIONS)
    with pytest.raises(ExpertActionError, match="pose"):
        expert.act(None)


def test_env_without_action_map_is_rejected():
    import gymnasium as gym

    env = gym.make("CartPole-v1")
    with pytest.raises(ExpertActionError, match="expert_action_map"):
        expert_action_map(env)
    env.close()


# ---------------------------------------------------------------- a route for another env is refused


def _no_episode(monkeypatch):
    """Fail the test if collection gets as far as playing an episode."""
    import sb3_plus.data.collect as collect

    def play(*args, **kwargs):
        raise AssertionError("an episode was played with a route for another env")

    monkeypatch.setattr(collect, "_play", play)


def _maze_route_file(tmp_path, seed=3):
    from sb3_plus.envs import make_env
    from sb3_plus.experts.maze_planner import plan_maze_route

    env = make_env("MazeEasy-v0", fixed_layout_seed=seed)
    env.reset(seed=0)
    path = tmp_path / f"maze_seed{seed}.yaml"
    plan_maze_route(env.unwrapped.layout()).save(path)
    return path


def _assert_refused(minari_datasets_path, monkeypatch, env_id, route, *words, **env_kwargs):
    from sb3_plus.data.collect import collect_expert
    from sb3_plus.experts import RouteMismatchError

    _no_episode(monkeypatch)
    with pytest.raises(RouteMismatchError) as err:
        collect_expert(env_id, episodes=2, route=str(route), env_kwargs=env_kwargs, progress_bar=False,
                       dataset_id="sb3plus/test/mismatch-v0")
    message = str(err.value)
    for word in (str(route), env_id, "Fix:", "experts/README.md", *words):
        assert word in message, (word, message)
    assert not list(minari_datasets_path.rglob("*mismatch*"))


def test_maze_route_on_vizdoom_is_refused_before_any_episode(tmp_path, minari_datasets_path, monkeypatch):
    route = _maze_route_file(tmp_path)
    _assert_refused(minari_datasets_path, monkeypatch, "VizdoomMyWayHome-v1", route, "maze/seed3",
                    "vizdoom/my_way_home")


def test_defend_the_center_route_on_my_way_home_is_refused(tmp_path, minari_datasets_path, monkeypatch):
    wps = [{"id": "a", "pos": [0, 0], "target": "b"}, {"id": "b", "pos": [100, 0], "target": None}]
    with_header = _write(tmp_path, {"family": "vizdoom", "map": "defend_the_center", "waypoints": wps}, "dtc.yaml")
    _assert_refused(minari_datasets_path, monkeypatch, "VizdoomMyWayHome-v1", with_header,
                    "vizdoom/defend_the_center", "vizdoom/my_way_home", "'map:' field")
    # no header: the file's place experts/vizdoom/defend_the_center.yaml says what it is for
    folder = tmp_path / "experts" / "vizdoom"
    folder.mkdir(parents=True)
    by_path = _write(folder, {"waypoints": wps}, "defend_the_center.yaml")
    _assert_refused(minari_datasets_path, monkeypatch, "VizdoomMyWayHome-v1", by_path,
                    "vizdoom/defend_the_center", "file name defend_the_center.yaml")
    # the env field alone says it too
    by_env = _write(tmp_path, {"env": "VizdoomDefendCenter-v1", "waypoints": wps}, "by_env.yaml")
    _assert_refused(minari_datasets_path, monkeypatch, "VizdoomMyWayHome-v1", by_env, "vizdoom/defend_the_center")


def test_vizdoom_route_on_a_maze_is_refused(tmp_path, minari_datasets_path, monkeypatch):
    shipped = REPO / "experts/vizdoom/my_way_home_rooms.yaml"
    _assert_refused(minari_datasets_path, monkeypatch, "MazeEasy-v0", shipped, "vizdoom/my_way_home", "maze/procedural")
    # without any header, its map-unit positions lie outside the maze grid
    data = yaml.safe_load(shipped.read_text())
    bare = _write(tmp_path, {"waypoints": data["waypoints"]}, "bare.yaml")
    _assert_refused(minari_datasets_path, monkeypatch, "MazeEasy-v0", bare, "outside")


def test_maze_route_for_another_fixed_layout_is_refused(tmp_path, minari_datasets_path, monkeypatch):
    route = _maze_route_file(tmp_path, seed=3)
    _assert_refused(minari_datasets_path, monkeypatch, "MazeEasy-v0", route, "layout seed 3",
                    "fixed_layout_seed:3", fixed_layout_seed=4)


def test_routes_that_fit_are_accepted_without_starting_an_env(tmp_path):
    from sb3_plus.experts import RouteMismatchError, check_route

    shipped = REPO / "experts/vizdoom/my_way_home_rooms.yaml"
    assert len(check_route(shipped, "VizdoomMyWayHome-v1")) == 19
    assert check_route(shipped, "VizdoomMyWayHome-MultiBinary-v1")  # same scenario, other action space
    spelled = _write(tmp_path, {"family": "vizdoom", "map": "MyWayHome", "waypoints": GOOD}, "spelled.yaml")
    check_route(spelled, "VizdoomMyWayHome-v1")
    # a variant file name under experts/vizdoom/ is checked by family only
    folder = tmp_path / "experts" / "vizdoom"
    folder.mkdir(parents=True)
    check_route(_write(folder, {"waypoints": GOOD}, "my_way_home_short.yaml"), "VizdoomMyWayHome-v1")
    with pytest.raises(RouteMismatchError, match="the vizdoom family"):
        check_route(folder / "my_way_home_short.yaml", "MazeEasy-v0")
    # a level of a multi-level WAD is its own map
    level = _write(tmp_path, {"env": "VizdoomFreedoom2MAP01-S1-v0", "waypoints": GOOD}, "level.yaml")
    check_route(level, "VizdoomFreedoom2MAP01-S3-v0")
    with pytest.raises(RouteMismatchError, match="freedoom2_map01.*freedoom2_map02"):
        check_route(level, "VizdoomFreedoom2MAP02-S1-v0")
    # a maze route for layout seed 3 fits that layout
    maze = _maze_route_file(tmp_path, seed=3)
    check_route(maze, "MazeEasy-v0", fixed_layout_seed=3)


def test_shipped_routes_fit_the_env_they_name():
    from sb3_plus.experts import check_route

    for path in sorted((REPO / "experts").rglob("*.yaml")):
        route = load_route(path)
        assert route.env, f"{path}: name the env the route is for"
        check_route(route, route.env)


# ---------------------------------------------------------------- an expert that mostly fails is reported


def test_low_success_collection_warns_on_stderr(tmp_path, minari_datasets_path, capsys):
    from sb3_plus.data.collect import collect_expert

    # a route in the maze's coordinates that leads to a corner, not to the goal
    bad = _write(tmp_path, {"waypoints": [{"id": "corner", "pos": [1.5, 1.5], "target": None}]}, "corner.yaml")
    report = collect_expert("MazeEasy-v0", episodes=10, seed=0, route=str(bad), progress_bar=False,
                            env_kwargs={"max_episode_steps": 15}, dataset_id="sb3plus/test/lowsuccess-v0")
    err = capsys.readouterr().err
    assert report.success_rate < 0.5 and report.episodes == 10  # written anyway: failures may be wanted
    assert "WARNING" in err and f"{report.successes}/10 episodes ({report.success_rate:.0%})" in err
    assert str(bad) in err and "Likely cause" in err and report.extra["warning"] in err

    good = collect_expert("MazeEasy-v0", episodes=10, seed=0, progress_bar=False, dataset_id="sb3plus/test/fine-v0")
    assert good.success_rate == 1.0 and "WARNING" not in capsys.readouterr().err and not good.extra


def test_low_success_threshold():
    from sb3_plus.experts.route_check import low_success_warning

    assert low_success_warning(4, 10, "r.yaml", "MazeEasy-v0")
    assert low_success_warning(5, 10, "r.yaml", "MazeEasy-v0") is None
    assert low_success_warning(0, 9, "r.yaml", "MazeEasy-v0") is None  # too few episodes to judge
    assert "planned route" in low_success_warning(0, 20, "planner", "VizdoomMyWayHome-v1")


def test_a_folder_that_is_no_family_claims_nothing(tmp_path):
    from sb3_plus.experts import check_route

    folder = tmp_path / "experts" / "mine"
    folder.mkdir(parents=True)
    check_route(_write(folder, {"waypoints": GOOD}, "defend_the_center.yaml"), "VizdoomMyWayHome-v1")
