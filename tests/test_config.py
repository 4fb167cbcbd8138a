"""Tests for sb3_plus.config: zoo files, schedules, the policy_kwargs parser, overrides, errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
import yaml
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, NatureCNN
from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule

from sb3_plus.config import (
    ALGOS,
    ConfigError,
    TrainConfig,
    apply_overrides,
    did_you_mean,
    find_entry,
    load_hyperparams,
    load_saved_config,
    parse_overrides,
    parse_policy_kwargs_string,
    parse_schedule,
    read_yaml,
    register_features_extractor,
    save_config,
    schedule_to_yaml,
)
from sb3_plus.config.registry import FEATURES_EXTRACTORS
from sb3_plus.errors import BadOptionError, UserError

ZOO_DIR = Path(__file__).resolve().parent.parent / "zoo_configs"
SHIPPED = ("ppo", "ppo_lstm", "a2c", "dqn")


class _TinyCNN(BaseFeaturesExtractor):
    """Stand-in for the project's SmallCNN when no module has registered it."""

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 16) -> None:
        super().__init__(observation_space, features_dim)
        self.linear = th.nn.Linear(int(np.prod(observation_space.shape)), features_dim)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return th.relu(self.linear(observations.flatten(1).float()))


@pytest.fixture(scope="module", autouse=True)
def _setup():
    previous = th.get_num_threads()
    th.set_num_threads(1)
    registered = False
    try:
        parse_policy_kwargs_string("dict(features_extractor_class=SmallCNN)")
    except ConfigError:
        register_features_extractor("SmallCNN", _TinyCNN)
        registered = True
    yield
    if registered:
        FEATURES_EXTRACTORS.pop("SmallCNN", None)
    th.set_num_threads(previous)


def _write(tmp_path: Path, data: dict | str, name: str = "ppo.yml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def _entries(algo: str) -> list[str]:
    return list(yaml.safe_load((ZOO_DIR / f"{algo}.yml").read_text()))


def _env_for(key: str) -> str:
    return "Cart" if key == "default" else key.replace("*", "X").replace("?", "X")


CARTPOLE = {"policy": "MlpPolicy", "n_timesteps": 1000, "n_steps": 32, "batch_size": 32}


# ----------------------------------------------------------------------------- shipped files

@pytest.mark.parametrize("algo,key", [(a, k) for a in SHIPPED for k in _entries(a)])
def test_every_shipped_entry_builds(algo: str, key: str) -> None:
    cfg = load_hyperparams(algo, _env_for(key), config_dir=ZOO_DIR)
    assert cfg.entry == key
    assert isinstance(cfg, TrainConfig) and cfg.algo == algo
    assert cfg.n_envs >= 1 and cfg.n_timesteps > 0
    assert cfg.policy_class() is ALGOS[algo].policy_aliases[cfg.policy]
    if "learning_rate" in cfg.algo_kwargs:
        assert callable(cfg.algo_kwargs["learning_rate"])


def test_shipped_files_have_the_required_entries() -> None:
    vizdoom = ["VizdoomMyWayHome-v1", "VizdoomBasic-v1", "VizdoomDeadlyCorridor-v1", "VizdoomDefendTheCenter-v1",
               "VizdoomHealthGathering-v1"]
    for algo in ("ppo", "ppo_lstm"):
        assert set(vizdoom + ["Maze*", "CartPole-v1", "default"]) <= set(_entries(algo))
    for algo in ("a2c", "dqn"):
        assert {"Maze*", "CartPole-v1", "default"} <= set(_entries(algo))
    home = load_hyperparams("ppo", "VizdoomMyWayHome-v1")
    assert home.success_threshold == 0.8 and home.policy == "CnnPolicy"
    assert home.policy_kwargs["features_extractor_class"] is FEATURES_EXTRACTORS["SmallCNN"]
    lstm = load_hyperparams("ppo_lstm", "VizdoomMyWayHome-v1")
    assert lstm.policy == "CnnLstmPolicy" and lstm.policy_kwargs["lstm_hidden_size"] == 128
    assert not (lstm.policy_kwargs.get("shared_lstm") and lstm.policy_kwargs.get("enable_critic_lstm", True))
    # a scenario without its own entry falls back to the family pattern, a pixel maze to its pattern
    assert load_hyperparams("ppo", "VizdoomDefendLine-v1").entry == "Vizdoom*"
    assert load_hyperparams("ppo", "MazeHardPixels-v0").entry == "Maze*Pixels-v0"
    assert load_hyperparams("ppo_lstm", "MazeHard-v0").policy == "MlpLstmPolicy"


@pytest.mark.parametrize("algo", SHIPPED)
def test_cartpole_algorithms_accept_the_kwargs(algo: str) -> None:
    cfg = load_hyperparams(algo, "CartPole-v1")
    env = make_vec_env("CartPole-v1", n_envs=cfg.n_envs, seed=0)
    try:
        model = ALGOS[algo](cfg.policy, env, **cfg.model_kwargs(env.action_space), seed=0)
        for key, value in cfg.algo_kwargs.items():   # the model took every plain hyperparameter as given
            attr = getattr(model, key, None)
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (value, attr)):
                assert attr == value, key
        if algo != "dqn":
            model.learn(total_timesteps=model.n_steps * cfg.n_envs)
            assert model.num_timesteps == model.n_steps * cfg.n_envs
    finally:
        env.close()


