"""The one episode loop: seeds, per-env recurrent state, expert and mixture actors, VecEnvs, records."""

import numpy as np
import pytest
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack, VecNormalize, VecTransposeImage

from sb3_plus.envs import make_env
from sb3_plus.envs.wrappers import ExpertLabels
from sb3_plus.errors import BadOptionError
from sb3_plus.evaluation import evaluate_model
from sb3_plus.experts import ExpertController
from sb3_plus.rollout import ExpertActor, MixtureActor, PolicyActor, is_recurrent, play_episodes


class StepCounter:
    """A model whose recurrent state is the step count of each env's episode; it acts ``count % 3``."""

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        count = np.zeros(len(obs), dtype=np.int64) if state is None else state[0].copy()
        count[np.asarray(episode_start, dtype=bool)] = 0
        count += 1
        return count % 3, (count,)


def _manual_expert_episode(seed):
    """What the expert does on one seed, played by hand (the reference for the loop)."""
    env = make_env("MazeEasy-v0")
    controller = ExpertController(env)
    _, info = env.reset(seed=seed)
    expert = controller.reset()
    total, length = 0.0, 0
    while True:
        _, reward, term, trunc, info = env.step(expert.act(info["pose"]))
        total, length = total + reward, length + 1
        if term or trunc:
            return total, length, bool(info["success"])


def test_is_recurrent_one_rule_for_models_and_policies():
    env = make_env("MazeEasy-v0")
    lstm = RecurrentPPO("MlpLstmPolicy", env, n_steps=8, batch_size=8)
    ppo = PPO("MlpPolicy", env, n_steps=8, batch_size=8)
    assert is_recurrent(lstm) and is_recurrent(lstm.policy)
    assert not is_recurrent(ppo) and not is_recurrent(ppo.policy)


def test_expert_episodes_use_seed_plus_i_and_match_a_hand_loop():
    env = make_env("MazeEasy-v0")
    played = play_episodes(env, ExpertActor(ExpertController(env)), episodes=4, seed=7, record=True)
    assert played.seeds == [7, 8, 9, 10]
    expected = [_manual_expert_episode(s) for s in range(7, 11)]
    assert played.returns == [e[0] for e in expected]
    assert played.lengths == [e[1] for e in expected]
    assert played.successes == [e[2] for e in expected] == [True] * 4
    record = played.records[1]
    # Minari's layout: the reset observation and info first, one more of each than actions
    assert len(record.obs) == len(record.infos) == len(record.actions) + 1 == played.lengths[1] + 1
    assert record.seed == 8 and record.terms[-1] and not any(record.terms[:-1])
    first_obs, first_info = make_env("MazeEasy-v0").reset(seed=8)
    assert np.array_equal(record.obs[0], first_obs) and record.infos[0]["pose"] == first_info["pose"]


@pytest.mark.parametrize("kind", ["side_by_side", "vecenv"])
def test_recurrent_state_is_carried_per_env_and_reset_at_episode_starts(kind):
    if kind == "side_by_side":
        env = [make_env("MazeEasy-v0") for _ in range(3)]
    else:
        env = DummyVecEnv([lambda: make_env("MazeEasy-v0") for _ in range(3)])
    played = play_episodes(env, PolicyActor(StepCounter()), episodes=7, seed=0, record=True, max_steps=5)
    assert played.seeds == list(range(7))
    for record in played.records:
        # step t of every episode sees t+1 steps of its own episode: nothing leaks between envs or episodes
        assert [int(a) for a in record.actions] == [(t + 1) % 3 for t in range(len(record.actions))]
        assert record.truncs[-1] and len(record.actions) == 5


