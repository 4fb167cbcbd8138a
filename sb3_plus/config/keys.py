"""The keys a zoo entry may hold besides the algorithm's constructor arguments, with their types."""

from __future__ import annotations

from typing import Any

import torch as th
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

#: Keys of an entry that are not constructor arguments of the algorithm.
ZOO_KEYS: dict[str, str] = {
    "policy": "policy name, e.g. MlpPolicy",
    "n_timesteps": "training budget in env steps",
    "n_envs": "parallel envs",
    "frame_stack": "VecFrameStack depth",
    "normalize": "VecNormalize: true, or its arguments",
    "normalize_kwargs": "VecNormalize arguments",
    "env_wrapper": "gymnasium wrappers by import path (rl_zoo3 form)",
    "env_kwargs": "keyword arguments of the env",
    "vec_env_class": "'dummy', 'subproc' or 'workers'",
    "policy_kwargs": "policy constructor arguments",
    "noise_type": "action noise of off-policy algorithms",
    "noise_std": "action noise scale",
    "success_threshold": "success rate at which evaluation reports solved",
    "reward_threshold": "mean return at which evaluation reports solved",
    "eval_freq": "env steps between evaluations",
    "eval_episodes": "episodes per evaluation",
    "pretrain": "imitation pretraining settings",
    "finetune": "RL after pretraining: the algorithm's hyperparameters, anchor, critic_only",
    "seq_len": "sequence length for recurrent training from demonstrations",
    "lstm_forget_bias": "forget-gate bias of a new recurrent policy's LSTMs, e.g. 1.0 for long memories",
    "curriculum": "an env option stepped through stages as evaluations pass a threshold",
    "augment": "image augmentations of training minibatches (PPO updates and BC), e.g. [shift, flip]",
}
#: Zoo keys that only algorithms taking ``action_noise`` accept.
NOISE_KEYS = frozenset({"noise_type", "noise_std"})
#: Constructor arguments that belong to a run, not to the hyperparameters.
RUN_OPTIONS = frozenset({"env", "seed", "verbose", "device", "tensorboard_log", "_init_setup_model"})
#: Types of the zoo keys that are checked as annotations are.
ZOO_TYPES: dict[str, Any] = {
    "policy": str,
    "n_timesteps": int,
    "n_envs": int,
    "frame_stack": int | None,
    "env_kwargs": dict[str, Any] | None,
    "success_threshold": float | None,
    "reward_threshold": float | None,
    "eval_freq": int | None,
    "eval_episodes": int | None,
    "seq_len": int | None,
    "lstm_forget_bias": float | None,
    "noise_std": float | None,
    "pretrain": dict[str, Any] | None,
    "normalize_kwargs": dict[str, Any] | None,
    "curriculum": dict[str, Any] | None,
    "augment": list[str] | None,
}
#: What a fix shows as an example value of each typed zoo key.
ZOO_EXAMPLES = {
    "policy": "MlpPolicy", "n_timesteps": "!!float 1e6", "n_envs": 8, "frame_stack": 4, "env_kwargs": "{frame_skip: 4}",
    "success_threshold": 0.8, "reward_threshold": 475, "eval_freq": 25000, "eval_episodes": 10, "seq_len": 32,
    "lstm_forget_bias": 1.0,
    "noise_std": 0.1, "pretrain": "{method: bc, epochs: 5}", "normalize_kwargs": "{norm_reward: false}",
    "curriculum": "{option: size, stages: [3, 5, 7], threshold: 0.8}",
    "augment": "[shift, flip]",
}
VEC_ENV_CLASSES = ("dummy", "subproc", "workers")
#: Policy constructor arguments the algorithm fills in itself.
POLICY_SET_BY_ALGO = frozenset({"observation_space", "action_space", "lr_schedule"})
#: Types of policy kwargs that name classes, for policies that take them through ``**kwargs``.
CLASS_KEY_TYPES: dict[str, Any] = {
    "activation_fn": type[th.nn.Module],
    "features_extractor_class": type[BaseFeaturesExtractor],
    "optimizer_class": type[th.optim.Optimizer],
}
