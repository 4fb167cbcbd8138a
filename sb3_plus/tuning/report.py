"""Tuning outputs: the best hyperparameters as a zoo config entry, a CSV/JSON report, plots.

Everything goes to ``<log_folder>/tune/<study>/``:

- ``best_<algo>.yml``: ``{env_id: {...}}`` in the RL Zoo format, the best trial's values laid
  over the zoo entry (its ``n_timesteps`` is the config's training budget, not the tuning
  budget); ``python -m sb3_plus.train --algo <algo> --env <env> -conf best_<algo>.yml`` uses it;
- ``trials.csv``: one row per trial (state, value, per-seed values, params, worker);
- ``report.json``: settings, trial counts, the best trial, the top trials, param importances;
- ``optimization_history.png``, ``param_importances.png`` (needs 2+ complete trials whose
  params vary), ``intermediate_values.png`` (the reported learning curves).
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from sb3_plus.files import atomic_path, write_json_atomic

__all__ = ["best_config", "write_best_config", "write_outputs", "write_trials_csv"]


def _finished(study: Any) -> list[Any]:
    from optuna.trial import TrialState

    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]


def best_trial(study: Any) -> Any | None:
    """The complete trial with the highest value (lowest number on ties), or ``None``."""
    trials = _finished(study)
    if not trials:
        return None
    return max(trials, key=lambda t: (t.value, -t.number))


def best_config(trial: Any, settings: dict[str, Any]) -> Any:
    """The zoo config of ``trial``: the entry, the fixed overrides, the trial's values and pretraining.

    :param trial: a finished trial run by :class:`~sb3_plus.tuning.objective.Objective`.
    :param settings: the study settings (``algo``, ``env_id``, ``conf_file``, ``fixed``, ``env_kwargs``, ``dataset``).
    :return: a :class:`sb3_plus.config.TrainConfig`.
    """
    from sb3_plus.config import load_hyperparams

    base = load_hyperparams(settings["algo"], settings["env_id"], conf_file=settings.get("conf_file"),
                            overrides=settings.get("fixed") or None)
    overrides: dict[str, Any] = dict(trial.user_attrs.get("hyperparams") or {})
    if settings.get("env_kwargs"):
        overrides["env_kwargs"] = {**base.env_kwargs, **settings["env_kwargs"]}
    method = trial.user_attrs.get("pretrain")
    if method:
        pretrain = {k: v for k, v in (base.pretrain or {}).items()}
        pretrain.update(method=method, **(trial.user_attrs.get("pretrain_kwargs") or {}))
        if settings.get("dataset"):
            pretrain["dataset"] = settings["dataset"]
        overrides["pretrain"] = pretrain
    elif base.pretrain and "method" in base.pretrain:
        overrides["pretrain"] = {k: v for k, v in base.pretrain.items() if k not in ("method", "dataset")} or None
    from sb3_plus.config import apply_overrides

    return apply_overrides(base, overrides) if overrides else base


def write_best_config(study: Any, settings: dict[str, Any], path: Path) -> Path | None:
    """Write the best trial as ``{env_id: {...}}`` in the RL Zoo format; ``None`` without a complete trial."""
    trial = best_trial(study)
    if trial is None:
        return None
    config = best_config(trial, settings)
    algo, env_id = settings["algo"], settings["env_id"]
    n_seeds = len(settings.get("seeds") or [])
    header = (
        f"# Best {algo} hyperparameters for {env_id}: Optuna study {study.study_name!r}, trial {trial.number},\n"
        f"# {settings.get('metric')} = {trial.value:.4g} (mean over {n_seeds} seeds, "
        f"{settings.get('n_timesteps')} steps each, validation seeds from {settings.get('eval_seed') or 20000};\n"
        f"# the held-out seeds from 10000 are left for the final report).\n"
        f"# n_timesteps below is the zoo config's training budget. Train with:\n"
        f"#   python -m sb3_plus.train --algo {algo} --env {env_id} -conf {path}\n"
    )
    text = header + yaml.safe_dump({env_id: config.to_yaml_dict()}, sort_keys=False, default_flow_style=False,
                                   width=4096)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _iso(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def _duration(trial: Any) -> float | None:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return None
    return round((trial.datetime_complete - trial.datetime_start).total_seconds(), 2)


def write_trials_csv(study: Any, path: Path) -> Path:
    """One row per trial: number, state, value, per-seed values, duration, worker, last step, params."""
    trials = study.get_trials(deepcopy=False)
    names: list[str] = []
    for trial in trials:
        for name in trial.params:
            if name not in names:
                names.append(name)
    header = ["number", "state", "value", "seed_values", "duration_s", "datetime_start", "datetime_complete",
              "worker", "last_step", "pretrain", "adjusted", "error"] + [f"params_{n}" for n in names]
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for trial in trials:
                seeds = trial.user_attrs.get("seeds") or []
                row = [trial.number, trial.state.name, "" if trial.value is None else trial.value,
                       json.dumps({str(s.get("seed")): s.get("value") for s in seeds}) if seeds else "",
                       _duration(trial) if _duration(trial) is not None else "", _iso(trial.datetime_start),
                       _iso(trial.datetime_complete), trial.user_attrs.get("worker", ""),
                       "" if trial.last_step is None else trial.last_step, trial.user_attrs.get("pretrain") or "",
                       json.dumps(trial.user_attrs["adjusted"]) if trial.user_attrs.get("adjusted") else "",
                       trial.user_attrs.get("error", "")]
                row += [trial.params.get(n, "") for n in names]
                writer.writerow(row)
    return path


def _trial_summary(trial: Any) -> dict[str, Any]:
    return {
        "number": trial.number, "state": trial.state.name, "value": trial.value, "params": dict(trial.params),
        "hyperparams": trial.user_attrs.get("hyperparams"), "pretrain": trial.user_attrs.get("pretrain"),
        "pretrain_kwargs": trial.user_attrs.get("pretrain_kwargs"), "adjusted": trial.user_attrs.get("adjusted"),
        "seeds": trial.user_attrs.get("seeds"), "worker": trial.user_attrs.get("worker"),
        "duration_s": _duration(trial),
    }


def _importances(study: Any) -> tuple[dict[str, float] | None, str | None]:
    import optuna

    trials = _finished(study)
    if len(trials) < 2:
        return None, f"param importances need at least 2 complete trials (this study has {len(trials)})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = optuna.importance.get_param_importances(study, evaluator=importance_evaluator())
    except (ValueError, RuntimeError) as exc:
        return None, f"param importances could not be computed: {exc}"
    if not values:
        return None, "param importances could not be computed: no param varies over the complete trials"
    return {k: float(v) for k, v in values.items()}, None


def _save_axes(ax: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
    fig.set_size_inches(8, 4.5)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path


def write_plots(study: Any, out_dir: Path, importances: dict[str, float] | None) -> tuple[dict[str, str], list[str]]:
    """``optimization_history.png``, ``param_importances.png``, ``intermediate_values.png`` where possible.

    :return: the paths written, and notes on plots that were not possible.
    """
    import matplotlib

    matplotlib.use("Agg")
    import optuna.visualization.matplotlib as vis

    written: dict[str, str] = {}
    notes: list[str] = []
    complete = _finished(study)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if complete:
            path = _save_axes(vis.plot_optimization_history(study, target_name="objective"),
                              out_dir / "optimization_history.png")
            written["optimization_history"] = str(path)
        else:
            notes.append("optimization_history.png needs a complete trial")
        if importances:
            path = _save_axes(vis.plot_param_importances(study, evaluator=importance_evaluator()),
                              out_dir / "param_importances.png")
            written["param_importances"] = str(path)
        else:
            notes.append("param_importances.png needs at least 2 complete trials whose params vary")
        if any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
            path = _save_axes(vis.plot_intermediate_values(study), out_dir / "intermediate_values.png")
            written["intermediate_values"] = str(path)
    return written, notes


def importance_evaluator() -> Any:
    """fANOVA (Optuna's default, seeded so that reports are reproducible); PED-ANOVA without scikit-learn."""
    import optuna

    try:
        return optuna.importance.FanovaImportanceEvaluator(seed=0)
    except ImportError:
        return optuna.importance.PedAnovaImportanceEvaluator()


def write_outputs(study: Any, settings: dict[str, Any], out_dir: str | Path, top: int = 5) -> dict[str, Any]:
    """Write every output of a study to ``out_dir``.

    :param study: the Optuna study.
    :param settings: the study settings (see :func:`sb3_plus.tuning.tuner.tune`).
    :param out_dir: the output folder (created).
    :param top: how many of the best trials ``report.json`` lists.
    :return: the report (also in ``report.json``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    from sb3_plus.tuning.storage import count_trials

    counts = count_trials(study)
    outputs: dict[str, str] = {}
    notes: list[str] = []
    best_path = write_best_config(study, settings, out_dir / f"best_{settings['algo']}.yml")
    if best_path is not None:
        outputs["best_config"] = str(best_path)
    else:
        notes.append("no complete trial yet: no best config")
    outputs["trials_csv"] = str(write_trials_csv(study, out_dir / "trials.csv"))
    importances, note = _importances(study)
    if note:
        notes.append(note)
    plots, plot_notes = write_plots(study, out_dir, importances)
    outputs.update(plots)
    notes.extend(plot_notes)
    best = best_trial(study)
    ranked = sorted(_finished(study), key=lambda t: (-t.value, t.number))[:top]
    workers = sorted({t.user_attrs.get("worker") for t in study.get_trials(deepcopy=False)
                      if t.user_attrs.get("worker")})
    report = {
        "study": study.study_name,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "trials": counts,
        "workers": workers,
        "best": _trial_summary(best) if best is not None else None,
        "top": [_trial_summary(t) for t in ranked],
        "param_importances": importances,
        "outputs": outputs,
        "notes": notes,
    }
    report_path = out_dir / "report.json"
    write_json_atomic(report_path, _clean(report))
    report["outputs"]["report"] = str(report_path)
    return report


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
