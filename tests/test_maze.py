"""The maze env family and its route planner."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from sb3_plus.envs import maze
from sb3_plus.errors import BadOptionError
from sb3_plus.envs.maze import MazeLayout, bfs_distances, generate_maze, make_maze_env
from sb3_plus.envs.registry import find_family
from sb3_plus.experts.follower import WaypointExpert
from sb3_plus.experts.maze_planner import plan_maze_route, route_for_env
from sb3_plus.experts.routes import RouteError

DIFFICULTIES = ["Easy", "Medium", "Hard"]
TURN_LEFT, TURN_RIGHT, FORWARD = 0, 1, 2


def _cell(info: dict) -> tuple[int, int]:
    return int(info["pose"]["y"] - 0.5), int(info["pose"]["x"] - 0.5)


def _expected_view(layout: MazeLayout, cell: tuple[int, int], heading: float, view: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall and goal planes computed from trigonometry, independently of the env's tables."""
    c = view // 2
    fx, fy = round(math.cos(math.radians(heading))), round(math.sin(math.radians(heading)))
    rx, ry = round(math.cos(math.radians(heading - 90))), round(math.sin(math.radians(heading - 90)))
    wall, goal = np.zeros((view, view)), np.zeros((view, view))
    n_rows, n_cols = layout.walls.shape
    for i in range(view):
        for j in range(view):
            ahead, right = c - i, j - c
            col = cell[1] + ahead * fx + right * rx
            row = cell[0] + ahead * fy + right * ry
            inside = 0 <= row < n_rows and 0 <= col < n_cols
            wall[i, j] = 1.0 if not inside or layout.walls[row, col] else 0.0
            goal[i, j] = 1.0 if (row, col) == tuple(layout.goal) else 0.0
    return wall, goal


def _run_expert(env: gym.Env, seed: int) -> tuple[bool, int]:
    obs, info = env.reset(seed=seed)
    expert = WaypointExpert.for_env(route_for_env(env), env)
    steps = 0
    while True:
        obs, reward, terminated, truncated, info = env.step(expert.act(info["pose"]))
        steps += 1
        if terminated or truncated:
            return bool(info["success"]) and terminated and reward == 1.0, steps


def test_family_and_gym_registration() -> None:
    for difficulty in DIFFICULTIES:
        for suffix, shape in (("", (50,)), ("Pixels", (40, 40, 1))):
            env_id = f"Maze{difficulty}{suffix}-v0"
            family = find_family(env_id)
            assert family is not None and family.name == "maze"
            env = family.build(env_id)
            assert env.observation_space.shape == shape
            assert env.unwrapped.difficulty == difficulty.lower()
            made = gym.make(env_id)
            assert made.observation_space == env.observation_space
            obs, _ = made.reset(seed=0)
            assert made.observation_space.contains(obs)
    assert find_family("MazeHuge-v0") is None
    assert find_family("CartPole-v1") is None


def test_sizes_follow_difficulty_and_override() -> None:
    sides = [make_maze_env(f"Maze{d}-v0").side for d in DIFFICULTIES]
    assert sides == [9, 13, 19]
    env = make_maze_env("MazeEasy-v0", size=7)
    env.reset(seed=0)
    assert env.layout().walls.shape == (15, 15)


def test_unknown_kwarg_names_it_and_the_allowed_ones() -> None:
    with pytest.raises(BadOptionError, match=r"'frame_skip'.*allowed: .*view_size"):
        make_maze_env("MazeEasy-v0", frame_skip=4)
    with pytest.raises(BadOptionError, match="difficulty comes from the env id"):
        make_maze_env("MazeEasy-v0", difficulty="hard")
    with pytest.raises(ValueError, match="obs_type"):
        make_maze_env("MazeEasy-v0", obs_type="rgb")
    with pytest.raises(ValueError, match="view_size"):
        make_maze_env("MazeEasy-v0", view_size=4)


def test_same_seed_same_maze_different_seeds_differ() -> None:
    a, b = make_maze_env("MazeMedium-v0"), make_maze_env("MazeMedium-v0")
    layouts = []
    for seed in range(6):
        obs_a, info_a = a.reset(seed=seed)
        obs_b, info_b = b.reset(seed=seed)
        la, lb = a.layout(), b.layout()
        assert np.array_equal(la.walls, lb.walls) and la.start == lb.start and la.goal == lb.goal
        assert info_a == info_b and np.array_equal(obs_a, obs_b)
        layouts.append(la.walls)
    distinct = {w.tobytes() for w in layouts}
    assert len(distinct) == len(layouts)
    # A reset without a seed continues the stream: a new maze, still reproducible.
    a.reset(seed=3)
    a.reset()
    b.reset(seed=3)
    b.reset()
    assert np.array_equal(a.layout().walls, b.layout().walls)
    assert not np.array_equal(a.layout().walls, layouts[3])


