"""Whole Doom levels from the IWADs that ship with ViZDoom, as env ids.

``VizdoomFreedoom1-v0`` plays Freedoom Phase 1 (``E1M1`` unless ``doom_map`` says another, e.g.
``--env-kwargs doom_map:E1M2``), ``VizdoomFreedoom2-v0`` Freedoom Phase 2 (``MAP01``). The
episode starts on the level's player start with the pistol, at ``doom_skill`` (default 3) and
ends with success when the player uses the level's exit (``+1``, the engine's exit reward);
death (``-1``) and the time limit (truncation, default 5 minutes of game time) end it
without. The buttons are those of generated maps plus moving back:
turn left/right, forward, back, USE and ATTACK. Doors, keys and exits are in the WAD
(:func:`sb3_plus.envs.doom_maps.wad_features`); the engine's own rules play them.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import gymnasium as gym
import vizdoom as vzd

from sb3_plus.errors import BadOptionError
from sb3_plus.utils import cache_dir

__all__ = ["LEVEL_IDS", "BUTTONS", "LevelRules", "check_level_map", "level_cfg", "level_map_name", "make_level",
           "is_level_id", "wad_geometry"]

#: Env id -> (IWAD shipped with vizdoom, default map).
LEVEL_IDS = {"VizdoomFreedoom1-v0": ("freedoom1.wad", "E1M1"), "VizdoomFreedoom2-v0": ("freedoom2.wad", "MAP01")}
BUTTONS = ("TURN_LEFT", "TURN_RIGHT", "MOVE_FORWARD", "MOVE_BACKWARD", "USE", "ATTACK")
TIMEOUT = 35 * 60 * 5  # tics: 5 minutes of game time


def is_level_id(env_id: str) -> bool:
    return env_id in LEVEL_IDS


def level_map_name(env_id: str, doom_map: str | None = None) -> str:
    """The map name routes use for a level: ``freedoom1_e1m1`` (the IWAD, then the level)."""
    iwad, default = LEVEL_IDS[env_id]
    return f"{iwad.rsplit('.', 1)[0]}_{(doom_map or default).lower()}"


def level_cfg(iwad: str, doom_map: str, doom_skill: int = 3, timeout: int = TIMEOUT) -> str:
    """The ViZDoom ``.cfg`` text that plays map ``doom_map`` of the IWAD at ``iwad`` (an absolute path)."""
    lines = [
        f"# {doom_map} of {iwad}: a whole level, success = the exit used",
        f"doom_game_path = {iwad}",
        f"doom_map = {doom_map.lower()}",
        f"doom_skill = {int(doom_skill)}",
        "living_reward = 0.0",
        "death_penalty = 1.0",
        "map_exit_reward = 1.0",
        f"episode_timeout = {int(timeout)}",
        "episode_start_time = 1",
        "render_hud = false",
        "render_crosshair = false",
        "render_weapon = true",
        "labels_buffer_enabled = true",  # the objects in view: the expert's combat reads them
        "available_buttons = { " + " ".join(BUTTONS) + " }",
        "mode = PLAYER",
    ]
    return "\n".join(lines) + "\n"


def check_level_map(env_id: str, doom_map: str | None) -> str:
    """``doom_map`` upper-cased (the level id's default for ``None``).

    :raises BadOptionError: a map the level id's WAD does not hold, naming those it does.
    """
    from sb3_plus.envs.doom_maps.wad import bundled_wad, map_names

    iwad_name, default_map = LEVEL_IDS[env_id]
    doom_map = (doom_map or default_map).upper()
    maps = map_names(bundled_wad(iwad_name))
    if doom_map not in maps:
        raise BadOptionError(f"{env_id}: {iwad_name} has no map {doom_map!r}; it has {', '.join(maps)}. "
                             f"Fix: pass --env-kwargs doom_map:{maps[0]}")
    return doom_map


def make_level(env_id: str, doom_map: str | None = None, doom_skill: int | None = None,
               episode_timeout: int | None = None, **options: Any) -> gym.Env:
    """Build ``VizdoomFreedoom1-v0`` / ``VizdoomFreedoom2-v0`` on map ``doom_map`` (see the module).

    :param env_id: a key of :data:`LEVEL_IDS`.
    :param doom_map: the level (``E1M1``-``E4M9`` in Freedoom 1, ``MAP01``-``MAP32`` in Freedoom 2).
    :param doom_skill: difficulty 1-5 (default 3).
    :param episode_timeout: episode length in tics (default 5 minutes).
    :param options: the ViZDoom family's other options (``resolution``, ``frame_skip``, ...).
    :raises BadOptionError: a map the WAD does not hold, naming those it does.
    """
    from sb3_plus.envs.doom_maps.wad import bundled_wad, read_map
    from sb3_plus.envs.vizdoom import make_vizdoom
    from sb3_plus.files import atomic_path

    iwad = bundled_wad(LEVEL_IDS[env_id][0])
    doom_map = check_level_map(env_id, doom_map)
    text = level_cfg(str(iwad), doom_map, 3 if doom_skill is None else int(doom_skill),
                     TIMEOUT if episode_timeout is None else int(episode_timeout))
    cfg = cache_dir("doom_levels", hashlib.sha256(text.encode()).hexdigest()[:16]) / f"{env_id}-{doom_map}.cfg"
    if not cfg.is_file() or cfg.read_text() != text:
        with atomic_path(cfg) as tmp:
            tmp.write_text(text)
    # sectors from the WAD: the engine's per-sector line lists place some points of E1M1 in the wrong sector
    level = read_map(iwad, doom_map)
    return LevelRules(make_vizdoom(env_id, config_file=cfg, geometry=wad_geometry(level), **options), level, env_id)


class LevelRules(gym.Wrapper):
    """What a whole level adds for the expert: its planned route, and the monster to fight.

    ``expert_route`` is planned from the WAD (:func:`sb3_plus.experts.level_planner.plan_level_route`) on
    first use. ``info["pose"]`` gains the nearest live monster in view (privileged, never in
    observations): ``enemy`` (1.0 or 0.0), ``enemy_bearing`` (degrees to its middle, + to the left) and
    ``enemy_distance`` (map units; both 0.0 without one). The engine's labels list the objects on
    screen; a monster whose box is flatter than tall (``height < 0.6 * width``) is a corpse.

    :param env: the level's ViZDoom env.
    :param level: the map read from its WAD.
    :param env_id: the env id (names the route's env).
    """

    FOV = 90.0  # degrees across the screen

    def __init__(self, env: gym.Env, level: Any, env_id: str) -> None:
        super().__init__(env)
        self.level, self.env_id = level, env_id
        self._route: Any = None

    @property
    def expert_route(self) -> Any:
        """The level's route to its exit, planned from the WAD once."""
        if self._route is None:
            from sb3_plus.envs.doom_maps.features import map_features
            from sb3_plus.experts.level_planner import plan_level_route

            self._route = plan_level_route(self.level, map_features(self.level), env_id=self.env_id,
                                           map_name=level_map_name(self.env_id, self.level.name))
        return self._route

    def _enemy(self) -> dict[str, float]:
        game = self.env.unwrapped.game
        state = None if game.is_episode_finished() else game.get_state()
        none = {"enemy": 0.0, "enemy_bearing": 0.0, "enemy_distance": 0.0}
        if state is None or not state.labels:
            return none
        x = game.get_game_variable(vzd.GameVariable.POSITION_X)
        y = game.get_game_variable(vzd.GameVariable.POSITION_Y)
        width = game.get_screen_width()
        best = None
        for label in state.labels:
            if label.object_category != "Monster" or label.height < 0.6 * label.width:
                continue
            distance = math.hypot(label.object_position_x - x, label.object_position_y - y)
            if best is None or distance < best[0]:
                middle = label.x + label.width / 2.0
                best = (distance, (width / 2.0 - middle) / width * self.FOV)
        if best is None:
            return none
        return {"enemy": 1.0, "enemy_bearing": float(best[1]), "enemy_distance": float(best[0])}

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        return obs, dict(info, pose={**info["pose"], **self._enemy()})

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, dict(info, pose={**info["pose"], **self._enemy()})


def wad_geometry(doom_map: Any) -> Any:
    """The :class:`~sb3_plus.envs.vizdoom_geometry.MapGeometry` of a map read from its WAD (sectors, walls, heights)."""
    import numpy as np

    from sb3_plus.envs.vizdoom_geometry import MapGeometry
    from sb3_plus.experts.level_planner import wad_lines

    lines, owner, walls = wad_lines(doom_map)
    return MapGeometry(lines=lines, blocking=walls, line_sector=owner, sector_ids=list(range(len(doom_map.sectors))),
                       floors=np.array([s.floor for s in doom_map.sectors]),
                       ceilings=np.array([s.ceiling for s in doom_map.sectors]))
