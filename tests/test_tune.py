"""python -m sb3_plus.tune: a real study on SQLite, BC and RL tuned together, outputs, resume, pruning."""

import csv
import json
import re
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest

from sb3_plus.cli_common import run_cli
from sb3_plus.config import load_hyperparams
from sb3_plus.data.collect import collect_expert
from sb3_plus.errors import UserError
from sb3_plus.tune import build_parser, main as tune_main
from sb3_plus.tuning import SearchSpaceError, TuneError, TuneSettings, tune
from sb3_plus.tuning.report import write_outputs

DATASET = "sb3plus/mazeeasy/waypoint-v0"
LAYOUT = {"fixed_layout_seed": 3}   # one maze, random starts: BC on 20 expert episodes solves it
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def maze_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINARI_DATASETS_PATH", str(root))
        collect_expert("MazeEasy-v0", episodes=20, dataset_id=DATASET, progress_bar=False, env_kwargs=LAYOUT)
    return root


def _argv(log, n_trials, *extra):
    return ["--algo", "ppo_lstm", "--env", "MazeEasy-v0", "--study-name", "maze", "-f", str(log),
            "--n-trials", str(n_trials), "--seeds", "2", "-n", "256", "--eval-freq", "128", "--eval-episodes", "2",
            "--sampler", "tpe", "--n-startup-trials", "2", "--pruner", "median",
            "--hyperparams", "n_envs:2", "n_steps:64", "n_epochs:2", "policy_kwargs.n_lstm_layers:1",
            "--env-kwargs", "fixed_layout_seed:3", "--pretrain", "bc", "--dataset", DATASET, *extra]


@pytest.fixture(scope="module")
def maze_study(tmp_path_factory, maze_dataset):
    log = tmp_path_factory.mktemp("tune")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINARI_DATASETS_PATH", str(maze_dataset))
        result = tune_main(_argv(log, 3))
    return log, result


def test_study_runs_seeds_on_held_out_evaluations_and_tunes_bc_with_rl(maze_study):
    log, result = maze_study
    db = log / "tune" / "maze.db"
    assert db.exists() and result.storage == f"sqlite:///{db.resolve()}"
    study = optuna.load_study(study_name="maze", storage=f"sqlite:///{db}")
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 3 and result.trials_run == 3
    settings = study.user_attrs["sb3_plus"]
    assert settings["seeds"] == [0, 1] and settings["eval_seed"] == 20000 and settings["pretrain"] == "bc"
    for trial in finished:
        pretrain_kwargs = trial.user_attrs["pretrain_kwargs"]
        assert "epochs" in pretrain_kwargs and "rounds" not in pretrain_kwargs   # BC knobs tuned, DAgger's not
        assert trial.params["pretrain.epochs"] == pretrain_kwargs["epochs"]
        hp = trial.user_attrs["hyperparams"]
        assert "policy_kwargs.n_lstm_layers" not in trial.params                 # pinned by --hyperparams
        assert not (hp["policy_kwargs.shared_lstm"] and hp["policy_kwargs.enable_critic_lstm"])
        runs = trial.user_attrs["seeds"]
        if trial.state.name == "COMPLETE":
            # 2 seeds x (evaluation after BC + 2 during RL), reported at k * 3 + j
            assert sorted(trial.intermediate_values) == [0, 1, 2, 3, 4, 5]
            assert [r["seed"] for r in runs] == [0, 1]
            assert trial.value == pytest.approx(sum(r["value"] for r in runs) / 2)
            assert trial.value == pytest.approx(trial.intermediate_values[5])
            for run in runs:
                info = json.loads((Path(run["run_dir"]) / "run_info.json").read_text())
                assert info["seed"] == run["seed"] and info["pretrain"]["method"] == "bc"
                assert info["final_eval"]["first_seed"] == 20000       # validation seeds, not the held-out ones
    bc_epochs = {t.params["pretrain.epochs"]: t.value for t in finished if t.state.name == "COMPLETE"}
    assert bc_epochs, "at least one trial completes"


