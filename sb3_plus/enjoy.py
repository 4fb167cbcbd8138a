"""``python -m sb3_plus.enjoy``: watch a model play: evaluate it on held-out seeds and record a replay.

The model comes from the Hub (``--repo-id``) or a local folder (``--folder``: a downloaded
repo or a run folder) and is loaded from weights and configs only unless
``--trust-remote-pickle``. With no display, ``--render`` writes the replay to an mp4.

Examples::

    python -m sb3_plus.enjoy --repo-id alice/ppo-MazeEasy-v0 --episodes 10 --video replay.mp4
    python -m sb3_plus.enjoy --folder logs/ppo/MazeEasy-v0_1 --render
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from sb3_plus.cli_common import make_parser, print_json, run_cli
from sb3_plus.evaluation import HELD_OUT_SEED


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("enjoy", __doc__)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--repo-id", help="ORG/NAME on the Hub")
    source.add_argument("--folder", help="a downloaded repo folder or a run folder")
    p.add_argument("--episodes", type=int, default=10, help="held-out episodes to evaluate (default 10; 0: none)")
    p.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="first held-out seed (default 10000)")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of greedy")
    p.add_argument("--video", default=None, help="write a replay of the first episode to this mp4")
    p.add_argument("--render", action="store_true",
                   help="record the replay (to --video, default enjoy-<repo or folder>.mp4)")
    p.add_argument("--video-length", type=int, default=600, help="the replay stops after this many steps (default 600)")
    p.add_argument("--trust-remote-pickle", action="store_true",
                   help="load with ALGO.load(zip), which unpickles code from the repo; only for repos you trust")
    p.add_argument("--revision", default=None, help="branch, tag or commit of the repo")
    p.add_argument("--out", default=None, help="download folder (default: the Hugging Face cache)")
    p.add_argument("--endpoint", default=None, help="Hub URL (default $HF_ENDPOINT or https://huggingface.co)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    from sb3_plus.hub.play import enjoy

    args = build_parser().parse_args(argv)
    out = enjoy(repo_id=args.repo_id, folder=args.folder, episodes=args.episodes, seed=args.seed,
                deterministic=not args.stochastic, video=args.video, video_length=args.video_length,
                trust_remote_pickle=args.trust_remote_pickle, revision=args.revision, out_dir=args.out,
                endpoint=args.endpoint, device=args.device, render=args.render)
    print_json(out)
    return out


if __name__ == "__main__":
    sys.exit(run_cli(main))
