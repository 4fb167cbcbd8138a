"""ViZDoom family: low-resolution grayscale pixels, frame skip/stack, privileged pose.

Built over ``vizdoom``'s own gymnasium envs (every ``Vizdoom*-v1`` id it registers).
The engine's ``_vizdoom.ini`` and ``_vizdoom/`` go to a cache directory, and every
ViZDoom process is ended on ``close()``, on interpreter exit and on SIGTERM/SIGHUP
(ViZDoom processes ignore SIGTERM themselves). A parent killed outright runs none of
that: on Linux each engine is started through :mod:`sb3_plus.envs.parent_death`, so the
kernel kills it when the process that started it dies, and the shared memory such runs
leave behind is removed by the next process that starts a game.
"""

from __future__ import annotations

import atexit
import functools
import os
import signal
import threading
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from PIL import Image

from sb3_plus.errors import BadOptionError
from sb3_plus.envs.parent_death import dying_with_parent, remove_orphaned_shared_memory
from sb3_plus.envs.registry import EnvFamily, register_family
from sb3_plus.envs.vizdoom_geometry import MapGeometry, read_geometry
from sb3_plus.envs.wrappers import ChannelFrameStack, StickyActions
from sb3_plus.utils import cache_dir

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import vizdoom as vzd  # noqa: E402
import vizdoom.gymnasium_wrapper  # noqa: E402,F401  (registers the Vizdoom*-v1 ids)

#: Scenarios won by reaching something (episode ends early, player alive).
_GOAL_SCENARIOS = {"basic", "simpler_basic", "rocket_basic", "my_way_home", "deadly_corridor", "predict_position"}
#: Scenarios won by surviving to the time limit.
_SURVIVAL_SCENARIOS = {"defend_the_center", "defend_the_line", "health_gathering", "health_gathering_supreme", "take_cover"}

#: Shared memory a game's controller and engine create; a killed run leaves them in /dev/shm.
_IPC_PREFIXES = ("ViZDoomSM", "ViZDoomMQCtr", "ViZDoomMQDoom")

_LIVE_GAMES: "weakref.WeakSet[VizdoomPoseEnv]" = weakref.WeakSet()
_INIT_LOCK = threading.Lock()
_HANDLERS_INSTALLED = False


def close_all_games() -> None:
    """End every ViZDoom process this interpreter started."""
    for env in list(_LIVE_GAMES):
        try:
            env.close()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            pass


def _install_cleanup_handlers() -> None:
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    _HANDLERS_INSTALLED = True
    atexit.register(close_all_games)
    remove_orphaned_shared_memory(_IPC_PREFIXES)  # what earlier, killed runs left behind
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(signum)

        def handler(sig: int, frame: Any, _previous: Any = previous) -> None:
            close_all_games()
            if callable(_previous):
                _previous(sig, frame)
            else:
                signal.signal(sig, signal.SIG_DFL)
                os.kill(os.getpid(), sig)

        signal.signal(signum, handler)


@contextmanager
def _in_directory(path: Path) -> Iterator[None]:
    # The engine process inherits the working directory at init; it writes _vizdoom/ there.
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@functools.lru_cache(maxsize=1)
def vizdoom_env_ids() -> tuple[str, ...]:
    """All ViZDoom scenario and map ids registered with gymnasium (``Vizdoom*``)."""
    return tuple(sorted(k for k, s in gym.registry.items() if k.startswith("Vizdoom") and "vizdoom" in str(s.entry_point)))


def scenario_name(env_id: str) -> str:
    """``VizdoomMyWayHome-v1`` -> ``my_way_home`` (the scenario config's stem)."""
    cfg = gym.spec(env_id).kwargs.get("scenario_config_file", "")
    return Path(cfg).stem


def _button_action_map(buttons: list[Any], button_map: list[np.ndarray]) -> dict[str, int]:
    names = {vzd.Button.TURN_LEFT: "turn_left", vzd.Button.TURN_RIGHT: "turn_right",
             vzd.Button.MOVE_FORWARD: "forward", vzd.Button.USE: "use", vzd.Button.ATTACK: "attack"}
    mapping: dict[str, int] = {}
    for action, combo in enumerate(button_map):
        pressed = np.flatnonzero(combo)
        if len(pressed) == 1 and buttons[pressed[0]] in names:
            mapping.setdefault(names[buttons[pressed[0]]], action)
    return mapping


