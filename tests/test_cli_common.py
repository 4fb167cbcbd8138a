"""Tests for sb3_plus.cli_common: the key:value parser and how command lines report errors."""

from __future__ import annotations

import pytest

from sb3_plus.cli_common import parse_kv, run_cli
from sb3_plus.config import ConfigError, parse_overrides
from sb3_plus.errors import BadOptionError, InputNotFoundError


def test_parse_kv_reads_yaml_values_with_either_separator() -> None:
    pairs = ["frame_skip:4", "resolution=64", "lr:1e-4", "name:a=b", "maps:[E1M1, E1M2]", "flag:", "x:None"]
    assert parse_kv(pairs, "env kwarg") == {"frame_skip": 4, "resolution": 64, "lr": 1e-4, "name": "a=b",
                                             "maps": ["E1M1", "E1M2"], "flag": None, "x": None}
    assert parse_kv(None) == {} and parse_kv([]) == {}
    assert parse_kv(pairs) == parse_overrides(pairs)   # one parser for --env-kwargs and --hyperparams


@pytest.mark.parametrize("bad", ["frame_skip", ":4", "=4", ""])
def test_parse_kv_raises_bad_option_not_system_exit(bad: str) -> None:
    with pytest.raises(BadOptionError, match=rf"^env kwarg {bad!r} is not key:value. Fix: write key:value") as info:
        parse_kv([bad], "env kwarg")
    assert isinstance(info.value, ConfigError)


def _main_raising(exc: BaseException):
    def main(argv):
        raise exc

    return main


def test_run_cli_reports_user_errors_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(lambda argv: parse_kv(argv, "env kwarg"), ["frame_skip"]) == 2
    assert capsys.readouterr().err == "error: env kwarg 'frame_skip' is not key:value. Fix: write key:value, " \
                                      "e.g. n_envs:8, learning_rate:lin_3e-4 or frame_skip:4\n"
    assert run_cli(_main_raising(InputNotFoundError("no model at x.zip. Fix: train one"))) == 2
    assert capsys.readouterr().err == "error: no model at x.zip. Fix: train one\n"
    assert run_cli(lambda argv: None, []) == 0


def test_run_cli_lets_bugs_show_their_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    for bug in (ValueError("internal"), TypeError("internal"), FileNotFoundError("internal"), KeyError("k")):
        with pytest.raises(type(bug)):
            run_cli(_main_raising(bug))
    assert capsys.readouterr().err == ""


def test_run_cli_exits_130_on_ctrl_c(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(_main_raising(KeyboardInterrupt())) == 130
    assert "interrupted" in capsys.readouterr().err


def test_sigterm_stops_a_command_like_ctrl_c(capsys):
    import os
    import signal

    from sb3_plus.cli_common import run_cli

    def main(argv):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM should have stopped the command")

    previous = signal.getsignal(signal.SIGTERM)
    assert run_cli(main, []) == 130
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is previous, "the handler is restored after the command"


def test_a_dropped_interrupt_is_raised_again_by_the_episode_loop_and_training():
    import pytest

    from sb3_plus.envs import make_env
    from sb3_plus.rollout import play_episodes
    from sb3_plus.utils import INTERRUPTED, sigterm_as_interrupt

    class Forward:
        def reset(self, n_envs):
            self.n = n_envs

        def act(self, obs, infos, episode_starts):
            return [2] * self.n

    def swallowed(step):  # as if the signal's KeyboardInterrupt had been raised and dropped in a __del__
        if step.t == 3:
            INTERRUPTED.set()

    env = make_env("MazeEasy-v0")
    try:
        with sigterm_as_interrupt():
            with pytest.raises(KeyboardInterrupt):
                play_episodes(env, Forward(), 1, 0, on_step=swallowed)
        assert not INTERRUPTED.is_set(), "the outermost block clears the request"
    finally:
        env.close()
    from sb3_plus.training.callbacks import StopOnInterrupt

    callback = StopOnInterrupt()
    assert callback._on_step() is True
    INTERRUPTED.set()
    try:
        with pytest.raises(KeyboardInterrupt):
            callback._on_step()
    finally:
        INTERRUPTED.clear()
