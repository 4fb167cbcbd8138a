"""Super Mario Bros: NES pixels with the standard preprocessing, the pose from RAM, exact save/restore.

Ids: ``SuperMarioBros-<world>-<stage>-v0`` for worlds 1-8 and stages 1-4 (one level per
episode), and ``SuperMarioBrosRandomStages-v0`` (a level drawn from ``stages`` at every reset).
Every id works with :func:`sb3_plus.envs.make_env` and with ``gymnasium.make``.

Built on the emulator of ``gym-super-mario-bros`` 7.4 / ``nes-py`` 8.2 (see
:mod:`sb3_plus.envs.mario_core` for their numpy-2 fixes), wrapped as a gymnasium env:

- actions: one of the button combinations of ``action_set`` (``right_only``, ``simple``, ``complex``);
- ``frame_skip`` frames per step (or a random number from ``frame_skip`` to ``frame_skip_max``),
  the observation the pixel-wise max of the last two, in grey (or RGB), resized to
  ``resolution``, the last ``frame_stack`` stacked along channels;
- ``sticky_actions``: per frame, the previous frame's buttons are kept with this probability
  (Machado et al.); ``noop_max``: a reset waits a random 0 to ``noop_max`` frames, so seeds
  give different episodes. Evaluation wants ``sticky_actions`` 0 (the default);
- reward ``shaped`` (gym-super-mario-bros' default): x progress (steps beyond +-5 pixels count 0)
  plus the clock's change, -25 on death, clipped to [-15, 15]; or ``sparse``: 1 at the flag.
  ``flag_bonus`` is added when the flag is reached. An episode ends (``terminated``) on death or at
  the flag; ``info["success"]`` is true on the flag step.

``info["pose"]`` (the same keys on every step, :data:`~sb3_plus.envs.mario_core.POSE_FIELDS`):
``x`` (absolute, in pixels), ``y``, ``heading``, ``world``, ``stage``, ``area``, ``status``,
``time``, ``x_speed``, ``airborne``, ``player_state``, ``enemy_dx``, ``enemy_dy``.
``clone_state()`` / ``restore_state(state)`` return to any earlier moment exactly; ``peek(policy, steps)``
plays ahead from the present and comes back (what the Mario expert's lookahead uses).
"""

from __future__ import annotations

import io
import re
from collections import deque
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from PIL import Image

from sb3_plus.envs.options import OptionSpec, check_option
from sb3_plus.envs.registry import EnvFamily, register_family
from sb3_plus.errors import BadOptionError

__all__ = ["MarioEnv", "MARIO_IDS", "MARIO_OPTIONS", "ACTION_SETS", "make_mario_env", "parse_stages", "RANDOM_ID"]

_BUTTONS = {"right": 0x80, "left": 0x40, "down": 0x20, "up": 0x10, "start": 0x08, "select": 0x04, "B": 0x02, "A": 0x01}
_RIGHT_ONLY = [(), ("right",), ("right", "A"), ("right", "B"), ("right", "A", "B")]
_SIMPLE = _RIGHT_ONLY + [("A",), ("left",)]
#: Button combinations per action set (gym-super-mario-bros' RIGHT_ONLY, SIMPLE_MOVEMENT, COMPLEX_MOVEMENT).
ACTION_SETS: dict[str, list[tuple[str, ...]]] = {
    "right_only": _RIGHT_ONLY,
    "simple": _SIMPLE,
    "complex": _SIMPLE + [("left", "A"), ("left", "B"), ("left", "A", "B"), ("down",), ("up",)],
}
_SEMANTIC = {"noop": (), "right": ("right",), "run": ("right", "B"), "jump": ("right", "A", "B"),
             "walk_jump": ("right", "A"), "left": ("left",)}

RANDOM_ID = "SuperMarioBrosRandomStages-v0"
_ID_PATTERN = re.compile(r"^SuperMarioBros-(\d+)-(\d+)-v0$")
ALL_STAGES = [(w, s) for w in range(1, 9) for s in range(1, 5)]
#: Every registered Mario id.
MARIO_IDS = [f"SuperMarioBros-{w}-{s}-v0" for w, s in ALL_STAGES] + [RANDOM_ID]