#: Button pairs that cancel out when pressed together.
_OPPOSING = (("MOVE_LEFT", "MOVE_RIGHT"), ("TURN_LEFT", "TURN_RIGHT"), ("MOVE_FORWARD", "MOVE_BACKWARD"),
             ("LOOK_UP", "LOOK_DOWN"), ("MOVE_UP", "MOVE_DOWN"))


class VizdoomPoseEnv(gym.Wrapper):
    """One ViZDoom scenario as a gymnasium env with pixels, pose and success.

    Observations: the screen as ``(resolution, resolution, 1)`` uint8 (or RGB with
    ``grayscale=False``). ``info["pose"]``: ``x``, ``y``, ``heading`` (degrees, counter-
    clockwise from +x), ``sector`` (index into :meth:`map_geometry`, -1 outside), ``health``.
    ``info["success"]``: the scenario's win condition, reached on this step.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 35}

    def __init__(self, env: gym.Env, resolution: int | tuple[int, int] = 64, grayscale: bool = True,
                 geometry: MapGeometry | None = None) -> None:
        super().__init__(env)
        self.game: vzd.DoomGame = env.unwrapped.game
        self.scenario = Path(self.game.get_doom_scenario_path()).stem
        height, width = (resolution, resolution) if isinstance(resolution, int) else tuple(resolution)
        self._size = (int(width), int(height))
        self._gray = grayscale
        channels = 1 if grayscale else 3
        self.observation_space = spaces.Box(0, 255, (int(height), int(width), channels), np.uint8)
        self._geometry: MapGeometry | None = geometry  # None: read from the engine on the first reset
        self._closed = False
        self._last_pose: dict[str, float] = {}
        self._masks: np.ndarray | None = None
        with _INIT_LOCK, _in_directory(cache_dir("vizdoom")):
            self.game.set_doom_config_path(str(cache_dir("vizdoom") / "_vizdoom.ini"))
            self.game.set_vizdoom_path(dying_with_parent(self.game.get_vizdoom_path() or vzd.exe_path))
            self.game.init()
        _LIVE_GAMES.add(self)
        _install_cleanup_handlers()
        self.expert_action_map = _button_action_map(self.game.get_available_buttons(), env.unwrapped.button_map) \
            if hasattr(env.unwrapped, "button_map") else {}
        self.expert_facing_tolerance = 12.0

    # -- observation and info -------------------------------------------------
    def _screen(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        screen = obs["screen"]
        img = Image.fromarray(screen[..., 0] if self._gray else screen)
        out = np.array(img.resize(self._size, Image.BILINEAR), dtype=np.uint8)  # writable: SB3 warns on read-only arrays
        return out[..., None] if self._gray else out

    def pose(self) -> dict[str, float]:
        """The player's privileged state (position, heading, sector, health)."""
        if self.game.is_episode_finished() and self._last_pose:
            return dict(self._last_pose)
        gv = self.game.get_game_variable
        x, y = gv(vzd.GameVariable.POSITION_X), gv(vzd.GameVariable.POSITION_Y)
        sector = self.map_geometry().sector_at(x, y) if self._geometry is not None else -1
        self._last_pose = {"x": float(x), "y": float(y), "heading": float(gv(vzd.GameVariable.ANGLE)),
                           "sector": float(sector), "health": float(gv(vzd.GameVariable.HEALTH))}
        return dict(self._last_pose)

    def _success(self, terminated: bool, truncated: bool) -> bool:
        dead = self.game.is_player_dead()
        if self.scenario in _SURVIVAL_SCENARIOS:
            return bool(truncated and not dead)
        return bool(terminated and not truncated and not dead)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        if self._geometry is None:
            state = self.game.get_state()
            if state is not None and state.sectors is not None and len(state.sectors) > 0:
                self._geometry = read_geometry(state)
        self._last_pose = {}
        info = dict(info, pose=self.pose(), success=False)
        return self._screen(obs), info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info, pose=self.pose(), success=self._success(terminated, truncated) if (terminated or truncated) else False)
        return self._screen(obs), float(reward), bool(terminated), bool(truncated), info

    def render(self) -> np.ndarray:
        state = self.game.get_state()
        if state is None:
            h, w = self.game.get_screen_height(), self.game.get_screen_width()
            return np.zeros((h, w, 3), np.uint8)
        screen = state.screen_buffer
        return np.repeat(screen[..., None], 3, axis=2) if screen.ndim == 2 else screen

    # -- privileged access for experts and exploration ----------------------------
    def action_masks(self) -> np.ndarray:
        """Which actions are real moves (sb3-contrib's MaskablePPO reads it): a button combination that presses
        both of an opposing pair (left and right, forward and back, both turns) cancels out and is masked.
        Only ``max_buttons_pressed`` of 2 or more makes such combinations."""
        if self._masks is None:
            combos = getattr(self.env.unwrapped, "button_map", None)
            n = self.action_space.n if isinstance(self.action_space, spaces.Discrete) else 0
            names = [b.name for b in self.game.get_available_buttons()]
            self._masks = np.ones(n, dtype=bool)
            for action, combo in enumerate(combos or []):
                pressed = {names[i] for i in np.flatnonzero(combo[:len(names)])}
                self._masks[action] = not any(a in pressed and b in pressed for a, b in _OPPOSING)
        return self._masks

    def map_geometry(self) -> MapGeometry:
        """Sectors, lines and objects of the map (needs one reset first)."""
        if self._geometry is None:
            raise RuntimeError("map geometry is read on the first reset(); call env.reset() first")
        return self._geometry

    def save_state(self, path: str | os.PathLike) -> None:
        """Save the full game state to ``path`` (ViZDoom savegame)."""
        self.game.save(str(Path(path).resolve()))

    def load_state(self, path: str | os.PathLike) -> None:
        """Restore a state written by :meth:`save_state` (same scenario).

        ViZDoom writes the savegame on the next tic and does not keep the player's
        momentum, so the restored position is within one action of the saved one.
        """
        path = Path(path).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no saved ViZDoom state at {path}")
        self.game.load(str(path))
        self.env.unwrapped.state = self.game.get_state()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _LIVE_GAMES.discard(self)
            try:
                self.game.close()
            finally:
                super().close()


