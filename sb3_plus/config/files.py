"""Zoo files on disk: which file holds an algorithm's entries, which entry fits an env, loading a saved config."""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any, Mapping

from sb3_plus.config.errors import ConfigError
from sb3_plus.config.overrides import Overrides
from sb3_plus.config.registry import check_algo
from sb3_plus.config.schema import TrainConfig
from sb3_plus.config.yaml_io import read_yaml

# the repository root, where the shipped zoo_configs/ folder lives
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
_PATTERN_CHARS = "*?["


def find_entry(hyperparams: Mapping[str, Any], env_id: str) -> str | None:
    """The key of ``hyperparams`` that applies to ``env_id``.

    The exact id wins; then the fnmatch pattern (``Vizdoom*``) with the most literal
    characters (ties: the longer pattern, then the first in the file); then, for an Atari id,
    rl-zoo3's ``atari`` entry; then ``default``.

    :param hyperparams: a zoo file's top level.
    :param env_id: the env id.
    :return: the key, or ``None``.
    """
    if env_id in hyperparams:
        return env_id
    patterns = [key for key in hyperparams if isinstance(key, str) and any(c in key for c in _PATTERN_CHARS)
                and fnmatch.fnmatchcase(env_id, key)]
    if patterns:
        return max(patterns, key=lambda key: (len(re.sub(r"\[[^\]]*\]|[*?]", "", key)), len(key)))
    if "atari" in hyperparams:
        from sb3_plus.envs.atari import is_atari_id

        if is_atari_id(env_id):
            return "atari"
    if "default" in hyperparams:
        return "default"
    return None


#: Algorithm names whose zoo file has another algorithm's name (rl_zoo3's ``ppo_mask`` reads ``maskable_ppo.yml``
#: unless a ``ppo_mask.yml`` exists).
CONFIG_ALIASES = {"ppo_mask": "maskable_ppo"}


def config_path(algo: str, conf_file: str | os.PathLike | None = None,
                config_dir: str | os.PathLike = "zoo_configs") -> Path:
    """The zoo file for ``algo``: ``conf_file`` if given, else ``<config_dir>/<algo>.yml`` (or ``.yaml``, or the
    file of its :data:`CONFIG_ALIASES` name).

    :param algo: the algorithm name, the file's stem.
    :param conf_file: a file to use instead.
    :param config_dir: the folder of zoo files; a relative one that does not exist in the
        working directory is looked up in the project root.
    :raises ConfigError: for a file that does not exist, listing the files that do.
    """
    if conf_file is not None:
        path = Path(conf_file)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file. Fix: check the path", file=str(path))
        return path
    directory = Path(config_dir)
    if not directory.is_absolute() and not directory.is_dir() and (_PROJECT_ROOT / directory).is_dir():
        directory = _PROJECT_ROOT / directory
    for stem in (algo, CONFIG_ALIASES.get(algo, algo)):
        for suffix in (".yml", ".yaml"):
            path = directory / f"{stem}{suffix}"
            if path.is_file():
                return path
    present = sorted(p.stem for p in directory.glob("*.y*ml")) if directory.is_dir() else []
    raise ConfigError(
        f"{directory / (algo + '.yml')}: no config file for {algo!r} (files here: {', '.join(present) or 'none'}). "
        f"Fix: create it, pass conf_file=..., or point config_dir at the folder that holds it",
        file=str(directory / f"{algo}.yml"),
    )


def _family_pattern(env_id: str) -> str:
    match = re.match(r"[A-Z][a-z0-9]+", env_id)
    return f"{match.group(0)}*" if match else "Family*"


def load_hyperparams(algo: str, env_id: str, conf_file: str | os.PathLike | None = None,
                     overrides: Overrides | None = None,
                     config_dir: str | os.PathLike = "zoo_configs") -> TrainConfig:
    """Read, select, override and validate the hyperparameters of ``algo`` on ``env_id``.

    :param algo: key of :data:`~sb3_plus.config.ALGOS` (``ppo``, ``ppo_lstm``, ``a2c``, ``dqn``, ...).
    :param env_id: the env id; the entry is chosen by :func:`find_entry`.
    :param conf_file: a YAML file to read instead of ``<config_dir>/<algo>.yml``.
    :param overrides: rl_zoo3 ``--hyperparams`` strings (``"learning_rate:lin_1e-3"``) or a mapping.
    :param config_dir: the folder of zoo files; a relative one that does not exist in the
        working directory is looked up in the project root.
    :raises ConfigError: naming the file, the entry, the field and the fix.
    """
    check_algo(algo)
    path = config_path(algo, conf_file, config_dir)
    hyperparams = read_yaml(path)
    key = find_entry(hyperparams, env_id)
    if key is None:
        raise ConfigError(
            f"{path}: no entry for {env_id!r} (entries: {', '.join(map(str, hyperparams)) or 'none'}). "
            f"Fix: add an entry `{env_id}:`, a pattern such as `{_family_pattern(env_id)}:`, or a `default:` entry",
            file=str(path), entry=env_id,
        )
    return TrainConfig.from_yaml_dict(algo, env_id, hyperparams[key], source=str(path), entry=str(key),
                                      overrides=overrides)


def load_saved_config(path: str | os.PathLike, algo: str, env_id: str | None = None) -> TrainConfig:
    """Reload a config written by :func:`~sb3_plus.config.save_config` (e.g. from a run folder).

    :param path: the YAML file.
    :param algo: key of :data:`~sb3_plus.config.ALGOS` the run used.
    :param env_id: the entry to read; may be left out when the file has exactly one.
    :raises ConfigError: for a file that cannot be read or validated, or several entries without ``env_id``.
    """
    if env_id is None:
        entries = list(read_yaml(path))
        if len(entries) != 1:
            raise ConfigError(f"{path}: {len(entries)} entries ({', '.join(map(str, entries))}). Fix: pass env_id",
                              file=str(path))
        env_id = str(entries[0])
    return load_hyperparams(algo, env_id, conf_file=path)
