"""``python -m sb3_plus.evaluate``: evaluate a saved model on held-out seeds and print JSON.

Example::

    python -m sb3_plus.evaluate --model logs/ppo_lstm/VizdoomMyWayHome-v1_1/VizdoomMyWayHome-v1.zip \\
        --env VizdoomMyWayHome-v1 --episodes 100 --seed 10000
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path
from typing import Any, Sequence

from sb3_plus.cli_common import parse_kv, print_json, run_cli
from sb3_plus.evaluation import HELD_OUT_SEED, EvalResult, evaluate_model
from sb3_plus.utils import set_torch_threads


def _run_info(model_path: Path) -> dict[str, Any]:
    for folder in (model_path.parent, model_path.parent.parent):
        info = folder / "run_info.json"
        if info.exists():
            return json.loads(info.read_text())
    return {}


def detect_algo(model_path: Path) -> str:
    """The algo key of a saved model: from its run folder, else from the policy class in the zip."""
    info = _run_info(model_path)
    if info.get("algo"):
        return info["algo"]
    try:
        with zipfile.ZipFile(model_path) as archive:
            data = json.loads(archive.read("data"))
    except (KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ValueError(f"{model_path} is not an SB3 model zip ({exc}). Fix: pass a .zip saved by SB3") from None
    policy_type = str(data.get("policy_class", {}).get(":type:", ""))
    if "recurrent" in policy_type.lower():
        return "ppo_lstm"
    if "dqn" in policy_type.lower():
        return "dqn"
    return "ppo"


def load_model(model_path: str | Path, algo: str | None = None, device: str = "cpu") -> Any:
    """Load an SB3 / sb3-contrib model zip (algo detected when not given)."""
    from sb3_plus.config import ALGOS

    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"model {model_path} not found. Fix: pass the .zip written by python -m sb3_plus.train")
    algo = algo or detect_algo(model_path)
    if algo not in ALGOS:
        raise ValueError(f"unknown algo {algo!r}; choose from {', '.join(sorted(ALGOS))}")
    return ALGOS[algo].load(model_path, device=device)


def evaluate(model_path: str | Path, env_id: str | None = None, episodes: int = 100, seed: int = HELD_OUT_SEED,
             algo: str | None = None, deterministic: bool = True, env_kwargs: dict[str, Any] | None = None,
             device: str = "cpu") -> EvalResult:
    """Evaluate a saved model on ``episodes`` held-out seeds; env id and options default to the run's.

    :param model_path: the model zip.
    :param env_id: env to play (default: the run folder's env).
    :param episodes: number of episodes (seeds ``seed .. seed+episodes-1``).
    :param seed: first seed.
    :param algo: algo key (default: detected).
    :param deterministic: greedy actions.
    :param env_kwargs: env options (default: the run's ``env_kwargs``).
    """
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_plus.envs import make_env

    set_torch_threads()
    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"model {model_path} not found. Fix: pass the .zip written by python -m sb3_plus.train")
    info = _run_info(model_path)
    env_id = env_id or info.get("env_id")
    if not env_id:
        raise ValueError(f"no --env given and no run_info.json beside {model_path}. Fix: pass --env ID")
    kwargs = dict(info.get("env_kwargs") or {}) if env_id == info.get("env_id") else {}
    kwargs.update(env_kwargs or {})
    model = load_model(model_path, algo, device)
    env = make_env(env_id, **kwargs)
    transform = None
    stats = model_path.parent / "vecnormalize.pkl"
    if stats.exists():
        from stable_baselines3.common.vec_env import DummyVecEnv

        norm = VecNormalize.load(str(stats), DummyVecEnv([lambda: make_env(env_id, **kwargs)]))
        norm.training = False
        transform = norm.normalize_obs
    if model.observation_space.shape != getattr(env.observation_space, "shape", None) and \
            not _transposed(model.observation_space, env.observation_space):
        env.close()
        raise ValueError(f"the model expects observations {model.observation_space} but {env_id} gives "
                         f"{env.observation_space}. Fix: pass the env options used in training (--env-kwargs)")
    try:
        return evaluate_model(model, env, episodes, seed, deterministic, transform)
    finally:
        env.close()


def _transposed(model_space: Any, env_space: Any) -> bool:
    a, b = getattr(model_space, "shape", None), getattr(env_space, "shape", None)
    return a is not None and b is not None and len(a) == 3 and len(b) == 3 and a == (b[2], b[0], b[1])


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="python -m sb3_plus.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model .zip")
    p.add_argument("--env", default=None, help="env id (default: the run's)")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="first held-out seed")
    p.add_argument("--algo", default=None, help="algo key (default: detected)")
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of greedy")
    p.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY:VALUE")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    result = evaluate(args.model, args.env, args.episodes, args.seed, args.algo, not args.stochastic,
                      parse_kv(args.env_kwargs) if args.env_kwargs else None, args.device)
    summary = result.summary()
    print_json(summary)
    return summary


if __name__ == "__main__":
    sys.exit(run_cli(main))
