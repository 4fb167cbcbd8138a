"""Exploration: Random Network Distillation for PPO and RecurrentPPO (``ppo_rnd``, ``ppo_lstm_rnd``), and a
Go-Explore archive whose discoveries become routes for the waypoint expert.

Importing this package registers the RND algorithms with :func:`sb3_plus.config.register_algo`, so configs
(``zoo_configs/ppo_rnd.yml``, ``zoo_configs/ppo_lstm_rnd.yml``), ``train --algo ppo_rnd``,
``tune`` and model loading know them. Go-Explore: :func:`go_explore` (``python -m sb3_plus.go_explore``),
:func:`route_from_archive`, and the restore capability of the env families (:func:`make_restorer`).
"""

from sb3_plus.config.registry import register_algo
from sb3_plus.exploration.archive import Archive, ArchiveMismatchError, SelectionWeights
from sb3_plus.exploration.backward import BackwardStarts, demonstration_states
from sb3_plus.exploration.cells import CellSpec
from sb3_plus.exploration.discovered_routes import (NoDiscoveredRouteError, connected_seeds, follow_route,
                                                    route_from_archive)
from sb3_plus.exploration.go_explore import GoExploreSettings
from sb3_plus.exploration.go_explore_run import GoExploreReport, go_explore, inspect_archive
from sb3_plus.exploration.restore import (RestoreUnsupportedError, Restorer, make_restorer,
                                          register_restore_adapter)
from sb3_plus.exploration.rnd import PPORND, RecurrentPPORND, RNDSettings

register_algo("ppo_rnd", PPORND)
register_algo("ppo_lstm_rnd", RecurrentPPORND)

__all__ = ["PPORND", "Archive", "ArchiveMismatchError", "BackwardStarts", "CellSpec", "GoExploreReport",
           "GoExploreSettings", "NoDiscoveredRouteError", "RNDSettings", "RecurrentPPORND", "RestoreUnsupportedError",
           "Restorer", "SelectionWeights", "connected_seeds", "demonstration_states", "follow_route", "go_explore",
           "inspect_archive", "make_restorer", "register_restore_adapter", "route_from_archive"]
