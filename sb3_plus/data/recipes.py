"""Dataset recipes: one small YAML file per shipped dataset says how to collect it again.

A recipe (``datasets/<name>.yml``) holds the arguments of
:func:`sb3_plus.data.collect.collect_expert`::

    dataset_id: sb3plus/mazeeasy/waypoint-v0
    env: MazeEasy-v0
    env_kwargs: {}          # env options (preprocessing), as for make_env
    expert: waypoint
    route: null             # a route file, or null: experts/<family>/<map>.yaml or the planner
    episodes: 100
    seed: 0                 # episode i is reset with seed + i

``python -m sb3_plus.collect_expert --recipe datasets/<name>.yml`` runs one; its other
flags override the recipe's values. A relative ``route`` is read from the working folder,
as ``--route`` is. The dataset goes to :func:`sb3_plus.data.storage.datasets_root`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sb3_plus.errors import BadOptionError, InputNotFoundError


class RecipeError(BadOptionError):
    """A recipe file or value that cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class Recipe:
    """How to collect one dataset (the keys of a recipe file).

    :param env: env id.
    :param dataset_id: Minari id ``namespace/name-vN`` (default ``sb3plus/<env>/<expert>-v0``).
    :param env_kwargs: env options for :func:`sb3_plus.envs.make_env`.
    :param expert: scripted expert name.
    :param route: route file for the expert (``None``: the map's route file or the planner).
    :param episodes: episodes to play.
    :param seed: seed of the first episode.
    :param only_successful: keep only successful episodes.
    :param jpeg_encoding: store images JPEG-compressed (lossy).
    :param description: free text for the dataset metadata.
    :param source: the file the recipe was read from, if any (not a key).
    """

    env: str
    dataset_id: str | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    expert: str = "waypoint"
    route: str | None = None
    episodes: int = 100
    seed: int = 0
    only_successful: bool = False
    jpeg_encoding: bool = False
    description: str | None = None
    source: str | None = field(default=None, compare=False)


#: Keys a recipe file may hold, and the types of their values.
RECIPE_KEYS: dict[str, tuple[type, ...]] = {
    "dataset_id": (str, type(None)), "env": (str,), "env_kwargs": (dict, type(None)), "expert": (str,),
    "route": (str, type(None)), "episodes": (int,), "seed": (int,), "only_successful": (bool,),
    "jpeg_encoding": (bool,), "description": (str, type(None)),
}


def _checked(values: dict[str, Any], where: str) -> dict[str, Any]:
    allowed = ", ".join(RECIPE_KEYS)
    for key, value in values.items():
        if key not in RECIPE_KEYS:
            raise RecipeError(f"{where}: unknown key {key!r}. Fix: use only the keys {allowed}")
        types = RECIPE_KEYS[key]
        # bool is an int to Python, but never an episode count or a seed
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise RecipeError(f"{where}: {key} is {value!r}, it must be {names}. Fix: correct {key}")
    if "episodes" in values and values["episodes"] < 1:
        raise RecipeError(f"{where}: episodes is {values['episodes']}, it must be >= 1. Fix: correct episodes")
    if values.get("env_kwargs") is None:
        values.pop("env_kwargs", None)
    return values


def load_recipe(path: str | Path) -> Recipe:
    """Read and check a recipe file.

    :param path: the YAML file (``datasets/<name>.yml``).
    :raises InputNotFoundError: no such file.
    :raises RecipeError: not YAML, not a mapping, an unknown key (the allowed ones are listed),
        a value of the wrong type, or no ``env``.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"recipe {path} not found. Fix: pass an existing file, e.g. one of "
                                 "datasets/*.yml")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML ({exc}). Fix: correct the file") from None
    if not isinstance(values, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of keys to values, got {type(values).__name__}. "
                          f"Fix: write key: value lines with the keys {', '.join(RECIPE_KEYS)}")
    values = _checked(dict(values), str(path))
    if "env" not in values:
        raise RecipeError(f"{path}: no env. Fix: add a line such as 'env: MazeEasy-v0'")
    return Recipe(**values, source=str(path))


def with_overrides(recipe: Recipe | None, overrides: dict[str, Any], where: str = "options") -> Recipe:
    """``recipe`` with some values replaced (e.g. command-line flags); without a recipe, one made of them.

    ``env_kwargs`` are merged key by key; every other value replaces the recipe's.

    :param recipe: the base recipe, or ``None``.
    :param overrides: recipe keys and their new values.
    :param where: what the overrides are, for errors.
    """
    values = _checked(dict(overrides), where)
    if recipe is None:
        if "env" not in values:
            raise RecipeError(f"{where}: no env and no recipe. Fix: pass --env ENV_ID or --recipe datasets/<name>.yml")
        return Recipe(**values)
    if "env_kwargs" in values:  # env options merge: a flag changes one option, the recipe keeps the others
        values["env_kwargs"] = {**recipe.env_kwargs, **values["env_kwargs"]}
    return dataclasses.replace(recipe, **values)


def collect_from_recipe(recipe: str | Path | Recipe | None, *, overwrite: bool = False, progress_bar: bool = True,
                        measure_raw: bool = False, **overrides: Any) -> Any:
    """Collect the dataset a recipe describes; ``overrides`` replace its values.

    Example: ``collect_from_recipe("datasets/mazeeasy-waypoint.yml", episodes=10, overwrite=True)``.

    :param recipe: a recipe file, a :class:`Recipe`, or ``None`` (then ``overrides`` must name ``env``).
    :param overwrite: replace an existing dataset with the same id.
    :param progress_bar: show a progress bar.
    :param measure_raw: also measure the env's raw step rate.
    :param overrides: recipe keys (:data:`RECIPE_KEYS`) and their values.
    :return: the :class:`sb3_plus.data.collect.CollectionReport`.
    """
    from sb3_plus.data.collect import collect_expert

    base = load_recipe(recipe) if isinstance(recipe, (str, Path)) else recipe
    final = with_overrides(base, overrides)
    return collect_expert(
        final.env, episodes=final.episodes, seed=final.seed, dataset_id=final.dataset_id, route=final.route,
        env_kwargs=final.env_kwargs, overwrite=overwrite, jpeg_encoding=final.jpeg_encoding,
        progress_bar=progress_bar, measure_raw=measure_raw, only_successful=final.only_successful,
        description=final.description, expert=final.expert,
    )
