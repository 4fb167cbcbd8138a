"""What a DAgger run keeps in its work folder: per-round reports, state, weights and round datasets.

::

    <work_dir>/state.json                    settings, rounds done, per-round reports
    <work_dir>/policy_round<K>.pt            policy weights after round K (torch state dict)
    <work_dir>/datasets/dagger/round<K>-v0   Minari dataset of round K
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch as th
from stable_baselines3.common.policies import ActorCriticPolicy

from sb3_plus.data.sequences import Episode
from sb3_plus.errors import UserError
from sb3_plus.rollout import EpisodeRecord
from sb3_plus.files import atomic_path, write_json_atomic


class DaggerResumeError(UserError, ValueError):
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

    def line(self) -> str:
        """The one-line summary printed after each round."""
        parts = [f"DAgger round {self.round}: beta {self.beta:.3f}", f"learner agreement {self.learner_agreement:.2f}",
                 f"rollout success {self.rollout_success:.0%}",
                 f"data {self.dataset_episodes} ep / {self.dataset_steps} steps"]
        if self.bc_agreement is not None:
            parts.append(f"BC agreement {self.bc_agreement:.2f}")
        if self.eval_success is not None:
            parts.append(f"validation success {self.eval_success:.0%}")
        parts.append(f"{self.seconds:.0f} s")
        return ", ".join(parts)


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


def _policy_signature(policy: ActorCriticPolicy) -> dict[str, Any]:
    return {"policy_class": type(policy).__name__, "observation_space": str(policy.observation_space),
            "action_space": str(policy.action_space),
            "n_parameters": int(sum(p.numel() for p in policy.parameters()))}


def resume(work_dir: Path, env_id: str, env_kwargs: dict[str, Any], policy: ActorCriticPolicy) -> list[DaggerRound]:
    """The finished rounds of the run in ``work_dir`` (none for a new folder); loads their last weights.

    :raises DaggerResumeError: the folder belongs to another env, env options or policy
    """
    path = work_dir / "state.json"
    if not path.exists():
        return []
    state = json.loads(path.read_text())
    expected = {"env_id": env_id, "env_kwargs": env_kwargs, **_policy_signature(policy)}
    diff = {k: (state.get(k), v) for k, v in expected.items() if state.get(k) != v}
    if diff:
        detail = "; ".join(f"{k}: folder has {a!r}, this run {b!r}" for k, (a, b) in diff.items())
        raise DaggerResumeError(
            f"the DAgger folder {work_dir} belongs to another run ({detail}). "
            "Fix: pass a new work folder, or the same env and policy settings to resume it"
        )
    rounds = [DaggerRound(**r) for r in state["rounds"]]
    if rounds:
        policy.load_state_dict(th.load(work_dir / state["policy"], map_location=policy.device, weights_only=True))
    return rounds


def save_round(work_dir: Path, env_id: str, env_kwargs: dict[str, Any], policy: ActorCriticPolicy,
               schedule: list[float], rounds: list[DaggerRound]) -> None:
    """Write the weights after the last round, then ``state.json`` (each atomically)."""
    weights = work_dir / f"policy_round{rounds[-1].round}.pt"
    with atomic_path(weights) as tmp:
        th.save(policy.state_dict(), tmp)
    write_json_atomic(work_dir / "state.json", {
        "env_id": env_id, "env_kwargs": env_kwargs, **_policy_signature(policy), "policy": weights.name,
        "schedule": schedule, "rounds": [asdict(r) for r in rounds]})


def round_dataset_id(k: int) -> str:
    """Dataset id of round ``k`` under the work folder's ``datasets/``."""
    return f"dagger/round{k}-v0"


def episodes_of(dataset_id: str, root: Path) -> list[Episode]:
    """A round's episodes, from the Minari dataset under ``root``."""
    from sb3_plus.data.sequences import load_episodes
    from sb3_plus.data.storage import load_dataset

    return load_episodes(load_dataset(dataset_id, root))


@dataclass
class RoundData:
    """One round's recorded play, as it goes into its dataset."""

    k: int
    beta: float
    records: list[EpisodeRecord]
    successes: list[bool]


def write_round_dataset(root: Path, data: RoundData, env: gym.Env, env_id: str, env_kwargs: dict[str, Any],
                        expert: Any) -> str:
    """Write a round's episodes as a Minari dataset (actions: expert labels); return its id."""
    from sb3_plus.data.collect import create_minari_dataset, episode_buffer
    from sb3_plus.data.storage import staged_dataset

    dataset_id = round_dataset_id(data.k)
    buffers = [episode_buffer(rec, i) for i, rec in enumerate(data.records)]
    with staged_dataset(dataset_id, overwrite=True, root=root):
        dataset = create_minari_dataset(dataset_id, buffers, env, "sb3_plus.DAgger",
                                        f"DAgger round {data.k} on {env_id} (beta {data.beta:.3f}); actions "
                                        "are expert labels, executed actions in infos")
        dataset.storage.update_episode_metadata(
            [{"seed": rec.seed, "success": ok, "beta": data.beta, "round": data.k, "expert": str(expert)}
             for rec, ok in zip(data.records, data.successes)], range(len(buffers)))
        dataset.storage.update_metadata({"sb3plus": {
            "env_id": env_id, "env_kwargs": env_kwargs, "expert": str(expert), "method": "dagger",
            "round": data.k, "beta": data.beta, "actions": "expert labels"}})
    return dataset_id
