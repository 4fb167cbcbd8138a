"""``python -m sb3_plus.bench``: run the benchmarks of :mod:`sb3_plus.benchmarks` (JSON under ``bench/results/``).

Example: ``python -m sb3_plus.bench --only fps collect`` (``--budget-minutes`` for the e2e run).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

from sb3_plus.benchmarks import BENCHES, E2E_ARMS, bench_e2e
from sb3_plus.cli_common import make_parser
from sb3_plus.utils import set_torch_threads


def main(argv: Sequence[str] | None = None) -> None:
    p = make_parser("bench", __doc__)
    p.add_argument("--only", nargs="+", choices=sorted(BENCHES), default=list(BENCHES), help="benchmarks to run")
    p.add_argument("--budget-minutes", type=float, default=10.0, help="wall budget of each e2e setting")
    p.add_argument("--arms", nargs="+", choices=E2E_ARMS, default=list(E2E_ARMS), help="e2e settings to run")
    args = p.parse_args(argv)
    set_torch_threads()
    os.environ.setdefault("MINARI_DATASETS_PATH", str(Path("bench/datasets").resolve()))
    for name in args.only:
        if name == "e2e":
            bench_e2e(args.budget_minutes, arms=args.arms)
        else:
            BENCHES[name]()


if __name__ == "__main__":
    sys.exit(main())