def test_outputs_best_config_report_and_plots(maze_study):
    log, result = maze_study
    out = log / "tune" / "maze"
    study = optuna.load_study(study_name="maze", storage=result.storage)
    best = study.best_trial
    assert result.best_trial == best.number and result.best_value == pytest.approx(best.value)
    config = load_hyperparams("ppo_lstm", "MazeEasy-v0", conf_file=out / "best_ppo_lstm.yml")
    header = (out / "best_ppo_lstm.yml").read_text().split("\nMazeEasy-v0:")[0]
    assert "validation seeds from 20000" in header and "held-out evaluation" not in header
    hp = best.user_attrs["hyperparams"]
    assert config.policy_kwargs["lstm_hidden_size"] == hp["policy_kwargs.lstm_hidden_size"]
    assert config.algo_kwargs["batch_size"] == hp["batch_size"] and config.algo_kwargs["gamma"] == hp["gamma"]
    assert config.algo_kwargs["n_steps"] == 64 and config.n_envs == 2          # the fixed overrides
    assert config.env_kwargs == LAYOUT
    assert config.pretrain["method"] == "bc" and config.pretrain["dataset"] == DATASET
    assert config.pretrain["epochs"] == best.params["pretrain.epochs"]
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert [int(r["number"]) for r in rows] == [t.number for t in study.trials]
    assert {r["worker"] for r in rows} == {best.user_attrs["worker"]}
    report = json.loads((out / "report.json").read_text())
    assert report["best"]["number"] == best.number and report["settings"]["metric"] == "success"
    assert report["best"]["seeds"][0]["seed"] == 0
    for name in ("optimization_history.png", "intermediate_values.png"):
        assert (out / name).read_bytes()[:8] == PNG
    importances = out / "param_importances.png"
    assert importances.exists() == bool(report["param_importances"])
    if not importances.exists():
        assert any("param importances" in note for note in report["notes"])


def test_same_command_resumes_and_other_settings_are_refused(maze_study, maze_dataset, monkeypatch, capsys):
    log, _ = maze_study
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(maze_dataset))
    storage = f"sqlite:///{log / 'tune' / 'maze.db'}"
    before = {t.number: t.value for t in optuna.load_study(study_name="maze", storage=storage).trials}
    result = tune_main(_argv(log, 4))
    assert "resumed" in capsys.readouterr().out
    study = optuna.load_study(study_name="maze", storage=storage)
    assert len(study.trials) == 4 and result.trials_run == 1
    assert {t.number: t.value for t in study.trials[:3]} == before
    # a study is only resumed with its own settings: other seeds would make trials incomparable
    assert run_cli(tune_main, _argv(log, 5, "--seeds", "3")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "seeds (--seeds/--seed): study [0, 1], now [0, 1, 2]" in err
    assert "--study-name" in err
    assert len(optuna.load_study(study_name="maze", storage=storage).trials) == 4


@pytest.mark.parametrize("pruner,second_state", [("median", "PRUNED"), ("halving", "PRUNED"), ("none", "COMPLETE")])
def test_bad_trial_is_pruned_early(tmp_path, maze_dataset, monkeypatch, pruner, second_state):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(maze_dataset))
    space = tmp_path / "space.yml"
    space.write_text("default:\n  pretrain.epochs: {type: int, low: 1, high: 50}\n")
    storage = f"sqlite:///{tmp_path / 'prune.db'}"
    study = optuna.create_study(study_name="prune", storage=storage, direction="maximize")
    study.enqueue_trial({"pretrain.epochs": 50})   # BC plays the maze: success >= 0.5 on 2 episodes x 2 seeds
    study.enqueue_trial({"pretrain.epochs": 1})    # 1 epoch does not: success 0.0
    result = tune(TuneSettings(
        "ppo", "MazeEasy-v0", n_trials=2, study_name="prune", storage=storage, log_folder=tmp_path, pruner=pruner,
        n_startup_trials=1, n_warmup_evals=0, seeds=2, n_timesteps=256, eval_freq=128, eval_episodes=2, space=space,
        hyperparams={"n_envs": 2, "n_steps": 64, "n_epochs": 1, "learning_rate": 1e-7}, env_kwargs=LAYOUT,
        pretrain="bc", dataset=DATASET, verbose=0))
    first, second = optuna.load_study(study_name="prune", storage=storage).trials
    assert first.state.name == "COMPLETE" and first.value >= 0.5
    assert second.state.name == second_state
    if second_state == "PRUNED":
        assert max(second.intermediate_values) < 3          # stopped during its first seed
        assert [r["seed"] for r in second.user_attrs["seeds"]] == [0]
        assert set(second.intermediate_values.values()) == {0.0}
    else:
        assert second.value == 0.0 and sorted(second.intermediate_values) == [0, 1, 2, 3, 4, 5]
    assert result.best_trial == 0


