"""``python -m sb3_plus.pipeline RECIPE.yml``: expert collection -> dataset -> BC/DAgger -> RL -> held-out
evaluation -> video -> Hub, in one command, resumable at each stage (see :mod:`sb3_plus.pipelines.pipeline`).

Examples::

    python -m sb3_plus.pipeline recipes/mazeeasy-bc-ppo.yml
    python -m sb3_plus.pipeline recipes/mazeeasy-bc-ppo.yml --until collect   # stop after a stage
    python -m sb3_plus.pipeline recipes/mazeeasy-bc-ppo.yml --restart         # forget finished stages
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

from sb3_plus.cli_common import make_parser, run_cli
from sb3_plus.pipelines.pipeline import STAGES, run_pipeline


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = make_parser("pipeline", __doc__)
    p.add_argument("recipe", help="the recipe YAML (examples in recipes/)")
    p.add_argument("--restart", action="store_true", help="run every stage again, forgetting finished ones")
    p.add_argument("--until", choices=STAGES, default=None, help="stop after this stage")
    args = p.parse_args(argv)
    return run_pipeline(args.recipe, restart=args.restart, until=args.until)


if __name__ == "__main__":
    sys.exit(run_cli(main))
