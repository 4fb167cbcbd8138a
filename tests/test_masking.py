"""Action masks: the envs that know them, MaskablePPO training, and evaluation that never picks a masked action."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from sb3_plus.envs import make_env
from sb3_plus.evaluation import evaluate_model
from sb3_plus.models import load_model
from sb3_plus.training import train

FAST = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1", "vec_env_class:'dummy'"]


class MaskAudit(gym.Wrapper):
    """Counts the actions taken while masked."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.masked_taken = self.taken = 0

    def step(self, action):
        mask = self.env.get_wrapper_attr("action_masks")()
        self.taken += 1
        self.masked_taken += int(not mask[int(action)])
        return self.env.step(action)


def test_maze_masks_forward_into_a_wall() -> None:
    env = make_env("MazeEasy-v0")
    env.reset(seed=0)
    maze = env.unwrapped
    for _ in range(40):
        mask = maze.action_masks()
        before = maze.agent_cell
        env.step(2)
        assert mask[:2].all() and mask[2] == (maze.agent_cell != before)
        env.step(int(np.random.default_rng(len(str(before))).integers(2)))


def test_vizdoom_masks_opposing_buttons() -> None:
    env = make_env("VizdoomBasic-v1", max_buttons_pressed=2)
    try:
        mask = env.get_wrapper_attr("action_masks")()
        combos = env.unwrapped.button_map
        names = [b.name for b in env.get_wrapper_attr("game").get_available_buttons()]
        left, right = names.index("MOVE_LEFT"), names.index("MOVE_RIGHT")
        assert mask.shape == (env.action_space.n,)
        for action, combo in enumerate(combos):
            assert mask[action] == (not (combo[left] and combo[right]))
        assert not mask.all()
    finally:
        env.close()


@pytest.mark.parametrize("algo", ["maskable_ppo", "ppo_mask"])
def test_maskable_ppo_never_takes_a_masked_action(tmp_path, algo: str) -> None:
    result = train(algo, "MazeEasy-v0", n_timesteps=512, log_folder=tmp_path, hyperparams=FAST, eval_freq=0,
                   verbose=0)
    model = load_model(result.model_path)
    env = MaskAudit(make_env("MazeEasy-v0"))
    evaluate_model(model, env, episodes=3, seed=10_000, deterministic=False)
    assert env.taken > 50 and env.masked_taken == 0
    # the same policy without masks walks into walls: the masks are what keeps it out
    unmasked = MaskAudit(make_env("MazeEasy-v0"))
    obs, _ = unmasked.reset(seed=10_000)
    for _ in range(200):
        action, _ = model.predict(obs[None], deterministic=False)
        obs, _, term, trunc, _ = unmasked.step(int(action[0]))
        if term or trunc:
            obs, _ = unmasked.reset()
    assert unmasked.masked_taken > 0


class _NoMasks(gym.Env):
    """The maze's spaces, no action_masks()."""

    def __init__(self) -> None:
        maze = make_env("MazeEasy-v0")
        self.observation_space, self.action_space = maze.observation_space, maze.action_space

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample() * 0, {}

    def step(self, action):
        return self.observation_space.sample() * 0, 0.0, True, False, {}


def test_a_maskable_policy_on_an_env_without_masks_is_a_clear_error(tmp_path) -> None:
    from stable_baselines3.common.vec_env import DummyVecEnv

    from sb3_plus.errors import BadOptionError

    result = train("maskable_ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST,
                   eval_freq=0, verbose=0)
    model = load_model(result.model_path)
    for env in (_NoMasks(), DummyVecEnv([_NoMasks])):
        with pytest.raises(BadOptionError, match="without action_masks\\(\\).*Fix"):
            evaluate_model(model, env, episodes=1)


def test_dagger_s_mixture_hands_the_masks_to_a_maskable_learner(tmp_path) -> None:
    from sb3_plus.rollout.actors import MixtureActor, PolicyActor
    from sb3_plus.rollout.loop import play_episodes

    result = train("maskable_ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST,
                   eval_freq=0, verbose=0)
    model = load_model(result.model_path)
    env = MaskAudit(make_env("MazeEasy-v0"))
    mixture = MixtureActor(PolicyActor(model.policy, deterministic=False), expert=PolicyActor(model.policy), beta=0.0)
    assert mixture.maskable
    play_episodes(env, mixture, episodes=2, seed=10_000, max_steps=100)
    assert env.taken > 50 and env.masked_taken == 0  # the learner acted, and never into a wall