#: Options of the Mario family (``make_env("SuperMarioBros-1-1-v0", **options)``); the level comes from the id.
MARIO_OPTIONS: dict[str, OptionSpec] = {s.name: s for s in (
    OptionSpec("resolution", "size", "side of the observation in pixels", 84, low=8, high=256),
    OptionSpec("grayscale", "bool", "one grey channel instead of RGB", True),
    OptionSpec("frame_skip", "int", "emulator frames per step, 60 a second", 4, low=1, high=64),
    OptionSpec("frame_skip_max", "int", "draw the frames per step from frame_skip to this", 6, low=1, high=64,
               optional=True),
    OptionSpec("frame_stack", "int", "last k frames stacked along channels", 4, low=1, high=32),
    OptionSpec("action_set", "choice", "button combinations the actions stand for", "simple",
               choices=tuple(ACTION_SETS)),
    OptionSpec("sticky_actions", "float", "per frame, probability of keeping the previous buttons", 0.25, low=0,
               high=1, high_open=True),
    OptionSpec("noop_max", "int", "a reset waits a random 0 to noop_max frames", 30, low=0, high=10000),
    OptionSpec("reward", "choice", "shaped (x progress, clock, death) or sparse (1 at the flag)", "shaped",
               choices=("shaped", "sparse")),
    OptionSpec("flag_bonus", "float", "added to the reward at the flag", 50.0),
    OptionSpec("max_episode_steps", "int", "steps before truncation (the clock ends an episode anyway)", 3000,
               low=1, optional=True),
    OptionSpec("stages", "str", "levels a random-stage episode is drawn from", "1-1,1-2", optional=True),
    OptionSpec("render_mode", "choice", "what env.render() returns", "rgb_array", choices=("rgb_array",),
               optional=True),
)}


def parse_stages(text: str | None, where: str = "SuperMarioBrosRandomStages-v0") -> list[tuple[int, int]]:
    """``"1-1,1-2"`` -> ``[(1, 1), (1, 2)]``; ``None`` or ``"all"``: every level.

    :raises BadOptionError: a level that is not ``<world>-<stage>`` with world 1-8 and stage 1-4.
    """
    if text is None or str(text).strip() == "all":
        return list(ALL_STAGES)
    out = []
    for part in str(text).split(","):
        match = re.fullmatch(r"\s*(\d+)-(\d+)\s*", part)
        if match is None or (int(match.group(1)), int(match.group(2))) not in ALL_STAGES:
            raise BadOptionError(f"{where}: stage {part.strip()!r} does not exist; a stage is <world>-<stage> with "
                                 "world 1 to 8 and stage 1 to 4. Fix: pass e.g. stages='1-1,1-2,2-1'")
        out.append((int(match.group(1)), int(match.group(2))))
    return out


def _check_level(world: Any, stage: Any, where: str) -> None:
    if (world, stage) not in ALL_STAGES:
        raise BadOptionError(f"{where}: Super Mario Bros has no level {world}-{stage}; worlds are 1 to 8 and stages "
                             "1 to 4. Fix: use e.g. SuperMarioBros-1-1-v0 (or SuperMarioBrosRandomStages-v0)")


