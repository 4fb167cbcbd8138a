"""The one episode loop: :func:`play_episodes` and what it returns."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from sb3_plus.errors import BadOptionError
from sb3_plus.utils import INTERRUPTED
from sb3_plus.rollout.actors import Actor
from sb3_plus.rollout.slots import Playable, make_slots


@dataclass
class EpisodeRecord:
    """One recorded episode in Minari's layout: ``T + 1`` observations and infos (reset first), ``T`` steps."""

    seed: int | None
    obs: list[Any]
    infos: list[dict[str, Any]]
    actions: list[Any] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    terms: list[bool] = field(default_factory=list)
    truncs: list[bool] = field(default_factory=list)

    def add(self, action: Any, obs: Any, reward: float, term: bool, trunc: bool, info: dict[str, Any]) -> None:
        self.actions.append(action)
        self.obs.append(obs)
        self.rewards.append(reward)
        self.terms.append(term)
        self.truncs.append(trunc)
        self.infos.append(info)

    def __len__(self) -> int:
        return len(self.actions)


class Step(NamedTuple):
    """One env step as :func:`play_episodes` hands it to ``on_step``."""

    env: Any              # what was passed to play_episodes
    env_index: int
    episode: int          # index into the seeds
    seed: int | None
    t: int                # steps of this episode so far, this one included
    action: Any           # the executed action
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


@dataclass
class EpisodeOutcome:
    """One finished episode (``record`` when recording)."""

    episode: int
    seed: int | None
    episode_return: float
    length: int
    success: bool
    record: EpisodeRecord | None = None


@dataclass
class PlayResult:
    """Per-episode outcomes of :func:`play_episodes`, in episode order."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    successes: list[bool] = field(default_factory=list)
    seeds: list[int | None] = field(default_factory=list)
    records: list[EpisodeRecord] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    env_seconds: float = 0.0  # time spent inside the envs' reset and step

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.successes)) if self.successes else float("nan")

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns)) if self.returns else float("nan")


def play_episodes(
    env: Playable,
    actor: Actor,
    episodes: int | None = None,
    seed: int = 0,
    *,
    seeds: Sequence[int] | None = None,
    on_step: Callable[[Step], None] | None = None,
    on_episode: Callable[[EpisodeOutcome], None] | None = None,
    max_steps: int | None = None,
    record: bool = False,
    record_info: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    keep_records: bool = True,
) -> PlayResult:
    """Play episodes with ``actor`` and return their returns, lengths, successes and seeds.

    (Longer than most functions here on purpose: it is the hot loop of collection, evaluation and
    DAgger, kept in one frame so that its per-step work stays on local names.)

    :param env: a gymnasium env, a list of them (played side by side) or an SB3 ``VecEnv``.
    :param actor: what acts (:class:`PolicyActor`, :class:`ExpertActor`, :class:`MixtureActor`, ...).
    :param episodes: number of episodes, seeded ``seed, seed + 1, ...``.
    :param seed: seed of the first episode.
    :param seeds: explicit episode seeds instead of ``episodes``/``seed``.
    :param on_step: called after every step of an episode in progress (e.g. to grab video frames).
    :param on_episode: called when an episode ends (progress bars, writing records as they come).
    :param max_steps: cut episodes after this many steps (counted as truncated).
    :param record: record every step (observations, recorded action, reward, flags, info).
    :param record_info: what of an info to record (e.g. :func:`sb3_plus.data.collect.storable_info`);
        default the whole info.
    :param keep_records: keep the records in the result (``False`` when ``on_episode`` stores them).
    :return: a :class:`PlayResult`; a step counts as a success when :func:`success_of` its info.
    """
    if seeds is None:
        if episodes is None:
            raise BadOptionError("play_episodes needs episodes or seeds. Fix: pass episodes=N or seeds=[...]")
        seeds = [seed + i for i in range(episodes)]
    if max_steps is not None and max_steps < 1:
        raise BadOptionError(f"max_steps must be >= 1, got {max_steps}")
    slots = make_slots(env, len(seeds))
    outcomes: dict[int, EpisodeOutcome] = {}
    pending = deque(enumerate(seeds))
    running: list[_Running | None] = [None] * slots.n
    result = PlayResult()
    fields = getattr(actor, "record_fields", None)
    keep = record_info or dict
    start = time.perf_counter()
    actor.reset(slots.n)
    if getattr(actor, "maskable", False):
        actor.masks = slots.masks

    active = 0

    def begin(j: int, index: int, episode_seed: int | None, obs: Any, info: dict[str, Any]) -> None:
        nonlocal active
        active += 1
        running[j] = _Running(index, episode_seed, EpisodeRecord(episode_seed, [obs], [keep(info)]) if record else None)

    slots.refill(pending, running, begin)
    act, batch, step_envs = actor.act, slots.batch, slots.step  # the hot loop: local names are faster
    uses_obs = getattr(actor, "uses_obs", True)
    interrupted = INTERRUPTED.is_set  # a stop whose KeyboardInterrupt was dropped is raised again here
    while active:
        if interrupted():
            raise KeyboardInterrupt
        actions = act(batch() if uses_obs else None, slots.infos, slots.starts)
        ended = False
        for j, executed, next_obs, reward, term, trunc, info in step_envs(actions, running):
            ep = running[j]
            ep.length += 1
            if max_steps is not None and ep.length >= max_steps and not term:
                trunc = True
            ep.total += reward
            if not ep.success:
                ep.success = bool(info.get("success") or info.get("is_success"))  # success_of, inlined
            if record:
                if fields is None:
                    ep.record.add(executed, next_obs, reward, term, trunc, keep(info))
                else:
                    stored, extra = fields(j)
                    ep.record.add(stored, next_obs, reward, term, trunc, keep({**info, **extra}))
            if on_step is not None:
                on_step(Step(env, j, ep.index, ep.seed, ep.length, executed, reward, term, trunc, info))
            if term or trunc:
                outcome = EpisodeOutcome(ep.index, ep.seed, ep.total, ep.length, ep.success, ep.record)
                outcomes[ep.index] = outcome
                result.steps += ep.length
                running[j] = None
                active -= 1
                ended = True
                if on_episode is not None:
                    on_episode(outcome)
        if ended:
            slots.refill(pending, running, begin)
    for index in sorted(outcomes):
        out = outcomes[index]
        result.returns.append(out.episode_return)
        result.lengths.append(out.length)
        result.successes.append(out.success)
        result.seeds.append(out.seed)
        if out.record is not None and keep_records:
            result.records.append(out.record)
    result.seconds = time.perf_counter() - start
    result.env_seconds = slots.env_seconds
    return result


@dataclass(slots=True)
class _Running:
    """An episode in progress in one env slot."""

    index: int
    seed: int | None
    record: EpisodeRecord | None
    total: float = 0.0
    length: int = 0
    success: bool = False
