"""Doom maps as code: describe rooms, doors, keys and goals in Python or YAML, play them as ViZDoom envs.

- :mod:`.description`: the dataclasses (:class:`MapDescription`, :class:`Room`, :class:`Door`, ...) and YAML loading;
- :mod:`.validate`: checks with errors that name the room, door or thing and the fix;
- :mod:`.layout` and :mod:`.udmf`: geometry and the UDMF ``TEXTMAP`` text; :mod:`.wad`: PWAD writing and reading;
- :mod:`.scenario`: the PWAD and ``.cfg`` on disk and the env with the goal rule;
- :mod:`.route`: the waypoint route through the door centres; :mod:`.generate`: seeded layout generators;
- :mod:`.named`: env ids ``VizdoomGen-<name>-v0`` / ``VizdoomGen-<name>-s<seed>-v0``;
- :mod:`.features`: doors, keys, exits and teleporters of any WAD map (Doom, Hexen or UDMF format).

Example::

    from sb3_plus.envs import make_env
    env = make_env("VizdoomGen-doorkey-s3-v0")   # layout seed 3
    route = env.get_wrapper_attr("expert_route")
"""

from sb3_plus.envs.doom_maps.description import (Door, Goal, MapDescription, MapError, Room, Start, Thing, WallSpot,
                                                 load_map, map_from_dict)
from sb3_plus.envs.doom_maps.features import MapFeatures, map_features, wad_features
from sb3_plus.envs.doom_maps.generate import corridor, damage_corridor_layout, door_key_layout
from sb3_plus.envs.doom_maps.named import (description_for, generated_env_id, is_generated_id, register_map,
                                           registered_maps)
from sb3_plus.envs.doom_maps.route import description_route
from sb3_plus.envs.doom_maps.scenario import MapRules, make_generated_env, write_scenario
from sb3_plus.envs.doom_maps.udmf import compile_udmf
from sb3_plus.envs.doom_maps.validate import validate_map

__all__ = ["Door", "Goal", "MapDescription", "MapError", "Room", "Start", "Thing", "WallSpot", "load_map",
           "map_from_dict", "validate_map", "register_map", "registered_maps", "generated_env_id", "is_generated_id",
           "description_for", "MapFeatures", "map_features", "wad_features", "compile_udmf", "write_scenario",
           "MapRules", "description_route", "door_key_layout", "damage_corridor_layout", "corridor",
           "make_generated_env"]
