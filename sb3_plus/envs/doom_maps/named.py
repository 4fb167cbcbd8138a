"""Named maps and their env ids: ``VizdoomGen-<name>-v0`` and, for generators, ``VizdoomGen-<name>-s<seed>-v0``.

A name stands for a fixed :class:`~sb3_plus.envs.doom_maps.description.MapDescription`,
a YAML file of one, or a generator ``seed -> MapDescription`` (layout randomisation: each
seed is another layout, and its own env id, so datasets and routes name the layout they
were made on). ``VizdoomGen-<name>-v0`` is seed 0 of a generator.

Names come from :func:`register_map`, the built-in generators, and the YAML files
``<name>.yaml`` in the package's ``maps/`` folder and in the folders listed in
``$SB3PLUS_DOOM_MAPS`` (separated like ``PATH``), so command lines and worker processes
find a user's map files without any code.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Union

from sb3_plus.envs.doom_maps.description import MapDescription, MapError, load_map

__all__ = ["register_map", "registered_maps", "generated_env_id", "is_generated_id", "description_for", "parse_env_id"]

MapSource = Union[MapDescription, str, Path, Callable[[int], MapDescription]]

MAPS_VARIABLE = "SB3PLUS_DOOM_MAPS"
_ID = re.compile(r"^VizdoomGen-(?P<name>[A-Za-z][A-Za-z0-9_]*)(?:-s(?P<seed>\d+))?-v0$")
_MAPS: dict[str, MapSource] = {}
_BUILTINS_LOADED = False


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        from sb3_plus.envs.doom_maps import generate  # noqa: F401  (registers the built-in generators)


def register_map(name: str, source: MapSource) -> str:
    """Make a map playable as ``make_env("VizdoomGen-<name>-v0")``.

    :param name: letters, digits and ``_``, starting with a letter.
    :param source: a description, a YAML file of one, or a generator ``seed -> description``.
    :return: the env id (seed 0 for a generator).
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise MapError(f"map name {name!r}: use letters, digits and _ (starting with a letter). Fix: e.g. 'my_map'")
    _MAPS[name] = source
    return generated_env_id(name)


def map_folders() -> list[Path]:
    """Folders searched for ``<name>.yaml`` map files: the package's ``maps/``, then ``$SB3PLUS_DOOM_MAPS``."""
    extra = [Path(p) for p in os.environ.get(MAPS_VARIABLE, "").split(os.pathsep) if p]
    return [Path(__file__).resolve().parent / "maps", *extra]


def registered_maps() -> dict[str, MapSource]:
    """Map names and their sources: map files, built-in generators, and :func:`register_map` (which wins)."""
    _load_builtins()
    found: dict[str, MapSource] = {}
    for folder in map_folders():
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")):
                if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", path.stem):
                    found[path.stem] = path
    return {**found, **_MAPS}


def generated_env_id(name: str, seed: int | None = None) -> str:
    """``VizdoomGen-<name>-v0``, or ``VizdoomGen-<name>-s<seed>-v0`` for a generator's layout ``seed``."""
    return f"VizdoomGen-{name}-v0" if seed is None else f"VizdoomGen-{name}-s{int(seed)}-v0"


def parse_env_id(env_id: str) -> tuple[str, int | None] | None:
    """``(name, seed or None)`` of a generated-map id, or ``None`` for any other id."""
    match = _ID.match(env_id)
    if match is None:
        return None
    return match["name"], None if match["seed"] is None else int(match["seed"])


def is_generated_id(env_id: str) -> bool:
    """Whether ``env_id`` has the form of a generated-map id (the name is checked when it is built)."""
    return _ID.match(env_id) is not None


def description_for(env_id: str) -> MapDescription:
    """The map description an id stands for.

    :raises MapError: an unknown name, or a seed for a map that is not generated.
    """
    parsed = parse_env_id(env_id)
    if parsed is None:
        raise MapError(f"{env_id!r} is not a generated-map id. Fix: use VizdoomGen-<name>-v0 or "
                       "VizdoomGen-<name>-s<seed>-v0")
    name, seed = parsed
    maps = registered_maps()
    if name not in maps:
        raise MapError(f"{env_id}: no map named {name!r}; known: {', '.join(sorted(maps)) or 'none'}. Fix: use one "
                       f"of those, register yours (sb3_plus.envs.doom_maps.register_map({name!r}, description)), or "
                       f"put {name}.yaml in a folder listed in ${MAPS_VARIABLE}")
    source = maps[name]
    if isinstance(source, MapDescription) or isinstance(source, (str, Path)):
        if seed is not None:
            raise MapError(f"{env_id}: map {name!r} has a fixed layout, so it takes no seed. "
                           f"Fix: use {generated_env_id(name)}")
        return source if isinstance(source, MapDescription) else load_map(source)
    description = source(0 if seed is None else seed)
    if not isinstance(description, MapDescription):
        raise MapError(f"{env_id}: the generator of {name!r} returned {type(description).__name__}, not a "
                       "MapDescription. Fix: return a MapDescription from it")
    return description
