"""sb3-plus: Stable-Baselines3 for hard, partially observed, sparse-reward games."""

__version__ = "0.1.0"


def _quiet_legacy_gym() -> None:
    """Keep the legacy ``gym`` package's import notice off every command's output.

    nes-py (the Super Mario Bros emulator) depends on ``gym`` 0.26, whose import prints a
    four-line deprecation notice to stderr, and Stable-Baselines3 imports ``gym`` whenever it is
    installed. sb3-plus never uses ``gym`` itself (the Mario family wraps the raw emulator in a
    gymnasium env), so the notice table ``gym`` reads is empty here.
    """
    import sys
    import types

    if "gym" in sys.modules or "gym_notices" in sys.modules:
        return
    package, table = types.ModuleType("gym_notices"), types.ModuleType("gym_notices.notices")
    table.notices = {}  # type: ignore[attr-defined]
    package.notices = table  # type: ignore[attr-defined]
    sys.modules["gym_notices"], sys.modules["gym_notices.notices"] = package, table


_quiet_legacy_gym()
