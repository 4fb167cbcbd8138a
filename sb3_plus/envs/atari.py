"""Atari 2600 games over ``ale-py`` (its wheel bundles the ROMs), with the standard DQN-paper preprocessing.

Ids: ``ALE/<Game>-v5`` (sticky actions 0.25 by default, as the ALE recommends) and
``<Game>NoFrameskip-v4`` (no sticky actions, the ids of rl-zoo3 and the older papers). Every id
works with :func:`sb3_plus.envs.make_env`; the emulator always runs at frame skip 1 underneath.

Preprocessing (SB3's ``AtariWrapper`` chain, from SB3's own wrappers, with the frame resized by
Pillow instead of OpenCV): up to ``noop_max`` no-ops on reset, FIRE on reset where the game needs
it, ``frame_skip`` frames per action with a max over the last two, the ALE's grayscale screen
area-averaged to ``screen_size`` square ``uint8`` frames ``(84, 84, 1)``. Two parts are for training only (:data:`TRAINING_ONLY`): ``episodic_life`` (a lost
life ends the episode for the learner, not the game) and ``clip_reward`` (rewards to their sign).
Training envs turn both on; evaluation, videos and experts play whole games with the real score.
Frame stacking is the zoo's ``frame_stack``, as for every family.

Go-Explore returns to states through ``clone_state()`` / ``restore_state(state)`` (the ALE's
own snapshots, picklable for archives). ``info["ram"]`` (the 128 bytes of console RAM) is there
with ``ram_info=True``: privileged state for experts and cells, never an observation.
"""

from __future__ import annotations

import pickle
import re
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from PIL import Image

from sb3_plus.envs.options import OptionSpec
from sb3_plus.envs.registry import EnvFamily, register_family
from sb3_plus.errors import BadOptionError

__all__ = ["ATARI_OPTIONS", "AtariState", "TRAINING_ONLY", "make_atari_env", "is_atari_id"]

_ID = re.compile(r"^(ALE/[A-Za-z0-9]+-v5|[A-Za-z0-9]+NoFrameskip-v4)$")

#: Options that training envs and evaluation envs set differently: name -> (training value, evaluation value).
TRAINING_ONLY: dict[str, tuple[Any, Any]] = {"episodic_life": (True, False), "clip_reward": (True, False)}

#: Options of the Atari family (``make_env("ALE/Pong-v5", **options)``).
ATARI_OPTIONS: dict[str, OptionSpec] = {s.name: s for s in (
    OptionSpec("noop_max", "int", "most random no-ops at reset", 30, low=0),
    OptionSpec("frame_skip", "int", "frames per action (max-pooled over the last two)", 4, low=1, high=16),
    OptionSpec("screen_size", "int", "side of the square grayscale frame", 84, low=8, high=256),
    OptionSpec("episodic_life", "bool", "a lost life ends the episode (training envs: on)", False),
    OptionSpec("clip_reward", "bool", "rewards clipped to their sign (training envs: on)", False),
    OptionSpec("sticky_actions", "float", "chance the previous action repeats (default: v5 0.25, v4 0)", 0.25,
               low=0.0, high=1.0, high_open=True, optional=True),
    OptionSpec("full_action_space", "bool", "all 18 actions instead of the game's minimal set", False),
    OptionSpec("ram_info", "bool", "put the console RAM in info['ram']", True),
    OptionSpec("render_mode", "choice", "what env.render() returns", "rgb_array", choices=("rgb_array",),
               optional=True),
)}


def is_atari_id(env_id: str) -> bool:
    """Whether ``env_id`` is an Atari id this family builds."""
    return bool(_ID.match(env_id))


def _register_ale() -> None:
    import ale_py

    gym.register_envs(ale_py)
    ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner on every env


