"""Search spaces: the shipped files, per-env sections, mapping onto trials, constraints, clear errors."""

import textwrap

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from sb3_plus.config import apply_overrides, load_hyperparams
from sb3_plus.tuning import SearchSpaceError, apply_constraints, load_search_space, make_sampler, read_space_file
from sb3_plus.tuning.objective import LearningCurves

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _write(tmp_path, text, name="space.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("algo,env_id,section", [
    ("ppo", "MazeEasy-v0", None), ("ppo", "VizdoomMyWayHome-v1", "Vizdoom*"),
    ("ppo", "MazeEasyPixels-v0", "Maze*Pixels-v0"), ("ppo_lstm", "MazeEasy-v0", None),
    ("ppo_lstm", "VizdoomMyWayHome-v1", "Vizdoom*"), ("ppo_lstm", "CartPole-v1", None),
    ("ppo", "Procgen-coinrun-v0", "Procgen-*"),
])
def test_shipped_spaces_load_validate_and_sample(algo, env_id, section):
    base = load_hyperparams(algo, env_id)
    space = load_search_space(algo, env_id, base=base)   # checks every value against the config
    assert space.section == section
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(15):
        sample = space.sample(study.ask(), base, pretrain="bc")
        config = apply_overrides(base, sample.hyperparams)   # every sample is a valid config
        rollout = config.algo_kwargs.get("n_steps", 1) * config.n_envs
        assert rollout % config.algo_kwargs["batch_size"] == 0
        assert "epochs" in sample.pretrain_kwargs and "rounds" not in sample.pretrain_kwargs  # DAgger knobs: no
        if algo == "ppo_lstm":
            kwargs = config.policy_kwargs
            assert not (kwargs["shared_lstm"] and kwargs["enable_critic_lstm"])
            assert kwargs["lstm_hidden_size"] in (32, 64, 128, 256)
    if section == "Vizdoom*":   # the CNN keeps its head: the section drops the default net_arch
        assert space.get("net_arch") is None


def test_ppo_lstm_space_covers_lstm_sequences_and_pretraining():
    space = load_search_space("ppo_lstm", "MazeEasy-v0")
    names = set(space.names())
    assert {"policy_kwargs.lstm_hidden_size", "policy_kwargs.n_lstm_layers", "lstm_layout", "n_steps",
            "batch_size", "pretrain.seq_len", "pretrain.epochs"} <= names
    assert {"pretrain.rounds", "pretrain.beta", "pretrain.beta_decay", "pretrain.episodes_per_round"} <= names
    base = load_hyperparams("ppo_lstm", "MazeEasy-v0")
    fixed = optuna.trial.FixedTrial({
        "pretrain.epochs": 7, "pretrain.rounds": 3, "pretrain.beta": 0.5, "pretrain.beta_decay": 0.9,
        "pretrain.episodes_per_round": 10, "pretrain.lr": 1e-3, "pretrain.batch_size": 64, "pretrain.seq_len": 16,
        "pretrain.critic_warmup_epochs": 1, "learning_rate": 1e-3, "n_steps": 64, "batch_size": 512, "n_epochs": 4,
        "gamma": 0.99, "gae_lambda": 0.95, "clip_range": 0.2, "ent_coef": 0.01, "vf_coef": 0.5,
        "max_grad_norm": 0.5, "policy_kwargs.lstm_hidden_size": 64, "policy_kwargs.n_lstm_layers": 1,
        "lstm_layout": "actor_only"})
    dagger = space.sample(fixed, base, pretrain="dagger")   # DAgger knobs map into pretrain_kwargs
    assert dagger.pretrain == "dagger"
    assert dagger.pretrain_kwargs == {"epochs": 7, "lr": 1e-3, "batch_size": 64, "seq_len": 16,
                                      "critic_warmup_epochs": 1, "rounds": 3, "beta": 0.5, "beta_decay": 0.9,
                                      "episodes_per_round": 10}
    hp = dagger.hyperparams
    assert hp["learning_rate"] == "lin_0.001"                         # schedule: linear
    assert hp["policy_kwargs.shared_lstm"] is False and hp["policy_kwargs.enable_critic_lstm"] is False
    assert hp["batch_size"] == 512 and not dagger.adjusted              # 64 steps * 8 envs = 512
    none = space.sample(fixed, base, pretrain=None)
    assert none.pretrain is None and none.pretrain_kwargs == {}


