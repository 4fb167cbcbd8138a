"""The monster room: a memory task on a generated map (``VizdoomMonsterRoom-v0``).

The player stands in a room with a window in its west wall. Behind the window, in a lit
room it cannot enter (the sill is too high to climb, and the window's far side blocks
monsters), stands a monster (a Demon, melee only), or nothing: drawn per episode from the
env's seed. The way on goes east, through a corridor whose floor hurts, into a hall with
two identical doors (they stay open after one USE). Behind the south door lies the end for
"monster seen", behind the north door the end for "room clear". Entering the room behind
the matching door ends the episode with success (``+1``), the other room ends it without
(``wrong_door_reward``); ``info["door"]`` names the room entered. Death and the time limit
end it without success too. Nothing near the doors tells which is right: the first look is
the only cue.

Modes (the env option ``mode``, in the order a curriculum walks them, :data:`MODES`):
``easy`` starts near the window looking at it; ``turn`` near it, facing away; ``far`` at the
room's origin looking at it; ``hard`` at the origin facing away. ``set_mode`` changes the
mode from the next episode on (``vec_env.env_method("set_mode", "hard")``).

Every variant (4 modes x monster or not) is one map of the same PWAD (``MAP01`` ...
``MAP08``) with the same sectors; :class:`MonsterRoomRules` loads the variant of each
episode before the engine starts it, so no ACS is needed. The expert's privileged fields
are in ``info["pose"]``: ``monster`` (1.0 when the monster is shown) and ``mode`` (the index
in :data:`MODES`); the observation never carries them. ``scripted_expert()`` returns the
expert (:class:`sb3_plus.experts.monster_room.MonsterRoomExpert`).

Measured: the expert solves every mode and both outcomes, about 70-86 steps an episode, 14 of
them turning to look in ``turn`` and ``hard``. At 64x64 the monster covers about 60 pixels
that differ from the empty room's frame at the ``easy`` start, about 20 at the ``far`` one.
Known: after episodes that opened doors on 4 or more of the 8 maps, the engine process
crashes in its exit handlers when the env is closed (after all play, which it does not
affect; about 0.8 s and a ``vizdoom-crash.log`` in the engine's cache folder).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from sb3_plus.envs.doom_maps.description import Door, Goal, MapDescription, Room, Start, Thing
from sb3_plus.envs.doom_maps.layout import Layout, build_layout
from sb3_plus.envs.doom_maps.scenario import ScenarioFiles, scenario_cfg
from sb3_plus.envs.doom_maps.udmf import layout_to_udmf
from sb3_plus.envs.doom_maps.validate import validate_map
from sb3_plus.envs.doom_maps.wad import pack_wad
from sb3_plus.envs.options import VIZDOOM_OPTIONS, OptionSpec
from sb3_plus.envs.registry import EnvFamily, register_family
from sb3_plus.errors import BadOptionError
from sb3_plus.utils import cache_dir

__all__ = ["MODES", "ENV_IDS", "MONSTER_ROOM_OPTIONS", "monster_room_layout", "write_monster_room",
           "MonsterRoomRules", "make_monster_room"]

#: Start modes, easiest first (a curriculum walks them in this order).
MODES = ("easy", "turn", "far", "hard")
#: Env id -> its default mode.
ENV_IDS = {"VizdoomMonsterRoom-v0": "hard", "VizdoomMonsterRoomEasy-v0": "easy"}
#: The buttons (no ATTACK: the cue must not be shot away).
BUTTONS = ("TURN_LEFT", "TURN_RIGHT", "MOVE_FORWARD", "USE")
MONSTER = "Demon"  # melee only, and kept off the window: harmless behind it
TIMEOUT = 1050  # tics (30 s): the expert needs about a third of it in hard mode

# (x, y, angle) of the player start per mode; the window is the start room's west wall
_STARTS = {"easy": (56.0, 128.0, 180.0), "turn": (56.0, 128.0, 0.0), "far": (144.0, 128.0, 180.0),
           "hard": (144.0, 128.0, 0.0)}
#: Which end room each hidden state leads to.
DOOR_FOR = {True: "monster_end", False: "clear_end"}


def monster_room_layout(mode: str = "hard", monster: bool = True) -> MapDescription:
    """The map of one variant: the start of ``mode``, the monster shown or not, the goal behind the matching door.

    :param mode: a value of :data:`MODES`.
    :param monster: whether the monster stands behind the window.
    """
    _check_mode(mode)
    rooms = [
        Room("start", 0, 0, 256, 256, light=176),
        # the window: a sill 32 high (the player climbs 24) under a low lintel; the room behind it stands as
        # high, so the whole monster shows, and the window's far side blocks monsters (write_monster_room)
        Room("window", -48, 64, 48, 128, floor=32, ceiling=96, light=224, wall_texture="STONE2"),
        Room("viewing", -240, 0, 192, 256, floor=32, ceiling=160, light=255, wall_texture="STONE2"),
        Room("poison", 256, 80, 256, 96, damage=10, damage_interval=32, wall_texture="BROWN1"),
        Room("hall", 512, 0, 256, 256, light=192),
        Room("monster_end", 784, 0, 128, 112, light=160),
        Room("clear_end", 784, 144, 128, 112, light=160),
    ]
    doors = [Door("monster_door", ("hall", "monster_end"), at=56.0, stay_open=True),
             Door("clear_door", ("hall", "clear_end"), at=200.0, stay_open=True)]
    things = [Thing(MONSTER, x=-104.0, y=128.0, angle=0.0, name="monster")] if monster else []
    x, y, angle = _STARTS[mode]
    end = DOOR_FOR[bool(monster)]
    description = MapDescription(
        name=f"monster_room_{mode}_{'monster' if monster else 'clear'}", rooms=rooms,
        start=Start(x=x, y=y, angle=angle), doors=doors, things=things,
        goal=Goal(room=end, radius=40.0, marker=None), timeout=TIMEOUT, death_penalty=1.0,
    )
    validate_map(description)
    return description


def _check_mode(mode: Any) -> None:
    if mode not in MODES:
        raise BadOptionError(f"monster room: unknown mode {mode!r}. Fix: use one of {', '.join(MODES)} "
                             "(easiest first)")


def _map_name(mode: str, monster: bool) -> str:
    return f"MAP{1 + 2 * MODES.index(mode) + int(bool(monster)):02d}"


def _block_monsters(layout: Layout) -> Layout:
    """The lines between the window and the room behind it stop monsters (not the view, nor the player)."""
    pair = {layout.sector_of["window"], layout.sector_of["viewing"]}
    for line in layout.lines:
        if line.back is not None and {line.front.sector, line.back.sector} == pair:
            line.flags = (*line.flags, "blockmonsters")
    return layout


def write_monster_room(env_id: str = "VizdoomMonsterRoom-v0", folder: str | Path | None = None) -> ScenarioFiles:
    """Write the PWAD of all variants (``MAP01``..``MAP08``) and its ``.cfg`` (atomically) and return their paths.

    :param env_id: names the files.
    :param folder: where to write; default ``cache_dir("doom_maps")/<content hash>``.
    """
    from sb3_plus.files import atomic_path

    lumps: list[tuple[str, bytes]] = []
    for mode in MODES:
        for monster in (False, True):
            description = monster_room_layout(mode, monster)
            layout = _block_monsters(build_layout(description))
            text = layout_to_udmf(layout, title=f"{description.name}: generated by sb3_plus")
            lumps += [(_map_name(mode, monster), b""), ("TEXTMAP", text.encode()), ("ENDMAP", b"")]
    wad = pack_wad(lumps)
    base = monster_room_layout("hard", True)
    cfg_lines = [line for line in scenario_cfg(base, "WAD").splitlines() if not line.startswith("available_buttons")]
    cfg_lines.append("available_buttons = { " + " ".join(BUTTONS) + " }")
    if folder is None:
        digest = hashlib.sha256(wad + "\n".join(cfg_lines).encode() + env_id.encode()).hexdigest()[:16]
        folder = cache_dir("doom_maps", digest)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = ScenarioFiles(folder / f"{env_id}.wad", folder / f"{env_id}.cfg")
    cfg = "\n".join(line.replace("doom_scenario_path = WAD", f"doom_scenario_path = {files.wad.name}")
                    for line in cfg_lines) + "\n"
    for path, data in ((files.wad, wad), (files.cfg, cfg.encode())):
        if not (path.is_file() and path.read_bytes() == data):
            with atomic_path(path) as tmp:
                tmp.write_bytes(data)
    return files


class MonsterRoomRules(gym.Wrapper):
    """Per episode: draw the hidden state, load its variant, and end the episode at a door's room.

    :param env: a ViZDoom env playing the PWAD of :func:`write_monster_room`.
    :param mode: the start mode (:data:`MODES`).
    :param monster_probability: chance that the monster is shown.
    :param wrong_door_reward: added when the player enters the room behind the other door.
    :param show_cue: ``False`` blanks the window: the room behind it always looks empty, while the
        hidden state (and so the right door) is still drawn. The memory check: a policy that uses
        what it saw falls to chance.
    :param frame_skip: tics per step (for :attr:`episode_step_limit`).
    :param timeout: the episode's length in tics (for :attr:`episode_step_limit`).
    """

    def __init__(self, env: gym.Env, mode: str = "hard", monster_probability: float = 0.5,
                 wrong_door_reward: float = -1.0, show_cue: bool = True, frame_skip: int = 4,
                 timeout: int = TIMEOUT) -> None:
        super().__init__(env)
        _check_mode(mode)
        if not 0.0 <= monster_probability <= 1.0:
            raise BadOptionError(f"monster room: monster_probability {monster_probability!r} is not a probability. "
                                 "Fix: pass a number from 0 to 1, e.g. 0.5")
        self.mode = mode
        self.monster_probability = float(monster_probability)
        self.wrong_door_reward = float(wrong_door_reward)
        self.show_cue = bool(show_cue)
        #: steps before the time limit ends an episode
        self.episode_step_limit = -(-int(timeout) // int(frame_skip))
        self.monster = False
        self._rng = np.random.default_rng()
        self._layouts = {(m, s): monster_room_layout(m, s) for m in MODES for s in (False, True)}
        self._ends = {name: self._layouts[("hard", True)].room(name) for name in DOOR_FOR.values()}
        self._routes: dict[tuple[str, bool], Any] = {}

    def set_mode(self, mode: str) -> None:
        """Use ``mode`` from the next episode on (a curriculum step)."""
        _check_mode(mode)
        self.mode = mode

    @property
    def map_description(self) -> MapDescription:
        """The map of the current episode's variant."""
        return self._layouts[(self.mode, self.monster)]

    def expert_route_for(self, mode: str, monster: bool) -> Any:
        """The waypoint route of a variant: from its start through the matching door (built once)."""
        key = (mode, bool(monster))
        if key not in self._routes:
            from sb3_plus.envs.doom_maps.route import description_route

            self._routes[key] = description_route(self._layouts[key], f"monster_room_{mode}")
        return self._routes[key]

    def scripted_expert(self, expert_class: Any = None) -> Any:
        """The expert that solves this env from privileged state (:class:`~sb3_plus.experts.monster_room.
        MonsterRoomExpert`), following its routes with ``expert_class`` (default: the waypoint follower)."""
        from sb3_plus.experts.monster_room import MonsterRoomExpert

        return MonsterRoomExpert(self, expert_class) if expert_class is not None else MonsterRoomExpert(self)

    @property
    def look_target(self) -> tuple[float, float]:
        """Where to look to see the monster (or its absence): the middle of the room behind the window."""
        return self._layouts[("hard", True)].room("viewing").center

    def _pose(self, info: dict[str, Any]) -> dict[str, Any]:
        pose = dict(info.get("pose") or {})
        pose.update(monster=float(self.monster), mode=float(MODES.index(self.mode)))
        return dict(info, pose=pose, door="")  # the same info keys on every step, as datasets want

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Draw the hidden state (from ``seed`` when given), load its map, start the episode.

        ``options`` may fix ``monster`` (bool) and ``mode`` for this and later episodes' draws.
        """
        options = dict(options or {})
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        if "mode" in options:
            self.set_mode(options.pop("mode"))
        drawn = bool(self._rng.random() < self.monster_probability)
        self.monster = bool(options.pop("monster")) if "monster" in options else drawn
        self.env.unwrapped.game.set_doom_map(_map_name(self.mode, self.monster and self.show_cue))
        obs, info = self.env.reset(seed=seed, options=options or None)
        return obs, self._pose(info)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = self._pose(info)
        if not (terminated or truncated):
            pose = info["pose"]
            for monster, name in DOOR_FOR.items():
                if self._ends[name].contains(pose["x"], pose["y"], margin=8.0):
                    terminated = True
                    right = monster == self.monster
                    reward = float(reward) + (1.0 if right else self.wrong_door_reward)
                    info.update(success=right, door=name)
        return obs, reward, terminated, truncated, info


#: Options of the monster room: the ViZDoom ones plus the mode and the hidden state's odds.
MONSTER_ROOM_OPTIONS: dict[str, OptionSpec] = {
    **VIZDOOM_OPTIONS,
    "mode": OptionSpec("mode", "choice", "where the player starts, easiest first", "easy", choices=MODES),
    "monster_probability": OptionSpec("monster_probability", "float", "chance that the monster is shown", 0.5,
                                      low=0, high=1),
    "wrong_door_reward": OptionSpec("wrong_door_reward", "float", "reward for entering the wrong door's room", -1.0),
    "show_cue": OptionSpec("show_cue", "bool", "false: the window always shows an empty room (memory check)", False),
}


def make_monster_room(env_id: str = "VizdoomMonsterRoom-v0", mode: str | None = None,
                      monster_probability: float = 0.5, wrong_door_reward: float = -1.0, show_cue: bool = True,
                      **options: Any) -> gym.Env:
    """Build the monster room: write its PWAD, start ViZDoom on it, add its rules.

    :param env_id: a key of :data:`ENV_IDS` (its default mode).
    :param mode: the start mode (:data:`MODES`); ``None``: the id's.
    :param monster_probability: chance that the monster is shown.
    :param wrong_door_reward: reward for entering the wrong door's room.
    :param show_cue: ``False`` blanks the window (the memory check).
    :param options: ViZDoom family options (``resolution``, ``frame_skip``, ...).
    """
    from sb3_plus.envs.vizdoom import make_vizdoom

    mode = ENV_IDS.get(env_id, "hard") if mode is None else mode
    _check_mode(mode)
    files = write_monster_room(env_id)
    env = make_vizdoom(env_id, config_file=files.cfg, **options)
    return MonsterRoomRules(env, mode=mode, monster_probability=monster_probability,
                            wrong_door_reward=wrong_door_reward, show_cue=show_cue, frame_skip=int(options.get("frame_skip", 4)),
                            timeout=int(options.get("episode_timeout") or TIMEOUT))


register_family(EnvFamily(name="monster_room", matches=lambda env_id: env_id in ENV_IDS, build=make_monster_room,
                          examples=list(ENV_IDS), options=MONSTER_ROOM_OPTIONS))
