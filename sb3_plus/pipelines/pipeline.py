"""One recipe, the whole chain: expert collection -> dataset -> BC/DAgger -> RL -> held-out evaluation -> video ->
Hub (dry run or real push), resumable at each stage, one report at the end.

A recipe is a YAML file (examples in ``recipes/``)::

    env: MazeEasy-v0
    env_kwargs: {fixed_layout_seed: 3}
    out: pipeline_out/maze          # default: pipeline_out/<recipe file stem>
    collect: {episodes: 50}         # dataset recipe keys (see datasets/), or {recipe: datasets/x.yml, ...}
    train: {algo: ppo_lstm, pretrain: bc, n_timesteps: 20000, pretrain_kwargs: {epochs: 10}}
    evaluate: {episodes: 100}       # held-out seeds from 10000
    video: {max_steps: 600}
    push: {repo_id: me/ppo_lstm-MazeEasy-v0, dry_run: true}

Stages run in the order of :data:`STAGES`; a recipe names those it wants (``train`` at least). Each
finished stage is recorded in ``<out>/pipeline.json`` with its result, so running the recipe again
skips it: a run stopped between stages goes on with the next one, and a run stopped inside ``train``
resumes that training run (``train -i``). Changing a finished stage's settings is refused unless
``restart`` is asked for.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from sb3_plus.errors import BadOptionError, InputNotFoundError

__all__ = ["STAGES", "PipelineError", "load_pipeline_recipe", "run_pipeline"]

#: The stages, in the order they run.
STAGES = ("collect", "train", "evaluate", "video", "push")
_TOP_KEYS = ("env", "env_kwargs", "out") + STAGES
_TRAIN_KEYS = ("algo", "pretrain", "dataset", "n_timesteps", "hyperparams", "pretrain_kwargs", "eval_freq",
               "eval_episodes", "seed", "save_freq", "max_seconds", "conf_file")
STATE_FILE = "pipeline.json"


class PipelineError(BadOptionError):
    """A recipe the pipeline cannot run, with the fix."""


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PipelineError(f"{where} must be a mapping, got {value!r}. Fix: write it as `{where}: {{key: value}}`")
    return dict(value)


def load_pipeline_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a pipeline recipe; ``out`` defaults to ``pipeline_out/<file stem>``.

    :raises InputNotFoundError: no such file.
    :raises PipelineError: an unknown stage or key, a stage that is not a mapping, no ``env`` or no ``train``.
    """
    from sb3_plus.config.yaml_io import read_yaml

    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{path}: no such recipe. Fix: check the path (examples in recipes/)")
    recipe = _mapping(read_yaml(path), str(path))
    recipe.setdefault("out", str(Path("pipeline_out") / path.stem))
    return check_recipe(recipe, str(path))


def check_recipe(recipe: Mapping[str, Any], where: str = "recipe") -> dict[str, Any]:
    """The recipe, checked (see :func:`load_pipeline_recipe`)."""
    from sb3_plus.config.errors import did_you_mean

    recipe = dict(recipe)
    for key in recipe:
        if key not in _TOP_KEYS:
            raise PipelineError(f"{where}: unknown stage or key {key!r}{did_you_mean(str(key), _TOP_KEYS)}. "
                                f"Fix: use the stages {', '.join(STAGES)} and the keys env, env_kwargs, out")
    if not isinstance(recipe.get("env"), str):
        raise PipelineError(f"{where}: no env. Fix: add `env: MazeEasy-v0` (any id make_env builds)")
    if "train" not in recipe:
        raise PipelineError(f"{where}: no train stage. Fix: add `train: {{algo: ppo, n_timesteps: 100000}}`")
    for stage in STAGES:
        if stage in recipe:
            recipe[stage] = _mapping(recipe[stage], f"{where}: {stage}")
    unknown = sorted(set(recipe["train"]) - set(_TRAIN_KEYS))
    if unknown:
        raise PipelineError(f"{where}: train has unknown key(s) {unknown}. Fix: use only {', '.join(_TRAIN_KEYS)}")
    if "push" in recipe and not recipe["push"].get("repo_id"):
        raise PipelineError(f"{where}: push needs repo_id. Fix: add `push: {{repo_id: ORG/NAME, dry_run: true}}`")
    recipe["env_kwargs"] = _mapping(recipe.get("env_kwargs"), f"{where}: env_kwargs")
    return recipe