def test_constraints_batch_size_and_shared_lstm():
    base = load_hyperparams("ppo_lstm", "MazeEasy-v0", overrides={"n_envs": 3})
    out, adjusted = apply_constraints(base, {"n_steps": 64, "batch_size": 100})
    assert out["batch_size"] == 96 and adjusted == {"batch_size": [100, 96]}   # largest divisor of 192 <= 100
    out, adjusted = apply_constraints(base, {"n_steps": 32, "batch_size": 512})
    assert out["batch_size"] == 96                                           # capped at the rollout
    out, adjusted = apply_constraints(base, {"policy_kwargs.shared_lstm": True,
                                             "policy_kwargs.enable_critic_lstm": True})
    assert out["policy_kwargs.enable_critic_lstm"] is False
    apply_overrides(base, out)   # RecurrentPPO's rule holds


def test_env_section_overrides_and_removes_default_params(tmp_path):
    path = _write(tmp_path, """
        default:
          gamma: {type: categorical, choices: [0.9, 0.99]}
          ent_coef: {type: float, low: 1.0e-6, high: 0.1, log: true}
        Maze*:
          ent_coef: null
          n_epochs: {type: int, low: 2, high: 4}
        MazeEasy-v0:
          gamma: {type: categorical, choices: [0.5]}
    """)
    easy = load_search_space("ppo", "MazeEasy-v0", path)
    assert easy.section == "MazeEasy-v0" and easy.names() == ["gamma", "ent_coef"]
    assert easy.get("gamma").choices == (0.5,)
    medium = load_search_space("ppo", "MazeMedium-v0", path)
    assert medium.section == "Maze*" and medium.names() == ["gamma", "n_epochs"]
    cart = load_search_space("ppo", "CartPole-v1", path, pinned={"gamma": 0.95})
    assert cart.names() == ["ent_coef"] and cart.pinned == ["gamma"]


