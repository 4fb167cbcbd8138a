"""Adversarial imitation (GAIL, AIRL) from the ``imitation`` package on our datasets and env families.

``imitation`` brings what sb3-plus does not write itself: the discriminators and reward
nets of GAIL and AIRL. This module converts Minari episodes into ``imitation``
trajectories and runs its trainers on an SB3 model built by :func:`sb3_plus.train.train`,
then hands the model back with its own env and logger, so RL can go on with the env's
reward.

Limits that come from ``imitation``: Box observations only (vectors or images; its
reward nets do not take Dict observations), and a feedforward generator (its
discriminator batches score actions with ``evaluate_actions`` without LSTM states, so
RecurrentPPO cannot be the generator; pretrain recurrent policies with BC or DAgger). Episodes have variable length, so the trainers run with
``allow_variable_horizon=True``. The generator's env steps count as the model's steps.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from tqdm.auto import tqdm

ADVERSARIAL_METHODS = ("gail", "airl")


def minari_to_trajectories(dataset: Any, channels_first: bool = False) -> list[Any]:
    """Minari episodes -> ``imitation.data.types.TrajectoryWithRew`` (observations keep their last entry).

    :param dataset: a ``MinariDataset`` or a local dataset id.
    :param channels_first: move image channels first (what SB3 feeds a CNN policy).
    """
    import minari
    from imitation.data.types import TrajectoryWithRew

    if isinstance(dataset, str):
        dataset = minari.load_dataset(dataset)
    if isinstance(dataset.observation_space, spaces.Dict):
        raise TypeError(
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


def train_adversarial(
    model: Any,
    dataset: Any,
    method: str = "gail",
    *,
    timesteps: int = 20_000,
    demo_batch_size: int = 256,
    n_disc_updates_per_round: int = 4,
    disc_lr: float = 3e-4,
    log_dir: str | Path = "adversarial",
    progress_bar: bool = True,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Train ``model`` (its policy is the generator) with GAIL or AIRL on a Minari dataset, in place.

    :param model: an SB3 on-policy model with a feedforward policy, built on the training env (PPO, A2C).
    :param dataset: Minari dataset (object or local id) of expert episodes on the same env.
    :param method: ``"gail"`` or ``"airl"``.
    :param timesteps: generator env steps (rounded up to whole rounds of ``n_steps * n_envs``).
    :param demo_batch_size: expert transitions per discriminator batch.
    :param n_disc_updates_per_round: discriminator updates after each generator round.
    :param disc_lr: discriminator learning rate.
    :param log_dir: folder for ``imitation``'s logs.
    :param progress_bar: show a progress bar over rounds.
    :param max_seconds: wall budget; no new round starts once it is spent.
    :return: a report: method, rounds, generator steps, last discriminator statistics.
    """
    from imitation.algorithms.adversarial.airl import AIRL
    from imitation.algorithms.adversarial.gail import GAIL
    from imitation.util.logger import configure as imitation_logger
    from stable_baselines3.common.vec_env import VecTransposeImage

    from sb3_plus.imitation.bc import SpaceMismatchError

    if method not in ADVERSARIAL_METHODS:
        raise ValueError(f"unknown adversarial method {method!r}; choose from {', '.join(ADVERSARIAL_METHODS)}")
    if hasattr(model.policy, "lstm_actor"):
        raise TypeError(f"{method.upper()} from the imitation package needs a feedforward policy (it scores "
                        "actions without LSTM states). Fix: use --algo ppo or a2c, or pretrain ppo_lstm with "
                        "--pretrain bc or dagger")
    venv = model.get_env()
    if isinstance(venv.observation_space, spaces.Dict):
        raise TypeError(f"GAIL/AIRL take Box observations, the env has {venv.observation_space}. "
                        "Fix: use obs_type vector or pixels")
    channels_first = isinstance(venv, VecTransposeImage)
    demos = minari_to_trajectories(dataset, channels_first=channels_first)
    demo_shape = demos[0].obs.shape[1:]
    if demo_shape != venv.observation_space.shape:
        raise SpaceMismatchError(
            f"dataset observations have shape {demo_shape} but the model sees {venv.observation_space}. "
            "Fix: collect the dataset on the same env id and env_kwargs as the training config")
    # a small dataset caps the discriminator batch (imitation refuses a batch larger than the data)
    demo_batch_size = min(demo_batch_size, sum(len(t.acts) for t in demos))
    logger, env = getattr(model, "_logger", None), venv
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    trainer_cls = GAIL if method == "gail" else AIRL
    trainer = trainer_cls(
        demonstrations=demos, demo_batch_size=demo_batch_size, venv=venv, gen_algo=model,
        reward_net=_reward_net(method, venv.observation_space, venv.action_space),
        n_disc_updates_per_round=n_disc_updates_per_round, disc_opt_kwargs={"lr": disc_lr},
        allow_variable_horizon=True, log_dir=str(log_dir),
        custom_logger=imitation_logger(str(log_dir), ["csv"]),
    )
    per_round = trainer.gen_train_timesteps
    n_rounds = max(1, -(-int(timesteps) // per_round))
    start, stats, done = time.perf_counter(), {}, 0
    try:
        for _ in tqdm(range(n_rounds), desc=method.upper(), unit="round", disable=not progress_bar):
            if max_seconds is not None and time.perf_counter() - start >= max_seconds:
                break
            trainer.train_gen(per_round)
            for _ in range(n_disc_updates_per_round):
                stats = trainer.train_disc()
            done += 1
    finally:
        model.set_env(env)  # RL goes on with the env's own reward
        if logger is not None:
            model.set_logger(logger)
        else:  # learn() configures a fresh logger, as for a model that never had one
            model._custom_logger = False
    return {"method": method, "rounds": done, "generator_steps": done * per_round,
            "demonstrations": len(demos), "seconds": time.perf_counter() - start,
            "disc": {k: float(v) for k, v in stats.items() if np.isscalar(v)}}