def test_generate_maze_is_a_perfect_maze_without_loops() -> None:
    for seed in range(20):
        walls = generate_maze(5, loops=0, seed=seed)
        assert walls.shape == (11, 11)
        assert walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all()
        free = ~walls
        assert free[1::2, 1::2].all()  # every room is carved
        # a spanning tree: free cells = rooms + (rooms - 1) passages, all connected
        assert free.sum() == 2 * 25 - 1
        assert (bfs_distances(walls, (1, 1))[free] >= 0).all()
    with_loops = generate_maze(5, loops=3, seed=0)
    assert (~with_loops).sum() == 2 * 25 - 1 + 3
    assert np.array_equal(generate_maze(5, 3, seed=7), generate_maze(5, 3, seed=7))


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_every_maze_is_solvable_and_goal_is_farthest(difficulty: str) -> None:
    env = make_maze_env(f"Maze{difficulty}-v0")
    for seed in range(30):
        env.reset(seed=seed)
        layout = env.layout()
        dist = bfs_distances(layout.walls, layout.start)
        assert not layout.walls[layout.start] and not layout.walls[layout.goal]
        assert dist[layout.goal] > 0
        assert dist[layout.goal] == dist.max()


def test_fixed_layout_seed_keeps_maze_and_goal() -> None:
    env = make_maze_env("MazeMedium-v0", fixed_layout_seed=123)
    starts = set()
    for seed in range(8):
        env.reset(seed=seed)
        layout = env.layout()
        if seed == 0:
            first = layout
        assert np.array_equal(layout.walls, first.walls) and layout.goal == first.goal and layout.seed == 123
        starts.add(layout.start)
        assert layout.start != layout.goal
    assert len(starts) > 1
    other = make_maze_env("MazeMedium-v0", fixed_layout_seed=124)
    other.reset(seed=0)
    assert not np.array_equal(other.layout().walls, first.walls)
    # the layout_seed option replays one maze of the random stream
    env2 = make_maze_env("MazeMedium-v0")
    env2.reset(seed=0, options={"layout_seed": 123})
    assert np.array_equal(env2.layout().walls, first.walls)


def test_fixed_start_starts_every_episode_farthest_from_the_goal() -> None:
    env = make_maze_env("MazeHard-v0", fixed_layout_seed=5, fixed_start=True)
    starts, headings = set(), set()
    for seed in range(10):
        _, info = env.reset(seed=seed)
        starts.add(env.layout().start)
        headings.add(info["pose"]["heading"])
    assert len(starts) == 1 and len(headings) > 1
    layout = env.layout()
    distances = bfs_distances(layout.walls, layout.goal)
    assert distances[layout.start] == distances[distances >= 0].max()  # no cell is farther from the goal
    with pytest.raises(BadOptionError, match="fixed_start=True needs fixed_layout_seed"):
        make_maze_env("MazeHard-v0", fixed_start=True)


@pytest.mark.parametrize("obs_type", ["vector", "pixels", "dict"])
def test_observations_match_spaces(obs_type: str) -> None:
    env = make_maze_env("MazeHard-v0", obs_type=obs_type)
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    rng = np.random.default_rng(0)
    for _ in range(50):
        obs, *_ = env.step(int(rng.integers(3)))
        assert env.observation_space.contains(obs)
    if obs_type == "dict":
        assert set(obs) == {"image", "vector"}
        assert obs["image"].dtype == np.uint8 and obs["image"].shape == (40, 40, 1)
        assert obs["vector"].dtype == np.float32 and obs["vector"].shape == (50,)
    elif obs_type == "pixels":
        assert obs.dtype == np.uint8 and obs.shape == (40, 40, 1)
    else:
        assert obs.dtype == np.float32 and obs.shape == (50,)


def test_small_view_still_fits_nature_cnn() -> None:
    env = make_maze_env("MazeEasyPixels-v0", view_size=3)
    assert env.observation_space.shape[0] >= 36
    env = make_maze_env("MazeEasyPixels-v0", view_size=7, cell_pixels=6)
    assert env.observation_space.shape == (42, 42, 1)


