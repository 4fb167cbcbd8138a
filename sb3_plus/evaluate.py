"""``python -m sb3_plus.evaluate``: evaluate a saved model on held-out seeds and print JSON.

Example::

    python -m sb3_plus.evaluate --model logs/ppo_lstm/VizdoomMyWayHome-v1_1 --episodes 100 --seed 10000
    python -m sb3_plus.evaluate --model logs/ppo_lstm/VizdoomMyWayHome-v1_1/best_model.zip --env VizdoomMyWayHome-v1
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

from sb3_plus.cli_common import make_parser, parse_kv, print_json, run_cli
from sb3_plus.evaluation import HELD_OUT_SEED
from sb3_plus.models import detect_algo, evaluate_saved_model, load_model
from sb3_plus.utils import json_safe

#: The library function behind this command, under the name callers have used.
evaluate = evaluate_saved_model

__all__ = ["detect_algo", "evaluate", "load_model", "main"]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = make_parser("evaluate", __doc__)
    p.add_argument("--model", required=True, help="model .zip, or a run folder (its final model)")
    p.add_argument("--best", action="store_true", help="with a run folder: evaluate its best_model.zip")
    p.add_argument("--env", default=None, help="env id (default: the run's)")
    p.add_argument("--episodes", type=int, default=100, help="held-out episodes, at least 1 (default 100)")
    p.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="first held-out seed")
    p.add_argument("--algo", default=None, help="algo key (default: from the run folder or the zip)")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of greedy")
    p.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY:VALUE",
                   help="env options over the run's (e.g. frame_skip:4)")
    p.add_argument("--device", default="cpu", help="torch device")
    args = p.parse_args(argv)
    result = evaluate_saved_model(args.model, args.env, args.episodes, args.seed, args.algo, not args.stochastic,
                                  parse_kv(args.env_kwargs) if args.env_kwargs else None, args.device, args.best)
    summary = json_safe(result.summary())
    print_json(summary)
    return summary


if __name__ == "__main__":
    sys.exit(run_cli(main))
