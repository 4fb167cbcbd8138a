"""Play an env with a scripted expert and store the episodes as a Minari dataset."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

from sb3_plus.data.storage import dataset_dir, datasets_root, ensure_writable, staged_dataset
from sb3_plus.errors import BadOptionError, UserError
from sb3_plus.rollout import EpisodeOutcome, EpisodeRecord, ExpertActor, play_episodes, stack_steps

FLUSH_EVERY = 20  # episodes held in memory before they are appended to the staged dataset

_ALGORITHM_NAMES = {"waypoint": "sb3_plus.WaypointExpert", "hysteresis": "sb3_plus.HysteresisExpert"}  # Minari's algorithm_name per expert


class NoEpisodesKeptError(UserError, RuntimeError):
    """Only successful episodes were asked for and none succeeded."""


@dataclass
class CollectionReport:
    """What a collection run wrote."""

    dataset_id: str
    path: str
    episodes: int
    successes: int
    steps: int
    seconds: float
    size_bytes: int
    route_source: str = ""
    env_steps_per_s: float | None = None
    raw_steps_per_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def success_rate(self) -> float:
        return self.successes / max(1, self.episodes)

    @property
    def steps_per_s(self) -> float:
        return self.steps / max(self.seconds, 1e-9)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(success_rate=self.success_rate, steps_per_s=self.steps_per_s)
        if self.raw_steps_per_s:
            out["ratio_to_raw"] = self.steps_per_s / self.raw_steps_per_s
        return out

    def summary(self) -> str:
        lines = [
            f"dataset   {self.dataset_id}",
            f"path      {self.path}",
            f"episodes  {self.episodes} (success {self.success_rate:.1%}, {self.successes}/{self.episodes})",
            f"steps     {self.steps} in {self.seconds:.1f}s ({self.steps_per_s:,.0f} steps/s incl. writing)",
            f"on disk   {self.size_bytes / 1e6:.1f} MB",
            f"route     {self.route_source}",
        ]
        if self.raw_steps_per_s:
            lines.append(f"raw env   {self.raw_steps_per_s:,.0f} steps/s -> collection/raw = "
                         f"{self.steps_per_s / self.raw_steps_per_s:.2f}")
        return "\n".join(lines)


def default_dataset_id(env_id: str, expert: str = "waypoint", version: int = 0) -> str:
    """``VizdoomMyWayHome-v1`` -> ``sb3plus/mywayhome/waypoint-v0``."""
    short = re.sub(r"-v\d+$", "", env_id.split("/")[-1])
    short = re.sub(r"^Vizdoom", "", short).lower()
    short = re.sub(r"[^a-z0-9]+", "", short) or "env"
    return f"sb3plus/{short}/{expert}-v{version}"


def episode_buffer(record: EpisodeRecord, episode_id: int) -> Any:
    """A recorded episode as Minari's ``EpisodeBuffer`` (what ``create_dataset_from_buffers`` writes).

    :param record: an episode recorded by :func:`sb3_plus.rollout.play_episodes` (``record=True``).
    :param episode_id: its index in the dataset.
    """
    from minari.data_collector import EpisodeBuffer

    return EpisodeBuffer(
        id=episode_id,
        seed=record.seed,
        observations=stack_steps(record.obs),
        actions=stack_steps(record.actions),
        rewards=np.asarray(record.rewards, dtype=np.float64),
        terminations=np.asarray(record.terms, dtype=bool),
        truncations=np.asarray(record.truncs, dtype=bool),
        infos=stack_steps(record.infos),
    )


# shared per-step values: Minari copies them when it stacks an episode's infos
_TRUE, _FALSE = np.array([True]), np.array([False])
_TRUE.flags.writeable = _FALSE.flags.writeable = False


def storable_info(info: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Keep the keys Minari can store identically on every step (pose, success).

    Minari's Arrow storage needs at least one dimension per step for every info leaf and
    does not round-trip nested dicts, so the pose is stored as a float vector whose field
    names are in the dataset metadata (``sb3plus.pose_fields``).
    """
    out: dict[str, Any] = {"success": _TRUE if info.get("success", False) else _FALSE}
    pose = info.get("pose")
    if isinstance(pose, dict):
        out["pose"] = np.array(list(pose.values()), dtype=np.float64)
    for key in extra:  # e.g. DAgger's expert label and executed action, as one-element arrays
        out[key] = np.atleast_1d(np.asarray(info[key]))
    return out