BAD = [
    ("- gamma\n- ent_coef\n", None, None, None, "top level is a list"),
    ("default: [1, 2]\n", "default", None, None, "not a mapping"),
    ("default:\n  gamma: {type: float, low: 0.9, high: 0.99\n", None, None, None, "not valid YAML"),
    ("default:\n  gamma: {type: floaty, low: 0.9, high: 0.99}\n", "default", "gamma", "type", "did you mean 'float'"),
    ("default:\n  gamma: {low: 0.9, high: 0.99}\n", "default", "gamma", "type", "is missing"),
    ("default:\n  ent_coef: {type: float, low: 0.1, high: 0.01}\n", "default", "ent_coef", "high", "`low <= high` must hold"),
    ("default:\n  ent_coef: {type: float, low: 0.0, high: 0.1, log: true}\n", "default", "ent_coef", "low", "log"),
    ("default:\n  n_epochs: {type: int, low: 1.5, high: 4}\n", "default", "n_epochs", "low", "not an integer"),
    ("default:\n  n_epochs: {type: int, low: 1, high: 8, stepp: 2}\n", "default", "n_epochs", "stepp",
     "did you mean 'step'"),
    ("default:\n  gamma: {type: categorical, choices: []}\n", "default", "gamma", "choices", "one or more elements"),
    ("default:\n  gamma: {type: categorical, choices: [0.9, 0.9]}\n", "default", "gamma", "choices", "twice"),
    ("default:\n  arch: {type: categorical, choices: [a, b], set: {a: {policy_kwargs.net_arch: [8]}}}\n",
     "default", "arch", "set", "no values for the choice(s) ['b']"),
    ("default:\n  n_timesteps: {type: int, low: 100, high: 1000}\n", "default", "n_timesteps", None,
     "study setting"),
    ("default:\n  pretrain.epocs: {type: int, low: 1, high: 5}\n", "default", "pretrain.epocs", None,
     "did you mean 'epochs'"),
    ("default:\n  pretrain.rounds: {type: int, low: 1, high: 5, methods: [bc]}\n", "default", "pretrain.rounds",
     "methods", "bc has no setting 'rounds'"),
    ("Maze*:\n  gamma: 0.99\n", "Maze*", "gamma", None, "not a mapping"),
    ("default:\n  gamma: null\n", "default", "gamma", None, "null only removes"),
    # ranges Optuna's distributions refuse, the refusal named by its field
    ("default:\n  n_epochs: {type: int, low: 0, high: 8, log: true}\n", "default", "n_epochs", "low",
     "`low >= 1` must hold for `log=True`"),
    ("default:\n  vf_coef: {type: float, low: 0.1, high: 1.0, step: 0.4}\n", "default", "vf_coef", "step",
     "not divisible by `step`"),
    ("default:\n  ent_coef: {type: float, low: 0.001, high: 0.1, log: true, step: 0.01}\n", "default", "ent_coef",
     "step", "`step` is not supported when `log` is true"),
    ("default:\n  n_epochs: {type: int, low: 1, high: 8, step: 0}\n", "default", "n_epochs", "step",
     "`step > 0` must hold"),
    ("default:\n  n_epochs: {type: int, low: 1, high: 8, log: 1}\n", "default", "n_epochs", "log",
     "not true or false"),
    ("default:\n  arch: {type: categorical, choices: [[64], [128]]}\n", "default", "arch", "choices",
     "make the param a label"),
]


@pytest.mark.parametrize("text,section,param,field_name,needle", BAD)
def test_bad_space_definitions_name_file_section_param_field(tmp_path, text, section, param, field_name, needle):
    path = _write(tmp_path, text)
    with pytest.raises(SearchSpaceError) as info:
        read_space_file(path)
    exc, message = info.value, str(info.value)
    assert str(path) in message and needle in message and "Fix:" in message
    assert (exc.section, exc.param, exc.field) == (section, param, field_name)
    if section is not None:
        assert f"section {section!r}" in message
    if param is not None:
        assert f"param {param!r}" in message


def test_space_file_errors_are_user_errors_with_the_config_wording(tmp_path):
    from sb3_plus.errors import UserError

    path = _write(tmp_path, """
        default:
          gamma: {type: categorical, choices: [0.9]}
          gamma: {type: categorical, choices: [0.99]}
    """)
    with pytest.raises(SearchSpaceError) as info:
        read_space_file(path)
    assert isinstance(info.value, UserError) and isinstance(info.value, ValueError)
    assert f"{path}, line 4: the key 'gamma' appears twice" in str(info.value) and info.value.param == "gamma"
    with pytest.raises(SearchSpaceError, match="cannot be read"):
        read_space_file(tmp_path / "missing.yml")


def test_unknown_hyperparameter_is_caught_against_the_config(tmp_path):
    path = _write(tmp_path, """
        default:
          policy_kwargs.lstm_hiden_size: {type: categorical, choices: [32, 64]}
    """)
    base = load_hyperparams("ppo_lstm", "MazeEasy-v0")
    read_space_file(path)   # well-formed ...
    with pytest.raises(SearchSpaceError) as info:   # ... but the policy has no such argument
        load_search_space("ppo_lstm", "MazeEasy-v0", path, base=base)
    message = str(info.value)
    assert "param 'policy_kwargs.lstm_hiden_size'" in message and "lstm_hidden_size" in message
    assert info.value.section == "default"
    bad_range = _write(tmp_path, "default:\n  gamma: {type: float, low: 0.9, high: 1.5}\n", "range.yml")
    with pytest.raises(SearchSpaceError, match=r"value 1.5 is rejected .*outside \[0, 1\]"):
        load_search_space("ppo", "MazeEasy-v0", bad_range, base=load_hyperparams("ppo", "MazeEasy-v0"))


