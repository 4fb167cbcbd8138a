"""``python -m sb3_plus.bench``: run the benchmarks of :mod:`sb3_plus.benchmarks` (JSON under ``bench/results/``).

Example: ``python -m sb3_plus.bench --only fps collect`` (``--budget-minutes`` for the e2e run).
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from typing import Sequence

from sb3_plus.benchmarks import (BENCHES, CURRICULUM_ARMS, DEFAULT_CURRICULUM_ARMS, DEFAULT_MARIO_ARMS, E2E_ARMS,
                                 MARIO_ARMS, MEMORY_ARMS, RND_ARMS, bench_e2e, bench_mario, bench_mario_curriculum,
                                 bench_memory, bench_rnd)
from sb3_plus.benchmarks.generalisation import DEFAULT_GEN_ARMS, GEN_ARM_NAMES, bench_generalisation
from sb3_plus.cli_common import make_parser
from sb3_plus.utils import set_torch_threads


# benchmarks with arms: (function, all arms, default arms, wall budget per arm in minutes or None)
ARMED = {"e2e": (bench_e2e, E2E_ARMS, E2E_ARMS, 10.0), "rnd": (bench_rnd, RND_ARMS, RND_ARMS, 60.0),
         "memory": (bench_memory, MEMORY_ARMS, MEMORY_ARMS, 8.0),
         "mario": (bench_mario, MARIO_ARMS, DEFAULT_MARIO_ARMS, 30.0),
         "mario_curriculum": (bench_mario_curriculum, CURRICULUM_ARMS, DEFAULT_CURRICULUM_ARMS, 30.0),
         "generalisation": (bench_generalisation, GEN_ARM_NAMES, DEFAULT_GEN_ARMS, None)}


def main(argv: Sequence[str] | None = None) -> None:
    p = make_parser("bench", __doc__)
    p.add_argument("--only", nargs="+", choices=sorted(BENCHES), default=list(BENCHES), help="benchmarks to run")
    p.add_argument("--budget-minutes", type=float, default=None,
                   help="wall budget of each arm of e2e (10 when not given), memory (8), mario and "
                        "mario_curriculum (30) or rnd (60); "
                        "of pong and e1m1_pixels (60) and of the doormaps family (20)")
    every_arm = E2E_ARMS + RND_ARMS + MEMORY_ARMS + GEN_ARM_NAMES + MARIO_ARMS + CURRICULUM_ARMS
    p.add_argument("--arms", nargs="+", choices=sorted(set(every_arm)),
                   default=None, help=f"arms to run: e2e ({', '.join(E2E_ARMS)}), rnd ({', '.join(RND_ARMS)}), memory "
                                      f"({', '.join(MEMORY_ARMS)}), mario ({', '.join(MARIO_ARMS)}), "
                                      f"mario_curriculum ({', '.join(CURRICULUM_ARMS)}) or "
                                      f"generalisation ({', '.join(GEN_ARM_NAMES)})")
    p.add_argument("--levels", nargs="+", default=None, metavar="W-S",
                   help="Mario levels of mario_expert (default: every level with a route in experts/mario/)")
    args = p.parse_args(argv)
    set_torch_threads()
    os.environ.setdefault("MINARI_DATASETS_PATH", str(Path("bench/datasets").resolve()))
    for name in args.only:
        if name in ARMED:
            run, arms, default, budget = ARMED[name]
            chosen = [a for a in (args.arms or default) if a in arms]
            if not chosen:
                p.error(f"--arms names none of the {name} arms ({', '.join(arms)})")
            if budget is None:
                run(arms=chosen)
            else:
                run(args.budget_minutes or budget, arms=chosen)
        elif name == "mario_expert" and args.levels:
            BENCHES[name](levels=args.levels)
        elif args.budget_minutes and "budget_minutes" in inspect.signature(BENCHES[name]).parameters:
            BENCHES[name](budget_minutes=args.budget_minutes)  # doormaps (for the family), pong, e1m1_pixels
        else:
            BENCHES[name]()


if __name__ == "__main__":
    sys.exit(main())
