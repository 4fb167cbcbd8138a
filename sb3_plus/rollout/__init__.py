"""One place that plays episodes: evaluation, expert collection, DAgger's mixture rollouts, checks.

An actor chooses the actions, :func:`play_episodes` runs the envs::

    result = play_episodes(env, PolicyActor(model), episodes=20, seed=10_000)
    result.success_rate, result.returns, result.seeds

Actors (:class:`Actor`): ``reset(n_envs)`` before the first step, then once per step
``act(obs, infos, episode_starts)`` with the observations of all envs batched (leading
axis ``n_envs``, per key for Dict spaces), each env's last ``info`` (the reset info on an
episode's first step) and a bool array, true where an episode has just begun; it returns
one action per env. :class:`PolicyActor` (SB3 model or policy, LSTM states per env),
:class:`ExpertActor` (a scripted expert acting from ``info``) and :class:`MixtureActor`
(DAgger's beta-mixture) are the three kinds. An actor may define
``record_fields(env_index) -> (action, extra_info)``: the action to record for that env's
last step (default the executed one) and keys added to the step's recorded info; and
``uses_obs = False`` when it acts from ``infos`` alone (then ``obs`` is ``None``).

``env`` is a gymnasium env, a list of them played side by side, or an SB3 ``VecEnv``
(VecFrameStack / VecNormalize / VecTransposeImage wrappers included). Episode ``i`` gets
seed ``seeds[i]`` (default ``seed + i``) exactly:

- gymnasium envs: a free env is reset with ``env.reset(seed=seeds[i])``;
- a ``VecEnv`` of ``n`` envs plays waves of ``n`` episodes with consecutive seeds:
  ``venv.seed(s); venv.reset()`` gives env ``j`` the seed ``s + j``; an env done early keeps
  stepping (SB3 resets it by itself; those steps are discarded) until its wave is done.
  With ``n == 1`` that is ``venv.seed(seed + i); venv.reset()`` for every episode.

Results are in episode (``seeds``) order, whatever order the envs finished in.
"""

from sb3_plus.rollout.actors import Actor, ExpertActor, MixtureActor, PolicyActor, is_recurrent, stack_steps, success_of
from sb3_plus.rollout.loop import EpisodeOutcome, EpisodeRecord, PlayResult, Step, play_episodes
from sb3_plus.rollout.slots import Playable

__all__ = ["Actor", "EpisodeOutcome", "EpisodeRecord", "ExpertActor", "MixtureActor", "PlayResult", "Playable",
           "PolicyActor", "Step", "is_recurrent", "play_episodes", "stack_steps", "success_of"]
