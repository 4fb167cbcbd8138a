"""The Super Mario Bros family: preprocessing, seeds, the pose from RAM, exact restore, the expert."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from sb3_plus.envs import make_env
from sb3_plus.envs.mario import RANDOM_ID, MarioEnv
from sb3_plus.envs.mario_core import NO_ENEMY, decode_pose
from sb3_plus.errors import BadOptionError
from sb3_plus.experts import check_route, make_expert, route_from_dict
from sb3_plus.experts.mario_expert import MarioExpert, mario_steps
from sb3_plus.experts.routes import RouteError

LEVEL = "SuperMarioBros-1-1-v0"
NOOP, RIGHT, RUN, JUMP = 0, 1, 3, 4  # in the right_only / simple action sets


def _hand_x(ram: np.ndarray) -> int:
    return int(ram[0x6D]) * 256 + int(ram[0x86])


@pytest.fixture(scope="module")
def env():
    env = make_env(LEVEL, noop_max=30)
    yield env
    env.close()


def _expert_actions(env, steps, seed):
    """Reset with ``seed`` and let the 1-1 expert play ``steps`` steps; its actions and the last info."""
    expert = make_expert(env)
    _, info = env.reset(seed=seed)
    expert.reset()
    actions = []
    for _ in range(steps):
        actions.append(expert.act(info))
        _, _, term, trunc, info = env.step(actions[-1])
        assert not (term or trunc)
    return actions, info


def _run(env, actions, seed=None):
    frames, rams = [], []
    if seed is not None:
        env.reset(seed=seed)
    for action in actions:
        obs, _, term, trunc, _ = env.step(action)
        frames.append(obs.copy())
        rams.append(env.unwrapped.ram.copy())
        assert not (term or trunc)
    return frames, rams


def test_steps_and_seeded_resets(env):
    obs, info = env.reset(seed=3)
    assert obs.shape == (84, 84, 1) and obs.dtype == np.uint8 and env.observation_space.contains(obs)
    assert set(info) == {"pose", "success"} and info["success"] is False
    actions, _ = _expert_actions(env, 40, seed=3)
    first = _run(env, actions, seed=3)
    again = _run(env, actions, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(first[0], again[0]))  # same seed, same frames
    starts = set()
    for seed in range(6):
        env.reset(seed=seed)
        starts.add(env.unwrapped.ram.tobytes())
    assert len(starts) > 1  # random no-op starts: seeds give different episodes
    moved = _run(env, [RUN] * 15, seed=0)[1][-1]
    assert _hand_x(moved) > 100  # running right moves Mario right


def test_options_change_observations_and_frame_counts():
    env = make_env(LEVEL, resolution=[48, 64], grayscale=False, frame_stack=3, frame_skip=2, frame_skip_max=6,
                   action_set="right_only", noop_max=0)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (48, 64, 9) and env.action_space.n == 5
        counts = []
        for _ in range(15):
            before = int(env.unwrapped.ram[0x09])  # the game's frame counter
            env.step(RUN)
            counts.append((int(env.unwrapped.ram[0x09]) - before) % 256)
        assert min(counts) >= 2 and max(counts) <= 6 and len(set(counts)) > 1  # variable frame skip
    finally:
        env.close()


def test_sticky_actions_are_seeded():
    env = make_env(LEVEL, sticky_actions=0.5, noop_max=0)
    try:
        plan = [RUN, JUMP, NOOP, JUMP, RUN] * 8
        a, b, c = _run(env, plan, seed=1)[1], _run(env, plan, seed=1)[1], _run(env, plan, seed=2)[1]
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
        assert any(not np.array_equal(x, y) for x, y in zip(a, c))  # another seed, other repeats
    finally:
        env.close()


def test_pose_matches_a_hand_decode_of_ram(env):
    _, info = _expert_actions(env, 70, seed=0)
    ram, pose = env.unwrapped.ram, info["pose"]
    assert pose["x"] == _hand_x(ram) > 255  # past the first page: 0x6d * 256 overflows uint8 arithmetic
    assert pose["y"] == 255 - int(ram[0x3B8])
    assert (pose["world"], pose["stage"]) == (1, 1)
    assert pose["time"] == int(ram[0x7F8]) * 100 + int(ram[0x7F9]) * 10 + int(ram[0x7FA])
    assert 380 < pose["time"] <= 400 and pose["status"] == 0
    # values whose uint8 arithmetic would overflow or wrap silently
    ram = np.zeros(0x800, dtype=np.uint8)
    ram[0x6D], ram[0x86] = 12, 250  # x = 3322
    ram[0xB5], ram[0x3B8] = 0, 10  # above the screen: y = 255 + 245
    ram[0x7F8:0x7FB] = [3, 9, 9]
    ram[0x57] = 0xF0  # running left, speed -16
    ram[0x33], ram[0x756], ram[0x75F], ram[0x75C] = 2, 1, 3, 2
    ram[0x0F], ram[0x16], ram[0x6E], ram[0x87], ram[0xCE], ram[0xCF] = 1, 0x06, 13, 10, 176, 160  # a goomba ahead
    pose = decode_pose(ram)
    assert (pose["x"], pose["y"], pose["time"], pose["x_speed"]) == (3322.0, 500.0, 399.0, -16.0)
    assert (pose["heading"], pose["status"], pose["world"], pose["stage"]) == (180.0, 1.0, 4.0, 3.0)
    assert (pose["enemy_dx"], pose["enemy_dy"]) == (13 * 256 + 10 - 3322, 16.0)
    ram[0x16] = 0x2E  # a power-up is no enemy
    assert decode_pose(ram)["enemy_dx"] == NO_ENEMY
    # a pit two columns ahead of Mario standing on the ground (the block buffer: 13 rows of 16 columns)
    ram = np.zeros(0x800, dtype=np.uint8)
    ram[0xB5], ram[0xCE], ram[0x86] = 1, 0xB0, 40  # on screen, feet on row 11, x 40 (column 2)
    ram[0x500 + 11 * 16:0x500 + 13 * 16] = 0x54  # ground: rows 11 and 12
    ram[[0x500 + 11 * 16 + 4, 0x500 + 12 * 16 + 4]] = 0  # no ground in column 4
    assert decode_pose(ram)["gap_dx"] == 4 * 16 - 40
    ram[0x500 + 12 * 16 + 4] = 0x54  # a step down, not a pit
    assert decode_pose(ram)["gap_dx"] == NO_ENEMY


def test_restore_returns_exactly_to_the_snapshot(env):
    from sb3_plus.exploration.restore import make_restorer

    actions, _ = _expert_actions(env, 90, seed=4)
    _run(env, actions[:40], seed=4)
    state = env.unwrapped.clone_state()
    ram, obs = env.unwrapped.ram.copy(), env.unwrapped.current_observation().copy()
    plan = actions[40:]
    frames, rams = _run(env, plan)
    for snapshot in (state, MarioEnv.decode_state(MarioEnv.encode_state(state))):
        env.unwrapped.restore_state(snapshot)
        assert np.array_equal(env.unwrapped.ram, ram) and np.array_equal(env.unwrapped.current_observation(), obs)
        frames2, rams2 = _run(env, plan)
        assert all(np.array_equal(a, b) for a, b in zip(frames, frames2))
        assert all(np.array_equal(a, b) for a, b in zip(rams, rams2))
    restorer = make_restorer(env)
    assert restorer.exact
    again = restorer.decode(restorer.encode(restorer.snapshot()))
    _run(env, [NOOP] * 3)
    restorer.restore(again)
    assert np.array_equal(env.unwrapped.ram, rams2[-1])


def test_random_stages_and_restore_across_levels():
    env = make_env(RANDOM_ID, stages="1-1,1-2", noop_max=0)
    try:
        seen = {}
        for seed in range(12):
            _, info = env.reset(seed=seed)
            seen.setdefault((info["pose"]["world"], info["pose"]["stage"]), seed)
            if len(seen) == 2:
                break
        assert set(seen) == {(1.0, 1.0), (1.0, 2.0)}
        env.reset(seed=seen[(1.0, 2.0)])
        env.step(RUN)
        state, ram = env.unwrapped.clone_state(), env.unwrapped.ram.copy()
        env.reset(seed=seen[(1.0, 1.0)])
        env.unwrapped.restore_state(state)
        assert env.unwrapped.level == (1, 2) and np.array_equal(env.unwrapped.ram, ram)
    finally:
        env.close()


def test_gymnasium_env_checker_passes():
    env = MarioEnv(1, 1, resolution=32, noop_max=4)
    try:
        check_env(env, skip_render_check=True)
    finally:
        env.close()


def test_expert_clears_1_1_into_a_dataset():
    from sb3_plus.data.collect import collect_expert

    report = collect_expert(LEVEL, episodes=1, seed=0, progress_bar=False)
    assert report.successes == 1 and report.route_source.endswith("mario/1-1.yaml")
    assert 200 < report.steps < 1500


def test_bad_levels_options_and_routes_are_clear_errors(tmp_path):
    with pytest.raises(BadOptionError, match="no level 9-1.*Fix"):
        make_env("SuperMarioBros-9-1-v0")
    with pytest.raises(BadOptionError, match="frame_skip"):
        make_env(LEVEL, frame_skip=0)
    with pytest.raises(BadOptionError, match="stage '1-5' does not exist"):
        make_env(RANDOM_ID, stages="1-1,1-5")
    with pytest.raises(BadOptionError, match="stages"):
        make_env(LEVEL, stages="1-1")
    with pytest.raises(BadOptionError, match="frame_skip_max"):
        make_env(LEVEL, frame_skip=4, frame_skip_max=2)
    back = {"family": "mario", "map": "1-1", "waypoints": [
        {"id": "a", "pos": [400, 0], "target": "b", "action": "run"},
        {"id": "b", "pos": [300, 0], "target": None, "action": "jump"}]}
    with pytest.raises(RouteError, match="'b'.*x positions must increase.*Fix"):
        mario_steps(route_from_dict(back, "back.yaml"))
    back["waypoints"][1].update(pos=[500, 0], action="fly")
    with pytest.raises(RouteError, match="unknown Mario action 'fly'"):
        mario_steps(route_from_dict(back, "fly.yaml"))
    back["waypoints"][1].update(action="jump", hold=0)
    with pytest.raises(RouteError, match="hold"):
        route_from_dict(back, "hold.yaml")
    back["waypoints"][1].pop("hold")
    with pytest.raises(RouteError, match="mario/1-1"):  # a 1-1 route is refused on 1-2
        check_route(route_from_dict(back, "r.yaml"), "SuperMarioBros-1-2-v0")
    steps = mario_steps(check_route(route_from_dict(back, "r.yaml"), LEVEL))
    assert [(s.x, s.action, s.hold) for s in steps] == [(400.0, "run", 1), (500.0, "jump", 6)]


def test_expert_reacts_to_being_stuck_and_to_waypoints():
    route = route_from_dict({"waypoints": [{"id": "a", "pos": [100, 0], "target": "b", "action": "wait", "hold": 2},
                                           {"id": "b", "pos": [200, 0], "target": None, "action": "jump"}]})
    expert = MarioExpert(route, {"noop": NOOP, "right": RIGHT, "run": RUN, "jump": JUMP}, stuck_steps=3)
    pose = {"x": 50.0, "airborne": 0.0, "enemy_dx": NO_ENEMY, "enemy_dy": NO_ENEMY}
    assert [expert.act(pose) for _ in range(5)] == [RUN, RUN, RUN, JUMP, JUMP]  # stuck 3 steps: a high jump
    expert.reset()
    assert [expert.act(dict(pose, x=100.0 + i)) for i in range(3)] == [NOOP, NOOP, RUN]  # wait 2 at x=100
    actions = [expert.act(dict(pose, x=200.0 + i)) for i in range(7)]
    assert actions == [JUMP] * 6 + [RUN]  # hold A for the jump's 6 steps, then let go
    mario_env = make_env(LEVEL)
    try:
        with pytest.raises(BadOptionError, match="waypoint"):
            make_expert(mario_env, "hysteresis")
    finally:
        mario_env.close()


def test_expert_climbs_a_wall_it_keeps_hopping_at_and_hops_enemies_under_low_ceilings():
    route = route_from_dict({"waypoints": [{"id": "a", "pos": [0, 0], "target": None}]})
    expert = MarioExpert(route, {"noop": NOOP, "right": RIGHT, "run": RUN, "jump": JUMP}, stuck_steps=2)
    # an enemy 20 pixels ahead under a low ceiling (a wall ahead reads as one): one-step hops, each landing
    # at the same x; never two steps on the ground, so only the count of steps without progress can tell
    wall = {"x": 300.0, "enemy_dx": 20.0, "enemy_dy": 0.0, "headroom": 0.0}
    holds, run = [], 0
    for step in range(40):
        action = expert.act(dict(wall, airborne=0.0 if step % 4 == 0 else 1.0))
        if action == JUMP:
            run += 1
        elif run:
            holds.append(run)
            run = 0
    assert holds[0] == 3, "the enemy under the low ceiling: a hop (low_hop steps of A)"
    assert max(holds) > 3, "hops that get nowhere: higher jumps, as when stuck on the ground"
    # in the open, the same enemy gets a long jump from 72 pixels; under the low ceiling from 54, not 60
    expert.reset()
    open_ground = {"x": 10.0, "airborne": 0.0, "enemy_dy": 0.0, "headroom": 64.0}
    assert expert.act(dict(open_ground, enemy_dx=70.0)) == JUMP
    expert.reset()
    assert expert.act(dict(open_ground, enemy_dx=60.0, headroom=32.0)) == RUN
    assert expert.act(dict(open_ground, x=20.0, enemy_dx=50.0, headroom=32.0)) == JUMP
