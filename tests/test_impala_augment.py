"""The IMPALA CNN, image augmentations of training minibatches, and gap frame stacking."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback

from sb3_plus.config import load_saved_config
from sb3_plus.data.collect import collect_expert
from sb3_plus.envs.wrappers import ChannelFrameStack
from sb3_plus.errors import BadOptionError
from sb3_plus.imitation.bc import train_bc
from sb3_plus.policies import ImpalaCNN
from sb3_plus.policies.augment import AUGMENTATIONS, Augmenter, check_augment
from sb3_plus.training import train

PIXELS = {"fixed_layout_seed": 3}
FAST = ["n_envs:2", "n_steps:64", "batch_size:64", "n_epochs:1", "vec_env_class:'dummy'"]


@pytest.mark.parametrize("shape", [(1, 64, 64), (3, 64, 64), (4, 84, 84), (1, 40, 40)])
def test_impala_cnn_builds_for_gray_color_and_stacked_frames(shape) -> None:
    space = spaces.Box(0, 255, shape, np.uint8)
    net = ImpalaCNN(space, features_dim=64, width=2, blocks=1)
    out = net(th.as_tensor(np.stack([space.sample() for _ in range(3)])).float())
    assert out.shape == (3, 64) and (out >= 0).all()
    assert net.cnn[0][0].out_channels == 32  # width 2 doubles the first stage's 16 channels
    with pytest.raises(ValueError, match="width >= 1"):
        ImpalaCNN(space, width=0)


def test_impala_cnn_trains_in_bc(tmp_path, monkeypatch) -> None:
    from sb3_plus.config import ALGOS, load_hyperparams
    from sb3_plus.envs import make_env

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    collect_expert("MazeEasyPixels-v0", episodes=6, env_kwargs=PIXELS, dataset_id="sb3plus/impala/maze-v0",
                   progress_bar=False)
    config = load_hyperparams("ppo", "MazeEasyPixels-v0", overrides={
        "policy_kwargs": {"features_extractor_class": "ImpalaCNN", "features_extractor_kwargs": {"blocks": 1},
                          "net_arch": []}})
    model = ALGOS["ppo"](config.policy, make_env("MazeEasyPixels-v0", **PIXELS), seed=0, **config.model_kwargs())
    assert isinstance(model.policy.features_extractor, ImpalaCNN)
    import minari

    report = train_bc(model.policy, minari.load_dataset("sb3plus/impala/maze-v0"), epochs=3, batch_size=64,
                      progress_bar=False, augment=("shift", "intensity"))
    assert report.epochs_run == 3 and report.train_nll[-1] < report.train_nll[0]


def test_augmentations_are_seeded_shape_preserving_and_change_the_batch() -> None:
    batch = th.as_tensor(np.random.default_rng(0).integers(0, 256, (16, 3, 64, 64)), dtype=th.uint8)
    for name in AUGMENTATIONS:
        a, b, c = Augmenter([name], seed=1)(batch), Augmenter([name], seed=1)(batch), Augmenter([name], seed=2)(batch)
        assert a.shape == batch.shape and a.dtype == batch.dtype
        assert th.equal(a, b) and not th.equal(a, c) and not th.equal(a, batch), name
    flipped = Augmenter(["flip"], seed=0)(batch)
    same = [th.equal(flipped[i], batch[i]) for i in range(16)]
    assert all(th.equal(flipped[i], batch[i].flip(-1)) for i in range(16) if not same[i]) and any(same)
    vectors = th.rand(8, 10)
    assert Augmenter(["shift"])(vectors) is vectors  # only images are augmented
    with pytest.raises(BadOptionError, match="unknown augmentation"):
        check_augment(["rotate"])
    with pytest.raises(BadOptionError, match="a list of names"):
        check_augment("shift")


class _Watch(BaseCallback):
    """Copies the buffer's observations when a rollout ends, and records what the update trains on."""

    def __init__(self) -> None:
        super().__init__()
        self.collected: np.ndarray | None = None
        self.trained_on: list[th.Tensor] = []

    def _on_training_start(self) -> None:
        plain = self.model.policy.evaluate_actions

        def evaluate_actions(obs, actions, *args, **kwargs):
            self.trained_on.append(obs.detach().clone())
            return plain(obs, actions, *args, **kwargs)

        self.model.policy.evaluate_actions = evaluate_actions

    def _on_rollout_end(self) -> None:
        self.collected = self.model.rollout_buffer.observations.copy()

    def _on_step(self) -> bool:
        return True