@pytest.mark.parametrize("heading_steps", [0, 1, 2, 3])
def test_vector_view_is_egocentric(heading_steps: int) -> None:
    env = make_maze_env("MazeMedium-v0", view_size=7)
    rng = np.random.default_rng(heading_steps)
    for seed in range(5):
        obs, info = env.reset(seed=seed)
        for _ in range(heading_steps):
            obs, _, _, _, info = env.step(TURN_LEFT)
        for _ in range(30):
            wall, goal = _expected_view(env.layout(), _cell(info), info["pose"]["heading"], 7)
            assert np.array_equal(obs[:49].reshape(7, 7), wall)
            assert np.array_equal(obs[49:].reshape(7, 7), goal)
            obs, _, terminated, _, info = env.step(int(rng.integers(3)))
            if terminated:
                break


def test_pixels_draw_the_same_window() -> None:
    env = make_maze_env("MazeMedium-v0", obs_type="dict")
    obs, info = env.reset(seed=4)
    for step in range(40):
        image, vector = obs["image"][:, :, 0], obs["vector"]
        centres = image[4::8, 4::8]  # one pixel per window cell, away from cell borders
        wall, goal = vector[:25].reshape(5, 5), vector[25:].reshape(5, 5)
        expected = np.where(wall > 0, 30, np.where(goal > 0, 220, 110))
        expected[2, 2] = 255  # the agent marker
        assert np.array_equal(centres, expected)
        obs, _, terminated, _, info = env.step([FORWARD, TURN_LEFT, FORWARD, TURN_RIGHT][step % 4])
        if terminated:
            break


def test_info_keys_are_identical_at_reset_and_every_step() -> None:
    env = make_maze_env("MazeEasy-v0", max_episode_steps=60)
    _, info = env.reset(seed=0)
    reference = {key: type(value) for key, value in info.items()}
    pose_reference = {key: type(value) for key, value in info["pose"].items()}
    assert set(pose_reference) == {"x", "y", "heading", "cell", "sector"}
    assert pose_reference == {"x": float, "y": float, "heading": float, "cell": int, "sector": int}
    assert reference == {"pose": dict, "success": bool}
    rng = np.random.default_rng(0)
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(int(rng.integers(3)))
        assert {key: type(value) for key, value in info.items()} == reference
        assert {key: type(value) for key, value in info["pose"].items()} == pose_reference
        assert info["pose"]["sector"] == info["pose"]["cell"]
        assert info["success"] == terminated
        done = terminated or truncated


def test_turning_and_forward_dynamics_and_walls_block() -> None:
    env = make_maze_env("MazeHard-v0")
    rng = np.random.default_rng(1)
    moved = blocked = 0
    for seed in range(5):
        _, info = env.reset(seed=seed)
        layout = env.layout()
        n_cols = layout.walls.shape[1]
        for _ in range(200):
            action = int(rng.integers(3))
            before, heading = _cell(info), info["pose"]["heading"]
            _, reward, terminated, truncated, info = env.step(action)
            after = _cell(info)
            if action == TURN_LEFT:
                assert after == before and info["pose"]["heading"] == (heading + 90) % 360
            elif action == TURN_RIGHT:
                assert after == before and info["pose"]["heading"] == (heading - 90) % 360
            else:
                assert info["pose"]["heading"] == heading
                dx = round(math.cos(math.radians(heading)))
                dy = round(math.sin(math.radians(heading)))
                ahead = (before[0] + dy, before[1] + dx)
                if layout.walls[ahead]:
                    assert after == before
                    blocked += 1
                else:
                    assert after == ahead
                    # facing a neighbour by atan2 from pose coordinates equals the heading
                    angle = math.degrees(math.atan2(dy, dx)) % 360
                    assert angle == heading
                    moved += 1
            assert info["pose"]["cell"] == after[0] * n_cols + after[1]
            assert info["pose"]["x"] == after[1] + 0.5 and info["pose"]["y"] == after[0] + 0.5
            assert terminated == (after == layout.goal)
            if terminated or truncated:
                break
    assert moved > 20 and blocked > 20