_OPTIONS = {"resolution", "grayscale", "frame_skip", "frame_stack", "frame_gap", "sticky_actions",
            "screen_resolution", "doom_map", "doom_skill", "episode_timeout", "max_buttons_pressed", "render_mode",
            "game_args"}


def make_vizdoom(env_id: str, resolution: int | tuple[int, int] = 64, grayscale: bool = True, frame_skip: int = 4,
                 frame_stack: int = 1, sticky_actions: float = 0.0, screen_resolution: str = "RES_160X120",
                 frame_gap: int = 1, doom_map: str | None = None, doom_skill: int | None = None, episode_timeout: int | None = None,
                 max_buttons_pressed: int | None = None, render_mode: str | None = None, game_args: str = "",
                 config_file: str | os.PathLike | None = None, geometry: MapGeometry | None = None) -> gym.Env:
    """Build a ViZDoom scenario with sb3-plus preprocessing.

    :param env_id: any ``Vizdoom*-v1`` id.
    :param resolution: observation size (square int or ``(height, width)``).
    :param grayscale: 1-channel observations (else RGB).
    :param frame_skip: game tics per action (the engine repeats the action).
    :param frame_stack: stack the last k frames along channels.
    :param frame_gap: steps between the stacked frames (1: consecutive).
    :param sticky_actions: probability of repeating the previous action.
    :param screen_resolution: the engine's render resolution (ViZDoom ``RES_*`` name).
    :param doom_map: map to load (e.g. ``MAP02``), else the scenario's.
    :param doom_skill: difficulty 1-5.
    :param episode_timeout: episode length in tics.
    :param game_args: extra engine arguments.
    :param config_file: a scenario ``.cfg`` to play instead of the one ``env_id`` is registered with
        (generated maps, :mod:`sb3_plus.envs.doom_maps`); ``env_id`` then only names the env.
    :param geometry: the map's sectors and lines for ``info["pose"]["sector"]`` (default: read from the engine).
    """
    if config_file is None and env_id not in vizdoom_env_ids():
        raise BadOptionError(f"{env_id!r} is not a ViZDoom scenario id; known: {', '.join(i for i in vizdoom_env_ids() if i.endswith('-v1'))}")
    try:
        screen_res = getattr(vzd.ScreenResolution, screen_resolution)
    except AttributeError:
        raise BadOptionError(f"unknown screen_resolution {screen_resolution!r}; use a ViZDoom name such as RES_160X120") from None
    config: dict[str, Any] = {
        "screen_format": vzd.ScreenFormat.GRAY8 if grayscale else vzd.ScreenFormat.RGB24,
        "screen_resolution": screen_res,
        "sectors_info_enabled": True,
        "objects_info_enabled": True,
    }
    if doom_map is not None:
        config["doom_map"] = doom_map
    if doom_skill is not None:
        config["doom_skill"] = int(doom_skill)
    if episode_timeout is not None:
        config["episode_timeout"] = int(episode_timeout)
    extra: dict[str, Any] = {"frame_skip": int(frame_skip)}
    if max_buttons_pressed is not None:
        extra["max_buttons_pressed"] = int(max_buttons_pressed)
    if config_file is None:
        base = gym.make(env_id, disable_env_checker=True, **extra, **config).unwrapped
    else:
        from vizdoom.gymnasium_wrapper.gymnasium_env_defns import VizdoomScenarioEnv

        extra.setdefault("max_buttons_pressed", 1)  # what the registered scenario ids use
        base = VizdoomScenarioEnv(str(Path(config_file).resolve()), **extra, **config)
    if game_args:
        base.game.add_game_args(game_args)
    if render_mode is not None:
        if render_mode not in VizdoomPoseEnv.metadata["render_modes"]:
            raise BadOptionError(f"{env_id}: render_mode {render_mode!r} is not supported; ViZDoom envs here render "
                             f"{VizdoomPoseEnv.metadata['render_modes']} (frames from env.render())")
        base.render_mode = render_mode  # the wrappers report the base env's mode
    env: gym.Env = VizdoomPoseEnv(base, resolution=resolution, grayscale=grayscale, geometry=geometry)
    if sticky_actions:
        env = StickyActions(env, sticky_actions)
    if frame_stack > 1:
        env = ChannelFrameStack(env, frame_stack, gap=frame_gap)
    return env