class _BackgroundWriter:
    """Writes episode chunks to the staged Minari dataset on a worker thread.

    The env step waits on the game process and Arrow writes release the GIL, so writing
    overlaps collection. Errors surface on the next :meth:`submit` or on :meth:`close`.
    """

    def __init__(self, create: Any) -> None:
        import queue
        import threading

        self._create = create
        self.dataset: Any = None
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="minari-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._error is not None:
                continue
            buffers, metas, first = job
            try:
                if self.dataset is None:
                    self.dataset = self._create(buffers)
                    # Minari rescans the whole folder after every episode it writes (quadratic in
                    # episodes); the size is computed once at the end instead.
                    self.dataset.storage.get_size = lambda: 0.0
                else:
                    self.dataset.update_dataset_from_buffer(buffers)
                self.dataset.storage.update_episode_metadata(metas, range(first, first + len(metas)))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                self._error = exc

    def submit(self, buffers: list[Any], metas: list[dict[str, Any]], first: int) -> None:
        self._raise()
        self._queue.put((buffers, metas, first))

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def close(self) -> Any:
        """Wait for pending writes; return the dataset (``None`` if nothing was written)."""
        self._queue.put(None)
        self._thread.join()
        self._raise()
        if self.dataset is not None:
            storage = self.dataset.storage
            del storage.get_size
            storage.update_metadata({"dataset_size": storage.get_size()})
        return self.dataset


def create_minari_dataset(dataset_id: str, buffers: list[Any], env: gym.Env, algorithm_name: str, description: str,
                          jpeg_encoding: bool = False) -> Any:
    """``minari.create_dataset_from_buffers`` in Arrow format for an env made by :func:`sb3_plus.envs.make_env`.

    Minari writes under ``$MINARI_DATASETS_PATH``; callers stage the folder (:func:`staged_dataset`).
    """
    import warnings

    import minari

    spec = env.unwrapped.sb3plus_spec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return minari.create_dataset_from_buffers(
            dataset_id, buffers, env=_SpecCarrier(env, spec), eval_env=spec, algorithm_name=algorithm_name,
            author={"sb3-plus"}, description=description, jpeg_encoding=jpeg_encoding, data_format="arrow",
        )


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure_env_rate(env: gym.Env, episodes: list[tuple[int, list[Any]]]) -> float:
    """Raw steps/s of ``env``: replay recorded ``(seed, actions)`` episodes, no expert, no storage.

    The same seeds and actions make the engine do the same work as during collection, so
    the ratio of the two rates is the cost of the expert and of writing the dataset.
    """
    steps = 0
    start = time.perf_counter()
    for seed, actions in episodes:
        env.reset(seed=seed)
        for action in actions:
            steps += 1
            _, _, term, trunc, _ = env.step(action)
            if term or trunc:
                break
    return steps / max(time.perf_counter() - start, 1e-9)


def collect_expert(
    env_id: str,
    episodes: int = 100,
    seed: int = 0,
    dataset_id: str | None = None,
    route: str | Path | None = None,
    env_kwargs: dict[str, Any] | None = None,
    overwrite: bool = False,
    jpeg_encoding: bool = False,
    progress_bar: bool = True,
    measure_raw: bool = False,
    only_successful: bool = False,
    description: str | None = None,
    expert: str = "waypoint",
) -> CollectionReport:
    """Play ``episodes`` expert episodes and write them as a Minari dataset.

    The dataset appears under its id only once complete: an interrupted run leaves nothing.

    :param env_id: env to play (any family with ``info["pose"]``).
    :param episodes: number of episodes; episode ``i`` is reset with seed ``seed + i``.
    :param seed: first episode seed.
    :param dataset_id: ``namespace/name-vN``; default ``sb3plus/<env>/waypoint-v0``.
    :param route: route file, or ``None`` for ``experts/<family>/<map>.yaml`` or the planner.
    :param env_kwargs: preprocessing options for :func:`sb3_plus.envs.make_env`.
    :param overwrite: replace an existing dataset with this id.
    :param jpeg_encoding: store images JPEG-compressed (lossy); default lossless.
    :param progress_bar: show a progress bar with steps/s.
    :param measure_raw: also measure the env's raw step rate in this run (replaying the episodes' actions).
    :param only_successful: keep only successful episodes.
    :param description: free text stored in the dataset metadata.
    :param expert: scripted expert name (:data:`sb3_plus.experts.EXPERTS`).
    :return: a :class:`CollectionReport`.
    """
    from sb3_plus.envs import make_env
    from sb3_plus.experts import EXPERTS, make_expert
    from sb3_plus.experts.route_check import low_success_warning

    if episodes < 1:
        raise BadOptionError(f"episodes must be >= 1, got {episodes}. Fix: ask for at least one episode")
    if expert not in EXPERTS:
        raise BadOptionError(f"unknown expert {expert!r}. Fix: use one of {', '.join(EXPERTS)}")
    env_kwargs = dict(env_kwargs or {})
    dataset_id = dataset_id or default_dataset_id(env_id, expert)
    root = datasets_root()
    ensure_writable(dataset_id, overwrite, root)  # fail before the env starts
    env = make_env(env_id, **env_kwargs)
    try:
        controller = make_expert(env, expert, route)

        def create(buffers: list[Any]) -> Any:
            return create_minari_dataset(dataset_id, buffers, env, _ALGORITHM_NAMES.get(expert, f"sb3_plus.{expert}"),
                                         description or f"{expert} expert on {env_id}", jpeg_encoding)

        with staged_dataset(dataset_id, overwrite=overwrite, root=root):
            writer = _BackgroundWriter(create)
            try:
                played = _play(env, controller, expert, writer, episodes, seed, only_successful, progress_bar, env_id)
            finally:
                dataset = writer.close()
            successes, steps = played.successes, played.steps
            if dataset is None:
                raise NoEpisodesKeptError(f"no episode was kept: 0/{episodes} succeeded and only successful ones "
                                          "were asked for. Fix: drop --only-successful, or check the route")
            dataset.storage.update_metadata({"sb3plus": _dataset_metadata(
                env, env_id, env_kwargs, expert, controller.route_source, seed, episodes, played, jpeg_encoding)})
        # warn, not fail: failures are sometimes wanted, but never silently
        warning = low_success_warning(successes, episodes, controller.route_source, env_id)
        if warning:
            print(warning, file=sys.stderr, flush=True)
        raw_rate = measure_env_rate(env, played.replay) if measure_raw else None
        path = dataset_dir(dataset_id, root)
        return CollectionReport(
            dataset_id=dataset_id, path=str(path), episodes=episodes, successes=successes, steps=steps,
            seconds=played.seconds, size_bytes=_dir_size(path), route_source=controller.route_source,
            env_steps_per_s=steps / max(played.env_seconds, 1e-9), raw_steps_per_s=raw_rate,
            extra={"warning": warning} if warning else {},
        )
    finally:
        env.close()


