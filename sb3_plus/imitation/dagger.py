"""DAgger with privileged scripted experts: the learner drives, the expert labels every state it reaches.

Each round plays episodes with a beta-mixture (at every step the expert's action is
executed with probability ``beta``, the learner's otherwise), records the LEARNER's
observations with the EXPERT's actions (delivered in ``info["expert_action"]`` by
:class:`sb3_plus.envs.wrappers.ExpertLabels`, so experts that read the pose work for any
policy, recurrent or not, Dict observations included), aggregates them with every earlier
round and retrains the policy with the same BC code path (:func:`sb3_plus.imitation.bc.train_bc`).

A run lives in a work folder::

    <work_dir>/state.json            settings, rounds done, per-round reports
    <work_dir>/policy_round<K>.pt    policy weights after round K (torch state dict)
    <work_dir>/datasets/dagger/round<K>-v0   Minari dataset of round K

so a run can be inspected (``MINARI_DATASETS_PATH=<work_dir>/datasets minari list local``)
and resumed: calling :func:`train_dagger` again with the same work folder continues after
the last finished round. In a round dataset the ``actions`` are the expert's labels; the
actions that were executed are in ``infos["executed_action"]`` and the learner's own
choices in ``infos["learner_action"]``.

Beta schedule: round ``k`` uses ``beta * beta_decay ** k`` (default ``1, 0.5, 0.25, ...``:
round 0 with ``beta=1`` is plain expert play, i.e. BC data) unless ``betas`` lists one
value per round.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import ActorCriticPolicy
from tqdm.auto import tqdm

from sb3_plus.data.sequences import Episode
from sb3_plus.imitation.bc import check_spaces, train_bc
from sb3_plus.utils import atomic_path, write_json_atomic

#: DAgger rollouts use seeds from here on (expert datasets start at 0, evaluation at 10000).
ROLLOUT_SEED = 100_000
_BC_KEYS = ("batch_size", "seq_len", "lr", "ent_coef", "l2_coef", "max_grad_norm", "gamma", "holdout_fraction")
_INFO_KEYS = ("expert_action", "executed_action", "learner_action")


class DaggerResumeError(ValueError):
    """A DAgger work folder belongs to another env or policy."""


@dataclass
class DaggerRound:
    """What one round did and measured.

    ``learner_agreement`` is measured on the states this round visited, with the policy
    as it was before the round's retraining: how often the learner's own choice equals
    the expert's label there. ``eval_success`` is the retrained learner alone (beta 0)
    on validation seeds.
    """

    round: int
    beta: float
    episodes: int
    steps: int
    learner_agreement: float
    rollout_success: float
    dataset_episodes: int
    dataset_steps: int
    bc_agreement: float | None
    eval_success: float | None
    eval_mean_return: float | None
    seconds: float
    dataset_id: str


@dataclass
class DaggerReport:
    """All rounds of a DAgger run (resumed rounds included)."""

    work_dir: str
    env_id: str
    rounds: list[DaggerRound] = field(default_factory=list)
    total_seconds: float = 0.0
    stop_reason: str = "rounds"

    @property
    def final_eval_success(self) -> float | None:
        return self.rounds[-1].eval_success if self.rounds else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["method"] = "dagger"
        if self.rounds:
            out["holdout_agreement"] = [r.bc_agreement for r in self.rounds if r.bc_agreement is not None]
        return out


@dataclass
class RolloutResult:
    """Episodes played by :func:`rollout`; ``agree`` counts steps where the learner's choice was the label."""

    episodes: list[Any]          # EpisodeRecorder per finished episode (when recording)
    seeds: list[int]
    successes: list[bool]
    returns: list[float]
    agree: int
    steps: int


def _is_recurrent(policy: ActorCriticPolicy) -> bool:
    return hasattr(policy, "lstm_actor")