@pytest.mark.parametrize("algo,shape", [("ppo", (4, 64, 64)), ("ppo_lstm", (1, 64, 64))])
def test_vizdoom_policy_kwargs_build_the_policy(algo: str, shape: tuple[int, ...]) -> None:
    cfg = load_hyperparams(algo, "VizdoomMyWayHome-v1")
    obs_space = gym.spaces.Box(0, 255, shape, np.uint8)
    policy_kwargs = cfg.model_kwargs()["policy_kwargs"]
    policy = cfg.policy_class()(obs_space, gym.spaces.Discrete(3), ConstantSchedule(3e-4), **policy_kwargs)
    obs = th.as_tensor(obs_space.sample()[None])
    if algo == "ppo":
        actions, values, _ = policy(obs)
    else:
        from sb3_contrib.common.recurrent.type_aliases import RNNStates

        zeros = th.zeros(1, 1, cfg.policy_kwargs["lstm_hidden_size"])
        states = RNNStates((zeros, zeros), (zeros, zeros))
        actions, values, _, _ = policy(obs, states, th.ones(1))
    assert actions.shape == (1,) and values.shape == (1, 1)


# ----------------------------------------------------------------------------- schedules

def test_schedules_values() -> None:
    lin = parse_schedule("lin_3e-4")
    assert isinstance(lin, LinearSchedule)
    assert lin(1.0) == pytest.approx(3e-4) and lin(0.5) == pytest.approx(1.5e-4) and lin(0.0) == pytest.approx(0.0)
    const = parse_schedule("const_0.2")
    assert [const(p) for p in (1.0, 0.5, 0.0)] == [0.2, 0.2, 0.2]
    plain = parse_schedule(0.1)
    assert [plain(p) for p in (1.0, 0.5, 0.0)] == [0.1, 0.1, 0.1]
    assert schedule_to_yaml(lin) == "lin_0.0003" and schedule_to_yaml(const) == 0.2 and schedule_to_yaml(0.5) == 0.5
    cfg = load_hyperparams("ppo", "CartPole-v1")
    clip = cfg.algo_kwargs["clip_range"]
    assert clip(1.0) == pytest.approx(0.2) and clip(0.5) == pytest.approx(0.1) and clip(0.0) == 0.0


def test_schedule_objects_pickle() -> None:
    cfg = load_hyperparams("ppo", "CartPole-v1", overrides=["ent_coef:0.01", "clip_range:const_0.3"])
    for value in (cfg.algo_kwargs["learning_rate"], cfg.algo_kwargs["clip_range"]):
        clone = pickle.loads(pickle.dumps(value))
        assert clone(0.5) == value(0.5)
    clone = pickle.loads(pickle.dumps(cfg))
    assert clone == cfg


@pytest.mark.parametrize("bad", ["lin_abc", "exp_0.1", "lin_", "lin_nan", "0.1abc", True])
def test_bad_schedule_names_file_entry_field_and_forms(tmp_path: Path, bad: object) -> None:
    path = _write(tmp_path, {"CartPole-v1": {**CARTPOLE, "learning_rate": bad}})
    with pytest.raises(ConfigError) as info:
        load_hyperparams("ppo", "CartPole-v1", conf_file=path)
    message = str(info.value)
    assert str(path) in message and "'CartPole-v1'" in message and "'learning_rate'" in message
    assert "lin_<number>" in message and "const_<number>" in message
    assert info.value.field == "learning_rate" and info.value.entry == "CartPole-v1"


# ----------------------------------------------------------------------------- validation