class MarioEnv(gym.Env):
    """One Super Mario Bros level (or a random one per episode) as a gymnasium env; see the module docstring.

    :param world: 1 to 8 (ignored when ``stages`` is given).
    :param stage: 1 to 4 (ignored when ``stages`` is given).
    :param stages: levels to draw from at each reset (``"1-1,1-2"``, ``"all"``); ``None``: ``world``-``stage``.
    :param kwargs: the options of :data:`MARIO_OPTIONS`.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 60}

    def __init__(self, world: int = 1, stage: int = 1, stages: str | None = None,
                 resolution: int | tuple[int, int] = 84, grayscale: bool = True, frame_skip: int = 4,
                 frame_skip_max: int | None = None, frame_stack: int = 1, action_set: str = "simple",
                 sticky_actions: float = 0.0, noop_max: int = 30, reward: str = "shaped", flag_bonus: float = 0.0,
                 max_episode_steps: int | None = None, render_mode: str | None = None) -> None:
        values = dict(locals())
        for name, spec in MARIO_OPTIONS.items():
            check_option(spec, values[name], "MarioEnv")
        if frame_skip_max is not None and frame_skip_max < frame_skip:
            raise BadOptionError(f"MarioEnv: frame_skip_max {frame_skip_max} is below frame_skip {frame_skip}. "
                                 "Fix: pass frame_skip_max >= frame_skip, or leave it out for a fixed frame skip")
        if stages is None:
            _check_level(world, stage, "MarioEnv")
            self.levels = [(int(world), int(stage))]
        else:
            self.levels = parse_stages(stages)
        height, width = (resolution, resolution) if isinstance(resolution, (int, np.integer)) else tuple(resolution)
        self._size = (int(width), int(height))
        self.grayscale, self.frame_stack = bool(grayscale), int(frame_stack)
        self.frame_skip, self.frame_skip_max = int(frame_skip), frame_skip_max
        self.sticky_actions, self.noop_max = float(sticky_actions), int(noop_max)
        self.reward_kind, self.flag_bonus = reward, float(flag_bonus)
        self.max_episode_steps, self.render_mode = max_episode_steps, render_mode
        self.action_set = action_set
        self._buttons = [sum(_BUTTONS[b] for b in combo) for combo in ACTION_SETS[action_set]]
        self.action_space = spaces.Discrete(len(self._buttons))
        channels = (1 if self.grayscale else 3) * self.frame_stack
        self.observation_space = spaces.Box(0, 255, (int(height), int(width), channels), np.uint8)
        #: Semantic actions of the Mario expert -> this env's actions.
        self.mario_action_map = {name: ACTION_SETS[action_set].index(combo) for name, combo in _SEMANTIC.items()
                                 if combo in ACTION_SETS[action_set]}
        self._cores: dict[tuple[int, int], Any] = {}
        self._machines: dict[tuple[int, int], Any] = {}
        self.level = self.levels[0]
        self._frames: deque[np.ndarray] = deque(maxlen=self.frame_stack)
        self._prev_buttons = self._steps = self._x_last = self._time_last = 0
        self._done = True

    # ------------------------------------------------------------------ emulator
    @property
    def core(self) -> Any:
        """The emulator of the level in play (gym-super-mario-bros' ``SuperMarioBrosEnv``, numpy-2 safe)."""
        if self.level not in self._cores:
            from sb3_plus.envs.mario_core import MarioCore, NesState

            core = MarioCore(*self.level)
            self._cores[self.level], self._machines[self.level] = core, NesState(core)
        return self._cores[self.level]

    @property
    def ram(self) -> np.ndarray:
        """The 2 KiB of NES RAM (a live view: copy it to keep it)."""
        return self.core.ram

    def pose(self) -> dict[str, float]:
        """The pose decoded from RAM now (:func:`sb3_plus.envs.mario_core.decode_pose`)."""
        from sb3_plus.envs.mario_core import decode_pose

        return decode_pose(self.core.ram)

    def _screen(self) -> np.ndarray:
        return np.array(self.core.screen)  # a copy: the emulator writes the next frame into the same memory

    def _observe(self, screens: list[np.ndarray]) -> np.ndarray:
        screen = screens[0] if len(screens) == 1 else np.maximum(screens[-2], screens[-1])
        image = Image.fromarray(screen)
        if self.grayscale:
            image = image.convert("L")
        out = np.asarray(image.resize(self._size, Image.BILINEAR), dtype=np.uint8)
        return out[..., None] if self.grayscale else out

    def _stacked(self) -> np.ndarray:
        return np.concatenate(list(self._frames), axis=-1)

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode at the level's start after a random 0 to ``noop_max`` frames (seeded)."""
        super().reset(seed=seed)
        if options:
            raise BadOptionError(f"MarioEnv.reset takes no options, got {sorted(options)}")
        self.level = self.levels[int(self.np_random.integers(len(self.levels)))]
        core = self.core
        core.reset()
        for _ in range(int(self.np_random.integers(self.noop_max + 1))):
            core._frame_advance(0)
        pose = self.pose()
        self._x_last, self._time_last = int(pose["x"]), int(pose["time"])
        self._prev_buttons, self._steps, self._done = 0, 0, False
        frame = self._observe([self._screen()])
        for _ in range(self.frame_stack):
            self._frames.append(frame)
        return self._stacked(), {"pose": pose, "success": False}

    def step(self, action: Any):
        """Hold the action's buttons for the step's frames; see the module docstring for reward and ends."""
        if self._done:
            raise gym.error.ResetNeeded("MarioEnv: the episode is over; call reset() before step()")
        buttons = self._buttons[int(action)]
        frames = self.frame_skip
        if self.frame_skip_max is not None:
            frames = int(self.np_random.integers(self.frame_skip, self.frame_skip_max + 1))
        core, screens, ended = self.core, [], False
        for i in range(frames):
            pressed = buttons
            if self.sticky_actions and self.np_random.random() < self.sticky_actions:
                pressed = self._prev_buttons
            core._frame_advance(pressed)
            self._prev_buttons = pressed
            ended = core._is_dying or core._is_dead or core._flag_get
            if ended or i >= frames - 2:
                screens.append(self._screen())
            if ended:
                break
        success = bool(ended and core._flag_get)
        if not ended:
            core._did_step(False)  # skips pipe and area-change animations as gym-super-mario-bros does
        pose = self.pose()
        reward = self._reward(pose, dead=ended and not success, success=success)
        self._steps += 1
        self._done = ended
        truncated = bool(not ended and self.max_episode_steps is not None and self._steps >= self.max_episode_steps)
        self._done = ended or truncated
        self._frames.append(self._observe(screens))
        return self._stacked(), reward, bool(ended), truncated, {"pose": pose, "success": success}

    def _reward(self, pose: dict[str, float], dead: bool, success: bool) -> float:
        x, clock = int(pose["x"]), int(pose["time"])
        dx, dt = x - self._x_last, clock - self._time_last
        self._x_last, self._time_last = x, clock
        bonus = self.flag_bonus if success else 0.0
        if self.reward_kind == "sparse":
            return float(success) + bonus
        shaped = (dx if -5 <= dx <= 5 else 0) + min(dt, 0) + (-25 if dead else 0)
        return float(max(-15, min(15, shaped))) + bonus

    def render(self) -> np.ndarray | None:
        """The NES screen, RGB 240 x 256; ``None`` without ``render_mode``."""
        return self._screen() if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        """Free the emulators."""
        cores, self._cores, self._machines = list(self._cores.values()), {}, {}
        for core in cores:
            if core._env is not None:
                core.close()

    # ------------------------------------------------------------------ restore
    def clone_state(self) -> dict[str, np.ndarray]:
        """The whole episode state now (emulator, reward trackers, stacked frames) for :meth:`restore_state`.

        A flat dict of numpy arrays of about 6 KB plus the frames (:meth:`encode_state` makes bytes of it).
        """
        self.core  # noqa: B018 - builds the emulator if no episode ran yet
        state = {f"nes_{k}": v for k, v in self._machines[self.level].snapshot().items()}
        state["level"] = np.array(self.level, dtype=np.int64)
        state["counters"] = np.array([self._x_last, self._time_last, self._steps, self._prev_buttons, self._done],
                                     dtype=np.int64)
        state["frames"] = np.stack(list(self._frames)) if self._frames else np.zeros((0,), np.uint8)
        return state

    def restore_state(self, state: dict[str, np.ndarray]) -> None:
        """Return exactly to a :meth:`clone_state` snapshot (of an env with the same options).

        :raises ValueError: the snapshot is of another level set or preprocessing.
        """
        level = tuple(int(v) for v in state["level"])
        if level not in self.levels:
            raise ValueError(f"the state is of level {level[0]}-{level[1]}, which this env does not play "
                             f"({', '.join(f'{w}-{s}' for w, s in self.levels[:6])})")
        frames = np.asarray(state["frames"])
        if frames.size and frames.shape[1:] != self.observation_space.shape[:2] + (self.observation_space.shape[2]
                                                                                   // self.frame_stack,):
            raise ValueError(f"the state's frames have shape {frames.shape[1:]}, this env's {self.observation_space}")
        self.level = level
        self.core  # noqa: B018
        self._machines[level].restore({k[4:]: v for k, v in state.items() if k.startswith("nes_")})
        self._x_last, self._time_last, self._steps, self._prev_buttons, done = (int(v) for v in state["counters"])
        self._done = bool(done)
        self._frames.clear()
        for frame in frames:
            self._frames.append(np.array(frame))

    def peek(self, policy: Callable[[dict[str, float]], int], steps: int, sticky: float = 0.0,
             seed: int | None = None) -> dict[str, Any]:
        """Play up to ``steps`` steps ahead with ``policy`` (pose -> action), then return to the present exactly.

        ``sticky``: per frame, keep the previous frame's buttons with this probability (drawn from ``seed``,
        not from the env's generator, which is left alone); a variable frame skip does not apply.
        :returns: ``died``, ``flag`` (the flag or axe reached), ``steps`` played, the final ``x``, the
            ``furthest`` x reached, and the ``path``: ``(x, y)`` after each step Mario lived through.
        """
        core, machine = self.core, self._machines[self.level]
        saved = machine.snapshot()
        pose = self.pose()
        died = flag = False
        played, furthest, path, previous = 0, pose["x"], [], self._prev_buttons
        rng = np.random.default_rng(seed) if sticky > 0 else None
        try:
            while played < steps and not (died or flag):
                buttons = self._buttons[int(policy(pose))]
                for _ in range(self.frame_skip):
                    if rng is None or rng.random() >= sticky:
                        previous = buttons
                    core._frame_advance(previous)
                    died, flag = bool(core._is_dying or core._is_dead), bool(core._flag_get)
                    if died or flag:
                        break
                played += 1
                if not (died or flag):
                    core._did_step(False)
                    pose = self.pose()
                    furthest = max(furthest, pose["x"])
                    path.append((pose["x"], pose["y"]))
        finally:
            machine.restore(saved)
        return {"died": died, "flag": flag, "steps": played, "x": pose["x"], "furthest": furthest, "path": path}

    def current_observation(self) -> np.ndarray:
        """The observation of the present moment (after :meth:`restore_state`, the snapshot's)."""
        return self._stacked()

    @staticmethod
    def encode_state(state: dict[str, np.ndarray]) -> bytes:
        """A snapshot as bytes (an ``.npz``, no pickle)."""
        buffer = io.BytesIO()
        np.savez(buffer, **state)
        return buffer.getvalue()

    @staticmethod
    def decode_state(data: bytes) -> dict[str, np.ndarray]:
        """The snapshot :meth:`encode_state` turned into ``data``."""
        with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}


# ---------------------------------------------------------------------- registration
def _matches(env_id: str) -> bool:
    return env_id == RANDOM_ID or _ID_PATTERN.match(env_id) is not None


def make_mario_env(env_id: str, **kwargs: Any) -> MarioEnv:
    """Build a Mario env from its id (the family's ``build``; options checked by ``make_env``).

    :param env_id: ``SuperMarioBros-<world>-<stage>-v0`` or ``SuperMarioBrosRandomStages-v0``.
    :raises BadOptionError: a level that does not exist, or ``stages`` on a one-level id.
    """
    if env_id == RANDOM_ID:
        return MarioEnv(stages=kwargs.pop("stages", None) or "all", **kwargs)
    match = _ID_PATTERN.match(env_id)
    if match is None:
        raise BadOptionError(f"{env_id!r} is not a Mario id; e.g. SuperMarioBros-1-1-v0 or {RANDOM_ID}")
    world, stage = int(match.group(1)), int(match.group(2))
    _check_level(world, stage, env_id)
    if kwargs.get("stages") is not None:
        raise BadOptionError(f"{env_id}: 'stages' is an option of {RANDOM_ID}; this id plays {world}-{stage}. "
                             f"Fix: drop stages, or use {RANDOM_ID} with stages:'{world}-{stage},...'")
    kwargs.pop("stages", None)
    return MarioEnv(world=world, stage=stage, **kwargs)


register_family(EnvFamily(
    name="mario",
    matches=_matches,
    build=make_mario_env,
    examples=["SuperMarioBros-1-1-v0", "SuperMarioBros-1-2-v0", "SuperMarioBros-4-1-v0", RANDOM_ID],
    options=MARIO_OPTIONS,
))

for _w, _s in ALL_STAGES:
    if f"SuperMarioBros-{_w}-{_s}-v0" not in gym.registry:
        gym.register(id=f"SuperMarioBros-{_w}-{_s}-v0", entry_point="sb3_plus.envs.mario:MarioEnv",
                     kwargs={"world": _w, "stage": _s})
if RANDOM_ID not in gym.registry:
    gym.register(id=RANDOM_ID, entry_point="sb3_plus.envs.mario:MarioEnv", kwargs={"stages": "all"})
