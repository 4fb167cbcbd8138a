"""Typed hyperparameter configs in the RL Zoo YAML format.

One YAML file per algorithm (``zoo_configs/ppo.yml``). Its top-level keys are env ids,
fnmatch patterns for a family of envs (``Vizdoom*``, ``Maze*Pixels-v0``) or ``default``.
An entry holds the algorithm's constructor arguments, the zoo's own keys (``policy``,
``n_envs``, ``n_timesteps``, ``frame_stack``, ``normalize``, ``env_wrapper``,
``env_kwargs``, ``policy_kwargs``, ``noise_type``, ``noise_std``) and a few of sb3-plus
(``success_threshold``, ``reward_threshold``, ``eval_freq``, ``eval_episodes``,
``pretrain``, ``finetune``, ``seq_len``, ``vec_env_class``).

Nothing read from a file is evaluated. Schedules (``lin_3e-4``) become Stable-Baselines3's
own picklable schedule objects, ``policy_kwargs`` strings such as
``"dict(net_arch=[64, 64], activation_fn=nn.ReLU)"`` are read by a literal parser that
knows a fixed set of names, wrappers are imported by path, and every key and value is
checked against the algorithm's and the policy's constructor, so a typo fails at load time
with the file, the entry, the field and the fix.

Modules: :mod:`.registry` (names), :mod:`.literals` (schedules, ``dict(...)`` strings),
:mod:`.yaml_io` (reading and writing YAML), :mod:`.typecheck` (annotations and ranges),
:mod:`.entry` and :mod:`.policy_kwargs` (checking an entry), :mod:`.schema` (``TrainConfig``),
:mod:`.overrides`, :mod:`.files`, :mod:`.wrappers`, :mod:`.noise` and :mod:`.finetune` (RL after pretraining).
"""

from __future__ import annotations

from sb3_plus.config.errors import ConfigError, did_you_mean
from sb3_plus.config.files import config_path, find_entry, load_hyperparams, load_saved_config
from sb3_plus.config.keys import RUN_OPTIONS, VEC_ENV_CLASSES, ZOO_KEYS
from sb3_plus.config.literals import SCHEDULE_FORMS, parse_policy_kwargs_string, parse_schedule, schedule_to_yaml
from sb3_plus.config.noise import NOISE_TYPES
from sb3_plus.config.overrides import apply_overrides, parse_overrides
from sb3_plus.config.registry import (
    ALGOS,
    EXTRACTOR_PROVIDERS,
    register_algo,
    register_features_extractor,
    register_policy,
    resolve_policy,
)
from sb3_plus.config.schema import TrainConfig
from sb3_plus.config.wrappers import WrapperChain
from sb3_plus.config.yaml_io import read_yaml, save_config

__all__ = [
    "ALGOS",
    "ConfigError",
    "EXTRACTOR_PROVIDERS",
    "NOISE_TYPES",
    "RUN_OPTIONS",
    "SCHEDULE_FORMS",
    "TrainConfig",
    "VEC_ENV_CLASSES",
    "WrapperChain",
    "ZOO_KEYS",
    "apply_overrides",
    "config_path",
    "did_you_mean",
    "find_entry",
    "load_hyperparams",
    "load_saved_config",
    "parse_overrides",
    "parse_policy_kwargs_string",
    "parse_schedule",
    "read_yaml",
    "register_algo",
    "register_features_extractor",
    "register_policy",
    "resolve_policy",
    "save_config",
    "schedule_to_yaml",
]

import sb3_plus.exploration  # noqa: E402,F401  registers ppo_rnd and ppo_lstm_rnd
import sb3_plus.policies.explorer_follower_ppo  # noqa: E402,F401  registers ppo_explorer_follower