def test_report_handles_few_trials_and_computes_importances(tmp_path):
    settings = {"algo": "ppo", "env_id": "CartPole-v1", "metric": "return", "seeds": [0], "n_timesteps": 100}
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    report = write_outputs(study, settings, tmp_path / "empty")
    assert report["best"] is None and not (tmp_path / "empty" / "best_ppo.yml").exists()
    assert any("no complete trial" in n for n in report["notes"])

    def objective(trial):
        gamma = trial.suggest_float("gamma", 0.9, 0.999)
        n_epochs = trial.suggest_int("n_epochs", 1, 10)
        trial.set_user_attr("hyperparams", {"gamma": gamma, "n_epochs": n_epochs})
        return 100 * gamma + 0.01 * n_epochs

    study.optimize(objective, n_trials=1)
    report = write_outputs(study, settings, tmp_path / "one")
    assert report["param_importances"] is None and (tmp_path / "one" / "optimization_history.png").exists()
    assert not (tmp_path / "one" / "param_importances.png").exists()
    study.optimize(objective, n_trials=9)
    report = write_outputs(study, settings, tmp_path / "ten")
    assert set(report["param_importances"]) == {"gamma", "n_epochs"}
    assert report["param_importances"]["gamma"] > report["param_importances"]["n_epochs"]
    assert (tmp_path / "ten" / "param_importances.png").read_bytes()[:8] == PNG
    config = load_hyperparams("ppo", "CartPole-v1", conf_file=tmp_path / "ten" / "best_ppo.yml")
    assert config.algo_kwargs["gamma"] == pytest.approx(study.best_params["gamma"])