def test_reaching_goal_rewards_and_terminates() -> None:
    env = make_maze_env("MazeEasy-v0", step_penalty=0.01)
    _, info = env.reset(seed=5)
    expert = WaypointExpert.for_env(route_for_env(env), env)
    rewards = []
    while True:
        _, reward, terminated, truncated, info = env.step(expert.act(info["pose"]))
        rewards.append(reward)
        if terminated or truncated:
            break
    assert terminated and not truncated and info["success"]
    assert rewards[-1] == pytest.approx(0.99)
    assert all(r == pytest.approx(-0.01) for r in rewards[:-1])
    assert _cell(info) == env.layout().goal


def test_truncation() -> None:
    env = make_maze_env("MazeEasy-v0", max_episode_steps=5)
    env.reset(seed=0)
    flags = [env.step(TURN_LEFT)[3] for _ in range(5)]
    assert flags == [False, False, False, False, True]
    env.reset(seed=0)
    assert not env.step(TURN_LEFT)[3]  # reset restarts the count
    default = make_maze_env("MazeEasy-v0")
    default.reset(seed=0)
    limit = 4 * int((~default.layout().walls).sum())
    for step in range(1, limit + 1):
        _, _, terminated, truncated, _ = default.step(TURN_RIGHT)
        assert not terminated
        assert truncated == (step == limit)


def test_render_rgb_array() -> None:
    env = make_maze_env("MazeEasy-v0", render_mode="rgb_array")
    _, info = env.reset(seed=2)
    image = env.render()
    assert image.shape == (9 * 16, 9 * 16, 3) and image.dtype == np.uint8
    row, col = _cell(info)
    # y points up in the picture: row r is drawn at picture row (n_rows - 1 - r)
    block = image[(8 - row) * 16:(9 - row) * 16, col * 16:(col + 1) * 16]
    assert (block == np.array([215, 50, 50], dtype=np.uint8)).all(axis=-1).any()
    assert make_maze_env("MazeEasy-v0").render() is None


def test_clone_and_restore_state() -> None:
    env = make_maze_env("MazeMedium-v0")
    env.reset(seed=0)
    state = env.clone_state()
    for action in (FORWARD, TURN_LEFT, FORWARD, FORWARD):
        expected = env.step(action)
    env.reset(seed=99)
    env.restore_state(state)
    for action in (FORWARD, TURN_LEFT, FORWARD, FORWARD):
        got = env.step(action)
    assert np.array_equal(got[0], expected[0]) and got[4] == expected[4]


def test_planned_route_points_every_cell_towards_the_goal() -> None:
    env = make_maze_env("MazeHard-v0")
    env.reset(seed=11)
    layout = env.layout()
    route = plan_maze_route(layout)
    n_cols = layout.walls.shape[1]
    free = ~layout.walls
    assert len(route) == int(free.sum())  # hard mazes are connected
    assert route.goal.id == f"r{layout.goal[0]}c{layout.goal[1]}"
    dist = bfs_distances(layout.walls, layout.goal)
    for waypoint in route.waypoints.values():
        col, row = int(waypoint.pos[0] - 0.5), int(waypoint.pos[1] - 0.5)
        assert waypoint.region == row * n_cols + col
        if waypoint.target is not None:
            target = route.waypoints[waypoint.target]
            trow, tcol = int(target.pos[1] - 0.5), int(target.pos[0] - 0.5)
            assert abs(trow - row) + abs(tcol - col) == 1
            assert dist[trow, tcol] == dist[row, col] - 1
    start_id = f"r{layout.start[0]}c{layout.start[1]}"
    assert len(route.path_from(start_id)) == dist[layout.start] + 1


def test_unreachable_goal_gives_a_clear_error() -> None:
    walls = np.ones((5, 7), dtype=bool)
    walls[1:4, 1:3] = False
    walls[1:4, 4:6] = False  # column 3 separates the two halves
    layout = MazeLayout(grid=walls, start=(1, 1), goal=(3, 5), seed=42)
    with pytest.raises(RouteError, match=r"maze seed 42: goal \(3, 5\) unreachable from start \(1, 1\)"):
        plan_maze_route(layout)
    with pytest.raises(RouteError, match="goal cell .* is a wall"):
        plan_maze_route(MazeLayout(grid=walls, start=(1, 1), goal=(0, 0), seed=1))
    walls[2, 3] = False
    assert plan_maze_route(layout).goal.id == "r3c5"


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_waypoint_expert_solves_every_maze(difficulty: str) -> None:
    env = make_maze_env(f"Maze{difficulty}-v0")
    results = [_run_expert(env, seed) for seed in range(200)]
    assert all(ok for ok, _ in results)


