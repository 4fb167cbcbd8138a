"""Return an env to a saved state: the capability Go-Explore needs to go back to a cell.

A family offers it in one of two ways, found on the env (through its wrappers):

- ``clone_state() -> state`` and ``restore_state(state)``: an in-memory snapshot (the maze);
- ``save_state(path)`` and ``load_state(path)``: a file written by the game itself (ViZDoom).

:func:`make_restorer` wraps either in a :class:`Restorer`, whose snapshots can also be turned
into bytes (to save an archive) and back. A family with another mechanism plugs in with
:func:`register_restore_adapter`. An env without any gets a :class:`RestoreUnsupportedError`
that names the env and the fix.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Protocol

import gymnasium as gym
import numpy as np

from sb3_plus.errors import UserError

__all__ = ["Restorer", "RestoreUnsupportedError", "CloneRestorer", "SaveFileRestorer", "make_restorer",
           "register_restore_adapter", "encode_plain_state", "decode_plain_state"]


class RestoreUnsupportedError(UserError, TypeError):
    """The env cannot be returned to a saved state, so an archive cannot go back to its cells."""


class Restorer(Protocol):
    """Snapshots of one env's state, and the way back to them.

    ``exact`` says whether :meth:`restore` returns to exactly the snapshot's state (the maze) or
    only near it (ViZDoom drops the player's momentum).
    """

    exact: bool

    def snapshot(self) -> Any:
        """The env's current state; ``None`` when it cannot be saved because saving ended the episode."""

    def restore(self, snapshot: Any) -> None:
        """Return the env to ``snapshot`` (an env whose episode ended is restarted first where needed)."""

    def encode(self, snapshot: Any) -> bytes:
        """``snapshot`` as bytes (to save an archive)."""

    def decode(self, data: bytes) -> Any:
        """The snapshot :meth:`encode` turned into ``data``."""

    def close(self) -> None:
        """Release what the restorer holds (temporary files)."""


def _attr(env: gym.Env, name: str) -> Any:
    try:
        return env.get_wrapper_attr(name)
    except AttributeError:
        return getattr(env.unwrapped, name, None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, dict):
        return {"__dict__": [[_jsonable(k), _jsonable(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_jsonable(v) for v in value]}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot encode a {type(value).__name__} in a saved env state")


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=value["dtype"]).reshape(value["shape"])
        if "__tuple__" in value:
            return tuple(_from_jsonable(v) for v in value["__tuple__"])
        return {_from_jsonable(k): _from_jsonable(v) for k, v in value["__dict__"]}
    if isinstance(value, list):
        return [_from_jsonable(v) for v in value]
    return value


def encode_plain_state(state: Any) -> bytes:
    """Bytes for a state made of dicts, tuples, lists, numbers, strings and numpy arrays (no pickle)."""
    return json.dumps(_jsonable(state), separators=(",", ":")).encode()


def decode_plain_state(data: bytes) -> Any:
    """The state :func:`encode_plain_state` turned into ``data``."""
    return _from_jsonable(json.loads(bytes(data).decode()))


class CloneRestorer:
    """Snapshots through the env's ``clone_state()`` / ``restore_state(state)`` (exact).

    :param env: the env (possibly wrapped) whose base env has both methods.
    """

    exact = True

    def __init__(self, env: gym.Env) -> None:
        self.env = env
        self._clone = _attr(env, "clone_state")
        self._restore = _attr(env, "restore_state")
        encode, decode = _attr(env, "encode_state"), _attr(env, "decode_state")
        self._encode = encode if callable(encode) else encode_plain_state
        self._decode = decode if callable(decode) else decode_plain_state

    def snapshot(self) -> Any:
        return self._clone()

    def restore(self, snapshot: Any) -> None:
        self._restore(snapshot)

    def encode(self, snapshot: Any) -> bytes:
        try:
            return self._encode(snapshot)
        except TypeError as exc:
            raise RestoreUnsupportedError(
                f"the env {_env_name(self.env)} returns states that cannot be saved in an archive ({exc}). Fix: give "
                "the env encode_state(state) -> bytes and decode_state(bytes) methods, or register an adapter with "
                "sb3_plus.exploration.restore.register_restore_adapter") from None

    def decode(self, data: bytes) -> Any:
        return self._decode(data)

    def close(self) -> None:
        """Nothing to release."""


class SaveFileRestorer:
    """Snapshots through a game's own save files (``save_state(path)`` / ``load_state(path)``, ViZDoom).

    A snapshot is the save file's bytes; the files live in a private folder removed by :meth:`close`.
    ViZDoom keeps no momentum in its saves, so a restore lands near (within one action of) the
    saved state: ``exact`` is false. An env whose episode ended is reset before loading.

    :param env: the env (possibly wrapped) with ``save_state`` and ``load_state``.
    """

    exact = False

    def __init__(self, env: gym.Env) -> None:
        from sb3_plus.files import make_owned_dir, sweep_stale
        from sb3_plus.utils import cache_dir

        self.env = env
        self._save = _attr(env, "save_state")
        self._load = _attr(env, "load_state")
        root = cache_dir("go_explore")
        sweep_stale(root, r"states-")  # folders of killed runs
        self._dir = make_owned_dir(root, "states-")
        self._finished = _episode_finished_probe(env)

    def snapshot(self) -> bytes | None:
        """The save file's bytes; ``None`` when the game could not save (ViZDoom saves on the next tics: a
        player about to reach the goal reaches it, and no file, or an engine error, comes instead)."""
        path = self._dir / "snapshot.sav"
        try:
            self._save(path)
        except Exception:  # noqa: BLE001 - the engine's own error type; the exploration from here ends
            return None
        if not path.is_file():
            return None
        data = path.read_bytes()
        path.unlink()
        return data

    def restore(self, snapshot: bytes) -> None:
        if self._finished():
            self.env.reset()
        path = self._dir / "restore.sav"
        path.write_bytes(snapshot)
        self._load(path)

    def encode(self, snapshot: bytes) -> bytes:
        return bytes(snapshot)

    def decode(self, data: bytes) -> bytes:
        return bytes(data)

    def close(self) -> None:
        from sb3_plus.files import remove_path

        remove_path(self._dir)


def _episode_finished_probe(env: gym.Env) -> Callable[[], bool]:
    game = _attr(env, "game")
    if game is not None and hasattr(game, "is_episode_finished"):
        return game.is_episode_finished
    return lambda: False


#: Adapters tried in order: each returns a :class:`Restorer` for the env, or ``None`` when it does not apply.
_ADAPTERS: list[Callable[[gym.Env], Restorer | None]] = []


def register_restore_adapter(adapter: Callable[[gym.Env], Restorer | None], first: bool = True) -> None:
    """Teach :func:`make_restorer` another way to save and restore a family's envs.

    :param adapter: ``adapter(env) -> Restorer | None`` (``None``: not for this env).
    :param first: try it before the built-in ones.
    """
    if first:
        _ADAPTERS.insert(0, adapter)
    else:
        _ADAPTERS.append(adapter)


def _clone_adapter(env: gym.Env) -> Restorer | None:
    if callable(_attr(env, "clone_state")) and callable(_attr(env, "restore_state")):
        return CloneRestorer(env)
    return None


def _save_file_adapter(env: gym.Env) -> Restorer | None:
    if callable(_attr(env, "save_state")) and callable(_attr(env, "load_state")):
        return SaveFileRestorer(env)
    return None


_ADAPTERS.extend([_clone_adapter, _save_file_adapter])


def _env_name(env: gym.Env) -> str:
    spec = getattr(env.unwrapped, "sb3plus_spec", None) or getattr(env, "spec", None)
    if spec is not None:
        return str(spec.kwargs.get("env_id", spec.id)) if hasattr(spec, "kwargs") else str(spec.id)
    return type(env.unwrapped).__name__


def make_restorer(env: gym.Env) -> Restorer:
    """The way back to saved states of ``env``: the first registered adapter that fits.

    :param env: a built env (wrappers are looked through).
    :raises RestoreUnsupportedError: the env offers neither ``clone_state``/``restore_state`` nor
        ``save_state``/``load_state`` and no registered adapter knows it.
    """
    for adapter in _ADAPTERS:
        restorer = adapter(env)
        if restorer is not None:
            return restorer
    raise RestoreUnsupportedError(
        f"the env {_env_name(env)} ({type(env.unwrapped).__name__}) cannot return to a saved state, so a "
        "Go-Explore archive cannot go back to its cells by restoring. Fix: go back by replaying trajectories "
        "instead (--returns replay; the env must replay exactly after a seeded reset), use a family that can "
        "restore (maze, vizdoom), give the env clone_state()/restore_state(state) or save_state(path)/"
        "load_state(path) methods, or register an adapter with sb3_plus.exploration.restore.register_restore_adapter")

