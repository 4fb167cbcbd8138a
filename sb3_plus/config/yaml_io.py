"""Reading and writing zoo YAML: duplicate keys are errors, ``1e-4`` is a float, writes are atomic."""

from __future__ import annotations

import collections.abc
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sb3_plus.config.errors import ConfigError
from sb3_plus.files import atomic_path

if TYPE_CHECKING:
    from sb3_plus.config.schema import TrainConfig

#: What the top level of a zoo file holds, as said in the fix of a file that holds something else.
ZOO_TOP_LEVEL = "one entry per env id, e.g. `CartPole-v1:` followed by indented hyperparameters"


class DuplicateKey(Exception):
    """A key written twice in one YAML mapping (plain YAML would silently keep the last).

    :param key: the key.
    :param line: its second occurrence, 1-based.
    """

    def __init__(self, key: Any, line: int) -> None:
        super().__init__(key, line)
        self.key = key
        self.line = line


class ZooLoader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-4`` as a float (as YAML 1.2 does) and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, collections.abc.Hashable):
                if key in seen:
                    raise DuplicateKey(key, key_node.start_mark.line + 1)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


# PyYAML follows YAML 1.1, where `1e-4` (no dot) is a string; rl_zoo3 files mean a float.
ZooLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def read_yaml(path: str | os.PathLike, expected: str = ZOO_TOP_LEVEL) -> dict[str, Any]:
    """Read a YAML file whose top level is a mapping (an empty file gives ``{}``).

    :param path: the file.
    :param expected: what the top level should hold, for the fix of a file whose top level is no mapping.
    :raises ConfigError: for a file that cannot be read, bad YAML, a key written twice in one
        mapping (``field`` is that key) or a top level that is not a mapping; the message names
        the file (and the line) and the fix.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}). Fix: check the path",
                          file=str(path)) from None
    try:
        data = yaml.load(text, Loader=ZooLoader)
    except DuplicateKey as exc:
        raise ConfigError(f"{path}, line {exc.line}: the key {exc.key!r} appears twice in one mapping (YAML "
                          "would silently keep the last). Fix: keep one of them", file=str(path),
                          field=str(exc.key)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}). Fix: correct the syntax at the marked line",
                          file=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level is a {type(data).__name__}, not a mapping. Fix: write {expected}",
                          file=str(path))
    return data


def yaml_value(text: str) -> Any:
    """One value written on a command line, read as zoo YAML; text that is not YAML stays a string.

    ``None`` also means null (rl_zoo3 writes it so); ``dict(net_arch=[64])`` stays a string.
    """
    text = text.strip()
    if text == "None":
        return None
    try:
        return yaml.load(text, Loader=ZooLoader)
    except (yaml.YAMLError, DuplicateKey):
        return text


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: readers never see half a file.

    The file gets the mode a plain ``open(path, "w")`` gives under the umask (:func:`sb3_plus.files.atomic_path`).

    :param path: the file (its folder is created).
    :return: the path written.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    return path


def save_config(config: TrainConfig, path: str | os.PathLike) -> Path:
    """Write ``{env_id: {...}}`` in RL Zoo form, atomically; :func:`load_saved_config` reads it back.

    :param config: the resolved config.
    :param path: the YAML file to write (its folder is created).
    :return: the path written.
    :raises ConfigError: for a value set in Python that a config file cannot hold (nothing is written).
    """
    text = (f"# {config.algo} hyperparameters for {config.env_id}, resolved by sb3_plus.config "
            f"(from {config.source or 'Python'}, entry {config.entry or config.env_id})\n")
    text += yaml.safe_dump({config.env_id: config.to_yaml_dict()}, sort_keys=False, default_flow_style=False,
                           width=4096)
    return write_text_atomic(path, text)
