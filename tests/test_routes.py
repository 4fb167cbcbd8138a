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
