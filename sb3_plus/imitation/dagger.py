"""DAgger with privileged scripted experts: the learner drives, the expert labels every state it reaches.

Each round plays episodes with a beta-mixture (at every step the expert's action is
executed with probability ``beta``, the learner's otherwise), records the LEARNER's
observations with the EXPERT's actions (delivered in ``info["expert_action"]`` by
:class:`sb3_plus.envs.wrappers.ExpertLabels`, so experts that read the pose work for any
policy, recurrent or not, Dict observations included), aggregates them with every earlier
round and retrains the policy with the same BC code path (:func:`sb3_plus.imitation.bc.train_bc`).
Episodes are played by :func:`sb3_plus.rollout.play_episodes` with a ``MixtureActor``.

A run lives in a work folder (:mod:`sb3_plus.imitation.dagger_state`), so it can be
inspected (``MINARI_DATASETS_PATH=<work_dir>/datasets minari list local``) and resumed:
calling :func:`train_dagger` again with the same work folder continues after the last
finished round. In a round dataset the ``actions`` are the expert's labels; the actions that
were executed are in ``infos["executed_action"]`` and the learner's own choices in
``infos["learner_action"]``.

Beta schedule: round ``k`` uses ``beta * beta_decay ** k`` (default ``1, 0.5, 0.25, ...``:
round 0 with ``beta=1`` is plain expert play, i.e. BC data) unless ``betas`` lists one
value per round. Every knob is a field of :class:`DAggerSettings`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.policies import ActorCriticPolicy
from tqdm.auto import tqdm

from sb3_plus.data.sequences import Episode
from sb3_plus.imitation.bc import train_bc
from sb3_plus.imitation.dagger_state import (
    DaggerReport,
    DaggerResumeError,
    DaggerRound,
    RoundData,
    episodes_of,
    resume,
    save_round,
    write_round_dataset,
)
from sb3_plus.imitation.episodes import as_episodes, check_spaces
from sb3_plus.imitation.normalize import NormalizerLike, ObservationNormalizer, as_normalizer
from sb3_plus.imitation.settings import DAggerSettings
from sb3_plus.imitation.space_check import check_env_fits
from sb3_plus.rollout import EpisodeRecord, MixtureActor, PolicyActor, Step, play_episodes

__all__ = ["ROLLOUT_SEED", "DAggerSettings", "DaggerReport", "DaggerResumeError", "DaggerRound", "RolloutResult",
           "check_env_fits", "rollout", "train_dagger"]

#: DAgger rollouts use seeds from here on (expert datasets start at 0, evaluation at 10000).
ROLLOUT_SEED = 100_000
_INFO_KEYS = ("expert_action", "executed_action", "learner_action")


@dataclass
class RolloutResult:
    """Episodes played by :func:`rollout`, in seed order.

    ``agree`` counts the steps where the learner's own choice was the expert's label.
    """

    episodes: list[EpisodeRecord]  # one record per episode (when recording)
    seeds: list[int]
    successes: list[bool]
    returns: list[float]
    agree: int
    steps: int


def _same(a: Any, b: Any) -> bool:
    return bool(np.all(np.isclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), atol=1e-6)))


def _info_for_storage(info: dict[str, Any]) -> dict[str, Any]:
    from sb3_plus.data.collect import storable_info

    # a reset info has no executed or learner action: Minari wants the same keys on every step
    label = info["expert_action"]
    full = {"executed_action": label, "learner_action": label, **info}
    return storable_info(full, _INFO_KEYS)


def rollout(policy: ActorCriticPolicy, envs: Sequence[gym.Env], seeds: Sequence[int], beta: float, *,
            rng: np.random.Generator | None = None, deterministic: bool = True, record: bool = True,
            progress: Any = None, max_steps: int | None = None,
            normalizer: NormalizerLike = None) -> RolloutResult:
    """Play one episode per seed on ``envs`` (each wrapped in :class:`ExpertLabels`), all envs in one batch.

    At every step the expert's label is executed with probability ``beta``, the learner's
    action otherwise. LSTM states are carried per env and reset at episode starts.
    ``max_steps`` cuts episodes short (recorded as truncated), so a learner stuck in a loop
    does not fill the round with one state.

    :param policy: the learner
    :param envs: envs wrapped in :class:`sb3_plus.envs.wrappers.ExpertLabels`, played side by side
    :param seeds: one episode per seed
    :param beta: probability of executing the expert's label
    :param rng: random generator of the beta draws (default seeded with 0)
    :param deterministic: the learner acts greedily
    :param record: record the episodes (labels as actions, executed and learner actions in infos)
    :param progress: something with ``update(1)`` called per finished episode (a tqdm bar)
    :param max_steps: cut episodes after this many steps
    :param normalizer: observation normaliser applied before the learner sees observations
    """
    norm = as_normalizer(normalizer)
    mixture = MixtureActor(PolicyActor(policy, deterministic, obs_transform=norm), beta=beta,
                           rng=rng if rng is not None else np.random.default_rng(0))
    counts = {"agree": 0, "steps": 0}

    def on_step(step: Step) -> None:
        counts["agree"] += int(_same(mixture.learner_actions[step.env_index], mixture.labels[step.env_index]))
        counts["steps"] += 1

    played = play_episodes(list(envs), mixture, seeds=list(seeds), on_step=on_step,
                           on_episode=(lambda _: progress.update(1)) if progress is not None else None,
                           max_steps=max_steps, record=record, record_info=_info_for_storage if record else None)
    return RolloutResult(played.records, [int(s) for s in played.seeds], played.successes, played.returns,
                         counts["agree"], counts["steps"])


@dataclass
class _Run:
    """What every phase of one :func:`train_dagger` call needs."""

    policy: ActorCriticPolicy
    env_id: str
    work_dir: Path
    settings: DAggerSettings
    env_kwargs: dict[str, Any]
    expert: Any
    normalizer: ObservationNormalizer | None
    progress_bar: bool
    verbose: int
    schedule: list[float] = field(default_factory=list)
    aggregated: list[Episode] = field(default_factory=list)
    t_begin: float = field(default_factory=time.perf_counter)

    @property
    def data_root(self) -> Path:
        return (self.work_dir / "datasets").resolve()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t_begin

    def say(self, line: str) -> None:
        if self.verbose:
            print(line, flush=True)


def _gather_data(run: _Run, initial_dataset: Any, done: list[DaggerRound]) -> None:
    """The initial dataset and every finished round's data; BC on the initial data for a new run."""
    s = run.settings
    run.aggregated = as_episodes(initial_dataset) if initial_dataset is not None else []
    if run.aggregated:
        check_spaces(run.policy, run.aggregated, exact=run.normalizer is None)
    for finished in done:
        run.aggregated.extend(episodes_of(finished.dataset_id, run.data_root))
    if run.aggregated and s.initial_epochs > 0 and not done:
        run.say(f"DAgger: BC on the initial dataset ({len(run.aggregated)} episodes, {s.initial_epochs} epochs)")
        initial = s.bc().replace(epochs=s.initial_epochs, critic_warmup_epochs=0)
        train_bc(run.policy, run.aggregated, initial, normalizer=run.normalizer, progress_bar=run.progress_bar)