def rollout(policy: ActorCriticPolicy, envs: Sequence[gym.Env], seeds: Sequence[int], beta: float, *,
            rng: np.random.Generator | None = None, deterministic: bool = True, record: bool = True,
            progress: Any = None, max_steps: int | None = None) -> RolloutResult:
    """Play one episode per seed on ``envs`` (each wrapped in :class:`ExpertLabels`), all envs in one batch.

    At every step the expert's label is executed with probability ``beta``, the learner's
    action otherwise. LSTM states are carried per env and reset at episode starts.
    ``max_steps`` cuts episodes short (recorded as truncated), so a learner stuck in a loop
    does not fill the round with one state.
    """
    from sb3_plus.data.collect import EpisodeRecorder, stack_steps

    rng = rng or np.random.default_rng(0)
    n_envs = len(envs)
    pending = list(seeds)[::-1]
    out = RolloutResult([], [], [], [], 0, 0)
    current: list[dict[str, Any] | None] = [None] * n_envs
    obs: list[Any] = [None] * n_envs
    infos: list[dict[str, Any]] = [{}] * n_envs
    recurrent = _is_recurrent(policy)
    state: Any = None
    starts = np.ones(n_envs, dtype=bool)
    discrete = isinstance(policy.action_space, spaces.Discrete)

    def start(i: int) -> None:
        seed = pending.pop()
        obs[i], infos[i] = envs[i].reset(seed=seed)
        current[i] = {"seed": seed, "return": 0.0, "success": False, "t": 0,
                      "rec": EpisodeRecorder(obs[i], _info_for_storage(infos[i], None, None)) if record else None}
        starts[i] = True

    for i in range(n_envs):
        if pending:
            start(i)
    while any(c is not None for c in current):
        active = [i for i in range(n_envs) if current[i] is not None]
        # inactive slots repeat an active observation so the batch (and LSTM state) keeps its shape
        batch = stack_steps([obs[i] if current[i] is not None else obs[active[0]] for i in range(n_envs)])
        if recurrent:
            actions, state = policy.predict(batch, state=state, episode_start=starts, deterministic=deterministic)
        else:
            actions, _ = policy.predict(batch, deterministic=deterministic)
        starts[:] = False
        for i in active:
            learner = int(actions[i]) if discrete else np.asarray(actions[i])
            label = infos[i]["expert_action"]
            out.agree += int(_same(learner, label))
            out.steps += 1
            executed = label if beta > 0 and rng.random() < beta else learner
            obs[i], reward, term, trunc, infos[i] = envs[i].step(executed)
            ep = current[i]
            ep["t"] += 1
            if max_steps is not None and ep["t"] >= max_steps and not term:
                trunc = True
            ep["return"] += float(reward)
            ep["success"] = ep["success"] or bool(infos[i].get("success", False))
            if ep["rec"] is not None:
                ep["rec"].add(label, obs[i], float(reward), bool(term), bool(trunc),
                              _info_for_storage(infos[i], executed, learner))
            if term or trunc:
                out.seeds.append(ep["seed"])
                out.successes.append(ep["success"])
                out.returns.append(ep["return"])
                if ep["rec"] is not None:
                    out.episodes.append(ep["rec"])
                current[i] = None
                if progress is not None:
                    progress.update(1)
                if pending:
                    start(i)
    return out


def _space_fits(env_space: spaces.Space, policy_space: spaces.Space) -> bool:
    from stable_baselines3.common.preprocessing import is_image_space
    from stable_baselines3.common.vec_env import VecTransposeImage

    if isinstance(env_space, spaces.Dict) and isinstance(policy_space, spaces.Dict):
        return env_space.spaces.keys() == policy_space.spaces.keys() and all(
            _space_fits(env_space[k], policy_space[k]) for k in env_space.spaces)
    if isinstance(env_space, spaces.Box) and isinstance(policy_space, spaces.Box):
        if env_space.shape == policy_space.shape:
            return True
        return is_image_space(env_space) and VecTransposeImage.transpose_space(env_space).shape == policy_space.shape
    return env_space == policy_space


def check_env_fits(policy: ActorCriticPolicy, env: gym.Env, env_id: str) -> None:
    """Raise :class:`SpaceMismatchError` (naming both spaces) when ``policy`` cannot act in ``env``."""
    from sb3_plus.imitation.bc import SpaceMismatchError

    for kind, env_space, policy_space in (("observation", env.observation_space, policy.observation_space),
                                          ("action", env.action_space, policy.action_space)):
        if not _space_fits(env_space, policy_space):
            raise SpaceMismatchError(
                f"env {env_id!r} has {kind} space {env_space} but the policy expects {policy_space}. "
                "Fix: build the model on the same env id and env_kwargs as the DAgger run")


