"""``python -m sb3_plus.demo`` (``make demo``): the whole spine on ViZDoom MyWayHome with defaults.

Expert episodes -> Minari dataset -> BC (recurrent) -> RecurrentPPO fine-tuning ->
evaluation on held-out seeds, then a short report, a learning curve and a video.
"""

from __future__ import annotations

import sys
from typing import Sequence

from sb3_plus.cli_common import make_parser, run_cli
from sb3_plus.pipelines.demo import DEMO_RECIPE, run_demo


def main(argv: Sequence[str] | None = None) -> dict:
    p = make_parser("demo", __doc__)
    p.add_argument("--recipe", default=str(DEMO_RECIPE), help="dataset recipe: env, expert, dataset id (datasets/)")
    p.add_argument("--algo", default="ppo_lstm", help="RL algorithm after BC")
    p.add_argument("--episodes", type=int, default=100, help="expert episodes to collect")
    p.add_argument("--bc-epochs", type=int, default=30, help="BC epochs")
    p.add_argument("-n", "--n-timesteps", type=int, default=20_000, help="RL fine-tuning steps after BC")
    p.add_argument("--eval-episodes", type=int, default=100, help="held-out evaluation episodes")
    p.add_argument("--out", default="demo_out", help="folder for datasets, runs, plot and video")
    args = p.parse_args(argv)

    return run_demo(recipe=args.recipe, algo=args.algo, episodes=args.episodes, bc_epochs=args.bc_epochs,
                    n_timesteps=args.n_timesteps, eval_episodes=args.eval_episodes, out=args.out)


if __name__ == "__main__":
    sys.exit(run_cli(main))