class GrayResize(gym.ObservationWrapper):
    """A 2-D grayscale frame, area-averaged to ``size`` x ``size`` with a channel axis: ``(size, size, 1)``."""

    def __init__(self, env: gym.Env, size: int) -> None:
        super().__init__(env)
        self.size = int(size)
        self.observation_space = spaces.Box(0, 255, shape=(self.size, self.size, 1), dtype=np.uint8)

    def observation(self, frame: np.ndarray) -> np.ndarray:
        small = Image.fromarray(frame).resize((self.size, self.size), Image.BOX)
        return np.asarray(small, dtype=np.uint8)[:, :, None]


class AtariState(gym.Wrapper):
    """The ALE's snapshots as the family's restore capability, and the RAM in ``info`` (optional)."""

    def __init__(self, env: gym.Env, ram_info: bool) -> None:
        super().__init__(env)
        self.ram_info = ram_info

    def _with_ram(self, info: dict[str, Any]) -> dict[str, Any]:
        if self.ram_info:
            info["ram"] = self.env.unwrapped.ale.getRAM().copy()
        return info

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        return obs, self._with_ram(info)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._with_ram(info)

    def clone_state(self) -> Any:
        """The emulator's state (with its random generator, so sticky actions replay the same)."""
        return self.env.unwrapped.clone_state(include_rng=True)

    def restore_state(self, state: Any) -> None:
        self.env.unwrapped.restore_state(state)

    @staticmethod
    def encode_state(state: Any) -> bytes:
        return pickle.dumps(state)

    @staticmethod
    def decode_state(data: bytes) -> Any:
        return pickle.loads(data)


def make_atari_env(env_id: str, noop_max: int = 30, frame_skip: int = 4, screen_size: int = 84,
                   episodic_life: bool = False, clip_reward: bool = False, sticky_actions: float | None = None,
                   full_action_space: bool = False, ram_info: bool = False,
                   render_mode: str | None = None) -> gym.Env:
    """An Atari game with the standard preprocessing (see the module).

    :param env_id: ``ALE/<Game>-v5`` or ``<Game>NoFrameskip-v4``.
    :param sticky_actions: the ALE's repeat-action probability (default: the id's, 0.25 for v5, 0 for v4).
    :raises BadOptionError: an unknown game, with the fix.
    """
    from stable_baselines3.common.atari_wrappers import (ClipRewardEnv, EpisodicLifeEnv, FireResetEnv,
                                                         MaxAndSkipEnv, NoopResetEnv)

    _register_ale()
    if env_id not in gym.registry:
        games = sorted(k for k in gym.registry if k.startswith("ALE/") and k.endswith("-v5"))
        raise BadOptionError(f"unknown Atari game {env_id!r}. Fix: use one of the ALE ids, e.g. "
                             f"{', '.join(games[:6])} (or <Game>NoFrameskip-v4)")
    kwargs: dict[str, Any] = {"frameskip": 1, "obs_type": "grayscale", "full_action_space": bool(full_action_space)}
    if sticky_actions is not None:
        kwargs["repeat_action_probability"] = float(sticky_actions)
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    env = gym.make(env_id, **kwargs)
    # the order of SB3's AtariWrapper
    if noop_max > 0:
        env = NoopResetEnv(env, noop_max=noop_max)
    if frame_skip > 1:
        env = MaxAndSkipEnv(env, skip=frame_skip)
    if episodic_life:
        env = EpisodicLifeEnv(env)
    if "FIRE" in env.unwrapped.get_action_meanings():
        env = FireResetEnv(env)
    env = GrayResize(env, screen_size)
    if clip_reward:
        env = ClipRewardEnv(env)
    return AtariState(env, bool(ram_info))


register_family(EnvFamily(
    name="atari",
    matches=is_atari_id,
    build=make_atari_env,
    examples=["ALE/Pong-v5", "ALE/Breakout-v5", "ALE/MontezumaRevenge-v5", "PongNoFrameskip-v4"],
    options=ATARI_OPTIONS,
    training_only=TRAINING_ONLY,
    reports_success=False,
))