def _play_round(run: _Run, envs: list[gym.Env], k: int) -> tuple[RolloutResult, str]:
    """Round ``k``'s mixture rollouts, written as its dataset and aggregated; returns them and the dataset id."""
    s = run.settings
    seeds = [ROLLOUT_SEED + 1_000_000 * s.seed + 1_000 * k + j for j in range(s.episodes_per_round)]
    with tqdm(total=len(seeds), unit="ep", disable=not run.progress_bar, desc=f"DAgger round {k} rollouts",
              leave=False) as bar:
        played = rollout(run.policy, envs, seeds, run.schedule[k], rng=np.random.default_rng([s.seed, k]),
                         deterministic=s.deterministic, progress=bar, max_steps=s.rollout_max_steps,
                         normalizer=run.normalizer)
    data = RoundData(k, run.schedule[k], played.episodes, played.successes)
    dataset_id = write_round_dataset(run.data_root, data, envs[0], run.env_id, run.env_kwargs, run.expert)
    run.aggregated.extend(episodes_of(dataset_id, run.data_root))
    return played, dataset_id


def _retrain_and_validate(run: _Run, envs: list[gym.Env], k: int) -> tuple[float | None, RolloutResult | None]:
    """BC on everything aggregated so far, then the learner alone on validation seeds."""
    from sb3_plus.evaluation import VALIDATION_SEED

    s = run.settings
    remaining = None if s.max_seconds is None else max(s.max_seconds - run.elapsed(), 1.0)
    last = k == s.rounds - 1
    settings = s.bc().replace(seed=s.seed + k, critic_warmup_epochs=s.critic_warmup_epochs if last else 0,
                              max_seconds=remaining)
    bc = train_bc(run.policy, run.aggregated, settings, normalizer=run.normalizer, progress_bar=run.progress_bar)
    evaluation = None
    if s.eval_episodes > 0:
        first = VALIDATION_SEED if s.eval_seed is None else s.eval_seed
        evaluation = rollout(run.policy, envs, [first + j for j in range(s.eval_episodes)], 0.0,
                             deterministic=s.deterministic, record=False, normalizer=run.normalizer)
    return (bc.final_agreement if bc.holdout_agreement else None), evaluation


