"""Saved models: read and check a model zip, tell its algorithm, load it, evaluate it on held-out seeds.

A model zip is SB3's own: ``data`` (JSON; the entries SB3 could not write as JSON are
cloudpickled) and ``policy.pth`` (torch weights). :func:`read_model_zip` reads and checks
one without unpickling anything; :func:`detect_algo` tells its algorithm from the run's
``run_info.json`` or from ``data``; :func:`load_model` loads it with its SB3 class;
:func:`evaluate_saved_model` (``python -m sb3_plus.evaluate``) plays it on held-out seeds
with the wrappers and the frozen observation statistics of its run.
"""

from __future__ import annotations

import json
import pickle
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

from sb3_plus.errors import BadOptionError, InputNotFoundError, UserError
from sb3_plus.evaluation import HELD_OUT_SEED, EvalResult

RUN_INFO = "run_info.json"
RUN_CONFIG = "config.yml"
BEST_MODEL = "best_model.zip"


class ModelFileError(UserError, ValueError):
    """A model zip or a file of its run that cannot be read: not a zip, truncated, corrupt, not an SB3 save."""


class UnknownAlgoError(UserError, ValueError):
    """The algorithm of a model cannot be told from its files, or is not one sb3-plus knows."""


class ObservationShapeError(UserError, ValueError):
    """The env gives observations of another shape than the model was trained on."""


# ----------------------------------------------------------------------------- the zip

@dataclass(frozen=True)
class ModelZip:
    """What :func:`read_model_zip` found in a model zip.

    :param path: the zip.
    :param data: SB3's ``data`` JSON; cloudpickled entries stay encoded (nothing is unpickled).
    """

    path: Path
    data: dict[str, Any]

    @property
    def observation_shape(self) -> tuple[int, ...] | None:
        """The shape of the observation space the model was saved with (``None`` for Dict spaces)."""
        entry = self.data.get("observation_space")
        if isinstance(entry, dict) and isinstance(entry.get("_shape"), list):
            return tuple(int(x) for x in entry["_shape"])
        return None

    @property
    def policy_module(self) -> str:
        """The module of the policy class (``sb3_contrib.common.recurrent.policies``, ...)."""
        entry = self.data.get("policy_class")
        return str(entry.get("__module__", "")) if isinstance(entry, dict) else ""

    def read(self, name: str) -> bytes:
        """The bytes of one file of the zip."""
        try:
            with zipfile.ZipFile(self.path) as archive:
                return archive.read(name)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ModelFileError(_corrupt(self.path, exc)) from None


def _corrupt(path: Path, exc: BaseException) -> str:
    return (f"model file {path} is truncated or corrupt ({type(exc).__name__}: {exc}). Fix: copy or download it "
            "again, or train it again (python -m sb3_plus.train ... -i RUN_DIR resumes from its last checkpoint)")


