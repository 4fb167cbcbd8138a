"""A Go-Explore run: explore (phase 1), turn the discoveries into a route (phase 2), write the files.

``go_explore("MazeHard-v0", out="runs/go_explore/mazehard", minutes=5)`` writes into ``out``::

    archive/            the archive (resumable: run again with resume=True)
    route.yaml          the discovered route, in the route file format (experts/README.md)
    report.json         what the run did (cells, steps, seconds, goal per start seed, route check)
    cells_over_time.png, visited_map.png
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sb3_plus.errors import BadOptionError
from sb3_plus.exploration.archive import Archive
from sb3_plus.exploration.cells import default_cell_spec
from sb3_plus.exploration.discovered_routes import connected_seeds, follow_route, route_from_archive
from sb3_plus.exploration.go_explore import (Explorer, GoExploreSettings, add_start_cells, explore_archive,
                                             family_defaults)
from sb3_plus.exploration.restore import make_restorer

__all__ = ["GoExploreReport", "go_explore", "inspect_archive"]


@dataclass
class GoExploreReport:
    """What a run did; ``archive`` holds :meth:`Archive.summary`."""

    env_id: str
    env_kwargs: dict[str, Any]
    out: str | None
    archive: dict[str, Any]
    steps: int
    seconds: float
    connected_seeds: list[int]
    first_goal_step: int | None = None
    first_goal_seconds: float | None = None
    route: str | None = None
    route_waypoints: int = 0
    route_success: float | None = None
    route_seeds: list[int] = field(default_factory=list)
    dataset: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        a = self.archive
        lines = [
            f"env        {self.env_id} {self.env_kwargs or ''}".rstrip(),
            f"archive    {a['cells']} cells, {a['transitions']} transitions, {a['steps']} env steps in total"
            + (f" (+{a['replay_steps']} replaying trajectories to go back)" if a["replay_steps"] else ""),
            f"this run   {self.steps} env steps in {self.seconds:.1f}s",
            f"goal       first reached after {self.first_goal_step} steps ({self.first_goal_seconds}s)"
            if self.first_goal_step is not None else "goal       not reached yet",
            f"start seeds connected to the goal: {len(self.connected_seeds)}/{len(a['start_seeds'])} "
            f"{self.connected_seeds}",
        ]
        when = list(a.get("connected_at", {}).values())
        if when and len(when) == len(a["start_seeds"]):
            lines[-1] += (f", the last after {max(w['steps'] for w in when)} steps "
                          f"({max(w['seconds'] for w in when):.1f}s of exploration)")
        if self.route_waypoints:
            success = "" if self.route_success is None else (
                f"; the waypoint expert reached the goal in {self.route_success:.0%} of {len(self.route_seeds)} "
                "episodes")
            lines.append(f"route      {self.route or '(not written: no output folder)'} ({self.route_waypoints} "
                         f"waypoints{success})")
        if self.dataset:
            lines.append(f"dataset    {self.dataset.get('dataset_id')} ({self.dataset.get('episodes')} episodes)")
        lines.extend(f"note       {note}" for note in self.notes)
        return "\n".join(lines)


def _fixed_map(env_id: str, env_kwargs: dict[str, Any], family: str, seeds: tuple[int, ...]) -> list[str]:
    """Keep the map fixed across resets: an archive of states means nothing on a map that changes."""
    if family == "maze" and env_kwargs.get("fixed_layout_seed") is None:
        env_kwargs["fixed_layout_seed"] = int(seeds[0])
        return [f"{env_id} draws a new maze every episode; exploring the maze of fixed_layout_seed {seeds[0]} "
                f"(follow the route with --env-kwargs fixed_layout_seed:{seeds[0]})"]
    return []


def _route_map(env: Any, family: str) -> str:
    from sb3_plus.experts.route_check import env_map

    where = env_map(env)
    if family == "maze" and where.layout_seed is not None:
        return f"seed{where.layout_seed}"
    return where.map


def _prepare_archive(out: Path | None, env_id: str, env_kwargs: dict[str, Any], env: Any, family: str,
                     settings: GoExploreSettings, resume: bool) -> Archive:
    """A new archive, or the one in ``out`` when resuming (checked against this env, options and cells)."""
    _, info = env.reset(seed=int(settings.start_seeds[0]))
    spec = default_cell_spec(family, info, settings.cells, settings.cell_size)
    folder = None if out is None else out / "archive"
    if folder is not None and resume and (folder / "archive.json").is_file():
        archive = Archive.load(folder)
        archive.check_matches(env_id, env_kwargs, spec, str(folder), settings.returns)
    else:
        archive = Archive(env_id, env_kwargs, spec, family)
        archive.returns = str(settings.returns)
    return archive


def _explore(archive: Archive, explorers: list[Explorer], settings: GoExploreSettings, out: Path | None,
             steps: int | None, seconds: float | None, progress_bar: bool, save_every_s: float) -> None:
    from tqdm.auto import tqdm

    bar = tqdm(total=steps, unit="step", disable=not progress_bar, desc="Go-Explore")
    state = {"steps": archive.steps, "saved": time.perf_counter()}

    def on_iteration(a: Archive) -> None:
        bar.update(a.steps - state["steps"])
        state["steps"] = a.steps
        if a.iterations % 20 == 0:
            bar.set_postfix(cells=len(a.cells), goal_seeds=len(a.goals), refresh=False)
        if out is not None and time.perf_counter() - state["saved"] >= save_every_s:
            a.save(out / "archive")
            state["saved"] = time.perf_counter()

    try:
        explore_archive(archive, explorers, settings, steps, seconds, on_iteration)
    except KeyboardInterrupt:
        if out is not None:  # what was found so far is kept, whole: resume=True continues it
            archive.save(out / "archive")
        raise
    finally:
        bar.close()


def _check_budget(minutes: float | None, steps: int | None) -> tuple[int | None, float | None]:
    if minutes is None and steps is None:
        minutes = 5.0
    if minutes is not None and not minutes > 0:
        raise BadOptionError(f"minutes must be > 0, got {minutes}. Fix: pass e.g. --minutes 5")
    if steps is not None and steps < 1:
        raise BadOptionError(f"steps must be >= 1, got {steps}. Fix: pass e.g. --steps 100000")
    return steps, None if minutes is None else 60.0 * float(minutes)


def _check_outputs(out: Path | None, lookahead: int, coverage: str, dataset_id: str | None, overwrite: bool) -> None:
    from sb3_plus.exploration.discovered_routes import COVERAGES

    if lookahead < 1 or coverage not in COVERAGES:
        raise BadOptionError(f"route settings lookahead {lookahead}, coverage {coverage!r}. Fix: lookahead >= 1, "
                             f"coverage one of {', '.join(COVERAGES)}")
    if dataset_id is not None:
        from sb3_plus.data.storage import datasets_root, ensure_writable

        if out is None:
            raise BadOptionError("a dataset is collected with the route file, which needs an output folder. "
                                 "Fix: pass --out")
        ensure_writable(dataset_id, overwrite, datasets_root())


def go_explore(env_id: str, out: str | Path | None = None, minutes: float | None = None, steps: int | None = None,
               env_kwargs: dict[str, Any] | None = None, settings: GoExploreSettings | None = None,
               resume: bool = False, overwrite: bool = False, lookahead: int | None = None, coverage: str = "explored",
               check_route: bool = True, dataset_id: str | None = None, dataset_episodes: int = 100,
               progress_bar: bool = False, save_every_s: float = 60.0) -> GoExploreReport:
    """Explore ``env_id`` with Go-Explore and write the archive, the discovered route and a report.

    :param env_id: an env whose states can be restored (maze, vizdoom, or any with a restore adapter).
    :param out: output folder (``None``: nothing is written).
    :param minutes: wall budget of this call (default 5 when ``steps`` is not given either).
    :param steps: env step budget of this call.
    :param env_kwargs: env options; a maze without ``fixed_layout_seed`` gets the first start seed's.
    :param settings: phase 1 knobs (:class:`GoExploreSettings`).
    :param resume: continue ``out/archive`` if it exists (same env, options and cells, else an error).
    :param overwrite: replace an existing archive in ``out``.
    :param lookahead: cells ahead each route waypoint points (default per family: maze 1, vizdoom 4).
    :param coverage: route cells, ``explored`` or ``paths`` (:func:`route_from_archive`).
    :param check_route: let the waypoint expert follow the route once from every start seed.
    :param dataset_id: also collect a Minari dataset of the expert following the route (needs ``out``).
    :param dataset_episodes: episodes of that dataset, seeded from the first start seed.
    :param progress_bar: show a progress bar.
    :param save_every_s: seconds between saves of the archive during the run.
    """
    from sb3_plus.envs import family_of, make_env

    settings = settings or GoExploreSettings()
    steps, seconds = _check_budget(minutes, steps)
    env_kwargs = dict(env_kwargs or {})
    family = family_of(env_id)
    settings = settings.resolved(family)
    lookahead = int(family_defaults(family)["lookahead"] if lookahead is None else lookahead)
    notes = _fixed_map(env_id, env_kwargs, family, settings.start_seeds)
    out_path = None if out is None else Path(out)
    if out_path is not None and (out_path / "archive").exists() and not (resume or overwrite):
        raise BadOptionError(f"{out_path / 'archive'} already holds an archive. Fix: pass --resume to continue it, "
                             "--overwrite to start over, or another --out folder")
    _check_outputs(out_path, lookahead, coverage, dataset_id, overwrite)  # before minutes of exploring
    envs, restorers = [], []
    try:
        for _ in range(settings.n_envs):
            envs.append(make_env(env_id, **env_kwargs))
            restorers.append(make_restorer(envs[-1]) if settings.returns == "restore" else None)
        archive = _prepare_archive(out_path, env_id, env_kwargs, envs[0], family, settings, resume)
        # a resumed run draws other actions than the run it continues
        rngs = np.random.default_rng([settings.seed, archive.iterations]).spawn(settings.n_envs)
        explorers = [Explorer(e, r, archive.cell_spec, g) for e, r, g in zip(envs, restorers, rngs)]
        add_start_cells(archive, explorers[0], settings.start_seeds)
        steps_before, seconds_before = archive.steps, archive.seconds
        _explore(archive, explorers, settings, out_path, steps, seconds, progress_bar, save_every_s)
        report = GoExploreReport(env_id, env_kwargs, None if out_path is None else str(out_path), archive.summary(),
                                 archive.steps - steps_before, round(archive.seconds - seconds_before, 2),
                                 connected_seeds(archive), notes=notes)
        if archive.first_goal is not None:
            report.first_goal_step, report.first_goal_seconds = int(archive.first_goal[0]), archive.first_goal[1]
        _write_outputs(archive, report, envs[0], family, out_path, lookahead, coverage, check_route, settings)
    finally:
        for restorer in restorers:
            if restorer is not None:
                restorer.close()
        for env in envs:
            env.close()
    if dataset_id is not None and report.route is not None:
        report.dataset = _collect(env_id, env_kwargs, report.route, dataset_id, dataset_episodes, settings, overwrite)
    if out_path is not None:
        from sb3_plus.files import write_json_atomic

        write_json_atomic(out_path / "report.json", report.to_dict())
    return report


def _write_outputs(archive: Archive, report: GoExploreReport, env: Any, family: str, out: Path | None,
                   lookahead: int, coverage: str, check_route: bool, settings: GoExploreSettings) -> None:
    from sb3_plus.exploration.archive_plots import plot_cells_over_time, plot_visited_map

    route = None
    if archive.goal_from and archive.cell_spec.kind == "pose":
        route = route_from_archive(archive, lookahead, coverage, family, _route_map(env, family), archive.env_id)
        report.route_waypoints = len(route)
        if check_route:
            played = follow_route(env, route, settings.start_seeds)
            report.route_success, report.route_seeds = played.success_rate, list(played.seeds)
    if out is None:
        return
    archive.save(out / "archive")
    if route is not None:
        route.save(out / "route.yaml")
        report.route = str(out / "route.yaml")
    plot_cells_over_time(archive, out / "cells_over_time.png")
    plot_visited_map(archive, out / "visited_map.png", route)


def _collect(env_id: str, env_kwargs: dict[str, Any], route: str, dataset_id: str, episodes: int,
             settings: GoExploreSettings, overwrite: bool) -> dict[str, Any]:
    from sb3_plus.data.collect import collect_expert

    collected = collect_expert(env_id, episodes=episodes, seed=int(settings.start_seeds[0]), dataset_id=dataset_id,
                               route=route, env_kwargs=env_kwargs, overwrite=overwrite, progress_bar=False)
    return {"dataset_id": collected.dataset_id, "episodes": collected.episodes, "success_rate": collected.success_rate,
            "path": collected.path}


def inspect_archive(folder: str | Path, top: int = 10, plots: bool = True) -> dict[str, Any]:
    """Read an archive folder: its summary, the most visited cells, and (``plots``) its pictures beside it.

    :param folder: an archive folder (``<out>/archive``) or the run folder holding one.
    :param top: how many cells to list.
    :param plots: write ``cells_over_time.png`` and ``visited_map.png`` next to the archive folder.
    """
    from sb3_plus.exploration.archive_plots import plot_cells_over_time, plot_visited_map

    folder = Path(folder)
    if not (folder / "archive.json").is_file() and (folder / "archive" / "archive.json").is_file():
        folder = folder / "archive"
    archive = Archive.load(folder)
    info = archive.summary()
    info["connected_seeds"] = connected_seeds(archive)
    info["top_cells"] = [{"key": list(c.key), "position": c.position, "seen": c.seen, "chosen": c.chosen,
                          "score": c.score, "length": c.length, "seed": c.seed} for c in archive.top_cells(top)]
    if plots:
        info["plots"] = [str(plot_cells_over_time(archive, folder.parent / "cells_over_time.png")),
                         str(plot_visited_map(archive, folder.parent / "visited_map.png"))]
    return info