def test_waypoint_expert_through_gym_make_and_fixed_layout() -> None:
    env = gym.make("MazeMediumPixels-v0", fixed_layout_seed=5)
    for seed in range(10):
        ok, _ = _run_expert(env, seed)
        assert ok
    env.close()


def test_sb3_policies_accept_the_observations() -> None:
    torch = pytest.importorskip("torch")
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    for env_id, obs_type, policy in (
        ("MazeEasyPixels-v0", "pixels", "CnnPolicy"),
        ("MazeEasy-v0", "dict", "MultiInputPolicy"),
    ):
        env = make_maze_env(env_id, obs_type=obs_type)
        model = PPO(policy, env, n_steps=16, batch_size=16, n_epochs=1, device="cpu",
                    policy_kwargs={"features_extractor_kwargs": {"features_dim": 16}} if policy == "CnnPolicy" else None)
        model.learn(16)
        obs, _ = env.reset(seed=0)
        action, _ = model.predict(obs, deterministic=True)
        # the greedy action is the mode of the policy's distribution on the observation as SB3 preprocesses it
        obs_tensor, _ = model.policy.obs_to_tensor(obs)
        with torch.no_grad():
            mode = model.policy.get_distribution(obs_tensor).mode()
        assert int(action) == int(mode.item())
        if obs_type == "pixels":  # HWC images reach the CNN channel-first
            assert model.policy.observation_space.shape == (1, 40, 40)
        env.close()


def test_module_lists_all_ids() -> None:
    assert sorted(maze.MAZE_IDS) == sorted(
        f"Maze{d}{p}-v0" for d in DIFFICULTIES for p in ("", "Pixels")
    )
    assert all(env_id in gym.registry for env_id in maze.MAZE_IDS)


def test_generate_maze_names_a_bad_size_or_loops() -> None:
    with pytest.raises(BadOptionError, match="maze size must be an integer >= 2.*'6'"):
        generate_maze("6")
    with pytest.raises(BadOptionError, match="loops must be an integer >= 0, got 1.5"):
        generate_maze(4, loops=1.5)


def test_planned_maze_route_fits_its_layout_only(tmp_path) -> None:
    from sb3_plus.experts import ExpertController, RouteMismatchError

    env = make_maze_env("MazeEasy-v0", fixed_layout_seed=5)
    env.reset(seed=0)
    path = tmp_path / "seed5.yaml"
    plan_maze_route(env.layout()).save(path)
    assert ExpertController(env, route=str(path)).route_source == str(path)
    other = make_maze_env("MazeEasy-v0", fixed_layout_seed=6)
    with pytest.raises(RouteMismatchError, match="layout seed 5.*fixed_layout_seed 6"):
        ExpertController(other, route=str(path))
    smaller = make_maze_env("MazeEasy-v0", size=2)  # a 5x5 grid: the 9x9 route's far cells lie outside
    with pytest.raises(RouteMismatchError, match="outside x in \\[0, 5\\)"):
        ExpertController(smaller, route=str(path))


def test_num_layouts_draws_training_mazes_and_the_default_draws_unseen_ones():
    train_env = make_maze_env("MazeEasy-v0", num_layouts=3, start_layout=50)
    seen = set()
    for seed in range(30):
        train_env.reset(seed=seed)
        seen.add(train_env.unwrapped._layout_seed)
    assert seen == {50, 51, 52}
    test_env = make_maze_env("MazeEasy-v0")
    unseen = set()
    for seed in range(30):
        test_env.reset(seed=seed)
        unseen.add(test_env.unwrapped._layout_seed)
    assert len(unseen) == 30 and not unseen & seen
    # the same training layout seed gives the same walls as options={"layout_seed": ...} on any env
    train_env.reset(seed=0)
    test_env.reset(seed=0, options={"layout_seed": train_env.unwrapped._layout_seed})
    assert (train_env.unwrapped.layout().grid == test_env.unwrapped.layout().grid).all()


def test_num_layouts_with_a_fixed_layout_is_refused_with_the_fix():
    with pytest.raises(BadOptionError, match="num_layouts and fixed_layout_seed.*Fix"):
        make_maze_env("MazeEasy-v0", num_layouts=3, fixed_layout_seed=0)
    with pytest.raises(BadOptionError, match="num_layouts"):
        make_maze_env("MazeEasy-v0", num_layouts=0)
