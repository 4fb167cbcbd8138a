"""Adversarial imitation (GAIL, AIRL) from the ``imitation`` package on our datasets and env families.

``imitation`` brings what sb3-plus does not write itself: the discriminators and reward
nets of GAIL and AIRL. This module converts Minari episodes into ``imitation``
trajectories and runs its trainers on an SB3 model built by :func:`sb3_plus.train.train`,
then hands the model back with its own env and logger, so RL can go on with the env's
reward.

Limits that come from ``imitation``: Box observations only (vectors or images; its
reward nets do not take Dict observations), and a feedforward generator (its
discriminator batches score actions with ``evaluate_actions`` without LSTM states, so
RecurrentPPO cannot be the generator; pretrain recurrent policies with BC or DAgger).
Episodes have variable length, so the trainers run with ``allow_variable_horizon=True``.
The generator's env steps count as the model's steps. With a ``VecNormalize`` env the
demonstrations are normalised as the generator's observations are (:func:`demonstrations_for`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from tqdm.auto import tqdm

from sb3_plus.errors import BadOptionError
from sb3_plus.imitation.settings import Settings, knob

ADVERSARIAL_METHODS = ("gail", "airl")


@dataclass(frozen=True)
class AdversarialSettings(Settings):
    """GAIL / AIRL settings (:func:`train_adversarial`)."""

    timesteps: int = knob(20_000, "generator env steps (rounded up to whole rounds of n_steps * n_envs)")
    demo_batch_size: int = knob(256, "expert transitions per discriminator batch (capped by the data)")
    n_disc_updates_per_round: int = knob(4, "discriminator updates after each generator round")
    disc_lr: float = knob(3e-4, "discriminator learning rate")


def minari_to_trajectories(dataset: Any, channels_first: bool = False) -> list[Any]:
    """Minari episodes -> ``imitation.data.types.TrajectoryWithRew`` (observations keep their last entry).

    :param dataset: a ``MinariDataset``, or the id of a dataset under sb3-plus's dataset root
        (``$MINARI_DATASETS_PATH``, else ``./datasets``).
    :param channels_first: move image channels first (what SB3 feeds a CNN policy).
    :raises InputNotFoundError: no dataset with that id under the root.
    :raises SpaceMismatchError: Dict observations (``imitation``'s reward nets take Box ones).
    """
    from imitation.data.types import TrajectoryWithRew

    from sb3_plus.imitation.episodes import open_dataset
    from sb3_plus.imitation.space_check import SpaceMismatchError

    if isinstance(dataset, str):
        dataset = open_dataset(dataset)
    if isinstance(dataset.observation_space, spaces.Dict):
        raise SpaceMismatchError(
            f"GAIL/AIRL from the imitation package take Box observations, this dataset has "
            f"{dataset.observation_space}. Fix: collect the dataset with obs_type vector or pixels"
        )
    trajectories = []
    for episode in dataset.iterate_episodes():
        obs = np.asarray(episode.observations)
        if channels_first and obs.ndim == 4:
            obs = np.moveaxis(obs, -1, 1)
        acts = np.asarray(episode.actions)
        if isinstance(dataset.action_space, spaces.Discrete):
            acts = acts.reshape(-1).astype(np.int64)
        trajectories.append(TrajectoryWithRew(
            obs=obs, acts=acts, infos=None, terminal=bool(np.asarray(episode.terminations)[-1]),
            rews=np.asarray(episode.rewards, dtype=np.float32).reshape(-1)))
    return trajectories


def _reward_net(method: str, observation_space: spaces.Space, action_space: spaces.Space) -> Any:
    from imitation.rewards.reward_nets import BasicRewardNet, BasicShapedRewardNet, CnnRewardNet
    from imitation.util.networks import RunningNorm
    from stable_baselines3.common.preprocessing import is_image_space

    if is_image_space(observation_space, check_channels=False) and len(observation_space.shape) == 3:
        # images reach the reward net as the model sees them: channels first
        return CnnRewardNet(observation_space, action_space, hwc_format=False)
    if method == "airl":
        return BasicShapedRewardNet(observation_space, action_space, normalize_input_layer=RunningNorm)
    return BasicRewardNet(observation_space, action_space, normalize_input_layer=RunningNorm)


def _check_model(model: Any, method: str) -> Any:
    """The model's env, once the method, the policy and the observations suit ``imitation``'s trainers."""
    from sb3_plus.imitation.space_check import PolicyTypeError, SpaceMismatchError
    from sb3_plus.rollout import is_recurrent

    if method not in ADVERSARIAL_METHODS:
        raise BadOptionError(f"unknown adversarial method {method!r}. "
                             f"Fix: choose from {', '.join(ADVERSARIAL_METHODS)}")
    if is_recurrent(model):
        raise PolicyTypeError(f"{method.upper()} from the imitation package needs a feedforward policy (it scores "
                              "actions without LSTM states). Fix: use --algo ppo or a2c, or pretrain ppo_lstm with "
                              "--pretrain bc or dagger")
    venv = model.get_env()
    if isinstance(venv.observation_space, spaces.Dict):
        raise SpaceMismatchError(f"GAIL/AIRL take Box observations, the env has {venv.observation_space}. "
                                 "Fix: use obs_type vector or pixels")
    return venv


def demonstrations_for(model: Any, dataset: Any) -> list[Any]:
    """A dataset's trajectories as ``model`` sees its env: normalised by its ``VecNormalize``, channels first.

    A ``VecNormalize`` that has seen nothing yet gets its statistics from the demonstrations
    (as for BC), so the discriminator compares like with like.

    :param model: an SB3 model with an env (the generator).
    :param dataset: a ``MinariDataset`` or a local dataset id.
    :raises SpaceMismatchError: observations of another shape than the model's env gives.
    """
    from dataclasses import replace

    from stable_baselines3.common.vec_env import VecTransposeImage

    from sb3_plus.imitation.normalize import as_normalizer
    from sb3_plus.imitation.space_check import SpaceMismatchError

    venv = model.get_env()
    demos = minari_to_trajectories(dataset)
    norm = as_normalizer(model.get_vec_normalize_env())
    if norm is not None:
        # the discriminator compares demonstrations with the generator's normalised observations
        norm.fit([t.obs for t in demos])
        demos = [replace(t, obs=norm(t.obs)) for t in demos]
    if isinstance(venv, VecTransposeImage):
        demos = [replace(t, obs=np.moveaxis(t.obs, -1, 1)) if t.obs.ndim == 4 else t for t in demos]
    demo_shape = demos[0].obs.shape[1:]
    if demo_shape != venv.observation_space.shape:
        raise SpaceMismatchError(
            f"dataset observations have shape {demo_shape} but the model sees {venv.observation_space}. "
            "Fix: collect the dataset on the same env id and env_kwargs as the training config")
    return demos


def _trainer(model: Any, venv: Any, method: str, demos: list[Any], settings: AdversarialSettings,
             log_dir: Path) -> Any:
    from imitation.algorithms.adversarial.airl import AIRL
    from imitation.algorithms.adversarial.gail import GAIL
    from imitation.util.logger import configure as imitation_logger

    # a small dataset caps the discriminator batch (imitation refuses a batch larger than the data)
    demo_batch_size = min(settings.demo_batch_size, sum(len(t.acts) for t in demos))
    trainer_cls = GAIL if method == "gail" else AIRL
    return trainer_cls(
        demonstrations=demos, demo_batch_size=demo_batch_size, venv=venv, gen_algo=model,
        reward_net=_reward_net(method, venv.observation_space, venv.action_space),
        n_disc_updates_per_round=settings.n_disc_updates_per_round, disc_opt_kwargs={"lr": settings.disc_lr},
        allow_variable_horizon=True, log_dir=str(log_dir), custom_logger=imitation_logger(str(log_dir), ["csv"]),
    )


def train_adversarial(
    model: Any,
    dataset: Any,
    method: str = "gail",
    settings: AdversarialSettings | None = None,
    *,
    log_dir: str | Path = "adversarial",
    progress_bar: bool = True,
    max_seconds: float | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Train ``model`` (its policy is the generator) with GAIL or AIRL on a Minari dataset, in place.

    :param model: an SB3 on-policy model with a feedforward policy, built on the training env (PPO, A2C).
    :param dataset: Minari dataset (object or local id) of expert episodes on the same env.
    :param method: ``"gail"`` or ``"airl"``.
    :param settings: the knobs (:class:`AdversarialSettings`; defaults when ``None``).
    :param log_dir: folder for ``imitation``'s logs.
    :param progress_bar: show a progress bar over rounds.
    :param max_seconds: wall budget; no new round starts once it is spent.
    :param overrides: single :class:`AdversarialSettings` fields over ``settings`` (``timesteps=1024``).
    :return: a report: method, rounds, generator steps, last discriminator statistics.
    """
    settings = settings or AdversarialSettings()
    if overrides:
        settings = settings.replace(**overrides)
    venv = _check_model(model, method)
    demos = demonstrations_for(model, dataset)
    logger = getattr(model, "_logger", None)
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    trainer = _trainer(model, venv, method, demos, settings, log_dir)
    per_round = trainer.gen_train_timesteps
    n_rounds = max(1, -(-int(settings.timesteps) // per_round))
    start, stats, done = time.perf_counter(), {}, 0
    try:
        for _ in tqdm(range(n_rounds), desc=method.upper(), unit="round", disable=not progress_bar):
            if max_seconds is not None and time.perf_counter() - start >= max_seconds:
                break
            trainer.train_gen(per_round)
            for _ in range(settings.n_disc_updates_per_round):
                stats = trainer.train_disc()
            done += 1
    finally:
        model.set_env(venv)  # RL goes on with the env's own reward
        if logger is not None:
            model.set_logger(logger)
        else:  # learn() configures a fresh logger, as for a model that never had one
            model._custom_logger = False
    return {"method": method, "rounds": done, "generator_steps": done * per_round,
            "demonstrations": len(demos), "seconds": time.perf_counter() - start,
            "disc": {k: float(v) for k, v in stats.items() if np.isscalar(v)}}