def _build(env_id: str, **kwargs: Any) -> gym.Env:
    unknown = set(kwargs) - _OPTIONS
    if unknown:
        raise BadOptionError(f"{env_id}: unknown option(s) {sorted(unknown)}; ViZDoom options are {sorted(_OPTIONS)}")
    if _is_generated(env_id):
        from sb3_plus.envs.doom_maps.scenario import make_generated_env

        return make_generated_env(env_id, **kwargs)
    if _is_level(env_id):
        from sb3_plus.envs.doom_maps.levels import make_level

        return make_level(env_id, **kwargs)
    return make_vizdoom(env_id, **kwargs)


def _is_generated(env_id: str) -> bool:
    from sb3_plus.envs.doom_maps.named import is_generated_id  # maps described in code: VizdoomGen-<name>-v0

    return is_generated_id(env_id)


def _is_level(env_id: str) -> bool:
    from sb3_plus.envs.doom_maps.levels import is_level_id  # whole levels of the bundled IWADs

    return is_level_id(env_id)


register_family(EnvFamily(
    name="vizdoom",
    matches=lambda env_id: env_id in vizdoom_env_ids() or _is_generated(env_id) or _is_level(env_id),
    build=_build,
    examples=["VizdoomMyWayHome-v1", "VizdoomBasic-v1", "VizdoomDeadlyCorridor-v1", "VizdoomGen-doorkey-v0",
              "VizdoomFreedoom1-v0", "VizdoomDefendCenter-v1", "VizdoomHealthGathering-v1"],
))
