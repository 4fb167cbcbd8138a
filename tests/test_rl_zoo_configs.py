"""rl-zoo3's own hyperparameter files (from the rl_zoo3 wheel that `make` downloads) load unchanged."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from sb3_plus.config import load_hyperparams
from sb3_plus.config.errors import ConfigError

WHEELS = sorted((Path(__file__).resolve().parents[1] / ".cache" / "rl_zoo3").glob("rl_zoo3-*.whl"))


@pytest.fixture(scope="module")
def zoo_files(tmp_path_factory) -> Path:
    assert WHEELS, "the rl_zoo3 wheel is missing from .cache/rl_zoo3. Fix: run `make test` (its set-up downloads it)"
    out = tmp_path_factory.mktemp("rl_zoo3")
    with zipfile.ZipFile(WHEELS[-1]) as wheel:
        for name in wheel.namelist():
            if name.startswith("rl_zoo3/hyperparams/") and name.endswith(".yml"):
                (out / Path(name).name).write_bytes(wheel.read(name))
    return out


def _env_for(key: str) -> str:
    return "PongNoFrameskip-v4" if key == "atari" else key


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn"])
def test_every_entry_loads_or_names_the_missing_module(zoo_files: Path, algo: str) -> None:
    path = zoo_files / f"{algo}.yml"
    entries = yaml.safe_load(path.read_text())
    loaded, report = [], []
    for key in entries:
        try:
            config = load_hyperparams(algo, _env_for(key), conf_file=path)
        except ConfigError as exc:
            report.append(f"{key}: {exc}")
            # the only entries left out name a wrapper of a package that is not installed, and say so
            assert "cannot import" in str(exc) and "ModuleNotFoundError" in str(exc), str(exc)
            continue
        assert config.entry == key and config.n_timesteps > 0
        loaded.append(key)
    print(f"\n{algo}: {len(loaded)} of {len(entries)} entries load; not loaded:\n  " + "\n  ".join(report))
    assert "atari" in loaded and len(loaded) >= 0.7 * len(entries)


def test_atari_entry_becomes_the_family_preprocessing(zoo_files: Path, tmp_path: Path) -> None:
    config = load_hyperparams("ppo", "PongNoFrameskip-v4", conf_file=zoo_files / "ppo.yml")
    # SB3's AtariWrapper is what the atari family already does: not applied a second time
    assert config.entry == "atari" and config.env_wrapper is None and config.frame_stack == 4
    conf = tmp_path / "ppo.yml"
    entry = {"policy": "CnnPolicy", "n_timesteps": 1000,
             "env_wrapper": [{"stable_baselines3.common.atari_wrappers.AtariWrapper":
                              {"terminal_on_life_loss": False, "frame_skip": 2}},
                             "gymnasium.wrappers.RecordEpisodeStatistics"]}
    conf.write_text(yaml.safe_dump({"atari": entry, "default": entry}))
    config = load_hyperparams("ppo", "ALE/Breakout-v5", conf_file=conf)
    assert config.env_kwargs == {"episodic_life": False, "frame_skip": 2}
    assert config.env_wrapper == ["gymnasium.wrappers.RecordEpisodeStatistics"]
    # an id outside the atari family keeps the wrapper as written
    other = load_hyperparams("ppo", "CartPole-v1", conf_file=conf)
    assert other.entry == "default" and other.env_kwargs == {}
    assert other.env_wrapper[0] == {"stable_baselines3.common.atari_wrappers.AtariWrapper":
                                    {"terminal_on_life_loss": False, "frame_skip": 2}}
