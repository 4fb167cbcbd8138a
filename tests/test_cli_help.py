"""Every command line's --help: each option has a help text, and its default is said at most once."""

import argparse
import importlib

import pytest

COMMANDS = ["train", "evaluate", "collect_expert", "tune", "push_to_hub", "load_from_hub", "enjoy", "demo", "bench",
            "go_explore", "progression", "pipeline"]


def _parser(command: str) -> argparse.ArgumentParser:
    module = importlib.import_module(f"sb3_plus.{command}")
    if hasattr(module, "build_parser"):
        return module.build_parser()
    captured = {}

    class Stop(Exception):
        pass

    def parse_args(self, args=None, namespace=None):
        captured["parser"] = self
        raise Stop

    original = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = parse_args
    try:
        with pytest.raises(Stop):
            module.main([])
    finally:
        argparse.ArgumentParser.parse_args = original
    return captured["parser"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help_and_one_default(command):
    parser = _parser(command)
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        text = formatter._get_help_string(action) % {**vars(action), "prog": parser.prog}
        assert text.count("default") <= 1, f"{command} {action.option_strings}: {text!r}"
    assert parser.description and parser.description.startswith("``python -m sb3_plus."), command


def test_the_legacy_gym_notice_stays_off_the_commands_output():
    """nes-py brings the legacy ``gym``, which SB3 imports when installed and which prints a notice on import."""
    import subprocess
    import sys

    code = "import sb3_plus, stable_baselines3.common.vec_env, gym; print(gym.__version__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip().startswith("0.26") and done.stderr == ""
    plain = subprocess.run([sys.executable, "-c", "import gym"], capture_output=True, text=True, timeout=120)
    assert "unmaintained" in plain.stderr, "without sb3_plus the notice appears: the test would show a regression"