def test_vecenv_waves_reset_each_episode_with_its_seed_and_report_raw_rewards():
    def labelled():
        return ExpertLabels(make_env("MazeEasyPixels-v0"))

    solo = play_episodes([labelled()], ExpertActor(), episodes=5, seed=30)
    for n_envs in (1, 2):
        venv = VecNormalize(VecFrameStack(VecTransposeImage(DummyVecEnv([labelled] * n_envs)), 2), norm_obs=False)
        vec = play_episodes(venv, ExpertActor(), episodes=5, seed=30)
        assert vec.seeds == solo.seeds == list(range(30, 35))
        assert vec.lengths == solo.lengths and vec.successes == [True] * 5
        assert vec.returns == solo.returns  # the env's own rewards, not VecNormalize's scaled ones
    with pytest.raises(BadOptionError, match="consecutive"):
        play_episodes(DummyVecEnv([labelled] * 2), ExpertActor(), seeds=[1, 5])


def test_evaluate_model_on_a_wrapped_one_env_vecenv_matches_the_gym_env():
    env = make_env("MazeEasyPixels-v0")
    model = PPO("CnnPolicy", env, n_steps=16, batch_size=16, seed=0)
    venv = VecTransposeImage(DummyVecEnv([lambda: make_env("MazeEasyPixels-v0")]))
    on_gym = play_episodes(env, PolicyActor(model), episodes=2, seed=10_000, record=True, max_steps=40)
    on_vec = play_episodes(venv, PolicyActor(model), episodes=2, seed=10_000, record=True, max_steps=40)
    for a, b in zip(on_gym.records, on_vec.records):
        assert [int(x) for x in a.actions] == [int(x) for x in b.actions]
    result = evaluate_model(model, venv, episodes=2, seed=10_000)
    assert result.seeds == [10_000, 10_001] and len(result.lengths) == 2


def test_evaluate_model_calls_the_frame_callback_after_every_step():
    env = make_env("MazeEasy-v0")
    frames = []
    result = evaluate_model(RecurrentPPO("MlpLstmPolicy", env, n_steps=8, batch_size=8), env, episodes=2, seed=5,
                            frame_callback=frames.append)
    assert len(frames) == sum(result.lengths) and frames[0] is env


def test_mixture_executes_labels_with_probability_beta_and_records_the_labels():
    envs = [ExpertLabels(make_env("MazeEasy-v0")) for _ in range(2)]
    learner = PolicyActor(StepCounter())

    def play(beta, seed=0):
        mixture = MixtureActor(learner, beta=beta, rng=np.random.default_rng(seed))
        taken = []
        played = play_episodes(envs, mixture, seeds=range(40, 44), record=True, max_steps=60,
                               on_step=lambda step: taken.append(step.action))
        return played, taken

    expert, _ = play(1.0)
    assert expert.successes == [True] * 4
    for record in expert.records:
        assert record.actions == [info["executed_action"] for info in record.infos[1:]]
    learner_only, _ = play(0.0)
    for record in learner_only.records:
        executed = [info["executed_action"] for info in record.infos[1:]]
        assert executed == [info["learner_action"] for info in record.infos[1:]] == [(t + 1) % 3 for t in range(len(executed))]
        assert record.actions == [info["expert_action"] for info in record.infos[:-1]]  # labels, not executed
    half, taken = play(0.5)
    rows = [(r.actions[t], r.infos[t + 1]["executed_action"], r.infos[t + 1]["learner_action"])
            for r in half.records for t in range(len(r.actions))]
    took_label = [executed == label != learner for label, executed, learner in rows]
    took_learner = [executed == learner != label for label, executed, learner in rows]
    assert sum(took_label) > 5 and sum(took_learner) > 5
    assert play(0.5)[1] == taken and play(0.5, seed=1)[1] != taken  # the draws follow the rng


def test_bad_inputs_name_the_fix():
    env = make_env("MazeEasy-v0")
    with pytest.raises(BadOptionError, match="ExpertLabels"):
        play_episodes(env, ExpertActor(), episodes=1)
    with pytest.raises(BadOptionError, match="one expert per env"):
        play_episodes([env, make_env("MazeEasy-v0")], ExpertActor(ExpertController(env)), episodes=2)
    with pytest.raises(BadOptionError, match="beta"):
        MixtureActor(PolicyActor(StepCounter()), beta=1.5)
    with pytest.raises(BadOptionError, match="gymnasium env"):
        play_episodes("MazeEasy-v0", ExpertActor(), episodes=1)