def _same(a: Any, b: Any) -> bool:
    return bool(np.all(np.isclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), atol=1e-6)))


def _info_for_storage(info: dict[str, Any], executed: Any, learner: Any) -> dict[str, Any]:
    from sb3_plus.data.collect import storable_info

    label = info["expert_action"]
    full = dict(info, executed_action=label if executed is None else executed,
                learner_action=label if learner is None else learner)
    return storable_info(full, _INFO_KEYS)


def _betas(rounds: int, beta: float, beta_decay: float, betas: Sequence[float] | None) -> list[float]:
    if betas is not None:
        betas = [float(b) for b in betas]
        if len(betas) < rounds:
            raise ValueError(f"betas lists {len(betas)} values for {rounds} rounds; give one per round")
    else:
        betas = [beta * beta_decay**k for k in range(rounds)]
    for b in betas:
        if not 0.0 <= b <= 1.0:
            raise ValueError(f"beta must be within [0, 1], got {b}")
    return betas[:rounds]


def _policy_signature(policy: ActorCriticPolicy) -> dict[str, Any]:
    return {"policy_class": type(policy).__name__, "observation_space": str(policy.observation_space),
            "action_space": str(policy.action_space),
            "n_parameters": int(sum(p.numel() for p in policy.parameters()))}


def _load_state(work_dir: Path, env_id: str, env_kwargs: dict[str, Any], policy: ActorCriticPolicy
                ) -> dict[str, Any] | None:
    path = work_dir / "state.json"
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    expected = {"env_id": env_id, "env_kwargs": env_kwargs, **_policy_signature(policy)}
    diff = {k: (state.get(k), v) for k, v in expected.items() if state.get(k) != v}
    if diff:
        detail = "; ".join(f"{k}: folder has {a!r}, this run {b!r}" for k, (a, b) in diff.items())
        raise DaggerResumeError(
            f"the DAgger folder {work_dir} belongs to another run ({detail}). "
            "Fix: pass a new work folder, or the same env and policy settings to resume it"
        )
    return state


def _episodes_of(dataset_id: str, root: Path) -> list[Episode]:
    import minari

    from sb3_plus.data.sequences import load_episodes
    from sb3_plus.data.storage import minari_root

    with minari_root(root):
        return load_episodes(minari.load_dataset(dataset_id))


