"""Where a training iteration's time goes: env stepping, inference, buffer writes, minibatches, backward, optimizer.

Each part is timed by wrapping the one call that does it (the VecEnv's step, the policy's
forward, the buffer's ``add``, the minibatch generator, ``evaluate_actions``, the optimizer's
``step``); "other" is what remains of the rollout or the update (SB3's loop, tensor copies,
callbacks, loss arithmetic and ``backward`` for the update).
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from typing import Any, Callable, Iterator

from sb3_plus.benchmarks.common import ENV, save_result


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
        return timed

    def wrap_generator(self, name: str, fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            iterator = fn(*args, **kwargs)
            while True:
                start = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                finally:
                    self.seconds[name] += time.perf_counter() - start
                yield item
        return timed


def _instrument(model: Any, clock: _Clock) -> None:
    venv = model.env
    venv.step_wait = clock.wrap("env_step", venv.step_wait)
    venv.step_async = clock.wrap("env_step", venv.step_async)
    model.collect_rollouts = clock.wrap("rollout", model.collect_rollouts)
    model.train = clock.wrap("update", model.train)
    policy = model.policy
    policy.forward = clock.wrap("rollout_inference", policy.forward)
    policy.predict_values = clock.wrap("rollout_inference", policy.predict_values)
    policy.evaluate_actions = clock.wrap("update_forward", policy.evaluate_actions)
    policy.optimizer.step = clock.wrap("update_optimizer", policy.optimizer.step)
    buffer = model.rollout_buffer
    buffer.add = clock.wrap("rollout_buffer_add", buffer.add)
    buffer.get = clock.wrap_generator("update_minibatches", buffer.get)


def profile_training(algo: str, iterations: int = 6, env_id: str = ENV, vec_env: str | None = None,
                     update_threads: int | None = None, algo_cls: type | None = None) -> dict[str, Any]:
    """Run ``iterations`` rollouts + updates with the shipped config and return seconds per part, per 1,000 steps.

    :param vec_env: override the config's ``vec_env_class``.
    :param update_threads: torch threads of the update (default: as ``train`` sets them, one per core up to 4).
    :param algo_cls: override the algorithm class (e.g. plain sb3-contrib ``RecurrentPPO``).
    """
    from sb3_plus.config import ALGOS, load_hyperparams
    from sb3_plus.training.callbacks import UpdateThreads
    from sb3_plus.training.envs import make_training_env
    from sb3_plus.utils import default_update_threads

    config = load_hyperparams(algo, env_id)
    if vec_env is not None:
        config = dataclasses.replace(config, vec_env_class=vec_env)
    venv = make_training_env(config, env_id, 0)
    threads = UpdateThreads(1, update_threads or default_update_threads())
    try:
        model = (algo_cls or ALGOS[algo])(config.policy, venv, seed=0, verbose=0, **config.model_kwargs())
        steps_per_iteration = model.n_steps * model.n_envs
        model.learn(steps_per_iteration, callback=threads)  # warm-up: first resets, allocations
        clock = _Clock()
        _instrument(model, clock)
        start = time.perf_counter()
        model.learn(iterations * steps_per_iteration, reset_num_timesteps=False, callback=threads)
        wall = time.perf_counter() - start
    finally:
        venv.close()
    s = clock.seconds
    steps = iterations * steps_per_iteration
    parts = {
        "env_step": s["env_step"],
        "rollout_inference": s["rollout_inference"],
        "rollout_buffer_add": s["rollout_buffer_add"],
        "rollout_other": s["rollout"] - s["env_step"] - s["rollout_inference"] - s["rollout_buffer_add"],
        "update_minibatches": s["update_minibatches"],
        "update_forward": s["update_forward"],
        "update_optimizer": s["update_optimizer"],
        "update_backward_and_other": s["update"] - s["update_minibatches"] - s["update_forward"]
        - s["update_optimizer"],
        "outside_rollout_and_update": wall - s["rollout"] - s["update"],
    }
    return {"algo": algo, "class": type(model).__module__, "vec_env": config.vec_env_class,
            "update_threads": threads.update, "steps": steps, "steps_per_s": round(steps / wall, 1),
            "seconds_per_1000_steps": {k: round(1000 * v / steps, 4) for k, v in parts.items()},
            "share": {k: round(v / wall, 3) for k, v in parts.items()}}


def bench_profile(iterations: int = 6) -> dict[str, Any]:
    rows = [profile_training(algo, iterations) for algo in ("ppo", "ppo_lstm")]
    return save_result("profile", {"env": ENV, "rows": rows, "command": "python -m sb3_plus.bench --only profile"})