def test_learning_curves_steps_and_values():
    curves = LearningCurves("success", n_timesteps=1000, eval_freq=250)
    assert curves.evals_per_seed == 4 and curves.stride == 5
    curves.start_seed()
    assert curves.record(0, 1.0, 5.0) == (0, 1.0)          # right after pretraining
    assert curves.record(252, 0.5, 1.0) == (1, 0.5)        # a vec-env step late still counts as evaluation 1
    curves.record(1000, 0.25, 0.0)
    curves.start_seed()
    step, value = curves.record(250, 0.0, 0.0)
    assert step == 6 and value == pytest.approx(0.25)       # mean of seed 0 (0.5) and seed 1 (0.0) at evaluation 1
    curves.record(1024, 0.75, 0.0)                          # the final evaluation after the last rollout
    assert curves.trial_value() == pytest.approx((0.25 + 0.75) / 2)
    auc = LearningCurves("auc", n_timesteps=1000, eval_freq=500)
    auc.start_seed()
    auc.record(500, 0.5, 0)
    assert auc.record(1000, 1.0, 0) == (2, 0.75)
    assert auc.trial_value() == pytest.approx(0.75)
    with pytest.raises(ValueError, match="unknown metric"):
        LearningCurves("accuracy", 10, 1)


@pytest.mark.parametrize("sampler", ["tpe", "random", "cmaes"])
def test_samplers_drive_the_shipped_space(sampler):
    base = load_hyperparams("ppo_lstm", "MazeEasy-v0")
    space = load_search_space("ppo_lstm", "MazeEasy-v0", base=base)
    study = optuna.create_study(direction="maximize", sampler=make_sampler(sampler, n_startup_trials=3, seed=0,
                                                                            space=space))
    for _ in range(8):
        trial = study.ask()
        sample = space.sample(trial, base, pretrain="bc")
        apply_overrides(base, sample.hyperparams)
        study.tell(trial, -abs(sample.pretrain_kwargs["lr"] - 1e-3) - sample.params["ent_coef"])
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 8
    lr = FloatDistribution(1e-5, 3e-3, log=True)
    for trial in study.trials:
        assert trial.distributions["learning_rate"] == lr       # the file's range, on a log scale
        assert trial.distributions["n_epochs"] == IntDistribution(2, 15)
        assert trial.distributions["pretrain.lr"] == FloatDistribution(1e-4, 3e-3, log=True)
        assert "pretrain.rounds" not in trial.params            # a DAgger setting, and trials pretrain with BC
        for name, value in trial.params.items():
            distribution = space.get(name).distribution()
            assert trial.distributions[name] == distribution, name
            if isinstance(distribution, CategoricalDistribution):
                assert value in distribution.choices, name
            else:
                assert distribution.low <= value <= distribution.high, name
    values = [t.params["learning_rate"] for t in study.trials]
    assert all(1e-5 <= v <= 3e-3 for v in values) and len(set(values)) == 8