def _dataset_metadata(env: gym.Env, env_id: str, env_kwargs: dict[str, Any], expert: str, route_source: Any,
                      seed: int, episodes: int, played: "_Played", jpeg_encoding: bool) -> dict[str, Any]:
    """The ``sb3plus`` entry of a dataset's metadata: enough to rebuild the env and to judge the data."""
    from sb3_plus.envs import family_of

    return {
        "env_id": env_id,
        "family": family_of(env_id),
        "env_kwargs": env_kwargs,
        "preprocessing": _preprocessing(env),
        "expert": expert,
        "route": route_source,
        "first_seed": seed,
        "episodes_played": episodes,
        "success_rate": played.successes / episodes,
        "lossless": not jpeg_encoding,
        "pose_fields": played.pose_fields,
    }


@dataclass
class _Played:
    """Counts from the playing loop."""

    successes: int
    steps: int
    seconds: float
    env_seconds: float
    pose_fields: list[str]
    replay: list[tuple[int, list[Any]]]  # (seed, actions) of every episode, for the raw-rate baseline


def _play(env: gym.Env, controller: Any, expert: str, writer: _BackgroundWriter, episodes: int, seed: int,
          only_successful: bool, progress_bar: bool, env_id: str) -> _Played:
    replay: list[tuple[int, list[Any]]] = []
    pending: list[Any] = []
    metas: list[dict[str, Any]] = []
    count = {"successes": 0, "steps": 0, "kept": 0, "played": 0}
    start = time.perf_counter()
    # the pose is stored as a vector: its field names, for the metadata, from the first episode's reset
    pose_fields = list(env.reset(seed=seed)[1].get("pose") or {})

    def flush() -> None:
        writer.submit(pending[:], metas[:], count["kept"] - len(pending))
        pending.clear()
        metas.clear()

    with tqdm(total=episodes, unit="ep", disable=not progress_bar, desc=f"collect {env_id}") as bar:

        def on_episode(done: EpisodeOutcome) -> None:
            record = done.record
            replay.append((done.seed, record.actions))
            count["successes"] += done.success
            count["played"] += 1
            count["steps"] += done.length
            if done.success or not only_successful:
                pending.append(episode_buffer(record, count["kept"]))
                metas.append({"seed": done.seed, "success": done.success, "expert": expert,
                              "route": controller.route_source, "length": done.length,
                              "return": float(np.sum(record.rewards))})
                count["kept"] += 1
            if len(pending) >= FLUSH_EVERY:
                flush()
            bar.update(1)
            bar.set_postfix(steps_s=f"{count['steps'] / max(time.perf_counter() - start, 1e-9):,.0f}",
                            success=f"{count['successes'] / count['played']:.0%}")

        played = play_episodes(env, ExpertActor(controller), episodes, seed, on_episode=on_episode, record=True,
                               record_info=storable_info, keep_records=False)
    if pending:
        flush()
    return _Played(count["successes"], count["steps"], time.perf_counter() - start, played.env_seconds,
                   pose_fields, replay)


def _preprocessing(env: gym.Env) -> dict[str, Any]:
    space = env.observation_space
    out: dict[str, Any] = {"observation_space": str(space), "action_space": str(env.action_space)}
    spec = env.unwrapped.sb3plus_spec
    out.update({k: v for k, v in spec.kwargs.items() if k != "env_id"})
    return out


class _SpecCarrier(gym.Env):
    """Hands Minari the env's spaces and the spec that rebuilds it, without building another env."""

    def __init__(self, env: gym.Env, spec: Any) -> None:
        self.observation_space = env.observation_space
        self.action_space = env.action_space
        self.spec = spec
