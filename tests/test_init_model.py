"""``--init-model``: a new run starts from another run's policy (the next level of a game), with clear errors."""

import json

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.save_util import load_from_zip_file

from sb3_plus.cli_common import run_cli
from sb3_plus.errors import BadOptionError, InputNotFoundError
from sb3_plus.train import main as train_main, train
from sb3_plus.training.run_folder import find_init_model

FAST = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:2"]


class _FirstWeights(BaseCallback):
    """The policy's weights when RL starts."""

    def _on_training_start(self) -> None:
        self.weights = {k: v.detach().clone() for k, v in self.model.policy.state_dict().items()}

    def _on_step(self) -> bool:
        return True


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("first")
    return train("ppo", "MazeEasy-v0", n_timesteps=512, log_folder=folder, hyperparams=FAST + ["learning_rate:3e-3"],
                 eval_freq=512, eval_episodes=2, verbose=0)


def test_new_run_starts_from_the_models_policy(first_run, tmp_path):
    saved = load_from_zip_file(first_run.run_dir / "best_model.zip", device="cpu")[1]["policy"]
    seen = _FirstWeights()
    second = train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST, eval_freq=128,
                   eval_episodes=2, verbose=0, init_model=first_run.run_dir, callback=seen)
    assert second.run_dir.parent == tmp_path / "ppo" and second.num_timesteps == 128  # a new run, from step 0
    assert set(seen.weights) == set(saved)
    assert all(torch.equal(seen.weights[k], saved[k]) for k in saved), "RL starts from the run's best_model.zip"
    info = json.loads((second.run_dir / "run_info.json").read_text())
    assert info["init_model"] == str(first_run.run_dir / "best_model.zip")
    with np.load(second.run_dir / "evaluations.npz") as data:  # the starting policy is evaluated too
        assert list(data["timesteps"]) == [0, 128]
    assert info["init_eval"]["episodes"] == 2
    # RL from a trained policy uses the config's finetune settings, as after pretraining: anchored to it
    assert info["finetune"]["anchor"]["kl_coef"] == 0.5 and (second.run_dir / "pretrained.zip").is_file()
    # a fresh run of the same config starts elsewhere
    fresh = _FirstWeights()
    train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST, eval_freq=0, verbose=0,
          callback=fresh)
    assert not all(torch.equal(fresh.weights[k], saved[k]) for k in saved)


def test_resume_of_a_run_started_from_a_model_keeps_its_anchor(first_run, tmp_path):
    second = train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST, eval_freq=0,
                   verbose=0, init_model=first_run.model_path)
    resumed = train("ppo", "MazeEasy-v0", n_timesteps=256, trained_agent=second.run_dir, hyperparams=FAST,
                    eval_freq=0, verbose=0)
    info = json.loads((resumed.run_dir / "run_info.json").read_text())
    assert resumed.num_timesteps == 256 and info["init_model"] == str(first_run.model_path)
    assert info["finetune"] is not None


def test_find_init_model(tmp_path, first_run):
    assert find_init_model(first_run.run_dir) == first_run.run_dir / "best_model.zip"
    assert find_init_model(first_run.model_path) == first_run.model_path
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputNotFoundError, match="no best_model.zip or final model"):
        find_init_model(tmp_path / "empty")
    with pytest.raises(InputNotFoundError, match="not found"):
        find_init_model(tmp_path / "nope.zip")


def test_bad_init_models_are_refused(first_run, tmp_path, capsys):
    cartpole = train("ppo", "CartPole-v1", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST, eval_freq=0,
                     verbose=0)
    with pytest.raises(BadOptionError, match="observation space .* is not this run's"):
        train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, hyperparams=FAST, eval_freq=0, verbose=0,
              init_model=cartpole.model_path)
    with pytest.raises(BadOptionError, match="policy does not fit"):
        train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, eval_freq=0, verbose=0,
              hyperparams=FAST + ["policy_kwargs:dict(net_arch=[8])"], init_model=first_run.model_path)
    with pytest.raises(BadOptionError, match="pass one of them"):
        train("ppo", "MazeEasy-v0", n_timesteps=128, log_folder=tmp_path, eval_freq=0, verbose=0,
              trained_agent=first_run.run_dir, init_model=first_run.model_path)
    assert not list((tmp_path / "ppo").glob("MazeEasy-v0_*")), "a refused run leaves no folder"
    code = run_cli(train_main, ["--algo", "ppo", "--env", "MazeEasy-v0", "-f", str(tmp_path), "--init-model",
                                str(tmp_path / "missing.zip")])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing.zip not found" in err and "Traceback" not in err