def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = _write(tmp_path, {"CartPole-v1": {**CARTPOLE, "n_step": 32}})
    with pytest.raises(ConfigError, match=r"did you mean 'n_steps'") as info:
        load_hyperparams("ppo", "CartPole-v1", conf_file=path)
    assert str(path) in str(info.value) and info.value.field == "n_step"
    with pytest.raises(ConfigError, match=r"did you mean 'net_arch'") as info:
        TrainConfig.from_yaml_dict("ppo", "CartPole-v1", {**CARTPOLE, "policy_kwargs": "dict(net_arh=[64])"})
    assert info.value.field == "policy_kwargs.net_arh"
    with pytest.raises(ConfigError, match=r"did you mean 'ppo'"):
        load_hyperparams("ppo2", "CartPole-v1")


@pytest.mark.parametrize("key,value,expected", [
    ("n_steps", "abc", "an integer"),
    ("n_envs", 1.5, "an integer"),
    ("batch_size", -3, "at least 1"),
    ("n_steps", True, "an integer"),
    ("normalize_advantage", 1, "true or false"),
    ("gamma", 1.5, "between 0 and 1"),
    ("clip_range_vf", "wide", "lin_<number>"),
    ("policy", 3, "a string"),
    ("vec_env_class", "threads", "dummy, subproc"),
    ("env_kwargs", [1, 2], "a mapping"),
    ("success_threshold", 2.0, "between 0 and 1"),
])
def test_wrong_types_name_file_entry_key_and_expected(tmp_path: Path, key: str, value: object, expected: str) -> None:
    path = _write(tmp_path, {"CartPole-v1": {**CARTPOLE, key: value}})
    with pytest.raises(ConfigError) as info:
        load_hyperparams("ppo", "CartPole-v1", conf_file=path)
    message = str(info.value)
    assert str(path) in message and "entry 'CartPole-v1'" in message and f"field '{key}'" in message
    assert expected in message and "Fix:" in message
    assert info.value.file == str(path) and info.value.field == key


def test_integral_floats_and_yaml_exponents_are_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 1e5\n  n_envs: 4.0\n"
                            "  learning_rate: 1e-4\n  n_steps: !!float 64\n")
    cfg = load_hyperparams("ppo", "CartPole-v1", conf_file=path)
    assert cfg.n_timesteps == 100_000 and isinstance(cfg.n_timesteps, int)
    assert cfg.n_envs == 4 and cfg.algo_kwargs["n_steps"] == 64
    assert cfg.algo_kwargs["learning_rate"](0.3) == pytest.approx(1e-4)