# ----------------------------------------------------------------------------- the stages


def _collect(recipe: dict[str, Any], state: dict[str, Any], out: Path) -> dict[str, Any]:
    from sb3_plus.data.recipes import collect_from_recipe, load_recipe

    settings = dict(recipe["collect"])
    measure_raw = bool(settings.pop("measure_raw", False))
    base = load_recipe(settings.pop("recipe")) if "recipe" in settings else None
    if base is None:  # the collection plays the recipe's env
        settings.setdefault("env", recipe["env"])
        settings.setdefault("env_kwargs", recipe["env_kwargs"])
    report = collect_from_recipe(base, overwrite=True, progress_bar=True, measure_raw=measure_raw, **settings)
    return {"dataset_id": report.dataset_id, "episodes": report.episodes, "success_rate": report.success_rate,
            "steps_per_s": round(report.steps_per_s), "raw_steps_per_s": report.raw_steps_per_s}


def _train(recipe: dict[str, Any], state: dict[str, Any], out: Path) -> dict[str, Any]:
    from sb3_plus.training import train

    settings = dict(recipe["train"])
    algo = settings.pop("algo", "ppo")
    pretrain = settings.pop("pretrain", None)
    if pretrain not in (None, "none"):
        settings["pretrain"] = pretrain
        if "dataset" not in settings:
            collected = state.get("collect", {}).get("result", {})
            if not collected:
                raise PipelineError(f"train: pretrain {pretrain} needs a dataset. Fix: add a collect stage, or "
                                    "train: {dataset: ID}")
            settings["dataset"] = collected["dataset_id"]
    kwargs = {"log_folder": out / "logs", "env_kwargs": recipe["env_kwargs"] or None, "progress": True,
              "command": "python -m sb3_plus.pipeline", **settings}
    started = _started_run(out / "logs", algo, recipe["env"], state.get("train", {}).get("runs_before"))
    result = None
    if started is not None:  # a run stopped inside this stage: resume it (pretraining included)
        try:
            result = train(algo, recipe["env"], trained_agent=started, **kwargs)
        except InputNotFoundError:  # stopped before it saved anything: start again
            result = None
    if result is None:
        from sb3_plus.training.run_folder import run_numbers

        state["train"] = {"runs_before": run_numbers(out / "logs", algo, recipe["env"])}
        _save_state(out, state)
        result = train(algo, recipe["env"], **kwargs)
    return {"run_dir": str(result.run_dir), "model": str(result.model_path), "rl_steps": result.num_timesteps,
            "pretrain": {k: v for k, v in (result.pretrain or {}).items()
                         if k in ("method", "final_agreement", "samples_per_second", "total_seconds")},
            "pretrain_eval": (result.pretrain or {}).get("eval"), "final_eval": result.final_eval}


def _started_run(log_folder: Path, algo: str, env_id: str, before: list[int] | None) -> Path | None:
    """The run folder this stage made before it was stopped (the newest one it did not find), or ``None``."""
    from sb3_plus.training.run_folder import run_numbers

    if before is None:
        return None
    new = [n for n in run_numbers(log_folder, algo, env_id) if n not in before]
    return log_folder / algo / f"{env_id.replace('/', '_')}_{max(new)}" if new else None


def _evaluate(recipe: dict[str, Any], state: dict[str, Any], out: Path) -> dict[str, Any]:
    from sb3_plus.models import evaluate_saved_model

    settings = {"episodes": 100, "seed": 10_000, "deterministic": True, **recipe["evaluate"]}
    result = evaluate_saved_model(state["train"]["result"]["model"], recipe["env"], episodes=settings["episodes"],
                                  seed=settings["seed"], deterministic=settings["deterministic"])
    return result.summary()


def _video(recipe: dict[str, Any], state: dict[str, Any], out: Path) -> dict[str, Any]:
    from sb3_plus.config import load_saved_config
    from sb3_plus.models import load_model
    from sb3_plus.training.envs import find_vecnormalize
    from sb3_plus.video import record_video

    trained = state["train"]["result"]
    run_dir = Path(trained["run_dir"])
    algo = run_dir.parent.name
    config = load_saved_config(run_dir / "config.yml", algo, recipe["env"])
    path = record_video(load_model(trained["model"]), recipe["env"], out / "agent.mp4", config=config,
                        normalization=find_vecnormalize(Path(trained["model"])),
                        max_steps=int(recipe["video"].get("max_steps", 600)))
    return {"video": str(path)}


