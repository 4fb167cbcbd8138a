"""Composable wrappers shared by the env families (one idea each)."""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import StickyAction

from sb3_plus.envs.options import VIZDOOM_OPTIONS, check_option
from sb3_plus.errors import BadOptionError


class ChannelFrameStack(gym.ObservationWrapper):
    """Stack ``n_frames`` images along the channel (last) axis: (H, W, C) -> (H, W, C*n), oldest first.

    With ``gap`` k the frames are k steps apart (``t - (n-1)k, ..., t - k, t``): the same number of
    channels reaching further back (the Procgen log found a gap of 2 at frame skip 2 helped). Usable in any
    family through rl-zoo3's ``env_wrapper``: ``sb3_plus.envs.wrappers.ChannelFrameStack: {n_frames: 4, gap: 2}``.
    """

    def __init__(self, env: gym.Env, n_frames: int, gap: int = 1) -> None:
        super().__init__(env)
        check_option(VIZDOOM_OPTIONS["frame_stack"], n_frames, "ChannelFrameStack")
        check_option(VIZDOOM_OPTIONS["frame_gap"], gap, "ChannelFrameStack")
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) != 3:
            raise BadOptionError(f"ChannelFrameStack needs (H, W, C) Box observations, got {space}")
        self.n_frames, self.gap = n_frames, gap
        self._frames: deque[np.ndarray] = deque(maxlen=(n_frames - 1) * gap + 1)
        low = np.repeat(space.low, n_frames, axis=-1)
        high = np.repeat(space.high, n_frames, axis=-1)
        self.observation_space = spaces.Box(low=low, high=high, dtype=space.dtype)

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        for _ in range(self._frames.maxlen):
            self._frames.append(obs)
        return self.observation(obs), info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._frames.append(obs)
        return self.observation(obs), reward, terminated, truncated, info

    def observation(self, observation: np.ndarray) -> np.ndarray:
        frames = list(self._frames)
        return np.concatenate(frames[::self.gap] if self.gap > 1 else frames, axis=-1)


class StickyActions(StickyAction):
    """With probability ``p`` repeat the previous action instead of the chosen one (Machado et al.).

    gymnasium's :class:`~gymnasium.wrappers.StickyAction` under its sb3-plus name and argument
    (``p``), with a bad probability reported as a :class:`~sb3_plus.errors.BadOptionError`.
    """

    def __init__(self, env: gym.Env, p: float = 0.25) -> None:
        check_option(VIZDOOM_OPTIONS["sticky_actions"], p, "StickyActions")
        # recorded first (the first record wins), so that the env spec rebuilds this class with its own argument
        gym.utils.RecordConstructorArgs.__init__(self, p=p)
        super().__init__(env, repeat_action_probability=p)
        self.p = p


class ScenarioRandomizer(gym.Env):
    """Pick one of several scenarios/maps at random on each reset (seeded).

    All scenarios must share observation and action spaces. Sub-envs are built lazily,
    kept open, and all closed by :meth:`close`. ``info["scenario"]`` (an index into
    ``scenarios``) is set on every step.

    :param scenarios: env ids, or dicts ``{"env_id": ..., **make_env kwargs}``.
    :param make: env factory, :func:`sb3_plus.envs.make_env` by default.
    """

    def __init__(self, scenarios: Sequence[str | dict[str, Any]], make: Callable[..., gym.Env] | None = None) -> None:
        if not scenarios:
            raise BadOptionError("ScenarioRandomizer needs at least one scenario (env id or {'env_id': ..., ...}).")
        if make is None:
            from sb3_plus.envs import make_env as make
        self._make = make
        self.scenarios = [s if isinstance(s, dict) else {"env_id": s} for s in scenarios]
        self._envs: dict[int, gym.Env] = {}
        self.current = 0
        first = self._env(0)
        self.observation_space = first.observation_space
        self.action_space = first.action_space
        self.metadata = dict(getattr(first, "metadata", {}))
        self.render_mode = getattr(first, "render_mode", None)

    def _env(self, index: int) -> gym.Env:
        if index not in self._envs:
            spec = dict(self.scenarios[index])
            env = self._make(spec.pop("env_id"), **spec)
            if self._envs:
                ref = self._envs[min(self._envs)]
                if env.observation_space != ref.observation_space or env.action_space != ref.action_space:
                    env.close()
                    raise BadOptionError(
                        f"Scenario {self.scenarios[index]} has spaces {env.observation_space} / {env.action_space}, "
                        f"but {self.scenarios[min(self._envs)]} has {ref.observation_space} / {ref.action_space}. "
                        "Fix: give every scenario the same preprocessing and buttons."
                    )
            self._envs[index] = env
        return self._envs[index]

    @property
    def env(self) -> gym.Env:
        """The scenario in play."""
        return self._env(self.current)

    def get_wrapper_attr(self, name: str) -> Any:
        if hasattr(self, name):
            return getattr(self, name)
        return self.env.get_wrapper_attr(name)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.current = int(self.np_random.integers(len(self.scenarios)))
        sub_seed = int(self.np_random.integers(2**31 - 1))
        obs, info = self.env.reset(seed=sub_seed, options=options)
        info["scenario"] = self.current
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["scenario"] = self.current
        return obs, reward, terminated, truncated, info

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        envs, self._envs = list(self._envs.values()), {}
        for env in envs:
            env.close()


class ExpertLabels(gym.Wrapper):
    """Put the expert's action for the current state in ``info["expert_action"]``, on reset and every step.

    The learner (any policy, recurrent or not, Dict observations included) acts; the
    expert, which reads the privileged ``info["pose"]``, only labels. This is what DAgger
    needs: the expert's action for the states the learner reaches.

    :param env: an env whose ``info`` the expert can read (vizdoom, maze families).
    :param expert: an expert name (``"waypoint"``), an object with ``act(info)`` and an
        optional ``reset()`` called after every env reset, or a callable ``info -> action``.
    :param route: route for a named expert (file, :class:`sb3_plus.experts.Route`, ``None``: auto).
    :raises ExpertActionError: the expert cannot act in this env.
    """

    def __init__(self, env: gym.Env, expert: Any = "waypoint", route: Any = None) -> None:
        super().__init__(env)
        if isinstance(expert, str):
            from sb3_plus.experts import make_expert

            expert = make_expert(env, expert, route)
        self.expert = expert

    def _label(self, info: dict[str, Any]) -> Any:
        from sb3_plus.experts import ExpertActionError

        act = getattr(self.expert, "act", self.expert)
        action = act(info)
        if not self.action_space.contains(np.asarray(action, dtype=self.action_space.dtype)
                                          if isinstance(self.action_space, spaces.Box) else action):
            raise ExpertActionError(
                f"the expert's action {action!r} is not in the env's action space {self.action_space}. "
                "Fix: give the env an expert_action_map that maps turn_left/turn_right/forward/use to its actions"
            )
        return action

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        reset = getattr(self.expert, "reset", None)
        if callable(reset) and reset is not getattr(self.expert, "act", None):
            reset()
        info["expert_action"] = self._label(info)
        return obs, info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["expert_action"] = self._label(info)
        return obs, reward, terminated, truncated, info
