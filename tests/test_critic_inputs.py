"""``finetune: {detach_critic: true}``: the value loss leaves the features a policy shares with its critic alone."""

import gymnasium as gym
import pytest
import torch as th
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from sb3_plus.config import ConfigError, apply_overrides, load_hyperparams
from sb3_plus.config.finetune import FinetuneSettings
from sb3_plus.training.critic_inputs import critic_entry, detached_critic
from sb3_plus.training.envs import make_vec_env_for
from sb3_plus.training.finetune import FinetunePPO


class LinearFeatures(BaseFeaturesExtractor):
    """Features with weights of their own, shared by actor and critic."""

    def __init__(self, observation_space: gym.Space, features_dim: int = 8) -> None:
        super().__init__(observation_space, features_dim)
        self.linear = th.nn.Linear(observation_space.shape[0], features_dim)

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return th.relu(self.linear(obs))


def _grads(policy, loss):
    policy.zero_grad()
    loss.backward()
    return {name: (p.grad is not None and bool(p.grad.abs().sum() > 0)) for name, p in policy.named_parameters()}


def _losses(model, recurrent):
    obs = th.randn(6, 4)
    actions = th.zeros(6, dtype=th.long)
    if recurrent:
        from sb3_contrib.common.recurrent.type_aliases import RNNStates

        size = (model.policy.lstm_actor.num_layers, 6, model.policy.lstm_actor.hidden_size)
        states = RNNStates((th.zeros(size), th.zeros(size)), (th.zeros(size), th.zeros(size)))
        values, log_prob, _ = model.policy.evaluate_actions(obs, actions, states, th.ones(6))
    else:
        values, log_prob, _ = model.policy.evaluate_actions(obs, actions)
    return values.sum(), log_prob.sum()


@pytest.mark.parametrize("recurrent", [False, True])
def test_value_loss_stops_at_shared_features_while_the_policy_loss_trains_them(recurrent):
    cls, policy = (RecurrentPPO, "MlpLstmPolicy") if recurrent else (PPO, "MlpPolicy")
    kwargs = {"features_extractor_class": LinearFeatures, "net_arch": {"pi": [8], "vf": [8]}}
    if recurrent:
        kwargs["lstm_hidden_size"] = 8
    model = cls(policy, "CartPole-v1", policy_kwargs=kwargs, n_steps=16, batch_size=16, seed=0)
    shared, critic = "features_extractor.linear.weight", "value_net.weight"
    value, log_prob = _losses(model, recurrent)
    assert _grads(model.policy, value)[shared], "by default the value loss trains the shared features"
    with detached_critic(model.policy) as on:
        assert on
        value, log_prob = _losses(model, recurrent)
        seen = _grads(model.policy, value)
        assert not seen[shared] and seen[critic], "detached: the critic's own layers learn, the shared ones do not"
        if recurrent:
            assert seen["lstm_critic.weight_ih_l0"]
        assert _grads(model.policy, log_prob)[shared], "the policy's loss still trains the shared features"
    value, _ = _losses(model, recurrent)
    assert _grads(model.policy, value)[shared], "the hook is gone after the block"


def test_critics_with_features_of_their_own_need_no_detach():
    own = PPO("MlpPolicy", "CartPole-v1", policy_kwargs={"share_features_extractor": False}, n_steps=16)
    assert critic_entry(own.policy) is None
    shared_lstm = RecurrentPPO("MlpLstmPolicy", "CartPole-v1", n_steps=16, policy_kwargs={
        "shared_lstm": True, "enable_critic_lstm": False, "lstm_hidden_size": 8})
    assert critic_entry(shared_lstm.policy) is None  # sb3-contrib already detaches the actor's LSTM output
    with detached_critic(own.policy) as on:
        assert not on


def test_detach_critic_setting_reaches_the_model_and_its_zip(tmp_path):
    settings = FinetuneSettings.from_config({"detach_critic": True, "anchor": {"kl_coef": 0.5}})
    assert settings.detach_critic and settings.active and FinetuneSettings.from_config({"detach_critic": True}).active
    assert FinetuneSettings.from_config(settings.to_config()) == settings
    model = FinetunePPO("MlpPolicy", make_vec_env_for("MazeEasy-v0", 2, 0, {}), n_steps=32, batch_size=32, n_epochs=1,
                        policy_kwargs={"features_extractor_class": LinearFeatures}, **settings.model_kwargs())
    assert critic_entry(model.policy) is not None
    entry = critic_entry(model.policy)
    hooks = []

    def spy(module, args, output):  # what the critic reads in updates (rollouts run without gradients)
        if th.is_grad_enabled():
            hooks.append(args[0].requires_grad)

    entry.register_forward_hook(spy)
    model.learn(64)  # before begin_finetune: plain PPO updates, critic input attached
    attached = list(hooks)
    model.begin_finetune()
    hooks.clear()
    model.learn(64, reset_num_timesteps=False)
    assert attached and all(attached) and hooks and not any(hooks)
    model.save(tmp_path / "m.zip")
    assert FinetunePPO.load(tmp_path / "m.zip").finetune_settings.detach_critic
    with pytest.raises(ConfigError, match="detach_critic"):
        apply_overrides(load_hyperparams("ppo", "MazeEasy-v0"), {"finetune.detach_critic": "yes"})


def test_anchor_kl_stays_finite_and_pulls_where_the_policy_gives_an_action_no_probability():
    from stable_baselines3.common.distributions import CategoricalDistribution

    from sb3_plus.training.finetune import distribution_kl

    reference = CategoricalDistribution(3).proba_distribution(th.tensor([[0.0, -5.0, -200.0]]))
    logits = th.tensor([[-200.0, 0.0, 0.0]], requires_grad=True)  # the reference's favourite underflows to 0
    kl = distribution_kl(reference, CategoricalDistribution(3).proba_distribution(logits))
    assert th.isfinite(kl).all() and kl.item() > 100
    kl.sum().backward()
    assert logits.grad[0, 0] < 0, "raising the reference's action lowers the KL"
    same = distribution_kl(reference, CategoricalDistribution(3).proba_distribution(th.tensor([[0.0, -5.0, -200.0]])))
    assert same.item() == pytest.approx(0.0, abs=1e-6)
