"""The model card (README.md) of a published run: Hub metadata plus how the model was made.

The YAML front matter follows the Hub conventions for RL models (as rl_zoo3 writes them):
``library_name: stable-baselines3``, tags with the env id, and a ``model-index`` whose
result holds ``mean_reward`` as ``"<mean> +/- <std>"``; sb3-plus adds ``success_rate``.
The text says how the model was made (expert, dataset, pretraining, algorithm,
hyperparameters, tuning study) and gives the exact commands to reproduce and to load it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any

import yaml

from sb3_plus.hub.layout import REPLAY_FILE

#: Tags every card carries (plus the env id).
BASE_TAGS = ("reinforcement-learning", "stable-baselines3", "sb3-plus", "deep-reinforcement-learning")


@dataclass
class CardInputs:
    """What the card is built from.

    :param repo_id: ``ORG/NAME`` on the Hub.
    :param run_info: the run's ``run_info.json``.
    :param config: the resolved zoo entry (the single entry of ``config.yml``).
    :param results: the held-out evaluation written to ``results.json``.
    :param model_file: the model zip's name in the repo.
    :param files: the repo's files, name -> one-line description.
    :param command: the recorded training command (``command.txt``).
    :param dataset_info: the ``sb3plus`` block of the dataset's Minari metadata, when the dataset was at hand.
    :param dataset_repo_id: the Hub dataset repo holding the dataset, if published.
    :param license: a license id for the metadata.
    """

    repo_id: str
    run_info: dict[str, Any]
    config: dict[str, Any]
    results: dict[str, Any]
    model_file: str
    files: dict[str, str] = field(default_factory=dict)
    command: str | None = None
    dataset_info: dict[str, Any] | None = None
    dataset_repo_id: str | None = None
    license: str | None = "mit"


def algo_display_name(algo: str) -> str:
    """``ppo_lstm`` -> ``RecurrentPPO`` (the class name), else the key upper-cased."""
    try:
        from sb3_plus.config import ALGOS

        return ALGOS[algo].__name__
    except Exception:
        return algo.upper()


def mean_reward_text(mean: float | None, std: float | None) -> str:
    """rl_zoo3's spelling of a result: ``"0.93 +/- 0.12"`` (``"n/a"`` for a result written as ``null``)."""
    if mean is None or std is None:
        return "n/a"
    return f"{mean:.2f} +/- {std:.2f}"


def card_data(inputs: CardInputs) -> Any:
    """The ``huggingface_hub.ModelCardData`` of the card (metadata only)."""
    from huggingface_hub import EvalResult, ModelCardData

    info, results = inputs.run_info, inputs.results
    env_id = info["env_id"]
    name = algo_display_name(info["algo"])
    common = dict(task_type="reinforcement-learning", task_name="reinforcement-learning", dataset_type=env_id,
                  dataset_name=env_id)
    evals = [EvalResult(metric_type="mean_reward", metric_name="mean_reward",
                        metric_value=mean_reward_text(results["mean_reward"], results["std_reward"]),
                        verified=False, **common)]
    if results.get("success_rate") is not None and not _isnan(results["success_rate"]):
        evals.append(EvalResult(metric_type="success_rate", metric_name="success_rate",
                                metric_value=round(float(results["success_rate"]), 4), verified=False, **common))
    tags = [env_id, *BASE_TAGS]
    if info.get("pretrain"):
        tags += ["imitation-learning", "behavior-cloning"] if info["pretrain"].get("method") == "bc" else \
            ["imitation-learning"]
    if info.get("algo") == "ppo_lstm":
        tags.append("sb3-contrib")
    return ModelCardData(
        library_name="stable-baselines3",
        tags=tags,
        model_name=name,
        eval_results=evals,
        license=inputs.license,
        datasets=[inputs.dataset_repo_id] if inputs.dataset_repo_id else None,
    )


