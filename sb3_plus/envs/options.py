"""Env options as data: each option's type, range and meaning, checked before any engine starts.

:func:`sb3_plus.envs.make_env` checks a family's options with :func:`check_env_options`
before it builds anything, so ``frame_skip:0`` (an engine that never advances: a hang) or
``frame_skip:abc`` fail at once with a :class:`~sb3_plus.errors.BadOptionError` that names
the option, what it must be and an example. Values are taken as given: ``--env-kwargs``
parses ``frame_skip:4`` as the integer 4, so a string such as ``'4'`` is a mistake.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from sb3_plus.errors import BadOptionError

__all__ = ["OptionSpec", "VIZDOOM_OPTIONS", "MAZE_OPTIONS", "family_options", "check_env_options", "check_option"]


@dataclass(frozen=True)
class OptionSpec:
    """What one env option accepts.

    :param name: the keyword (``frame_skip``).
    :param kind: ``"int"``, ``"float"``, ``"bool"``, ``"str"``, ``"choice"`` or ``"size"``
        (an int, or a ``[height, width]`` pair of ints).
    :param help: what it sets, in a few words.
    :param example: a good value, shown in the fix.
    :param low: smallest allowed number (inclusive).
    :param high: largest allowed number (inclusive unless ``high_open``).
    :param high_open: ``high`` itself is excluded (a probability below 1).
    :param odd: the integer must be odd.
    :param choices: allowed values of a ``"choice"``, or a function returning them.
    :param optional: ``None`` is allowed (the family's default).
    """

    name: str
    kind: str
    help: str
    example: Any
    low: float | None = None
    high: float | None = None
    high_open: bool = False
    odd: bool = False
    choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None
    optional: bool = False

    def allowed_choices(self) -> list[Any]:
        """The allowed values of a ``"choice"`` option."""
        return list(self.choices() if callable(self.choices) else (self.choices or ()))

    def expected(self) -> str:
        """What the option must be, in words (``an integer from 1 to 1000``)."""
        if self.kind == "bool":
            text = "true or false"
        elif self.kind == "str":
            text = "a non-empty string"
        elif self.kind == "choice":
            shown = self.allowed_choices()
            text = "one of " + ", ".join(map(str, shown[:12])) + (", ..." if len(shown) > 12 else "")
        else:
            noun = {"int": "an integer", "float": "a number", "size": "an integer or [height, width]"}[self.kind]
            if self.odd:
                noun = "an odd integer"
            text = noun + self._range_words()
        return text + (", or null for the default" if self.optional else "")

    def _range_words(self) -> str:
        low, high = self.low, self.high
        if low is not None and high is not None:
            return f" in [{_num(low)}, {_num(high)})" if self.high_open else f" from {_num(low)} to {_num(high)}"
        if low is not None:
            return f" >= {_num(low)}"
        if high is not None:
            return f" < {_num(high)}" if self.high_open else f" <= {_num(high)}"
        return ""

    def fits(self, value: Any) -> bool:
        """Whether ``value`` is allowed."""
        if value is None:
            return self.optional
        if self.kind == "bool":
            return isinstance(value, (bool, np.bool_))
        if self.kind == "str":
            return isinstance(value, str) and bool(value.strip())
        if self.kind == "choice":
            return isinstance(value, str) and value in self.allowed_choices()
        if self.kind == "size" and isinstance(value, (list, tuple)):
            return len(value) == 2 and all(self._number_fits(v, integer=True) for v in value)
        return self._number_fits(value, integer=self.kind in ("int", "size"))

    def _number_fits(self, value: Any, integer: bool) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False  # True is an int to Python, never a frame count to a user
        if integer and not isinstance(value, (int, np.integer)):
            return False
        if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(float(value)):
            return False
        if self.low is not None and value < self.low:
            return False
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            return False
        return not (self.odd and int(value) % 2 == 0)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _screen_resolutions() -> list[str]:
    import vizdoom as vzd

    names = [n for n in dir(vzd.ScreenResolution) if n.startswith("RES_")]
    return sorted(names, key=lambda n: tuple(int(v) for v in n[4:].split("X")))  # smallest first


def _specs(*items: OptionSpec) -> dict[str, OptionSpec]:
    return {s.name: s for s in items}


#: Options of the ViZDoom family (``make_env("Vizdoom...", **options)``).
VIZDOOM_OPTIONS: dict[str, OptionSpec] = _specs(
    OptionSpec("resolution", "size", "side of the observation in pixels", 64, low=1, high=2048),
    OptionSpec("grayscale", "bool", "one grey channel instead of RGB", True),
    # 0 tics per action never advances the game: an episode that never ends
    OptionSpec("frame_skip", "int", "game tics per action, 35 tics a second", 4, low=1, high=1000),
    OptionSpec("frame_stack", "int", "last k frames stacked along channels", 4, low=1),
    OptionSpec("frame_gap", "int", "steps between stacked frames", 2, low=1, high=64),
    OptionSpec("sticky_actions", "float", "probability of repeating the previous action", 0.25, low=0, high=1,
               high_open=True),
    OptionSpec("screen_resolution", "choice", "the engine's render resolution", "RES_160X120",
               choices=_screen_resolutions),
    OptionSpec("doom_map", "str", "map to load instead of the scenario's", "MAP01", optional=True),
    OptionSpec("doom_skill", "int", "difficulty", 3, low=1, high=5, optional=True),
    # 0 means no time limit in ViZDoom: an expert that never arrives would play forever
    OptionSpec("episode_timeout", "int", "episode length in tics", 2100, low=1, optional=True),
    OptionSpec("max_buttons_pressed", "int", "buttons pressed at once, 0 for any number", 1, low=0, optional=True),
    OptionSpec("render_mode", "choice", "what env.render() returns", "rgb_array", choices=("rgb_array",),
               optional=True),
    OptionSpec("game_args", "str", "extra engine arguments", "+sv_cheats 1"),
)

#: Options of the maze family (``make_env("Maze...", **options)``); the difficulty comes from the id.
MAZE_OPTIONS: dict[str, OptionSpec] = _specs(
    OptionSpec("size", "int", "rooms per side", 6, low=2, high=500, optional=True),
    OptionSpec("loops", "int", "extra openings that make loops", 2, low=0, optional=True),
    OptionSpec("obs_type", "choice", "observation kind", "pixels", choices=("vector", "pixels", "dict")),
    OptionSpec("view_size", "int", "side of the egocentric window in cells", 5, low=3, high=99, odd=True),
    OptionSpec("cell_pixels", "int", "pixels per cell in pixel observations", 8, low=1, high=256, optional=True),
    OptionSpec("max_episode_steps", "int", "steps before truncation", 200, low=1, optional=True),
    OptionSpec("step_penalty", "float", "subtracted from the reward every step", 0.01),
    OptionSpec("fixed_layout_seed", "int", "keep the maze of this seed for every episode", 3, optional=True),
    OptionSpec("fixed_start", "bool", "with fixed_layout_seed, start every episode farthest from the goal", True),
    OptionSpec("num_layouts", "int", "draw every episode's maze from this many layouts (train layouts)", 200, low=1,
               optional=True),
    OptionSpec("start_layout", "int", "first layout seed of num_layouts", 0, low=0),
    OptionSpec("render_mode", "choice", "what env.render() returns", "rgb_array", choices=("rgb_array",),
               optional=True),
)

_BUILTIN: dict[str, dict[str, OptionSpec]] = {"vizdoom": VIZDOOM_OPTIONS, "maze": MAZE_OPTIONS}


def family_options(family: str) -> dict[str, OptionSpec] | None:
    """The option table of a built-in family (``vizdoom``, ``maze``), or ``None``."""
    return _BUILTIN.get(family)


def check_option(spec: OptionSpec, value: Any, where: str) -> None:
    """Raise :class:`BadOptionError` unless ``value`` fits ``spec``.

    :param spec: the option's spec.
    :param value: the value given.
    :param where: what the option belongs to, for the message (an env id).
    """
    if spec.fits(value):
        return
    raise BadOptionError(
        f"{where}: {spec.name} {value!r} is not supported; {spec.name} must be {spec.expected()} ({spec.help}). "
        f"Fix: pass e.g. {spec.name}={spec.example!r} (--env-kwargs {spec.name}:{_example(spec.example)})"
    )


def _example(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def unknown_option_message(where: str, family: str, name: str, allowed: Sequence[str], hint: str = "") -> str:
    """The message for an option the family does not have: close names, other families', the allowed ones."""
    close = difflib.get_close_matches(name, list(allowed), n=1)
    if close:
        hint += f" (did you mean {close[0]!r}?)"
    else:
        others = [f for f, table in _BUILTIN.items() if f != family and name in table]
        if others:
            hint += f" ({name!r} is an option of the {others[0]} family, not of {family})"
    return (f"{where}: unknown option {name!r}{hint}; allowed: {', '.join(allowed)}. "
            f"Fix: use one of those names (--env-kwargs NAME:VALUE)")


def check_env_options(family: str, env_id: str, options: Mapping[str, Any],
                      table: Mapping[str, OptionSpec] | None = None) -> None:
    """Check every option of ``env_id`` against its family's table, before the env is built.

    :param family: the family name (``vizdoom``, ``maze``); families without a table are not checked.
    :param env_id: the env id, for the message.
    :param options: the keyword options given to :func:`sb3_plus.envs.make_env`.
    :param table: the option table to use instead of the built-in one (custom families).
    :raises BadOptionError: an unknown option, or a value of the wrong type or out of range.
    """
    table = table if table is not None else family_options(family)
    if table is None:
        return
    for name in options:
        if name not in table:
            hint = " (the difficulty comes from the env id)" if family == "maze" and name == "difficulty" else ""
            raise BadOptionError(unknown_option_message(env_id, family, name, list(table), hint))
    for name, value in options.items():
        check_option(table[name], value, env_id)
