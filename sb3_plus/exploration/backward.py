"""Go-Explore's robustification: the backward algorithm (Salimans & Chen, 2018).

A policy first learns to finish a demonstration from its last states, then from earlier and earlier
ones, until it starts where the demonstration started. :class:`BackwardStarts` wraps an env for
any SB3 algorithm: each reset restores a state of the demonstration (:mod:`sb3_plus.exploration.restore`)
and moves the start one state earlier once the recent episodes from the current start succeed often
enough. The demonstration's states come from an archive: :func:`demonstration_states` walks the
discovered way from a start seed's cell to the goal.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Sequence

import gymnasium as gym
import numpy as np

from sb3_plus.errors import BadOptionError
from sb3_plus.exploration.archive import Archive
from sb3_plus.exploration.discovered_routes import NoDiscoveredRouteError, goal_tree
from sb3_plus.exploration.restore import Restorer, make_restorer
from sb3_plus.rollout import success_of

__all__ = ["BackwardStarts", "demonstration_states"]


def demonstration_states(archive: Archive, seed: int) -> list[bytes]:
    """Encoded states along the archive's way from ``seed``'s start cell to the goal, start first.

    :raises NoDiscoveredRouteError: the seed is not in the archive or has no way to the goal yet.
    """
    _, next_cell = goal_tree(archive)
    key = archive.starts.get(int(seed))
    if key is None or key not in next_cell:
        raise NoDiscoveredRouteError(f"the archive of {archive.env_id} has no way to the goal from start seed {seed} "
                                     f"(connected: {sorted(s for s, k in archive.starts.items() if k in next_cell)}). "
                                     "Fix: pick a connected seed, or explore longer with that start seed")
    states = []
    while key is not None:
        state = archive.cells[key].state
        if state is not None:
            states.append(state)
        key = next_cell[key]
    return states


class BackwardStarts(gym.Wrapper):
    """Start episodes from a demonstration's states, the last first, moving back as the agent succeeds.

    After restoring a state the wrapper takes ``settle_action`` once to get an observation (ViZDoom:
    the no-op action 0); the episode then starts there. At the demonstration's first state the env's
    own reset is used. ``info["backward_start"]`` is the index of the state started from (``0``: the
    env's own start).

    :param env: the env (its states must be restorable).
    :param states: encoded states, start first (:func:`demonstration_states`).
    :param settle_action: the action taken after a restore to observe the state.
    :param threshold: success rate over ``window`` episodes that moves the start back.
    :param window: episodes from one start judged together.
    :param step_back: states to move back each time.
    :param restorer: the env's restorer (default :func:`make_restorer`).
    """

    def __init__(self, env: gym.Env, states: Sequence[bytes], settle_action: Any, threshold: float = 0.8,
                 window: int = 20, step_back: int = 1, restorer: Restorer | None = None) -> None:
        super().__init__(env)
        if not states:
            raise BadOptionError("BackwardStarts needs at least one demonstration state. Fix: pass "
                                 "demonstration_states(archive, seed)")
        if not 0.0 < threshold <= 1.0 or window < 1 or step_back < 1:
            raise BadOptionError(f"BackwardStarts: threshold in (0, 1], window >= 1 and step_back >= 1, got "
                                 f"{threshold}, {window}, {step_back}. Fix: e.g. threshold=0.8, window=20, step_back=1")
        self.restorer = restorer or make_restorer(env)
        self.states = list(states)
        self.settle_action = settle_action
        self.threshold, self.step_back = float(threshold), int(step_back)
        self.start = len(self.states) - 1
        self.results: deque[bool] = deque(maxlen=int(window))

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        if self.start > 0:
            self.restorer.restore(self.restorer.decode(self.states[self.start]))
            obs, _, terminated, truncated, info = self.env.step(self.settle_action)
            if terminated or truncated:  # the state ended the episode at once: start as the env does
                obs, info = self.env.reset(**kwargs)
        return obs, dict(info, backward_start=self.start)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            self._judge(success_of(info))
        return obs, reward, terminated, truncated, dict(info, backward_start=self.start)

    def _judge(self, success: bool) -> None:
        self.results.append(bool(success))
        if self.start > 0 and len(self.results) == self.results.maxlen and np.mean(self.results) >= self.threshold:
            self.start = max(0, self.start - self.step_back)
            self.results.clear()

    def close(self) -> None:
        self.restorer.close()
        super().close()