def test_params_sample_on_their_scale_and_step(tmp_path):
    path = _write(tmp_path, """
        default:
          learning_rate: {type: float, low: 1.0e-5, high: 1.0e-1, log: true, schedule: linear}
          vf_coef: {type: float, low: 0.0, high: 1.0}
          clip_range: {type: float, low: 0.1, high: 0.3, step: 0.05}
          n_steps: {type: int, low: 8, high: 64, step: 8}
          n_epochs: {type: int, low: 1, high: 1000, log: true}
    """)
    space = load_search_space("ppo", "CartPole-v1", path)
    assert space.get("learning_rate").distribution() == FloatDistribution(1e-5, 1e-1, log=True)
    assert space.get("n_steps").distribution() == IntDistribution(8, 64, step=8)
    assert space.get("learning_rate").assignments(3e-4) == {"learning_rate": "lin_0.0003"}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    draws = {p.name: [] for p in space.params}
    for _ in range(400):
        trial = study.ask()
        for param in space.params:
            draws[param.name].append(param.suggest(trial))

    def below(name, value):
        return sum(v < value for v in draws[name]) / len(draws[name])

    assert all(1e-5 <= v <= 1e-1 for v in draws["learning_rate"])
    assert 0.4 < below("learning_rate", 1e-3) < 0.6     # log scale: half below the geometric middle
    assert 0.4 < below("vf_coef", 0.5) < 0.6            # linear scale: half below the arithmetic middle
    assert 0.4 < below("n_epochs", 32) < 0.6            # sqrt(1000) ~ 32
    assert below("n_epochs", 500) > 0.85                # a uniform int range would put half above 500
    assert set(draws["n_steps"]) == set(range(8, 65, 8))
    assert {round(v, 10) for v in draws["clip_range"]} == {0.1, 0.15, 0.2, 0.25, 0.3}


def test_cmaes_needs_numeric_params(tmp_path):
    from sb3_plus.tuning import TuneError
    path = _write(tmp_path, "default:\n  gamma: {type: categorical, choices: [0.9, 0.99]}\n")
    space = load_search_space("ppo", "CartPole-v1", path)
    with pytest.raises(TuneError, match="only categorical ones. Fix: use --sampler tpe"):
        make_sampler("cmaes", space=space)


def test_pretrain_method_is_tuned_with_its_settings(tmp_path):
    path = _write(tmp_path, """
        default:
          pretrain.method: {type: categorical, choices: [none, bc]}
          pretrain.epochs: {type: int, low: 1, high: 20}
          gamma: {type: categorical, choices: [0.9, 0.99]}
    """)
    base = load_hyperparams("ppo", "MazeEasy-v0")
    space = load_search_space("ppo", "MazeEasy-v0", path, base=base)
    none = space.sample(optuna.trial.FixedTrial({"pretrain.method": "none", "gamma": 0.9}), base)
    assert none.pretrain is None and none.pretrain_kwargs == {} and "pretrain.epochs" not in none.params
    bc = space.sample(optuna.trial.FixedTrial({"pretrain.method": "bc", "pretrain.epochs": 4, "gamma": 0.9}), base)
    assert bc.pretrain == "bc" and bc.pretrain_kwargs == {"epochs": 4}
    with_method = load_hyperparams("ppo", "MazeEasy-v0", overrides={"pretrain": {"method": "bc", "epochs": 3}})
    off = space.sample(optuna.trial.FixedTrial({"pretrain.method": "none", "gamma": 0.9}), with_method)
    assert off.pretrain is None and apply_overrides(with_method, off.hyperparams).pretrain == {"epochs": 3}
    bad = _write(tmp_path, "default:\n  pretrain.method: {type: categorical, choices: [bc, sqil]}\n", "bad.yml")
    with pytest.raises(SearchSpaceError, match="'sqil' is not a pretraining method"):
        read_space_file(bad)


def test_storage_urls():
    import importlib.util

    from sb3_plus.tuning import TuneError
    from sb3_plus.tuning.storage import default_storage_url, mask_url, normalize_url

    assert default_storage_url("logs", "s") .startswith("sqlite:////") and default_storage_url("logs", "s").endswith(
        "/logs/tune/s.db")
    assert normalize_url("study.db").startswith("sqlite:////")
    assert mask_url("postgresql+psycopg://user:secret@db:5432/optuna") == "postgresql+psycopg://user:***@db:5432/optuna"
    if importlib.util.find_spec("psycopg2") is None:
        assert normalize_url("postgresql://u:p@db/optuna").startswith("postgresql+psycopg://")
        with pytest.raises(TuneError, match="psycopg2-binary"):
            normalize_url("postgresql+psycopg2://u@db/optuna")
    with pytest.raises(TuneError, match="not a database URL"):
        normalize_url("nonsense://")