def _push(recipe: dict[str, Any], state: dict[str, Any], out: Path) -> dict[str, Any]:
    from sb3_plus.hub.push import push_to_hub

    settings = {"dry_run": True, "video": False, **recipe["push"]}
    result = push_to_hub(state["train"]["result"]["run_dir"], out_dir=out / "hub", **settings)
    return {"repo_id": result.repo_id, "folder": str(result.folder), "dry_run": result.dry_run,
            "files": len(result.files), "repo_url": result.repo_url}


_RUNNERS: dict[str, Callable[[dict[str, Any], dict[str, Any], Path], dict[str, Any]]] = {
    "collect": _collect, "train": _train, "evaluate": _evaluate, "video": _video, "push": _push}


# ----------------------------------------------------------------------------- the run


def _save_state(out: Path, state: dict[str, Any]) -> None:
    from sb3_plus.files import write_json_atomic

    write_json_atomic(out / STATE_FILE, state)


def _load_state(out: Path, recipe: dict[str, Any], restart: bool) -> dict[str, Any]:
    import json

    path = out / STATE_FILE
    if restart or not path.exists():
        return {"recipe": recipe}
    state = json.loads(path.read_text())
    old = state.get("recipe", {})
    for stage in STAGES:
        if state.get(stage, {}).get("finished") and old.get(stage) != recipe.get(stage):
            raise PipelineError(f"{out}: the recipe's {stage} stage changed since it ran. Fix: pass --restart to run "
                                "everything again, or use another out folder")
    if old.get("env") != recipe["env"] or old.get("env_kwargs") != recipe["env_kwargs"]:
        raise PipelineError(f"{out}: the recipe's env changed since this folder was made. Fix: pass --restart, "
                            "or use another out folder")
    state["recipe"] = recipe
    return state


def run_pipeline(recipe: str | os.PathLike | Mapping[str, Any], restart: bool = False,
                 until: str | None = None, verbose: int = 1) -> dict[str, Any]:
    """Run a recipe's stages (see the module), skipping those a previous run finished; return the report.

    :param recipe: a recipe file or an already loaded recipe.
    :param restart: forget what a previous run of this ``out`` folder finished.
    :param until: stop after this stage (the rest runs next time).
    :param verbose: 0 quiet, 1 a line per stage and the report.
    """
    from sb3_plus.files import write_json_atomic

    recipe = load_pipeline_recipe(recipe) if isinstance(recipe, (str, os.PathLike)) else check_recipe(recipe)
    if until is not None and until not in STAGES:
        raise PipelineError(f"unknown stage {until!r} for --until. Fix: use one of {', '.join(STAGES)}")
    out = Path(recipe.get("out") or "pipeline_out").resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MINARI_DATASETS_PATH", str(out / "datasets"))
    state = _load_state(out, recipe, restart)
    stages = [s for s in STAGES if s in recipe]
    for number, stage in enumerate(stages, 1):
        done = state.get(stage, {})
        if done.get("finished"):
            if verbose:
                print(f"[{number}/{len(stages)}] {stage}: done before, skipped", flush=True)
        else:
            if verbose:
                print(f"[{number}/{len(stages)}] {stage} ...", flush=True)
            start = time.perf_counter()
            result = _RUNNERS[stage](recipe, state, out)
            state[stage] = {**state.get(stage, {}), "finished": True, "result": result,
                            "seconds": round(time.perf_counter() - start, 1)}
            _save_state(out, state)
        if stage == until:
            break
    report = {"recipe": recipe, "out": str(out),
              "stages": {s: state[s] for s in stages if state.get(s, {}).get("finished")},
              "pending": [s for s in stages if not state.get(s, {}).get("finished")]}
    write_json_atomic(out / "report.json", report)
    if verbose:
        _print_report(report)
    return report


def _print_report(report: dict[str, Any]) -> None:
    print("\nsb3-plus pipeline report")
    for stage, record in report["stages"].items():
        result = record.get("result", {})
        shown = {k: v for k, v in result.items() if not isinstance(v, (dict, list))}
        print(f"  {stage:9s} {record.get('seconds', 0):7.1f} s  " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    if report["pending"]:
        print(f"  pending: {', '.join(report['pending'])} (run the recipe again to go on)")