def test_clear_errors_before_any_trial(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["--algo", "ppo", "--env", "MazeEasy-v0", "-f", str(tmp_path), "--n-trials", "1"]
    assert run_cli(tune_main, base + ["--pretrain", "bc"]) == 2
    assert "needs a dataset" in capsys.readouterr().err
    assert run_cli(tune_main, base + ["--pretrain", "bc", "--dataset", "sb3plus/none/missing-v0"]) == 2
    assert "not found" in capsys.readouterr().err
    assert run_cli(tune_main, ["--algo", "ppo", "--env", "MazeEasy-v0", "-f", str(tmp_path), "--n-trials", "0",
                               "--study-name", "nothing"]) == 2
    assert "no study 'nothing'" in capsys.readouterr().err
    port = _closed_port()
    assert run_cli(tune_main, base + ["--storage", f"postgresql+psycopg://u@127.0.0.1:{port}/x"]) == 2
    err = capsys.readouterr().err
    assert "cannot open storage postgresql+psycopg://u@127.0.0.1" in err and "database server runs" in err
    with pytest.raises(TuneError, match="overlap the evaluation seeds"):
        tune(TuneSettings("ppo", "MazeEasy-v0", n_trials=1, log_folder=tmp_path, seed=20000, eval_episodes=2,
                          verbose=0))
    assert not list(Path(tmp_path).glob("**/trials/*")), "no trial ran"


def _closed_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_failing_trials_are_recorded_and_stop_the_study(tmp_path, capsys):
    calls = []

    def broken_train(*args, **kwargs):
        calls.append(kwargs["seed"])
        raise ValueError("the env exploded")

    with pytest.raises(TuneError, match="3 trials in a row failed; the last one: ValueError: the env exploded"):
        tune(TuneSettings("ppo", "CartPole-v1", n_trials=10, log_folder=tmp_path, seeds=2, n_timesteps=64,
                          sampler="random"), train_fn=broken_train)
    study = optuna.load_study(study_name="ppo-CartPole-v1", storage=f"sqlite:///{tmp_path / 'tune' / 'ppo-CartPole-v1.db'}")
    assert [t.state.name for t in study.trials] == ["FAIL"] * 3 and calls == [0, 0, 0]
    rows = list(csv.DictReader((tmp_path / "tune" / "ppo-CartPole-v1" / "trials.csv").open()))
    assert [r["error"] for r in rows] == ["ValueError: the env exploded"] * 3
    assert "trial   2 FAIL     ValueError: the env exploded" in capsys.readouterr().out


def _fake_train(algo, env_id, *, n_timesteps, seed, log_folder, eval_freq, on_eval, **kwargs):
    """Stands in for training: evaluations at 0, eval_freq, ... with success 0.5."""
    for step in range(0, n_timesteps + 1, eval_freq):
        on_eval(step, SimpleNamespace(success_rate=0.5, mean_return=1.0))
    return SimpleNamespace(final_eval={"success_rate": 0.5, "mean_return": 1.0}, num_timesteps=n_timesteps,
                           run_dir=log_folder)


def test_resume_refuses_other_env_kwargs_or_fixed_overrides(tmp_path):
    first = TuneSettings("ppo", "MazeEasy-v0", n_trials=1, log_folder=tmp_path, seeds=1, n_timesteps=64, eval_freq=32,
                         eval_episodes=1, sampler="random", pruner="none", env_kwargs={"fixed_layout_seed": 3},
                         hyperparams=["n_envs:2", "n_epochs:1"], verbose=0)
    tune(first, train_fn=_fake_train)
    assert tune(replace(first, n_trials=2), train_fn=_fake_train).trials_run == 1   # same values: resumed
    storage = f"sqlite:///{tmp_path / 'tune' / 'ppo-MazeEasy-v0.db'}"
    record = optuna.load_study(study_name="ppo-MazeEasy-v0", storage=storage).user_attrs["sb3_plus"]
    assert record["env_kwargs"] == {"fixed_layout_seed": 3} and record["fixed"] == {"n_envs": 2, "n_epochs": 1}
    changes = [
        ({"env_kwargs": {"fixed_layout_seed": 4}},
         "env_kwargs (--env-kwargs): study {'fixed_layout_seed': 3}, now {'fixed_layout_seed': 4}",
         "--env-kwargs fixed_layout_seed:3"),
        ({"env_kwargs": None}, "env_kwargs (--env-kwargs): study {'fixed_layout_seed': 3}, now {}",
         "--env-kwargs fixed_layout_seed:3"),
        ({"hyperparams": {"n_envs": 4, "n_epochs": 1}},
         "fixed (--hyperparams): study {'n_envs': 2, 'n_epochs': 1}, now {'n_envs': 4, 'n_epochs': 1}",
         "--hyperparams n_envs:2 n_epochs:1"),
        ({"hyperparams": ["n_envs:2"]}, "fixed (--hyperparams): study {'n_envs': 2, 'n_epochs': 1}, now {'n_envs': 2}",
         "--hyperparams n_envs:2 n_epochs:1"),
    ]
    for change, difference, fix in changes:
        with pytest.raises(TuneError) as info:
            tune(replace(first, n_trials=3, **change), train_fn=_fake_train)
        message = str(info.value)
        assert difference in message and "not be comparable" in message, message
        assert f"Fix: pick a new --study-name, or run with the study's values ({fix})" in message
    assert len(optuna.load_study(study_name="ppo-MazeEasy-v0", storage=storage).trials) == 2   # nothing ran


def test_cli_is_the_settings_dataclass():
    parsed = vars(build_parser().parse_args(["--algo", "ppo", "--env", "MazeEasy-v0"]))
    assert parsed == asdict(TuneSettings("ppo", "MazeEasy-v0"))   # same knobs, same defaults
    parsed = vars(build_parser().parse_args(["--algo", "ppo", "--env", "MazeEasy-v0", "-n", "512", "--seeds", "2",
                                             "--hyperparams", "n_envs:2", "--pretrain", "dagger"]))
    assert (parsed["n_timesteps"], parsed["seeds"], parsed["hyperparams"], parsed["pretrain"]) == (
        512, 2, ["n_envs:2"], "dagger")
    help_text = build_parser().format_help()
    assert "seconds between a running trial's heartbeats" in help_text and "(default: 10)" in help_text


def test_bad_settings_are_user_errors_before_anything_runs(tmp_path):
    assert issubclass(TuneError, UserError) and issubclass(SearchSpaceError, UserError)
    for bad, needle in [({"sampler": "grid"}, "unknown sampler 'grid'. Fix: use one of tpe, random, cmaes"),
                        ({"pruner": "hyperband"}, "unknown pruner"), ({"metric": "accuracy"}, "unknown metric"),
                        ({"pretrain": "sqil"}, "unknown pretraining method"), ({"seeds": []}, "at least one seed"),
                        ({"n_trials": -1}, "n_trials must be >= 0")]:
        with pytest.raises(TuneError, match=re.escape(needle)):
            TuneSettings("ppo", "MazeEasy-v0", log_folder=tmp_path, **bad)
    assert not (tmp_path / "tune").exists()