def train_dagger(
    policy: ActorCriticPolicy,
    env_id: str,
    work_dir: str | Path,
    *,
    env_kwargs: dict[str, Any] | None = None,
    expert: Any = "waypoint",
    route: Any = None,
    initial_dataset: Any = None,
    rounds: int = 4,
    episodes_per_round: int = 20,
    beta: float | None = None,
    beta_decay: float = 0.5,
    betas: Sequence[float] | None = None,
    epochs: int = 10,
    initial_epochs: int = 0,
    critic_warmup_epochs: int = 0,
    n_envs: int = 4,
    eval_episodes: int = 10,
    eval_seed: int | None = None,
    deterministic: bool = True,
    rollout_max_steps: int | None = None,
    seed: int = 0,
    progress_bar: bool = True,
    verbose: int = 1,
    max_seconds: float | None = None,
    callback: Callable[[DaggerRound], bool | None] | None = None,
    **bc_kwargs: Any,
) -> DaggerReport:
    """Run DAgger on ``policy`` in place: roll out, label, aggregate, retrain; ``rounds`` times.

    Example::

        model = RecurrentPPO("CnnLstmPolicy", venv, ...)
        report = train_dagger(model.policy, "VizdoomMyWayHome-v1", "runs/dagger", rounds=4)
        model.learn(100_000)

    :param policy: ``model.policy`` of a PPO / A2C / RecurrentPPO model (any observation space).
    :param env_id: env to play, built by :func:`sb3_plus.envs.make_env` with ``env_kwargs``.
    :param work_dir: folder of the run's datasets, weights and state (an existing one is resumed).
    :param env_kwargs: env options (use the training config's).
    :param expert: expert name, object with ``act(info)``, or callable ``info -> action``.
    :param route: route for a named expert (default: the map's route file or the planner).
    :param initial_dataset: Minari dataset (id, object or list of episodes) aggregated before round 0.
    :param rounds: DAgger rounds (total, resumed rounds included).
    :param episodes_per_round: episodes played per round.
    :param beta: expert probability in round 0 (default 1.0, or 0.5 with an ``initial_dataset``).
    :param beta_decay: factor applied to beta every round.
    :param betas: one beta per round instead of ``beta``/``beta_decay``.
    :param epochs: BC epochs over the aggregated data after each round.
    :param initial_epochs: BC epochs on ``initial_dataset`` alone before round 0 (DAgger from a BC policy).
    :param critic_warmup_epochs: value-head regression epochs after the last round's BC.
    :param n_envs: envs played side by side (one policy batch).
    :param eval_episodes: validation episodes of the learner alone after each round (0: skip).
    :param eval_seed: first evaluation seed (default :data:`sb3_plus.evaluation.VALIDATION_SEED`).
    :param deterministic: the learner acts greedily in rollouts and evaluation.
    :param rollout_max_steps: cut DAgger rollout episodes after this many steps (evaluation is never cut).
    :param seed: seeds the rollouts, the beta draws and BC.
    :param progress_bar: show progress bars.
    :param verbose: 1 prints a line per round.
    :param max_seconds: wall budget; no new round starts once it is spent.
    :param callback: called with each finished round; return ``False`` to stop.
    :param bc_kwargs: passed to :func:`train_bc` (``batch_size``, ``seq_len``, ``lr``, ...).
    :return: a :class:`DaggerReport` (also in ``<work_dir>/state.json``).
    """
    from sb3_plus.data.collect import create_minari_dataset
    from sb3_plus.data.storage import staged_dataset
    from sb3_plus.envs import make_env
    from sb3_plus.envs.wrappers import ExpertLabels
    from sb3_plus.evaluation import VALIDATION_SEED
    from sb3_plus.imitation.bc import _as_episodes

    unknown = set(bc_kwargs) - set(_BC_KEYS)
    if unknown:
        raise ValueError(f"unknown DAgger/BC setting(s) {sorted(unknown)}; BC settings are {list(_BC_KEYS)}")
    if rounds < 1 or episodes_per_round < 1:
        raise ValueError(f"rounds and episodes_per_round must be >= 1, got {rounds} and {episodes_per_round}")
    t_begin = time.perf_counter()
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    data_root = (work_dir / "datasets").resolve()
    env_kwargs = dict(env_kwargs or {})
    schedule = _betas(rounds, (1.0 if initial_dataset is None else 0.5) if beta is None else beta, beta_decay, betas)
    eval_seed = VALIDATION_SEED if eval_seed is None else eval_seed

    report = DaggerReport(work_dir=str(work_dir), env_id=env_id)
    state = _load_state(work_dir, env_id, env_kwargs, policy)
    if state is not None:
        report.rounds = [DaggerRound(**r) for r in state["rounds"]]
        if report.rounds:
            weights = work_dir / state["policy"]
            policy.load_state_dict(th.load(weights, map_location=policy.device, weights_only=True))
            if verbose:
                print(f"DAgger: resuming {work_dir} after round {len(report.rounds) - 1}", flush=True)

    aggregated: list[Episode] = _as_episodes(initial_dataset) if initial_dataset is not None else []
    if aggregated:
        check_spaces(policy, aggregated)
    for done in report.rounds:
        aggregated.extend(_episodes_of(done.dataset_id, data_root))

    if aggregated and initial_epochs > 0 and not report.rounds:
        if verbose:
            print(f"DAgger: BC on the initial dataset ({len(aggregated)} episodes, {initial_epochs} epochs)", flush=True)
        train_bc(policy, aggregated, epochs=initial_epochs, seed=seed, progress_bar=progress_bar, max_seconds=max_seconds,
                 **bc_kwargs)
    envs = [ExpertLabels(make_env(env_id, **env_kwargs), expert, route) for _ in range(max(1, n_envs))]
    try:
        check_env_fits(policy, envs[0], env_id)
        for k in range(len(report.rounds), rounds):
            if max_seconds is not None and time.perf_counter() - t_begin >= max_seconds:
                report.stop_reason = "max_seconds"
                break
            t_round = time.perf_counter()
            rng = np.random.default_rng([seed, k])
            seeds = [ROLLOUT_SEED + 1_000_000 * seed + 1_000 * k + j for j in range(episodes_per_round)]
            with tqdm(total=len(seeds), unit="ep", disable=not progress_bar, desc=f"DAgger round {k} rollouts",
                      leave=False) as bar:
                played = rollout(policy, envs, seeds, schedule[k], rng=rng, deterministic=deterministic,
                                 progress=bar, max_steps=rollout_max_steps)
            dataset_id = f"dagger/round{k}-v0"
            buffers = [rec.buffer(i, s) for i, (rec, s) in enumerate(zip(played.episodes, played.seeds))]
            with staged_dataset(dataset_id, overwrite=True, root=data_root):
                dataset = create_minari_dataset(dataset_id, buffers, envs[0], "sb3_plus.DAgger",
                                                f"DAgger round {k} on {env_id} (beta {schedule[k]:.3f}); actions "
                                                "are expert labels, executed actions in infos")
                dataset.storage.update_episode_metadata(
                    [{"seed": s, "success": ok, "beta": schedule[k], "round": k, "expert": str(expert)}
                     for s, ok in zip(played.seeds, played.successes)], range(len(buffers)))
                dataset.storage.update_metadata({"sb3plus": {
                    "env_id": env_id, "env_kwargs": env_kwargs, "expert": str(expert), "method": "dagger",
                    "round": k, "beta": schedule[k], "actions": "expert labels"}})
            aggregated.extend(_episodes_of(dataset_id, data_root))

            remaining = None if max_seconds is None else max(max_seconds - (time.perf_counter() - t_begin), 1.0)
            last = k == rounds - 1
            bc = train_bc(policy, aggregated, epochs=epochs, seed=seed + k, progress_bar=progress_bar,
                          critic_warmup_epochs=critic_warmup_epochs if last else 0, max_seconds=remaining,
                          **bc_kwargs)
            evaluation = None
            if eval_episodes > 0:
                evaluation = rollout(policy, envs, [eval_seed + j for j in range(eval_episodes)], 0.0,
                                     deterministic=deterministic, record=False)
            result = DaggerRound(
                round=k, beta=schedule[k], episodes=len(played.seeds), steps=played.steps,
                learner_agreement=played.agree / max(played.steps, 1),
                rollout_success=float(np.mean(played.successes)),
                dataset_episodes=len(aggregated), dataset_steps=int(sum(len(e) for e in aggregated)),
                bc_agreement=bc.holdout_agreement[-1] if bc.holdout_agreement else None,
                eval_success=float(np.mean(evaluation.successes)) if evaluation else None,
                eval_mean_return=float(np.mean(evaluation.returns)) if evaluation else None,
                seconds=time.perf_counter() - t_round, dataset_id=dataset_id,
            )
            report.rounds.append(result)
            weights = work_dir / f"policy_round{k}.pt"
            with atomic_path(weights) as tmp:
                th.save(policy.state_dict(), tmp)
            write_json_atomic(work_dir / "state.json", {
                "env_id": env_id, "env_kwargs": env_kwargs, **_policy_signature(policy), "policy": weights.name, "schedule": schedule,
                "rounds": [asdict(r) for r in report.rounds]})
            if verbose:
                print(_round_line(result), flush=True)
            if callback is not None and callback(result) is False:
                report.stop_reason = "callback"
                break
    finally:
        for env in envs:
            env.close()
    report.total_seconds = time.perf_counter() - t_begin
    return report


def _round_line(r: DaggerRound) -> str:
    parts = [f"DAgger round {r.round}: beta {r.beta:.3f}", f"learner agreement {r.learner_agreement:.2f}",
             f"rollout success {r.rollout_success:.0%}", f"data {r.dataset_episodes} ep / {r.dataset_steps} steps"]
    if r.bc_agreement is not None:
        parts.append(f"BC agreement {r.bc_agreement:.2f}")
    if r.eval_success is not None:
        parts.append(f"validation success {r.eval_success:.0%}")
    parts.append(f"{r.seconds:.0f} s")
    return ", ".join(parts)