@pytest.mark.parametrize("entry,field", [
    ({"n_timesteps": 10}, "policy"),
    ({"policy": "MlpPolicy"}, "n_timesteps"),
    ({**CARTPOLE, "callback": "my.Callback"}, "callback"),
    ({**CARTPOLE, "seed": 3}, "seed"),
    ({**CARTPOLE, "device": "cuda"}, "device"),
    ({**CARTPOLE, "policy": "MlpLstmPolicy"}, "policy"),
    ({**CARTPOLE, "rollout_buffer_class": "RolloutBuffer"}, "rollout_buffer_class"),
    ({**CARTPOLE, "normalize_kwargs": {"norm_reward": False}}, "normalize_kwargs"),
    ({**CARTPOLE, "normalize": {"norm_rewards": False}}, "normalize.norm_rewards"),
    ({**CARTPOLE, "noise_type": "normal"}, "noise_type"),
    ({**CARTPOLE, "policy_kwargs": {"activation_fn": "th.optim.Adam"}}, "policy_kwargs.activation_fn"),
    ({**CARTPOLE, "policy_kwargs": {"observation_space": None}}, "policy_kwargs.observation_space"),
])
def test_other_entry_errors(entry: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_yaml_dict("ppo", "CartPole-v1", entry, source="test.yml")
    assert info.value.field == field and "test.yml" in str(info.value) and "Fix:" in str(info.value)


def test_recurrent_lstm_flags_are_checked() -> None:
    base = {**CARTPOLE, "policy": "MlpLstmPolicy"}
    with pytest.raises(ConfigError, match="enable_critic_lstm"):
        TrainConfig.from_yaml_dict("ppo_lstm", "CartPole-v1", {**base, "policy_kwargs": "dict(shared_lstm=True)"})
    cfg = TrainConfig.from_yaml_dict(
        "ppo_lstm", "CartPole-v1", {**base, "policy_kwargs": "dict(shared_lstm=True, enable_critic_lstm=False)"})
    assert cfg.policy_kwargs == {"shared_lstm": True, "enable_critic_lstm": False}


def test_duplicate_yaml_keys_and_bad_files(tmp_path: Path) -> None:
    path = _write(tmp_path, "CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 10\n  n_timesteps: 20\n")
    with pytest.raises(ConfigError, match=r"line 4.*'n_timesteps' appears twice"):
        load_hyperparams("ppo", "CartPole-v1", conf_file=path)
    path = _write(tmp_path, "CartPole-v1: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_hyperparams("ppo", "CartPole-v1", conf_file=path)
    path = _write(tmp_path, "CartPole-v1: 3\n")
    with pytest.raises(ConfigError, match="not a mapping"):
        load_hyperparams("ppo", "CartPole-v1", conf_file=path)
    with pytest.raises(ConfigError, match="no config file"):
        load_hyperparams("sac", "CartPole-v1", config_dir=tmp_path)


# ----------------------------------------------------------------------------- policy_kwargs

def test_policy_kwargs_string_parser() -> None:
    kwargs = parse_policy_kwargs_string(
        "dict(log_std_init=-2, ortho_init=False, activation_fn=nn.ReLU,\n"
        "     net_arch=dict(pi=[256, 256], vf=[256, 256]), optimizer_class=th.optim.Adam,\n"
        "     optimizer_kwargs={'eps': 1e-5}, features_extractor_class=NatureCNN, extra=(1, 'a', None))")
    assert kwargs == {
        "log_std_init": -2, "ortho_init": False, "activation_fn": th.nn.ReLU,
        "net_arch": {"pi": [256, 256], "vf": [256, 256]}, "optimizer_class": th.optim.Adam,
        "optimizer_kwargs": {"eps": 1e-5}, "features_extractor_class": NatureCNN, "extra": (1, "a", None),
    }
    assert parse_policy_kwargs_string("dict(activation_fn=th.nn.Tanh)")["activation_fn"] is th.nn.Tanh
    rmsprop = parse_policy_kwargs_string("dict(optimizer_class=RMSpropTFLike)")["optimizer_class"]
    assert rmsprop.__name__ == "RMSpropTFLike"
    # the pre-SB3-1.8 form is unwrapped, as SB3 does
    cfg = TrainConfig.from_yaml_dict("ppo", "CartPole-v1",
                                     {**CARTPOLE, "policy_kwargs": "dict(net_arch=[dict(pi=[8], vf=[8])])"})
    assert cfg.policy_kwargs["net_arch"] == {"pi": [8], "vf": [8]}


@pytest.mark.parametrize("text,offending", [
    ("__import__('os').system('x')", "__import__('os').system('x')"),
    ("dict(net_arch=__import__('os').system('x'))", "__import__('os').system('x')"),
    ("dict(activation_fn=(lambda: nn.ReLU)())", "(lambda: nn.ReLU)()"),
    ("dict(net_arch=[i for i in range(3)])", "[i for i in range(3)]"),
    ("dict(activation_fn=nn.ReLU.__class__)", "nn.ReLU.__class__"),
    ("dict(net_arch=[64] * 3)", "[64] * 3"),
    ("dict(**{'a': 1})", "dict(**{'a': 1})"),
    ("dict(x=open('f'))", "open('f')"),
])
def test_malicious_policy_kwargs_are_rejected(text: str, offending: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(os, "system", lambda *_: pytest.fail("os.system was called"))
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_yaml_dict("ppo", "CartPole-v1", {**CARTPOLE, "policy_kwargs": text}, source="evil.yml")
    message = str(info.value)
    assert "evil.yml" in message and "policy_kwargs" in message
    assert offending in message or "unknown name" in message


def test_policy_kwargs_as_yaml_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "CartPole-v1:\n  policy: MlpPolicy\n  n_timesteps: 100\n  policy_kwargs:\n"
                            "    activation_fn: ReLU\n    optimizer_class: th.optim.SGD\n"
                            "    net_arch: {pi: [32], vf: [32]}\n")
    cfg = load_hyperparams("ppo", "CartPole-v1", conf_file=path)
    assert cfg.policy_kwargs == {"activation_fn": th.nn.ReLU, "optimizer_class": th.optim.SGD,
                                 "net_arch": {"pi": [32], "vf": [32]}}


def test_features_extractor_registry() -> None:
    class Other(_TinyCNN):
        pass

    with pytest.raises(ValueError, match="already"):
        register_features_extractor("NatureCNN", Other)
    with pytest.raises(TypeError):
        register_features_extractor("NotAnExtractor", int)  # type: ignore[arg-type]
    register_features_extractor("OtherCNN", Other)
    try:
        kwargs = parse_policy_kwargs_string("dict(features_extractor_class=OtherCNN, "
                                            "features_extractor_kwargs=dict(features_dim=8))")
        assert kwargs["features_extractor_class"] is Other
        cfg = TrainConfig.from_yaml_dict("ppo", "CartPole-v1", {**CARTPOLE, "policy_kwargs": kwargs})
        assert "features_extractor_class=OtherCNN" in cfg.to_yaml_dict()["policy_kwargs"]
        with pytest.raises(ConfigError, match="did you mean 'features_dim'"):
            bad = "dict(features_extractor_class=OtherCNN, features_extractor_kwargs=dict(feature_dim=8))"
            TrainConfig.from_yaml_dict("ppo", "CartPole-v1", {**CARTPOLE, "policy_kwargs": bad})
    finally:
        FEATURES_EXTRACTORS.pop("OtherCNN", None)
    with pytest.raises(ConfigError, match="unknown name 'OtherCNN'.*register_features_extractor"):
        parse_policy_kwargs_string("dict(features_extractor_class=OtherCNN)")


# ----------------------------------------------------------------------------- overrides

def test_parse_overrides() -> None:
    parsed = parse_overrides([
        "learning_rate:lin_1e-3", "n_envs:4", "policy_kwargs:dict(net_arch=[64, 64])", "net:[64, 64]",
        "normalize:{norm_obs: false, clip_reward: 5.0}", "target_kl:None", "gamma:1e-1", 'name:"a:b"',
        "use_sde:true", "env_kwargs:{'frame_skip': 2}",
    ])
    assert parsed == {
        "learning_rate": "lin_1e-3", "n_envs": 4, "policy_kwargs": "dict(net_arch=[64, 64])", "net": [64, 64],
        "normalize": {"norm_obs": False, "clip_reward": 5.0}, "target_kl": None, "gamma": 0.1, "name": "a:b",
        "use_sde": True, "env_kwargs": {"frame_skip": 2},
    }
    assert parse_overrides(["learning_rate=0.1", "n_envs = 2", "name=a:b", "empty:"]) == {
        "learning_rate": 0.1, "n_envs": 2, "name": "a:b", "empty": None}
    assert parse_overrides("n_steps:8") == {"n_steps": 8} and parse_overrides(None) == {}
    for bad in ("learning_rate", ":3", "=3"):
        with pytest.raises(BadOptionError, match="is not key:value. Fix: write key:value") as info:
            parse_overrides([bad], what="hyperparameter")
        assert isinstance(info.value, ConfigError) and str(info.value).startswith(f"hyperparameter {bad!r}")


def test_overrides_apply_with_dotted_keys_and_are_blamed() -> None:
    cfg = load_hyperparams("ppo_lstm", "CartPole-v1", overrides=[
        "n_envs:2", "learning_rate:lin_5e-4", "policy_kwargs.lstm_hidden_size:32", "normalize.norm_reward:false"])
    assert cfg.n_envs == 2 and cfg.algo_kwargs["learning_rate"](1.0) == pytest.approx(5e-4)
    assert cfg.policy_kwargs == {"lstm_hidden_size": 32, "enable_critic_lstm": True}
    assert cfg.normalize == {"norm_reward": False}
    assert cfg.vec_normalize_kwargs() == {"norm_reward": False, "gamma": 0.98}
    again = apply_overrides(cfg, {"gamma": 0.95, "policy_kwargs.n_lstm_layers": 2})
    assert again.algo_kwargs["gamma"] == 0.95 and again.policy_kwargs["n_lstm_layers"] == 2
    assert again.policy_kwargs["lstm_hidden_size"] == 32
    with pytest.raises(ConfigError, match=r"field 'n_epochs' \(set by an override\)"):
        load_hyperparams("ppo", "CartPole-v1", overrides={"n_epochs": "many"})


# ----------------------------------------------------------------------------- entries

def test_pattern_fallback_precedence(tmp_path: Path) -> None:
    keys = {k: {**CARTPOLE, "n_steps": i + 2} for i, k in
            enumerate(["default", "M*", "Maze*", "Maze*Pixels-v0", "MazeEasy-v0", "Vizdoom*", "Vizdoom?asic-v1"])}
    assert find_entry(keys, "MazeEasy-v0") == "MazeEasy-v0"
    assert find_entry(keys, "MazeHard-v0") == "Maze*"
    assert find_entry(keys, "MazeHardPixels-v0") == "Maze*Pixels-v0"
    assert find_entry(keys, "MiniGrid-v0") == "M*"
    assert find_entry(keys, "VizdoomBasic-v1") == "Vizdoom?asic-v1"
    assert find_entry(keys, "VizdoomMyWayHome-v1") == "Vizdoom*"
    assert find_entry(keys, "CartPole-v1") == "default"
    assert find_entry({"Maze*": {}}, "CartPole-v1") is None
    path = _write(tmp_path, keys)
    assert load_hyperparams("ppo", "MazeHardPixels-v0", conf_file=path).algo_kwargs["n_steps"] == 5
    path = _write(tmp_path, {"Maze*": CARTPOLE, "VizdoomBasic-v1": CARTPOLE})
    with pytest.raises(ConfigError, match=r"no entry for 'CartPole-v1' \(entries: Maze\*, VizdoomBasic-v1\)") as info:
        load_hyperparams("ppo", "CartPole-v1", conf_file=path)
    assert "default" in str(info.value)


# ----------------------------------------------------------------------------- saving

@pytest.mark.parametrize("algo,env_id", [("ppo", "CartPole-v1"), ("ppo_lstm", "CartPole-v1"), ("dqn", "CartPole-v1"),
                                         ("a2c", "MazeEasy-v0"), ("ppo", "VizdoomMyWayHome-v1"),
                                         ("ppo_lstm", "VizdoomMyWayHome-v1")])
def test_save_then_load_round_trips(tmp_path: Path, algo: str, env_id: str) -> None:
    cfg = load_hyperparams(algo, env_id, overrides={"eval_episodes": 5, "pretrain": {"method": "bc", "epochs": 2}})
    path = save_config(cfg, tmp_path / "run" / "config.yml")
    assert [p.name for p in path.parent.iterdir()] == ["config.yml"]
    assert load_saved_config(path, algo) == cfg
    assert load_hyperparams(algo, env_id, conf_file=path) == cfg
    # a plain YAML reader sees the zoo form: schedules and policy_kwargs as strings
    raw = yaml.safe_load(path.read_text())[env_id]
    if "learning_rate" in raw:
        assert isinstance(raw["learning_rate"], (str, float))
    if "policy_kwargs" in raw:
        assert raw["policy_kwargs"].startswith("dict(")


def test_save_overwrites_and_python_only_values_are_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    path = run / "config.yml"
    path.write_text("old")
    cfg = load_hyperparams("dqn", "CartPole-v1", overrides=["train_freq:[1, episode]", "normalize:true"])
    save_config(cfg, path)
    assert load_saved_config(path, "dqn") == cfg
    assert load_saved_config(path, "dqn").algo_kwargs["train_freq"] == (1, "episode")
    odd = TrainConfig("ppo", "CartPole-v1", "MlpPolicy", 10, algo_kwargs={"learning_rate": lambda _: 0.1})
    with pytest.raises(ConfigError, match=r"<dict>, entry 'CartPole-v1', field 'learning_rate': .*lin_<number>"):
        save_config(odd, run / "odd.yml")
    odd.algo_kwargs["learning_rate"] = LinearSchedule(1.0, 0.5, 0.5)
    with pytest.raises(ConfigError, match="no RL Zoo spelling"):
        save_config(odd, run / "odd.yml")
    assert [p.name for p in run.iterdir()] == ["config.yml"]


def test_model_kwargs_are_copies() -> None:
    cfg = load_hyperparams("ppo", "MazeEasy-v0")
    kwargs = cfg.model_kwargs()
    kwargs["policy_kwargs"]["net_arch"]["pi"].append(1)
    assert cfg.policy_kwargs["net_arch"]["pi"] == [64, 64]
    assert cfg.algo_class is ALGOS["ppo"]


def test_dotted_override_into_a_plain_value_is_blamed() -> None:
    with pytest.raises(ConfigError, match=r"field 'n_envs.x' \(set by an override\): n_envs is 8, which has no "
                                          r"field 'x'. Fix: override the whole value") as info:
        load_hyperparams("ppo", "CartPole-v1", overrides={"n_envs.x": 1})
    assert info.value.field == "n_envs.x"
    with pytest.raises(ConfigError, match=r"field 'policy_kwargs' \(set by an override\).*not allowed"):
        TrainConfig.from_yaml_dict("ppo", "CartPole-v1", {**CARTPOLE, "policy_kwargs": "dict(a=open('f'))"},
                                   overrides=["policy_kwargs.net_arch:[8]"])


# ----------------------------------------------------------------------------- errors and YAML

def test_config_error_is_a_user_error() -> None:
    with pytest.raises(UserError) as info:
        load_hyperparams("ppo", "CartPole-v1", overrides=["n_steps:nope"])
    assert "field 'n_steps' (set by an override): expected an integer" in str(info.value)
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)
    assert isinstance(info.value, BadOptionError)


def test_read_yaml_and_did_you_mean(tmp_path: Path) -> None:
    assert read_yaml(_write(tmp_path, "a: 1e-4\nb: [1, 2]\n", "x.yml")) == {"a": 1e-4, "b": [1, 2]}
    assert read_yaml(_write(tmp_path, "", "empty.yml")) == {}
    path = _write(tmp_path, "a:\n  x: 1\n  x: 2\n", "dup.yml")
    with pytest.raises(ConfigError, match=r"dup.yml, line 3: the key 'x' appears twice") as info:
        read_yaml(path)
    assert info.value.field == "x" and info.value.file == str(path)
    with pytest.raises(ConfigError, match=r"not a mapping. Fix: write sections, one per env"):
        read_yaml(_write(tmp_path, "- 1\n", "list.yml"), expected="sections, one per env")
    with pytest.raises(ConfigError, match="cannot be read"):
        read_yaml(tmp_path / "missing.yml")
    assert did_you_mean("n_step", ["n_steps", "n_epochs", "gamma"]) == "; did you mean 'n_steps'?"
    assert did_you_mean("zzz", ["n_steps"]) == ""


# ----------------------------------------------------------------------------- env_wrapper

TIME_LIMIT = "gymnasium.wrappers.TimeLimit"


def test_env_wrapper_builds_the_wrapped_env_in_order(tmp_path: Path) -> None:
    cfg = TrainConfig.from_yaml_dict("ppo", "CartPole-v1", {**CARTPOLE, "env_wrapper": [
        {TIME_LIMIT: {"max_episode_steps": 3}},
        {"gymnasium.wrappers.ClipReward": {"min_reward": 0.0, "max_reward": 0.5}}]})
    wrap = cfg.env_wrapper_fn()
    env = pickle.loads(pickle.dumps(wrap))(gym.make("CartPole-v1"))   # picklable, for SubprocVecEnv
    try:
        assert isinstance(env, gym.wrappers.ClipReward) and isinstance(env.env, gym.wrappers.TimeLimit)
        env.reset(seed=0)
        steps = [env.step(i % 2) for i in range(3)]
        assert [s[1] for s in steps] == [0.5, 0.5, 0.5]              # clipped from 1.0
        assert [s[3] for s in steps] == [False, False, True]         # truncated by our limit of 3, not 500
    finally:
        env.close()
    # as SB3's make_vec_env wrapper_class, after Monitor, as rl_zoo3 does
    venv = make_vec_env("CartPole-v1", n_envs=1, wrapper_class=wrap)
    try:
        assert isinstance(venv.envs[0], gym.wrappers.ClipReward)
    finally:
        venv.close()
    path = save_config(cfg, tmp_path / "config.yml")
    again = load_saved_config(path, "ppo")
    assert again == cfg and again.env_wrapper[0] == {TIME_LIMIT: {"max_episode_steps": 3}}
    assert TrainConfig.from_yaml_dict("ppo", "CartPole-v1", CARTPOLE).env_wrapper_fn() is None
    plain = TrainConfig.from_yaml_dict("ppo", "CartPole-v1", {**CARTPOLE, "env_wrapper": "gymnasium.wrappers.Autoreset"})
    assert isinstance(plain.env_wrapper_fn()(gym.make("CartPole-v1")), gym.wrappers.Autoreset)


@pytest.mark.parametrize("value,expected", [
    ("gymnasium.wrapers.TimeLimit", r"cannot import 'gymnasium.wrapers'.*Fix: correct the import path"),
    ("gymnasium.wrappers.TimeLimt", r"has no 'TimeLimt'. Fix: .*did you mean 'TimeLimit'"),
    ("collections.OrderedDict", r"not a gymnasium.Wrapper class. Fix: name a class that subclasses"),
    ("TimeLimit", r"'TimeLimit' is not an import path. Fix: write an import path"),
    (TIME_LIMIT, r"needs the argument 'max_episode_steps'. Fix: .*- gymnasium.wrappers.TimeLimit: "
                 r"\{max_episode_steps: <value>\}"),
    ([{TIME_LIMIT: {"max_episode_step": 5}}], r"'max_episode_step' is not an argument.*did you mean 'max_episode_steps'"),
    ([{TIME_LIMIT: 5}], r"is not a wrapper. Fix: write an import path"),
    ([{TIME_LIMIT: {}, "x.Y": {}}], "is not a wrapper"),
    (3, "is not a wrapper"),
])
def test_bad_env_wrapper_names_the_field_and_fix(value: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as info:
        TrainConfig.from_yaml_dict("ppo", "CartPole-v1", {**CARTPOLE, "env_wrapper": value}, source="w.yml")
    assert info.value.field == "env_wrapper" and "w.yml, entry 'CartPole-v1', field 'env_wrapper'" in str(info.value)


def test_env_wrapper_set_in_python_is_checked_when_built() -> None:
    cfg = TrainConfig("ppo", "CartPole-v1", "MlpPolicy", 10, env_wrapper="gymnasium.wrappers.Nope")
    with pytest.raises(ConfigError, match=r"<dict>, entry 'CartPole-v1', field 'env_wrapper': module"):
        cfg.env_wrapper_fn()


# ----------------------------------------------------------------------------- action noise

TD3 = {"policy": "MlpPolicy", "n_timesteps": 1000, "buffer_size": 100, "learning_starts": 10}
BOX = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)


@pytest.mark.parametrize("noise_type,cls", [("normal", NormalActionNoise),
                                            ("ornstein-uhlenbeck", OrnsteinUhlenbeckActionNoise)])
def test_action_noise_is_built_with_sigma_per_dimension(noise_type: str, cls: type) -> None:
    cfg = TrainConfig.from_yaml_dict("td3", "Pendulum-v1", {**TD3, "noise_type": noise_type, "noise_std": 0.3})
    noise = cfg.action_noise(BOX)
    assert type(noise) is cls
    np.testing.assert_allclose(noise._sigma, [0.3, 0.3])
    np.testing.assert_allclose(noise._mu, [0.0, 0.0])
    plain = cfg.model_kwargs()   # zoo keys never reach the algorithm
    assert not {"noise_type", "noise_std", "env_wrapper", "action_noise"} & set(plain)
    assert type(cfg.model_kwargs(BOX)["action_noise"]) is cls
    env = gym.make("Pendulum-v1")
    try:
        model = ALGOS["td3"](cfg.policy, env, **cfg.model_kwargs(env.action_space), seed=0)
        assert type(model.action_noise) is cls and model.action_noise._sigma.shape == (1,)
        assert model.action_noise._sigma[0] == pytest.approx(0.3)
    finally:
        env.close()
    assert TrainConfig.from_yaml_dict("td3", "Pendulum-v1", TD3).action_noise(BOX) is None


def test_action_noise_errors() -> None:
    cfg = TrainConfig.from_yaml_dict("td3", "Pendulum-v1", {**TD3, "noise_type": "normal", "noise_std": 0.1},
                                     source="td3.yml")
    with pytest.raises(ConfigError, match=r"td3.yml, entry 'Pendulum-v1', field 'noise_type': action noise needs "
                                          r"continuous \(Box\) actions.*Fix: remove noise_type") as info:
        cfg.action_noise(gym.spaces.Discrete(3))
    assert info.value.field == "noise_type"
    with pytest.raises(ConfigError, match="Box"):
        cfg.model_kwargs(gym.spaces.Discrete(3))
    cases = [
        ("td3", {**TD3, "noise_type": "normal"}, "noise_std", "is missing.*add `noise_std: 0.1`"),
        ("td3", {**TD3, "noise_std": 0.1}, "noise_std", "noise_type is not.*add `noise_type: normal`"),
        ("td3", {**TD3, "noise_type": "gaussian", "noise_std": 0.1}, "noise_type", "use one of normal, ornstein"),
        ("td3", {**TD3, "noise_type": "normal", "noise_std": -1}, "noise_std", "negative"),
        ("ppo", {**CARTPOLE, "noise_std": 0.1}, "noise_std", "PPO takes no action noise"),
        ("td3", {**TD3, "action_noise": "normal"}, "action_noise", "noise_type: normal"),
    ]
    for algo, entry, field, expected in cases:
        with pytest.raises(ConfigError, match=expected) as info:
            TrainConfig.from_yaml_dict(algo, "Pendulum-v1", entry)
        assert info.value.field == field, entry
    python_made = TrainConfig("ppo", "CartPole-v1", "MlpPolicy", 10, noise_type="normal", noise_std=0.1)
    with pytest.raises(ConfigError, match="PPO takes no action noise"):
        python_made.action_noise(BOX)
    no_std = TrainConfig("td3", "Pendulum-v1", "MlpPolicy", 10, noise_type="normal")
    with pytest.raises(ConfigError, match="field 'noise_std'"):
        no_std.action_noise(BOX)


def test_noise_round_trips(tmp_path: Path) -> None:
    cfg = TrainConfig.from_yaml_dict("td3", "Pendulum-v1",
                                     {**TD3, "noise_type": "ornstein-uhlenbeck", "noise_std": 0.5})
    again = load_saved_config(save_config(cfg, tmp_path / "c.yml"), "td3")
    assert again == cfg and again.noise_type == "ornstein-uhlenbeck" and again.noise_std == 0.5