def read_model_zip(path: str | Path) -> ModelZip:
    """Read and check an SB3 model zip without unpickling anything.

    :param path: the ``.zip``.
    :raises InputNotFoundError: no such file.
    :raises ModelFileError: not a zip, truncated, corrupt (a failed checksum), or not an SB3 save.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"model {path} not found. Fix: pass the .zip written by python -m sb3_plus.train, "
                                 "or its run folder")
    try:
        with zipfile.ZipFile(path) as archive:
            members = frozenset(archive.namelist())
            damaged = archive.testzip()
            raw = archive.read("data") if "data" in members else None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ModelFileError(_corrupt(path, exc)) from None
    if damaged is not None:
        raise ModelFileError(_corrupt(path, ValueError(f"{damaged} fails its checksum")))
    missing = [name for name in ("data", "policy.pth") if name not in members]
    if missing:
        raise ModelFileError(f"model file {path} has no {' or '.join(missing)}: it is truncated, corrupt or not an SB3 "
                             "save. Fix: copy or download it again, or pass a model saved by python -m sb3_plus.train")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"the data entry of {path} is not valid JSON ({exc}): the file is corrupt. Fix: copy or "
                             "download it again, or train it again") from None
    if not isinstance(data, dict):
        raise ModelFileError(f"the data entry of {path} is not a JSON object: the file is corrupt or not an SB3 save. "
                             "Fix: pass a model saved by Stable-Baselines3")
    return ModelZip(path, data)


def check_observation_shape(expected: tuple[int, ...] | None, space: gym.Space, *, model_file: str | Path,
                            env_id: str, env_kwargs: dict[str, Any]) -> None:
    """Check that ``space`` gives what a model saved with observation shape ``expected`` (``None``: any) takes.

    Image spaces may differ by SB3's channel transposition ((C, H, W) saved, (H, W, C) given). The
    model file, env id and options are named in the :class:`ObservationShapeError` raised otherwise.
    """
    given = getattr(space, "shape", None)
    if expected is None or given is None or tuple(expected) == tuple(given):
        return
    if len(expected) == 3 and len(given) == 3 and tuple(expected) == (given[2], given[0], given[1]):
        return
    raise ObservationShapeError(
        f"the model {Path(model_file).name} takes observations of shape {tuple(expected)} but {env_id} with env "
        f"options {env_kwargs} and the run's wrappers gives {tuple(given)}. Fix: pass the env options used in training "
        "(--env-kwargs), and keep the model in its run folder so that its config.yml (frame_stack) is found")


# ----------------------------------------------------------------------------- the algorithm

#: Hyperparameters that only one algorithm saves in ``data`` (checked in this order).
_ALGO_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ppo_rnd", ("int_coef", "ext_coef", "update_proportion")),
    ("trpo", ("cg_max_steps",)),
    ("ars", ("n_delta",)),
    ("tqc", ("top_quantiles_to_drop_per_net",)),
    ("qrdqn", ("n_quantiles", "exploration_rate")),
    ("dqn", ("exploration_rate",)),
    ("crossq", ("policy_delay", "target_entropy")),
    ("td3", ("policy_delay", "target_policy_noise")),
    ("sac", ("target_entropy",)),
    ("ppo", ("clip_range", "n_epochs")),
    ("a2c", ("gae_lambda", "vf_coef")),
)


def algo_from_zip(saved: ModelZip) -> str | None:
    """The algo key that saved ``saved``, told from its hyperparameters and policy class; ``None`` if unknown."""
    from sb3_plus.config import ALGOS

    algo = next((key for key, fields in _ALGO_FIELDS if all(f in saved.data for f in fields)), None)
    if algo == "ppo_rnd":
        algo = "ppo_lstm_rnd" if "recurrent" in saved.policy_module else "ppo_rnd"
    elif algo == "ppo":
        module = saved.policy_module
        algo = "ppo_lstm" if "recurrent" in module else "ppo_mask" if "maskable" in module else "ppo"
    elif algo == "td3" and saved.data.get("policy_delay") == 1 and not saved.data.get("target_noise_clip"):
        algo = "ddpg"  # DDPG is TD3 with one actor update per critic update and its target noise clipped to 0
    return algo if algo in ALGOS else None


def detect_algo(model_path: str | Path) -> str:
    """The algo key of a saved model: from its run's ``run_info.json``, else from the zip's ``data``.

    :param model_path: the model zip.
    :raises UnknownAlgoError: the algorithm cannot be told, or the run names one that is not known.
    """
    from sb3_plus.config import ALGOS

    model_path = Path(model_path)
    algo = _run_info_near(model_path)[1].get("algo")
    if algo:
        if algo not in ALGOS:
            raise UnknownAlgoError(f"the run of {model_path} was trained with algo {algo!r}, which is not known here. "
                                   f"Fix: install or register it (known: {', '.join(sorted(ALGOS))})")
        return str(algo)
    algo = algo_from_zip(read_model_zip(model_path))
    if algo is None:
        raise UnknownAlgoError(f"cannot tell which algorithm saved {model_path} (no {RUN_INFO} beside it and its data "
                               f"matches no known algorithm). Fix: pass --algo, one of {', '.join(sorted(ALGOS))}")
    return algo


def load_model(model_path: str | Path, algo: str | None = None, device: str = "cpu") -> Any:
    """Load an SB3 / sb3-contrib model zip with its class (the algo is detected when not given).

    :param model_path: the model zip.
    :param algo: algo key (default: :func:`detect_algo`).
    :param device: torch device.
    :raises ModelFileError: the zip is truncated, corrupt or not an SB3 save.
    :raises UnknownAlgoError: the algo is unknown or cannot be told.
    """
    from sb3_plus.config import ALGOS

    model_path = Path(model_path)
    read_model_zip(model_path)
    algo = algo or detect_algo(model_path)
    if algo not in ALGOS:
        raise UnknownAlgoError(f"unknown algo {algo!r}. Fix: pass --algo, one of {', '.join(sorted(ALGOS))}")
    return ALGOS[algo].load(model_path, device=device)


# ----------------------------------------------------------------------------- the run folder

def read_run_json(path: Path) -> dict[str, Any]:
    """A JSON object of a run folder (``run_info.json``, ...); ``{}`` when the file is absent.

    :raises ModelFileError: the file is not a valid JSON object (truncated or corrupt).
    """
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path} is truncated or corrupt: not valid JSON ({exc}). Fix: restore it from the "
                             "training run, or train again") from None
    if not isinstance(data, dict):
        raise ModelFileError(f"{path} is corrupt: not a JSON object. Fix: restore it from the training run")
    return data


def _run_info_near(model_path: Path) -> tuple[Path | None, dict[str, Any]]:
    """The run folder of a model zip (its folder, or the one above ``checkpoints/``) and its run info."""
    for folder in (model_path.parent, model_path.parent.parent):
        if (folder / RUN_INFO).is_file():
            return folder, read_run_json(folder / RUN_INFO)
    return None, {}


def run_model_file(run_dir: Path, info: dict[str, Any], which: str = "final") -> Path:
    """The model zip of a run folder (not checked to exist): ``which`` is ``"final"`` (the run's model, named in
    ``info``), ``"best"`` (``best_model.zip``) or a zip name in the folder."""
    if which == "best":
        return run_dir / BEST_MODEL
    if which != "final":
        return run_dir / which
    env_id = info.get("env_id")
    return run_dir / (info.get("model") or (f"{str(env_id).replace('/', '_')}.zip" if env_id else "<env>.zip"))


def resolve_model_path(model: str | Path, best: bool = False) -> Path:
    """The zip ``model``, or a run folder's final model (``best_model.zip`` with ``best``); it must exist."""
    path = Path(model)
    if not path.is_dir():
        if best:
            raise BadOptionError(f"--best picks best_model.zip of a run folder, but {path} is not a folder. Fix: pass "
                                 "the run folder as --model, or leave out --best")
        if not path.is_file():
            raise InputNotFoundError(f"model {path} not found. Fix: pass the .zip written by python -m sb3_plus.train, "
                                     "or its run folder")
        return path
    info = read_run_json(path / RUN_INFO)
    zip_path = run_model_file(path, info, "best" if best else "final")
    if not zip_path.is_file():
        fix = "leave out --best" if best else "finish the run (python -m sb3_plus.train ... -i RUN_DIR)"
        present = ", ".join(sorted(p.name for p in path.glob("*.zip"))) or "none"
        raise InputNotFoundError(f"run folder {path} has no {zip_path.name} (zips: {present}). Fix: {fix}, or pass "
                                 "--model RUN_DIR/<zip>")
    return zip_path


