"""A VecEnv whose envs run in a few worker processes, several envs each, observations in shared memory.

SB3's ``SubprocVecEnv`` starts one process per env and sends every observation through a pipe;
``DummyVecEnv`` steps all envs in the learner's process, one after another. Here ``n_workers``
processes (default: one per core, at most one per env) each step a ``DummyVecEnv`` of their share
of the envs, so SB3's own auto-reset, ``terminal_observation`` and seeding rules apply unchanged,
and write their observations straight into one shared array that the learner reads without a copy
through a pipe. Only rewards, dones and infos (small) travel through the pipe.

Env ``i`` is built by ``env_fns[i]`` in worker ``i * n_workers // n_envs`` and gets the same seed,
options and actions as under ``DummyVecEnv``, so the two give the same rollouts.

Workers die with the learner: each asks the kernel for SIGKILL when its parent dies, and
a closed pipe (the learner gone) ends its loop; the shared arrays are anonymous memory that
disappears with the last process mapping it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import CloudpickleWrapper, VecEnv, VecEnvIndices

from sb3_plus.errors import BadOptionError


def _ask_death_with_parent() -> None:
    import signal

    # Ctrl-C reaches the whole process group: the learner handles it and closes the workers through their pipes
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux: the closed pipe still ends the worker
        pass


def _obs_keys(space: spaces.Space) -> list[str | None]:
    return list(space.spaces) if isinstance(space, spaces.Dict) else [None]


def _views(buffers: dict[str | None, Any], space: spaces.Space, n_envs: int) -> dict[str | None, np.ndarray]:
    out = {}
    for key, raw in buffers.items():
        sub = space[key] if key is not None else space
        out[key] = np.frombuffer(raw, dtype=sub.dtype).reshape((n_envs, *sub.shape))
    return out


def _write(views: dict[str | None, np.ndarray], sl: slice, obs: Any) -> None:
    for key, view in views.items():
        view[sl] = obs[key] if key is not None else obs


def _serve(venv: Any, views: dict[str | None, np.ndarray], rows: slice, cmd: str, data: Any) -> Any:
    if cmd == "step":
        obs, rewards, dones, infos = venv.step(data)
        _write(views, rows, obs)
        return rewards, dones, infos
    if cmd == "reset":
        venv._seeds, venv._options = data
        _write(views, rows, venv.reset())
        return venv.reset_infos
    name, args, kwargs = data
    return getattr(venv, name)(*args, **kwargs)


def _worker(remote: Any, parent_remote: Any, fns: CloudpickleWrapper, buffers: dict[str | None, Any],
            space: spaces.Space, n_envs: int, start: int) -> None:
    """Step a DummyVecEnv of this worker's envs; observations go to rows ``start..`` of the shared arrays.

    Every answer is ``(True, result)``, or ``(False, traceback)`` when the envs raised.
    """
    import traceback

    from stable_baselines3.common.vec_env import DummyVecEnv

    _ask_death_with_parent()
    parent_remote.close()
    venv = None
    try:
        venv = DummyVecEnv(fns.var)
        views = _views(buffers, space, n_envs)
        rows = slice(start, start + venv.num_envs)
        remote.send((True, None))
        while True:
            cmd, data = remote.recv()
            if cmd == "close":
                break
            try:
                remote.send((True, _serve(venv, views, rows, cmd, data)))
            except Exception:
                remote.send((False, traceback.format_exc()))
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        pass
    except Exception:  # the envs could not be built
        remote.send((False, traceback.format_exc()))
    finally:
        if venv is not None:
            venv.close()
        remote.close()


class WorkerVecEnv(VecEnv):
    """``n_envs`` envs in ``n_workers`` processes, stepped in parallel, observations in shared memory.

    :param env_fns: functions that build the envs (picklable with cloudpickle).
    :param n_workers: worker processes (default: the number of CPU cores, at most the number of envs).
    :param start_method: multiprocessing start method (default: ``forkserver`` where available, as SB3).
    """

    def __init__(self, env_fns: list[Callable[[], gym.Env]], n_workers: int | None = None,
                 start_method: str | None = None) -> None:
        n_envs = len(env_fns)
        n_workers = min(n_envs, n_workers or os.cpu_count() or 1)
        if n_workers < 1:
            raise BadOptionError(f"n_workers must be at least 1, got {n_workers}. Fix: pass n_workers >= 1")
        if start_method is None:
            start_method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(start_method)
        self.closed = False
        self.waiting = False
        self._processes: list[Any] = []
        self._remotes: list[Any] = []
        probe = env_fns[0]()
        observation_space, action_space = probe.observation_space, probe.action_space
        metadata, render_mode = probe.metadata, probe.render_mode
        probe.close()
        self._starts = [w * n_envs // n_workers for w in range(n_workers + 1)]
        buffers = {}
        for key in _obs_keys(observation_space):
            sub = observation_space[key] if key is not None else observation_space
            size = int(np.prod(sub.shape)) * n_envs * np.dtype(sub.dtype).itemsize
            buffers[key] = ctx.RawArray("b", max(size, 1))
        self._obs = _views(buffers, observation_space, n_envs)
        try:
            for w in range(n_workers):
                remote, work_remote = ctx.Pipe()
                fns = CloudpickleWrapper(env_fns[self._starts[w]:self._starts[w + 1]])
                process = ctx.Process(target=_worker, daemon=True, args=(
                    work_remote, remote, fns, buffers, observation_space, n_envs, self._starts[w]))
                process.start()
                work_remote.close()
                self._processes.append(process)
                self._remotes.append(remote)
            for w in range(n_workers):
                self._receive(w)  # the envs are built
        except BaseException:
            self.close()
            raise
        super().__init__(n_envs, observation_space, action_space)
        self.metadata, self.render_mode = metadata, render_mode

    def _receive(self, w: int) -> Any:
        """Worker ``w``'s answer; its error (with the worker's traceback) raised here."""
        try:
            ok, payload = self._remotes[w].recv()
        except (EOFError, ConnectionResetError):
            process = self._processes[w]
            process.join(timeout=1)
            raise RuntimeError(f"env worker {w} (pid {process.pid}) ended unexpectedly, exit code "
                               f"{process.exitcode}") from None
        if not ok:
            raise RuntimeError(f"env worker {w} failed:\n{payload}")
        return payload

    # -- stepping --------------------------------------------------------------
    def _observations(self) -> Any:
        if None in self._obs:
            return self._obs[None].copy()
        return {k: v.copy() for k, v in self._obs.items()}

    def step_async(self, actions: np.ndarray) -> None:
        for w, remote in enumerate(self._remotes):
            remote.send(("step", actions[self._starts[w]:self._starts[w + 1]]))
        self.waiting = True

    def step_wait(self) -> Any:
        try:
            results = [self._receive(w) for w in range(len(self._remotes))]
        finally:
            self.waiting = False
        rewards = np.concatenate([r[0] for r in results])
        dones = np.concatenate([r[1] for r in results])
        infos = [info for r in results for info in r[2]]
        return self._observations(), rewards, dones, infos

    def reset(self) -> Any:
        for w, remote in enumerate(self._remotes):
            lo, hi = self._starts[w], self._starts[w + 1]
            remote.send(("reset", (self._seeds[lo:hi], self._options[lo:hi])))
        self.reset_infos = [info for w in range(len(self._remotes)) for info in self._receive(w)]
        self._reset_seeds()
        self._reset_options()
        return self._observations()

    # -- forwarding to the workers' DummyVecEnvs ---------------------------------
    def _call(self, name: str, indices: VecEnvIndices, *args: Any, **kwargs: Any) -> list[Any]:
        """Call ``DummyVecEnv.<name>(*args, indices=local, **kwargs)`` in each worker holding some of ``indices``."""
        wanted = self._get_indices(indices)
        calls = []
        for w, remote in enumerate(self._remotes):
            local = [i - self._starts[w] for i in wanted if self._starts[w] <= i < self._starts[w + 1]]
            if local:
                remote.send(("call", (name, args, {**kwargs, "indices": local})))
                calls.append(w)
        answers = [self._receive(w) for w in calls]
        return [value for answer in answers if answer is not None for value in answer]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return self._call("get_attr", indices, attr_name)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._call("set_attr", indices, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        return self._call("env_method", indices, method_name, *method_args, **method_kwargs)

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return self._call("env_is_wrapped", indices, wrapper_class)

    def has_attr(self, attr_name: str) -> bool:
        self._remotes[0].send(("call", ("has_attr", (attr_name,), {})))
        return self._receive(0)

    def get_images(self) -> Sequence[np.ndarray | None]:
        for remote in self._remotes:
            remote.send(("call", ("get_images", (), {})))
        return [image for w in range(len(self._remotes)) for image in self._receive(w)]

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.waiting:
            for remote in self._remotes:
                try:
                    remote.recv()
                except (EOFError, OSError):
                    pass
        for remote in self._remotes:
            try:
                remote.send(("close", None))
            except (BrokenPipeError, OSError):
                pass
        for process in self._processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        for remote in self._remotes:
            remote.close()
