"""``make bench``: speed and learning benchmarks (``python -m sb3_plus.bench``), JSON under ``bench/results/``.

1. ``e2e_mywayhome``: success on 100 held-out seeds after the same wall budget for RecurrentPPO
   from scratch, BC + RecurrentPPO and DAgger + RecurrentPPO, in the same run.
2. ``fps``: training FPS of PPO / RecurrentPPO on the sb3-plus ViZDoom preprocessing
   (64x64 gray, SmallCNN, tuned batch) beside plain SB3 defaults (CnnPolicy / CnnLstmPolicy, 84x84).
3. ``bc``: BC samples/s and time to 95% held-out action agreement on MyWayHome.
4. ``collect``: expert success on 200 MyWayHome seeds and collection/raw step-rate ratio.
5. ``maze``: BC vs DAgger on mazes with the same episodes played, held-out success.
6. ``profile``: where a training iteration's time goes (env, inference, buffer, update parts).
7. ``goexplore``: MyWayHome with no route and no planner: Go-Explore -> route -> expert -> DAgger, held-out success.
8. ``rnd``: MyWayHome from scratch, RND-RecurrentPPO against RecurrentPPO, success against wall time.
9. ``cells``: one MazeHard layout, cells discovered against env steps: random actions, PPO+RND, Go-Explore.
10. ``cnn_fps``: PPO's training FPS with SmallCNN beside the IMPALA CNN (the price of the bigger network).
11. ``masking``: MaskablePPO against PPO on DefendTheCenter with button pairs: invalid actions and learning curves.
12. ``curriculum``: MazeHard with a new layout every episode, PPO with and without a maze-size curriculum.
13. ``generalisation``: SmallCNN against the IMPALA CNN, with and without augmentations, on 200 training
    mazes and on unseen mazes.
14. ``memory``: the monster room in hard mode: BC, DAgger, RecurrentPPO and the explorer/follower policy
    against wall time, and the memory check (cue blanked; a feedforward policy).
15. ``doormaps``: three generated door-and-key maps: the expert, then BC -> RecurrentPPO within 20 wall-minutes.
16. ``e1m1``: Freedoom E1M1, the expert on the route planned from the WAD, with combat: exits over 20 seeds.
17. ``e1m1_pixels``: Freedoom E1M1 from pixels: expert episodes -> BC -> DAgger -> RecurrentPPO in 2 CPU-hours.
18. ``pong``: PPO on Pong from the shipped zoo entry for 60 wall-minutes: the score against wall time.
19. ``mario_expert``: the Mario expert on each shipped route, 100 seeds with sticky actions.
20. ``mario``: World 1-1 from pixels, BC -> PPO against PPO from scratch, 1 CPU-hour each.
21. ``mario_curriculum``: the 1-1 policy continued on 1-2, then 1-1 measured again (forgetting).
22. ``mario_distill``: one policy for 1-1 to 1-4 distilled from the expert by DAgger; clears per level.

Example: ``python -m sb3_plus.bench --only fps collect`` (``--budget-minutes`` for the e2e run).
"""

from sb3_plus.benchmarks.atari import bench_pong
from sb3_plus.benchmarks.conveniences import bench_curriculum, bench_masking
from sb3_plus.benchmarks.doom_levels import bench_doormaps, bench_e1m1, bench_e1m1_pixels
from sb3_plus.benchmarks.exploration import RND_ARMS, bench_cells, bench_rnd
from sb3_plus.benchmarks.generalisation import bench_generalisation
from sb3_plus.benchmarks.learning import E2E_ARMS, bench_e2e, bench_goexplore, bench_maze
from sb3_plus.benchmarks.mario import DEFAULT_MARIO_ARMS, MARIO_ARMS, bench_mario, bench_mario_expert
from sb3_plus.benchmarks.mario_levels import (CURRICULUM_ARMS, DEFAULT_CURRICULUM_ARMS, bench_mario_curriculum,
                                             bench_mario_distill)
from sb3_plus.benchmarks.memory import MEMORY_ARMS, bench_memory
from sb3_plus.benchmarks.profile import bench_profile
from sb3_plus.benchmarks.speed import bench_bc, bench_cnn_fps, bench_collect, bench_fps

BENCHES = {"collect": bench_collect, "fps": bench_fps, "bc": bench_bc, "e2e": bench_e2e, "maze": bench_maze,
           "profile": bench_profile, "goexplore": bench_goexplore, "rnd": bench_rnd,
           "cells": bench_cells, "cnn_fps": bench_cnn_fps,
           "masking": bench_masking, "curriculum": bench_curriculum, "generalisation": bench_generalisation,
           "memory": bench_memory, "doormaps": bench_doormaps,
           "e1m1": bench_e1m1, "e1m1_pixels": bench_e1m1_pixels, "pong": bench_pong,
           "mario_expert": bench_mario_expert, "mario": bench_mario, "mario_curriculum": bench_mario_curriculum,
           "mario_distill": bench_mario_distill}

__all__ = ["BENCHES", "CURRICULUM_ARMS", "DEFAULT_CURRICULUM_ARMS", "DEFAULT_MARIO_ARMS", "E2E_ARMS", "MARIO_ARMS",
           "MEMORY_ARMS", "RND_ARMS", "bench_bc", "bench_cells", "bench_cnn_fps", "bench_collect",
           "bench_curriculum", "bench_doormaps", "bench_e1m1", "bench_e1m1_pixels", "bench_e2e", "bench_fps",
           "bench_generalisation", "bench_goexplore", "bench_mario", "bench_mario_curriculum",
           "bench_mario_distill", "bench_mario_expert", "bench_masking", "bench_maze", "bench_memory", "bench_pong",
           "bench_profile", "bench_rnd"]
