"""Potential-based reward shaping: telescoping, loop-proof, terminal potential 0, zoo env_wrapper use."""

from __future__ import annotations

import numpy as np
import pytest

from sb3_plus.config import load_hyperparams
from sb3_plus.envs import make_env
from sb3_plus.envs.shaping import PotentialShaping
from sb3_plus.errors import BadOptionError
from sb3_plus.experts.maze_planner import route_for_env

TURN_LEFT, FORWARD = 0, 2
FIXED = {"fixed_layout_seed": 0, "fixed_start": True}


def _free_direction(env: PotentialShaping) -> None:
    """Turn (under the wrapper, on a snapshot) until the cell ahead is free, so that a forward step moves."""
    maze = env.unwrapped
    for _ in range(4):
        before, state = maze.agent_cell, maze.clone_state()
        maze.step(FORWARD)
        moved = maze.agent_cell != before
        maze.restore_state(state)
        if moved:
            return
        maze.step(TURN_LEFT)
        maze.restore_state({**maze.clone_state(), "steps": state["steps"]})


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_going_back_and_forth_earns_only_the_telescoped_sum(gamma: float) -> None:
    env = PotentialShaping(make_env("MazeHard-v0", **FIXED), potential="maze_distance", gamma=gamma)
    _, info = env.reset(seed=0)
    phi0 = env.phi(info)
    _free_direction(env)
    shaped, discount = 0.0, 1.0
    # forward, turn around, forward (back to the start cell), turn around: 20 times
    for step, action in enumerate([FORWARD, TURN_LEFT, TURN_LEFT, FORWARD, TURN_LEFT, TURN_LEFT] * 20):
        _, reward, terminated, truncated, info = env.step(action)
        assert not terminated and reward == pytest.approx(info["shaping_reward"])  # the maze's own reward is 0
        shaped += discount * reward
        discount *= gamma
    assert env.unwrapped.agent_cell == env.unwrapped.layout().start
    # the discounted sum is gamma^T phi(s_T) - phi(s_0), whatever the path: a loop farms nothing
    assert shaped == pytest.approx(discount * env.phi(info) - phi0)
    if gamma == 1.0:
        assert shaped == pytest.approx(0.0)


def test_reaching_the_goal_ends_with_potential_zero_and_shaping_points_the_way() -> None:
    env = PotentialShaping(make_env("MazeEasy-v0", **FIXED), potential="maze_distance", gamma=1.0)
    _, info = env.reset(seed=0)
    start_phi = env.phi(info)
    assert start_phi < -5
    from sb3_plus.experts.follower import WaypointExpert

    expert = WaypointExpert.for_env(route_for_env(env), env)
    total, terminated, forward_gain = 0.0, False, []
    while not terminated:
        action = expert.act(info["pose"])
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        if action == FORWARD:
            forward_gain.append(info["shaping_reward"])
        assert not truncated
    # the goal's reward 1, plus 0 - phi(s_0): the shortest path to the goal gains exactly its length
    assert total == pytest.approx(1.0 - start_phi)
    assert all(g == pytest.approx(1.0) for g in forward_gain)


def test_bad_settings_are_named() -> None:
    with pytest.raises(BadOptionError, match="unknown potential 'nearer'.*maze_distance"):
        PotentialShaping(make_env("MazeEasy-v0"), potential="nearer")
    with pytest.raises(BadOptionError, match="needs goal=\\[x, y\\]"):
        PotentialShaping(make_env("MazeEasy-v0"), potential="goal_distance")
    with pytest.raises(BadOptionError, match="needs a maze env"):
        PotentialShaping(make_env("CartPole-v1"), potential="maze_distance")


def test_goal_distance_and_the_zoo_env_wrapper(tmp_path) -> None:
    conf = tmp_path / "ppo.yml"
    conf.write_text("default:\n  policy: MlpPolicy\n  n_timesteps: 1000\n  env_wrapper:\n"
                    "    - sb3_plus.envs.shaping.PotentialShaping: {potential: goal_distance, goal: [0.5, 0.5], "
                    "gamma: 1.0}\n")
    config = load_hyperparams("ppo", "MazeEasy-v0", conf_file=conf)
    env = config.env_wrapper_fn()(make_env("MazeEasy-v0"))
    _, info = env.reset(seed=3)
    pose = info["pose"]
    assert env.phi(info) == pytest.approx(-np.hypot(pose["x"] - 0.5, pose["y"] - 0.5))