def _round(run: _Run, envs: list[gym.Env], k: int) -> DaggerRound:
    """Play, label, aggregate, retrain and validate; one finished round."""
    t_round = time.perf_counter()
    played, dataset_id = _play_round(run, envs, k)
    bc_agreement, evaluation = _retrain_and_validate(run, envs, k)
    return DaggerRound(
        round=k, beta=run.schedule[k], episodes=len(played.seeds), steps=played.steps,
        learner_agreement=played.agree / max(played.steps, 1),
        rollout_success=float(np.mean(played.successes)),
        dataset_episodes=len(run.aggregated), dataset_steps=int(sum(len(e) for e in run.aggregated)),
        bc_agreement=bc_agreement,
        eval_success=float(np.mean(evaluation.successes)) if evaluation else None,
        eval_mean_return=float(np.mean(evaluation.returns)) if evaluation else None,
        seconds=time.perf_counter() - t_round, dataset_id=dataset_id,
    )


def _rounds(run: _Run, report: DaggerReport, callback: Callable[[DaggerRound], bool | None] | None,
            route: Any) -> None:
    from sb3_plus.envs import make_env
    from sb3_plus.envs.wrappers import ExpertLabels

    s = run.settings
    envs = [ExpertLabels(make_env(run.env_id, **run.env_kwargs), run.expert, route) for _ in range(max(1, s.n_envs))]
    try:
        check_env_fits(run.policy, envs[0], run.env_id)
        for k in range(len(report.rounds), s.rounds):
            if s.max_seconds is not None and run.elapsed() >= s.max_seconds:
                report.stop_reason = "max_seconds"
                break
            result = _round(run, envs, k)
            report.rounds.append(result)
            save_round(run.work_dir, run.env_id, run.env_kwargs, run.policy, run.schedule, report.rounds)
            run.say(result.line())
            if callback is not None and callback(result) is False:
                report.stop_reason = "callback"
                break
    finally:
        for env in envs:
            env.close()


def train_dagger(
    policy: ActorCriticPolicy,
    env_id: str,
    work_dir: str | Path,
    settings: DAggerSettings | None = None,
    *,
    env_kwargs: dict[str, Any] | None = None,
    expert: Any = "waypoint",
    route: Any = None,
    initial_dataset: Any = None,
    normalizer: NormalizerLike = None,
    progress_bar: bool = True,
    verbose: int = 1,
    callback: Callable[[DaggerRound], bool | None] | None = None,
    **overrides: Any,
) -> DaggerReport:
    """Run DAgger on ``policy`` in place: roll out, label, aggregate, retrain; ``settings.rounds`` times.

    Example::

        model = RecurrentPPO("CnnLstmPolicy", venv, ...)
        report = train_dagger(model.policy, "VizdoomMyWayHome-v1", "runs/dagger", DAggerSettings(rounds=4))
        model.learn(100_000)

    :param policy: ``model.policy`` of a PPO / A2C / RecurrentPPO model (any observation space).
    :param env_id: env to play, built by :func:`sb3_plus.envs.make_env` with ``env_kwargs``.
    :param work_dir: folder of the run's datasets, weights and state (an existing one is resumed).
    :param settings: the knobs (:class:`DAggerSettings`, BC's included; defaults when ``None``).
    :param env_kwargs: env options (use the training config's).
    :param expert: expert name, object with ``act(info)``, or callable ``info -> action``.
    :param route: route for a named expert (default: the map's route file or the planner).
    :param initial_dataset: Minari dataset (id, object or list of episodes) aggregated before round 0.
    :param normalizer: RL's observation normaliser (a ``VecNormalize`` or a function), applied in
        rollouts, BC and validation; a fresh ``VecNormalize`` gets its statistics from the first BC's data.
    :param progress_bar: show progress bars.
    :param verbose: 1 prints a line per round.
    :param callback: called with each finished round; return ``False`` to stop.
    :param overrides: single :class:`DAggerSettings` fields over ``settings`` (``rounds=3, epochs=5``).
    :return: a :class:`DaggerReport` (also in ``<work_dir>/state.json``).
    """
    settings = settings or DAggerSettings()
    if overrides:
        settings = settings.replace(**overrides)
    run = _Run(policy, env_id, Path(work_dir), settings, dict(env_kwargs or {}), expert, as_normalizer(normalizer),
               progress_bar, verbose)
    run.schedule = settings.schedule(has_initial_data=initial_dataset is not None)
    run.work_dir.mkdir(parents=True, exist_ok=True)
    report = DaggerReport(work_dir=str(run.work_dir), env_id=env_id)
    report.rounds = resume(run.work_dir, env_id, run.env_kwargs, policy)
    if report.rounds:
        run.say(f"DAgger: resuming {run.work_dir} after round {len(report.rounds) - 1}")
    _gather_data(run, initial_dataset, report.rounds)
    _rounds(run, report, callback, route)
    report.total_seconds = run.elapsed()
    return report