def test_augment_changes_training_inputs_never_rollouts_or_evaluation(tmp_path) -> None:
    watch = _Watch()
    result = train("ppo", "MazeEasyPixels-v0", n_timesteps=128, log_folder=tmp_path, eval_freq=0, verbose=0,
                   env_kwargs=PIXELS, hyperparams=FAST + ["augment:[shift, intensity]"], callback=watch)
    # the buffer holds the observations as collected (the env's own pixels) ...
    stored = watch.collected.reshape(-1, *watch.collected.shape[2:])
    assert np.array_equal(stored, np.round(stored)) and stored.max() <= 255
    # ... and the update trained on other pixels: augmented copies of them
    trained = th.cat(watch.trained_on).numpy()
    assert trained.shape[1:] == stored.shape[1:] and len(trained) == len(stored)
    collected_rows = {row.astype(np.uint8).tobytes() for row in stored}
    unchanged = sum(row.astype(np.uint8).tobytes() in collected_rows for row in trained)
    assert unchanged < 0.2 * len(trained)
    # evaluation plays the env's pixels: the saved policy on held-out seeds sees exactly what the env gives
    from sb3_plus.models import load_model
    from sb3_plus.envs import make_env
    from sb3_plus.evaluation import evaluate_model

    model = load_model(result.model_path)
    seen: list[np.ndarray] = []
    plain = model.policy.predict

    def predict(obs, *args, **kwargs):
        seen.append(np.array(obs))
        return plain(obs, *args, **kwargs)

    model.policy.predict = predict
    env = make_env("MazeEasyPixels-v0", **PIXELS)
    first, _ = env.reset(seed=10_000)
    evaluate_model(model.policy, make_env("MazeEasyPixels-v0", **PIXELS), episodes=1, seed=10_000)
    assert np.array_equal(seen[0].reshape(first.shape), first)
    # the config keeps the setting, and a resumed run reads it back
    config = load_saved_config(result.run_dir / "config.yml", "ppo", "MazeEasyPixels-v0")
    assert config.augment == ["shift", "intensity"]
    resumed = train("ppo", "MazeEasyPixels-v0", n_timesteps=256, trained_agent=result.run_dir, eval_freq=0,
                    verbose=0, env_kwargs=PIXELS, hyperparams=FAST + ["augment:[shift, intensity]"])
    assert resumed.num_timesteps == 256


class _Counter(gym.Env):
    """Frames whose every pixel is the step number."""

    observation_space = spaces.Box(0, 255, (2, 2, 1), np.uint8)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.full((2, 2, 1), self.t, np.uint8), {}

    def step(self, action):
        self.t += 1
        return np.full((2, 2, 1), self.t, np.uint8), 0.0, False, False, {}


def test_gap_frame_stack_returns_frames_k_apart() -> None:
    env = ChannelFrameStack(_Counter(), n_frames=3, gap=2)
    obs, _ = env.reset()
    assert obs.shape == (2, 2, 3) and obs[0, 0].tolist() == [0, 0, 0]  # the first frame repeated
    for t in range(1, 8):
        obs = env.step(0)[0]
        expected = [max(t - 4, 0), max(t - 2, 0), t]
        assert obs[0, 0].tolist() == expected, t
    plain = ChannelFrameStack(_Counter(), n_frames=3)
    plain.reset()
    assert [plain.step(0)[0][0, 0].tolist() for _ in range(3)][-1] == [1, 2, 3]
    with pytest.raises(BadOptionError, match="frame_gap"):
        ChannelFrameStack(_Counter(), n_frames=3, gap=0)
