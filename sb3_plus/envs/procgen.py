"""Procgen games (``procgen-mirror``, the maintained build of OpenAI's Procgen) behind a gymnasium adapter.

Ids: ``Procgen-<game>-v0`` (``Procgen-coinrun-v0``, ``Procgen-bigfish-v0``, ...). Observations are
64x64 RGB ``uint8`` frames; 15 actions. Options: ``num_levels`` (0: every level; 200 is the
competition's training set), ``start_level``, ``distribution_mode`` (``easy``, ``hard``, ...),
``use_backgrounds``, ``paint_vel_info``, ``center_agent``.

Seeds and levels: ``reset(seed=s)`` starts a fresh game whose level sequence is drawn by ``s`` from
``[start_level, start_level + num_levels)``; a reset without a seed goes on to the next level of the
sequence (Procgen starts it by itself when an episode ends). So training envs seeded once play many
levels of the training set, and evaluation on seeds ``10000+`` with ``num_levels: 0`` plays levels
the training set almost surely lacks (train on 200, test on unseen levels:
``--env-kwargs num_levels:0``). ``info["success"]``: the level was completed (CoinRun's coin).
Go-Explore restores states through Procgen's own ``get_state``/``set_state``.

procgen-mirror declares numpy < 2 and the old ``gym``; it runs on this stack's numpy 2 installed
without those pins (the Makefile does it, as for ``imitation``).
"""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sb3_plus.envs.options import OptionSpec
from sb3_plus.envs.registry import EnvFamily, register_family
from sb3_plus.errors import BadOptionError

__all__ = ["GAMES", "PROCGEN_OPTIONS", "ProcgenEnv", "make_procgen_env"]

#: The 16 Procgen games.
GAMES = ("bigfish", "bossfight", "caveflyer", "chaser", "climber", "coinrun", "dodgeball", "fruitbot", "heist",
         "jumper", "leaper", "maze", "miner", "ninja", "plunder", "starpilot")
_ID = re.compile(r"^Procgen-([a-z]+)-v0$")

#: Options of the Procgen family.
PROCGEN_OPTIONS: dict[str, OptionSpec] = {s.name: s for s in (
    OptionSpec("num_levels", "int", "levels in the set (0: all)", 200, low=0),
    OptionSpec("start_level", "int", "first level of the set", 0, low=0),
    OptionSpec("distribution_mode", "choice", "level difficulty", "easy",
               choices=("easy", "hard", "extreme", "memory", "exploration")),
    OptionSpec("use_backgrounds", "bool", "draw the background images", True),
    OptionSpec("paint_vel_info", "bool", "paint the velocity in the frame's corner", False),
    OptionSpec("center_agent", "bool", "the view follows the agent", True),
    OptionSpec("render_mode", "choice", "what env.render() returns", "rgb_array", choices=("rgb_array",),
               optional=True),
)}


class ProcgenEnv(gym.Env):
    """One Procgen game as a gymnasium env (see the module for seeds and levels).

    :param game: one of :data:`GAMES`.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, game: str, num_levels: int = 200, start_level: int = 0, distribution_mode: str = "easy",
                 use_backgrounds: bool = True, paint_vel_info: bool = False, center_agent: bool = True,
                 render_mode: str | None = None) -> None:
        if game not in GAMES:
            raise BadOptionError(f"unknown Procgen game {game!r}. Fix: use one of {', '.join(GAMES)}")
        self.game, self.render_mode = game, render_mode
        self.settings = {"num_levels": int(num_levels), "start_level": int(start_level),
                         "distribution_mode": distribution_mode, "use_backgrounds": bool(use_backgrounds),
                         "paint_vel_info": bool(paint_vel_info), "center_agent": bool(center_agent)}
        self.observation_space = spaces.Box(0, 255, (64, 64, 3), np.uint8)
        self.action_space = spaces.Discrete(15)
        self._env: Any = None
        self._obs = np.zeros((64, 64, 3), np.uint8)
        self._ended = True

    def _make(self, seed: int) -> None:
        from procgen import ProcgenGym3Env

        self._env = ProcgenGym3Env(num=1, env_name=self.game, rand_seed=int(seed) % 2**31, **self.settings)

    def _info(self) -> dict[str, Any]:
        raw = self._env.get_info()[0]
        return {"level_seed": int(raw["level_seed"]), "success": False}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None or self._env is None:
            self._make(seed if seed is not None else int(self.np_random.integers(2**31)))
            _, obs, _ = self._env.observe()
            self._obs = obs["rgb"][0]
        self._ended = False
        return self._obs, self._info()

    def step(self, action: Any):
        self._env.act(np.array([int(action)], dtype=np.int32))
        reward, obs, first = self._env.observe()
        self._obs = obs["rgb"][0]  # at an episode's end: the next level's first frame (Procgen restarts itself)
        raw = self._env.get_info()[0]
        terminated = bool(first[0])
        info = {"level_seed": int(raw["level_seed"]),
                "success": terminated and bool(raw["prev_level_complete"])}
        self._ended = terminated
        return self._obs, float(reward[0]), terminated, False, info

    def render(self) -> np.ndarray:
        return self._obs.copy()

    def clone_state(self) -> bytes:
        """The game's state (Procgen's own serialisation)."""
        return bytes(self._env.callmethod("get_state")[0])

    def restore_state(self, state: bytes) -> None:
        self._env.callmethod("set_state", [state])
        _, obs, _ = self._env.observe()
        self._obs = obs["rgb"][0]

    @staticmethod
    def encode_state(state: bytes) -> bytes:
        return bytes(state)

    @staticmethod
    def decode_state(data: bytes) -> bytes:
        return bytes(data)

    def close(self) -> None:
        self._env = None


def make_procgen_env(env_id: str, **kwargs: Any) -> gym.Env:
    """``Procgen-<game>-v0`` with the options of :data:`PROCGEN_OPTIONS`.

    :raises BadOptionError: an unknown game, or Procgen not installed (with the fix).
    """
    match = _ID.match(env_id)
    if match is None or match.group(1) not in GAMES:
        raise BadOptionError(f"unknown Procgen id {env_id!r}. Fix: use Procgen-<game>-v0 with a game among "
                             f"{', '.join(GAMES)}")
    try:
        import procgen  # noqa: F401
    except ImportError as exc:
        raise BadOptionError(f"Procgen is not installed ({exc}). Fix: run `make install` (it installs procgen-mirror "
                             "and gym3 without their numpy<2 pins)") from None
    return ProcgenEnv(match.group(1), **kwargs)


register_family(EnvFamily(
    name="procgen",
    matches=lambda env_id: bool(_ID.match(env_id)),
    build=make_procgen_env,
    examples=["Procgen-coinrun-v0", "Procgen-bigfish-v0", "Procgen-starpilot-v0"],
    options=PROCGEN_OPTIONS,
))