def _run_config(run_dir: Path | None, info: dict[str, Any]) -> Any:
    """The run's :class:`sb3_plus.config.TrainConfig` (wrappers to evaluate with), or ``None`` without one."""
    from sb3_plus.config import load_saved_config

    if run_dir is None or not (run_dir / RUN_CONFIG).is_file() or not info.get("algo") or not info.get("env_id"):
        return None
    return load_saved_config(run_dir / RUN_CONFIG, info["algo"], info["env_id"])


# ----------------------------------------------------------------------------- evaluation envs

def load_vecnormalize(path: str | Path, venv: Any) -> Any:
    """VecNormalize statistics from a pickle written by training, frozen for evaluation
    (``training=False``, ``norm_reward=False``).

    :param path: the ``vecnormalize*.pkl`` (a file of this machine's own runs: it is unpickled).
    :param venv: the ``VecEnv`` to wrap, or one gymnasium env (wrapped without building another).
    :raises ModelFileError: the file is truncated or corrupt, or its statistics do not fit the env.
    """
    from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

    if not isinstance(venv, VecEnv):
        env = venv
        venv = DummyVecEnv([lambda: env])
    try:
        norm = VecNormalize.load(str(path), venv)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as exc:
        raise ModelFileError(f"VecNormalize statistics {path} are truncated or corrupt ({type(exc).__name__}: {exc}). "
                             "Fix: restore the file from the training run") from None
    except AssertionError:  # SB3 checks the statistics' observation shape with an assert
        raise ModelFileError(f"VecNormalize statistics {path} are for observations of another shape than "
                             f"{venv.observation_space}. Fix: evaluate with the env options and wrappers of the run "
                             "that wrote them") from None
    norm.training = False
    norm.norm_reward = False
    return norm