def _isnan(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _cell(value: Any) -> str:
    return "`" + _fmt(value).replace("|", "\\|").replace("`", "'") + "`"


def mask_url_password(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


def _versions() -> dict[str, str]:
    out = {}
    for package in ("sb3-plus", "stable-baselines3", "sb3-contrib", "torch", "gymnasium", "minari"):
        try:
            out[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


def _seeds_text(results: dict[str, Any]) -> str:
    seeds = results.get("seeds") or []
    if not seeds:
        return "?"
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}..{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return ", ".join(map(str, seeds))


def _held_out_note(results: dict[str, Any]) -> list[str]:
    from sb3_plus.evaluation import HELD_OUT_SEED

    first = results.get("first_seed")
    if isinstance(first, int) and first >= HELD_OUT_SEED:
        return [f"Evaluation seeds start at {first}; sb3-plus collects expert data and trains from low seeds "
                "(the run's seed and up), so these episodes were not seen in training.", ""]
    return []


def _expert_lines(inputs: CardInputs) -> list[str]:
    info = inputs.run_info
    dataset_id = info.get("dataset_id")
    if not dataset_id:
        return ["- **Expert / dataset**: none; the agent learned from its own experience only."]
    lines = []
    meta = inputs.dataset_info or {}
    expert = meta.get("expert") or dataset_id.rsplit("/", 1)[-1].rsplit("-v", 1)[0]
    detail = []
    if meta.get("route"):
        detail.append(f"route: {meta['route']}")
    if meta.get("episodes_played") is not None:
        detail.append(f"{meta['episodes_played']} episodes from seed {meta.get('first_seed', 0)}")
    if meta.get("success_rate") is not None:
        detail.append(f"expert success rate {float(meta['success_rate']):.1%}")
    lines.append(f"- **Expert**: scripted `{expert}` expert acting from privileged state, `info[\"pose\"]`"
                 + (f"; {'; '.join(detail)}" if detail else ""))
    where = f" (on the Hub: [{inputs.dataset_repo_id}](https://huggingface.co/datasets/{inputs.dataset_repo_id}))" \
        if inputs.dataset_repo_id else ""
    lines.append(f"- **Dataset**: Minari dataset `{dataset_id}`{where}")
    return lines


def _pretrain_lines(pretrain: dict[str, Any] | None) -> list[str]:
    if not pretrain:
        return ["- **Pretraining**: none"]
    method = str(pretrain.get("method", "?")).upper()
    parts = []
    for key, label in (("epochs_run", "epochs"), ("seq_len", "sequence length"),
                       ("n_train_episodes", "training episodes"), ("n_holdout_episodes", "held-out episodes")):
        if pretrain.get(key) is not None:
            parts.append(f"{label} {pretrain[key]}")
    agreement = pretrain.get("final_agreement")
    if pretrain.get("holdout_agreement") and agreement is not None:
        parts.append(f"held-out action agreement {float(agreement):.1%}")
    losses = pretrain.get("train_nll") or []
    if losses:
        parts.append(f"final NLL {float(losses[-1]):.4g}")
    line = f"- **Pretraining**: {method} on `{pretrain.get('dataset_id', '?')}`" + (f" ({', '.join(parts)})" if parts else "")
    out = [line]
    evaluation = pretrain.get("eval")
    if evaluation:
        out.append(f"  - after pretraining, before RL: success rate {float(evaluation.get('success_rate', float('nan'))):.1%}, "
                   f"mean return {float(evaluation.get('mean_return', float('nan'))):.3g} "
                   f"over {evaluation.get('episodes', '?')} validation episodes "
                   f"(seeds from {evaluation.get('first_seed', 20000)}, apart from the held-out seeds above)")
    return out


def _tuning_lines(tuning: dict[str, Any] | None) -> list[str]:
    if not tuning:
        return ["- **Tuning**: none (hyperparameters from the config file)"]
    parts = []
    for key, value in tuning.items():
        if isinstance(value, str) and "://" in value:
            value = mask_url_password(value)
        parts.append(f"{key} `{_fmt(value)}`")
    return ["- **Tuning**: Optuna study: " + ", ".join(parts)]


def _reproduce_commands(inputs: CardInputs) -> list[str]:
    info, meta = inputs.run_info, inputs.dataset_info or {}
    env_id, algo, dataset_id = info["env_id"], info["algo"], info.get("dataset_id")
    lines: list[str] = []
    if dataset_id:
        lines.append("# 1. the expert dataset")
        episodes = meta.get("episodes_played", 100)
        cmd = (f"python -m sb3_plus.collect_expert --env {meta.get('env_id', env_id)} --episodes {episodes} "
               f"--seed {meta.get('first_seed', 0)} --dataset-id {dataset_id}")
        env_kwargs = meta.get("env_kwargs") or {}
        if env_kwargs:
            cmd += " --env-kwargs " + " ".join(f"{k}:{_yaml_scalar(v)}" for k, v in env_kwargs.items())
        lines.append(cmd)
        lines.append(f"# (or fetch it: python -m sb3_plus.load_from_hub --dataset {dataset_id} --repo-id "
                     f"{inputs.dataset_repo_id.split('/')[0] if inputs.dataset_repo_id else 'ORG'})")
        lines.append("# 2. training, as recorded in command.txt")
    else:
        lines.append("# training, as recorded in command.txt")
    lines.append(inputs.command or f"python -m sb3_plus.train --algo {algo} --env {env_id} --seed {info.get('seed', 0)}")
    lines.append("# or with exactly the published hyperparameters and seed (config.yml of this repo)")
    lines.append(f"python -m sb3_plus.load_from_hub --repo-id {inputs.repo_id} --out hub/{inputs.repo_id} --download-only")
    cmd = f"python -m sb3_plus.train --algo {algo} --env {env_id} -conf hub/{inputs.repo_id}/config.yml --seed {info.get('seed', 0)}"
    pretrain = info.get("pretrain") or {}
    if pretrain and not (inputs.config.get("pretrain") or {}).get("method"):
        cmd += f" --pretrain {pretrain.get('method', 'bc')} --dataset {pretrain.get('dataset_id', dataset_id)}"
        if pretrain.get("epochs_run"):
            cmd += f" --pretrain-epochs {pretrain['epochs_run']}"
    lines.append(cmd)
    return lines


def _yaml_scalar(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _usage_lines(inputs: CardInputs, name: str, algo: str) -> list[str]:
    """The card's "Use the model" section: sb3-plus's safe loader, and plain SB3 for trusted repos."""
    package = "sb3_contrib" if algo in ("ppo_lstm", "qrdqn", "trpo", "tqc", "ars", "ppo_mask", "crossq") \
        else "stable_baselines3"
    return [
        "## Use the model",
        "",
        "```bash",
        "# download, rebuild from config.yml and load the weights only (nothing is unpickled), evaluate",
        f"python -m sb3_plus.load_from_hub --repo-id {inputs.repo_id} --episodes 20",
        "# watch: evaluate on held-out seeds and record a replay",
        f"python -m sb3_plus.enjoy --repo-id {inputs.repo_id} --episodes 10 --video replay.mp4",
        "```",
        "",
        "```python",
        "from sb3_plus.hub import load_from_hub",
        "",
        f'with load_from_hub("{inputs.repo_id}") as loaded:   # weights and configs only',
        "    action, _ = loaded.model.predict(obs, deterministic=True)",
        "```",
        "",
        f"The zip `{inputs.model_file}` is an ordinary {name} save. Plain Stable-Baselines3 opens it too, but "
        "that unpickles code from the file: do it only for repos you trust "
        "(sb3-plus needs `--trust-remote-pickle` for that path).",
        "",
        "```python",
        "from huggingface_hub import hf_hub_download",
        f"from {package} import {name}",
        "",
        f'model = {name}.load(hf_hub_download("{inputs.repo_id}", "{inputs.model_file}"))',
        "```",
        "",
    ]


def build_card(inputs: CardInputs) -> str:
    """The README.md text: YAML front matter and the model card body."""
    from huggingface_hub import ModelCard

    info, results, config = inputs.run_info, inputs.results, inputs.config
    env_id, algo = info["env_id"], info["algo"]
    name = algo_display_name(algo)
    data = card_data(inputs)
    success = results.get("success_rate")
    n = results.get("n_eval_episodes") or results.get("episodes") or 0
    wins = results.get("successes")
    success_text = "n/a" if success is None or _isnan(success) else f"{float(success):.1%}" + (
        f" ({wins}/{n})" if wins is not None else "")
    body: list[str] = [
        f"# {name} agent playing {env_id}",
        "",
        f"A **{name}** agent for **{env_id}**, trained with sb3-plus "
        "on top of [Stable-Baselines3](https://github.com/DLR-RM/stable-baselines3)"
        + (" and sb3-contrib" if algo == "ppo_lstm" else "") + ".",
        "",
    ]
    if REPLAY_FILE in inputs.files:
        body += [f"Replay (seed {results.get('video_seed', results.get('first_seed', '?'))}): [`{REPLAY_FILE}`]({REPLAY_FILE})", ""]
    body += [
        "## Evaluation on held-out seeds",
        "",
        "| metric | value |",
        "|---|---|",
        f"| mean return | {mean_reward_text(results['mean_reward'], results['std_reward'])} |",
        f"| success rate | {success_text} |",
        f"| episodes | {n} (seeds {_seeds_text(results)}) |",
        f"| actions | {'deterministic' if results.get('deterministic', True) else 'stochastic'} |",
        f"| mean episode length | {_fmt(results.get('mean_length'))} |",
        f"| training steps | {_fmt(results.get('num_timesteps', info.get('num_timesteps')))} |",
        "",
        *_held_out_note(results),
        "## How it was made",
        "",
        *_expert_lines(inputs),
        *_pretrain_lines(info.get("pretrain")),
        f"- **Algorithm**: {name} (`--algo {algo}`), policy `{config.get('policy', '?')}`, "
        f"{_fmt(info.get('num_timesteps', config.get('n_timesteps')))} env steps, "
        f"{config.get('n_envs', '?')} env{'' if config.get('n_envs') == 1 else 's'} in parallel, "
        f"seed {info.get('seed', '?')}",
        *_tuning_lines(info.get("tuning")),
    ]
    if info.get("env_kwargs"):
        body.append(f"- **Env settings**: `{_fmt(info['env_kwargs'])}` (also in `env_kwargs.yml`)")
    versions = _versions()
    if versions:
        body.append("- **Versions**: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    body += ["", "### Hyperparameters (`config.yml`)", "", "| key | value |", "|---|---|"]
    body += [f"| {key} | {_cell(value)} |" for key, value in config.items()]
    body += ["", "## Reproduce", "", "```bash", *_reproduce_commands(inputs), "```", ""]
    body += _usage_lines(inputs, name, algo)
    if inputs.files:
        body += ["## Files", "", "| file | content |", "|---|---|"]
        body += [f"| `{path}` | {text} |" for path, text in sorted(inputs.files.items())]
        body.append("")
    text = "---\n" + data.to_yaml() + "\n---\n\n" + "\n".join(body).rstrip() + "\n"
    ModelCard(text)  # parse it back: malformed metadata fails here, not on the Hub
    return text
