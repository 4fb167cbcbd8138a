"""The envs an episode loop plays: gymnasium envs side by side, or an SB3 VecEnv, each episode seeded."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, unwrap_vec_normalize

from sb3_plus.errors import BadOptionError
from sb3_plus.rollout.actors import stack_steps

Playable = gym.Env | Sequence[gym.Env] | VecEnv


def _at(obs: Any, j: int) -> Any:
    if isinstance(obs, dict):
        return {k: v[j] for k, v in obs.items()}
    if isinstance(obs, tuple):
        return tuple(v[j] for v in obs)
    return obs[j]


NO_MASKS = ("a maskable policy (MaskablePPO) plays an env without action_masks(). Fix: play it on an env that has "
            "them (mazes; ViZDoom with max_buttons_pressed >= 2), or train with ppo")


class _GymSlots:
    """Gymnasium envs side by side: a free env is reset at once with the next episode's seed."""

    def __init__(self, envs: Sequence[gym.Env]) -> None:
        self.envs = list(envs)
        self.n = len(self.envs)
        self.discrete = isinstance(self.envs[0].action_space, spaces.Discrete)
        self.obs: list[Any] = [None] * self.n
        self.infos: list[dict[str, Any]] = [{} for _ in range(self.n)]
        self.starts = np.zeros(self.n, dtype=bool)
        self.fresh = False  # some start flag is set
        self.env_seconds = 0.0

    def batch(self) -> Any:
        if self.n == 1 and isinstance(self.obs[0], np.ndarray):
            return self.obs[0][None]  # a view: the common single-env case copies nothing
        return stack_steps(self.obs)

    def masks(self) -> np.ndarray:
        """Every env's ``action_masks()``."""
        try:
            return np.stack([env.get_wrapper_attr("action_masks")() for env in self.envs])
        except AttributeError:
            raise BadOptionError(NO_MASKS) from None

    def step(self, actions: Sequence[Any], running: list[Any]) -> list[tuple]:
        out = []
        for j, ep in enumerate(running):
            if ep is None:
                continue
            action = int(actions[j]) if self.discrete else np.asarray(actions[j])
            t0 = time.perf_counter()
            obs, reward, term, trunc, info = self.envs[j].step(action)
            self.env_seconds += time.perf_counter() - t0
            self.obs[j], self.infos[j] = obs, info
            out.append((j, action, obs, float(reward), bool(term), bool(trunc), info))
        if self.fresh:
            self.starts[:] = False
            self.fresh = False
        return out

    def refill(self, pending: deque, running: list[Any], begin: Callable[..., None]) -> None:
        for j in range(self.n):
            if running[j] is None and pending:
                index, seed = pending.popleft()
                t0 = time.perf_counter()
                obs, info = self.envs[j].reset(seed=seed)
                self.env_seconds += time.perf_counter() - t0
                self.obs[j], self.infos[j], self.starts[j], self.fresh = obs, info, True, True
                begin(j, index, seed, obs, info)


class _VecSlots:
    """An SB3 VecEnv, played in waves of ``num_envs`` episodes with consecutive seeds."""

    def __init__(self, venv: VecEnv) -> None:
        self.venv = venv
        self.n = venv.num_envs
        self.discrete = isinstance(venv.action_space, spaces.Discrete)
        base = venv
        while isinstance(base, VecEnvWrapper):
            base = base.venv
        self.base = base  # wrappers keep an empty reset_infos of their own; the base env has the real ones
        self.normalizer = unwrap_vec_normalize(venv)
        self.obs: Any = None
        self.infos: list[dict[str, Any]] = [{} for _ in range(self.n)]
        self.starts = np.zeros(self.n, dtype=bool)
        self.env_seconds = 0.0

    def batch(self) -> Any:
        return self.obs

    def masks(self) -> np.ndarray:
        """Every env's ``action_masks()``."""
        if not self.venv.has_attr("action_masks"):
            raise BadOptionError(NO_MASKS)
        return np.stack(self.venv.env_method("action_masks"))

    def step(self, actions: Sequence[Any], running: list[Any]) -> list[tuple]:
        t0 = time.perf_counter()
        obs, rewards, dones, infos = self.venv.step(np.asarray(actions))
        self.env_seconds += time.perf_counter() - t0
        if self.normalizer is not None:  # returns in the env's own reward units
            rewards = self.normalizer.get_original_reward()
        out = []
        for j, ep in enumerate(running):
            if ep is None:
                continue
            done, info = bool(dones[j]), infos[j]
            trunc = done and bool(info.get("TimeLimit.truncated", False))
            next_obs = info["terminal_observation"] if done else _at(obs, j)
            action = int(actions[j]) if self.discrete else np.asarray(actions[j])
            out.append((j, action, next_obs, float(rewards[j]), done and not trunc,
                        trunc, info))
        self.obs, self.infos, self.starts = obs, list(infos), np.asarray(dones, dtype=bool).copy()
        return out

    def refill(self, pending: deque, running: list[Any], begin: Callable[..., None]) -> None:
        if not pending or any(r is not None for r in running):
            return
        wave = [pending.popleft() for _ in range(min(self.n, len(pending)))]
        first = wave[0][1]
        if any(seed != first + k for k, (_, seed) in enumerate(wave)):
            raise BadOptionError(f"a VecEnv of {self.n} envs seeds env j with s + j, so its episodes need consecutive "
                                 f"seeds; got {[s for _, s in wave]}. Fix: pass episodes and seed, or one env")
        self.venv.seed(first)
        t0 = time.perf_counter()
        self.obs = self.venv.reset()
        self.env_seconds += time.perf_counter() - t0
        self.infos = [dict(info) for info in self.base.reset_infos]
        self.starts[:] = True
        for j, (index, seed) in enumerate(wave):
            begin(j, index, seed, _at(self.obs, j), self.infos[j])


def make_slots(env: Playable, n_episodes: int) -> _GymSlots | _VecSlots:
    if isinstance(env, VecEnv):
        return _VecSlots(env)
    if isinstance(env, gym.Env):
        return _GymSlots([env])
    if isinstance(env, (list, tuple)) and env and all(isinstance(e, gym.Env) for e in env):
        # more envs than episodes would only ask the actor about envs that never start
        return _GymSlots(list(env)[: max(1, n_episodes)])
    raise BadOptionError(f"cannot play episodes on {type(env).__name__}. Fix: pass a gymnasium env, a list of "
                         "them, or a stable_baselines3 VecEnv")
