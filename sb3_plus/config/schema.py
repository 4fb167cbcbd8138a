"""``TrainConfig``: the typed hyperparameters of one run, as one zoo entry resolves them."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.utils import ConstantSchedule, FloatSchedule, LinearSchedule

from sb3_plus.config.entry import parse_entry
from sb3_plus.config.errors import ConfigError, Invalid, join_path
from sb3_plus.config.literals import SCHEDULE_FORMS, schedule_to_yaml, to_source
from sb3_plus.config.noise import build_action_noise
from sb3_plus.config.overrides import Overrides
from sb3_plus.config.registry import check_algo, name_of, resolve_policy
from sb3_plus.config.typecheck import init_params
from sb3_plus.config.wrappers import build_env_wrapper


def _comparable(value: Any) -> Any:
    if isinstance(value, FloatSchedule):
        value = value.value_schedule
    if isinstance(value, ConstantSchedule):
        return ("schedule", float(value.val))
    if isinstance(value, LinearSchedule):
        return ("schedule", "linear", value.start, value.end, value.end_fraction)
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_comparable(v) for v in value)
    return value


def _plain(value: Any, path: str) -> Any:
    """``value`` as plain YAML data (schedules as zoo strings, tuples as lists)."""
    if isinstance(value, (FloatSchedule, ConstantSchedule, LinearSchedule)):
        try:
            return schedule_to_yaml(value)
        except ConfigError:
            raise Invalid(f"the schedule {value!r} has no RL Zoo spelling", f"use {SCHEDULE_FORMS}", path) from None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {k: _plain(v, join_path(path, k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, path) for v in value]
    name = name_of(value)
    if name is not None:
        return name
    raise Invalid(f"{value!r} cannot be written to a config file",
                  f"use {SCHEDULE_FORMS} for a schedule, plain YAML data otherwise; set other objects in Python "
                  "after loading", path)


@dataclass(eq=False)
class TrainConfig:
    """Resolved hyperparameters of one training run: one entry of a zoo file, typed.

    :param algo: key of :data:`~sb3_plus.config.ALGOS` (``ppo``, ``ppo_lstm``, ...).
    :param env_id: the env these hyperparameters are for.
    :param policy: the policy name (an alias of the algorithm or a registered policy).
    :param n_timesteps: training budget in env steps, summed over envs.
    :param n_envs: parallel envs.
    :param frame_stack: ``VecFrameStack`` depth, or ``None``.
    :param normalize: ``VecNormalize``: ``False``, ``True`` or its keyword arguments.
    :param env_wrapper: rl_zoo3's ``env_wrapper`` as written (import paths, checked at load);
        :meth:`env_wrapper_fn` applies it.
    :param env_kwargs: keyword arguments for the env constructor (``make_env``).
    :param vec_env_class: ``"dummy"``, ``"subproc"`` or ``"workers"`` (:class:`sb3_plus.envs.vec_workers.WorkerVecEnv`).
    :param policy_kwargs: policy constructor arguments, with classes resolved.
    :param algo_kwargs: the remaining algorithm constructor arguments, typed (schedules are
        callables, ``train_freq`` a tuple).
    :param noise_type: action noise of off-policy algorithms (``normal`` or ``ornstein-uhlenbeck``);
        :meth:`action_noise` builds it.
    :param noise_std: action noise scale.
    :param success_threshold: success rate at which evaluation reports ``solved=1``.
    :param reward_threshold: mean episode return at which evaluation reports ``solved=1``.
    :param eval_freq: env steps (summed over envs) between evaluations.
    :param eval_episodes: episodes per evaluation.
    :param pretrain: imitation pretraining settings (e.g. ``{"method": "bc", "epochs": 5}``).
    :param finetune: RL after pretraining: the algorithm's hyperparameters, ``anchor`` and
        ``critic_only`` (see :mod:`sb3_plus.config.finetune`); a run that does not pretrain ignores it.
    :param seq_len: sequence length for recurrent training from demonstrations.
    :param lstm_forget_bias: forget-gate bias a new recurrent policy's LSTMs start with (PyTorch's
        initialisation when ``None``); 1.0 keeps what the LSTM saw for longer from the start, which
        helps it learn to remember an early cue (see :func:`sb3_plus.policies.set_lstm_forget_bias`).
    :param curriculum: an env option stepped through stages (see :mod:`sb3_plus.training.curriculum`).
    :param augment: image augmentations of training minibatches (see :mod:`sb3_plus.policies.augment`).
    :param source: the file the entry came from (not part of equality).
    :param entry: the entry key that matched ``env_id`` (not part of equality).
    """

    algo: str
    env_id: str
    policy: str
    n_timesteps: int
    n_envs: int = 1
    frame_stack: int | None = None
    normalize: bool | dict[str, Any] = False
    env_wrapper: Any = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    vec_env_class: str = "dummy"
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    noise_type: str | None = None
    noise_std: float | None = None
    success_threshold: float | None = None
    reward_threshold: float | None = None
    eval_freq: int | None = None
    eval_episodes: int | None = None
    pretrain: dict[str, Any] | None = None
    finetune: dict[str, Any] | None = None
    seq_len: int | None = None
    lstm_forget_bias: float | None = None
    curriculum: dict[str, Any] | None = None
    augment: list[str] | None = None
    source: str | None = field(default=None, compare=False)
    entry: str | None = field(default=None, compare=False)

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrainConfig):
            return NotImplemented
        return all(
            _comparable(getattr(self, f.name)) == _comparable(getattr(other, f.name))
            for f in dataclasses.fields(self) if f.compare
        )

    @property
    def algo_class(self) -> type[BaseAlgorithm]:
        """The algorithm class."""
        return check_algo(self.algo)

    def policy_class(self) -> type[BasePolicy]:
        """The policy class that :attr:`policy` names."""
        return resolve_policy(self.algo, self.policy)

    def _error(self, exc: Invalid) -> ConfigError:
        where = f"{self.source or '<dict>'}, entry {self.entry or self.env_id!r}, field {exc.path!r}"
        return ConfigError(f"{where}: {exc.problem}. Fix: {exc.fix}", file=self.source, entry=self.entry,
                           field=exc.path)

    def model_kwargs(self, action_space: gym.Space | None = None) -> dict[str, Any]:
        """Keyword arguments for the algorithm constructor: ``algo_kwargs``, ``policy_kwargs`` and action noise.

        ``ALGOS[c.algo](c.policy, env, **c.model_kwargs(env.action_space), seed=..., device=...)``
        builds the model. The zoo keys (``noise_type``, ``env_wrapper``, ...) are never among
        them. The dicts are copies: SB3 may modify ``policy_kwargs`` in place.

        :param action_space: the env's action space; with it, ``action_noise`` is added when
            the config sets ``noise_type`` (see :meth:`action_noise`). Without it there is none.
        :raises ConfigError: as :meth:`action_noise`.
        """
        kwargs = copy.deepcopy(self.algo_kwargs)
        if self.policy_kwargs:
            kwargs["policy_kwargs"] = copy.deepcopy(self.policy_kwargs)
        if action_space is not None:
            noise = self.action_noise(action_space)
            if noise is not None:
                kwargs["action_noise"] = noise
        return kwargs

    def action_noise(self, action_space: gym.Space) -> ActionNoise | None:
        """SB3's action noise that ``noise_type`` / ``noise_std`` ask for, or ``None`` without ``noise_type``.

        ``normal`` gives :class:`NormalActionNoise`, ``ornstein-uhlenbeck`` gives
        :class:`OrnsteinUhlenbeckActionNoise`, both with mean 0 and ``sigma = noise_std`` per action dimension.

        :param action_space: the env's action space.
        :raises ConfigError: for an algorithm that takes no action noise, an action space that
            is not a ``Box``, or a missing ``noise_std``.
        """
        if self.noise_type is None:
            return None
        if "action_noise" not in init_params(self.algo_class)[0]:
            raise self._error(Invalid(f"{self.algo_class.__name__} takes no action noise",
                                      "remove noise_type and noise_std (only off-policy algorithms such as td3 "
                                      "use them)", "noise_type"))
        try:
            return build_action_noise(self.noise_type, self.noise_std, action_space)
        except Invalid as exc:
            raise self._error(exc) from None

    def env_wrapper_fn(self) -> Callable[[gym.Env], gym.Env] | None:
        """A picklable callable that applies the ``env_wrapper`` wrappers in order, or ``None`` without any.

        Pass it as ``wrapper_class`` to SB3's ``make_vec_env`` (it wraps each env after ``Monitor``,
        as rl_zoo3 does), and apply it to evaluation envs too.

        :raises ConfigError: for a wrapper that cannot be imported or does not take the kwargs given.
        """
        try:
            return build_env_wrapper(self.env_wrapper)
        except Invalid as exc:
            raise self._error(exc) from None

    def vec_normalize_kwargs(self) -> dict[str, Any] | None:
        """Keyword arguments for ``VecNormalize`` (``gamma`` from the algorithm unless set), or ``None``."""
        if not self.normalize:
            return None
        kwargs = dict(self.normalize) if isinstance(self.normalize, dict) else {}
        gamma = self.algo_kwargs.get("gamma")
        if "gamma" not in kwargs and isinstance(gamma, (int, float)):
            kwargs["gamma"] = float(gamma)
        return kwargs

    def to_yaml_dict(self) -> dict[str, Any]:
        """The entry in RL Zoo form: schedules as ``lin_<x>``, ``policy_kwargs`` as a ``dict(...)`` string.

        :raises ConfigError: for a value set in Python that a config file cannot hold.
        """
        try:
            return self._yaml_dict()
        except Invalid as exc:
            raise self._error(exc) from None

    def _yaml_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.policy, "n_timesteps": int(self.n_timesteps), "n_envs": int(self.n_envs)}
        if self.frame_stack is not None:
            out["frame_stack"] = int(self.frame_stack)
        if self.normalize:
            out["normalize"] = True if self.normalize is True else to_source(self.normalize, "normalize")
        if self.env_wrapper is not None:
            out["env_wrapper"] = _plain(self.env_wrapper, "env_wrapper")
        if self.env_kwargs:
            out["env_kwargs"] = _plain(self.env_kwargs, "env_kwargs")
        if self.vec_env_class != "dummy":
            out["vec_env_class"] = self.vec_env_class
        for name in ("noise_type", "noise_std", "success_threshold", "reward_threshold", "eval_freq",
                     "eval_episodes", "seq_len", "lstm_forget_bias"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.pretrain is not None:
            out["pretrain"] = _plain(self.pretrain, "pretrain")
        if self.finetune is not None:
            out["finetune"] = _plain(self.finetune, "finetune")
        if self.curriculum is not None:
            out["curriculum"] = _plain(self.curriculum, "curriculum")
        if self.augment:
            out["augment"] = list(self.augment)
        for key, value in self.algo_kwargs.items():
            out[key] = _plain(value, key)
        if self.policy_kwargs:
            out["policy_kwargs"] = to_source(self.policy_kwargs, "policy_kwargs")
        return out

    @classmethod
    def from_yaml_dict(cls, algo: str, env_id: str, data: Mapping[str, Any], *, source: str = "<dict>",
                       entry: str | None = None, overrides: Overrides | None = None) -> TrainConfig:
        """Validate one zoo entry and type it.

        :param algo: key of :data:`~sb3_plus.config.ALGOS`.
        :param env_id: the env the entry is for.
        :param data: the entry, as read from YAML.
        :param source: the file it came from, for error messages.
        :param entry: the entry key (defaults to ``env_id``).
        :param overrides: ``"key:value"`` strings or a mapping applied on top (dotted keys
            such as ``policy_kwargs.lstm_hidden_size`` change one nested value).
        :raises ConfigError: naming the file, the entry, the field and the fix.
        """
        entry = entry if entry is not None else env_id
        fields = parse_entry(algo, env_id, data, source=source, entry=entry, overrides=overrides)
        return cls(algo=algo, env_id=env_id, source=source, entry=entry, **fields)