# ----------------------------------------------------------------------------- evaluation

def evaluate_saved_model(model: str | Path, env_id: str | None = None, episodes: int = 100,
                         seed: int = HELD_OUT_SEED, algo: str | None = None, deterministic: bool = True,
                         env_kwargs: dict[str, Any] | None = None, device: str = "cpu",
                         best: bool = False) -> EvalResult:
    """Evaluate a saved model (a zip, or a run folder) on held-out seeds ``seed .. seed+episodes-1``.

    The env, its options, the zoo wrappers (``env_wrapper``, ``frame_stack``) and the observation
    statistics (``VecNormalize``, frozen) are the run's, found beside the zip.

    :param model: the model zip, or a run folder (its final model).
    :param env_id: env to play (default: the run's).
    :param episodes: number of episodes, at least 1.
    :param seed: first seed.
    :param algo: algo key (default: detected).
    :param deterministic: greedy actions.
    :param env_kwargs: env options on top of the run's (the run's apply only to the run's env).
    :param device: torch device.
    :param best: with a run folder, evaluate its ``best_model.zip``.
    """
    from sb3_plus.evaluation import evaluate_model
    from sb3_plus.training.envs import find_vecnormalize, make_eval_env
    from sb3_plus.utils import set_torch_threads

    if episodes < 1:
        raise BadOptionError(f"--episodes must be at least 1, got {episodes}. Fix: pass --episodes 1 or more")
    set_torch_threads()
    model_path = resolve_model_path(model, best)
    run_dir, info = _run_info_near(model_path)
    env_id = env_id or info.get("env_id")
    if not env_id:
        raise BadOptionError(f"no --env given and no {RUN_INFO} beside {model_path}. Fix: pass --env ID")
    kwargs = dict(info.get("env_kwargs") or {}) if env_id == info.get("env_id") else {}
    kwargs.update(env_kwargs or {})
    loaded = load_model(model_path, algo, device)
    config = _run_config(run_dir, info)
    stats = find_vecnormalize(model_path) if config is None or config.normalize else None
    env = make_eval_env(config, env_id, kwargs, stats=stats)
    try:
        check_observation_shape(loaded.observation_space.shape, env.observation_space, model_file=model_path,
                                env_id=env_id, env_kwargs=kwargs)
        return evaluate_model(loaded, env, episodes, seed, deterministic)
    finally:
        env.close()
