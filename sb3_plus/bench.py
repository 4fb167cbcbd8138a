"""``python -m sb3_plus.bench``: run the benchmarks of :mod:`sb3_plus.benchmarks` (JSON under ``bench/results/``).

Example: ``python -m sb3_plus.bench --only fps collect`` (``--budget-minutes`` for the e2e run).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

from sb3_plus.benchmarks import BENCHES, E2E_ARMS, RND_ARMS, bench_e2e, bench_rnd
from sb3_plus.cli_common import make_parser
from sb3_plus.utils import set_torch_threads


def main(argv: Sequence[str] | None = None) -> None:
    p = make_parser("bench", __doc__)
    p.add_argument("--only", nargs="+", choices=sorted(BENCHES), default=list(BENCHES), help="benchmarks to run")
    p.add_argument("--budget-minutes", type=float, default=None,
                   help="wall budget of each e2e setting or rnd arm (e2e 10, rnd 60 when not given)")
    p.add_argument("--arms", nargs="+", choices=E2E_ARMS + RND_ARMS, default=None,
                   help=f"e2e settings ({', '.join(E2E_ARMS)}) or rnd arms ({', '.join(RND_ARMS)}) to run")
    args = p.parse_args(argv)
    set_torch_threads()
    os.environ.setdefault("MINARI_DATASETS_PATH", str(Path("bench/datasets").resolve()))
    for name in args.only:
        if name in ("e2e", "rnd"):
            arms = E2E_ARMS if name == "e2e" else RND_ARMS
            chosen = [a for a in (args.arms or arms) if a in arms]
            if not chosen:
                p.error(f"--arms names none of the {name} arms ({', '.join(arms)})")
            run = bench_e2e if name == "e2e" else bench_rnd
            run(args.budget_minutes or (10.0 if name == "e2e" else 60.0), arms=chosen)
        else:
            BENCHES[name]()


if __name__ == "__main__":
    sys.exit(main())
