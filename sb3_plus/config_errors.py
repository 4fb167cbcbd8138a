"""The exception types that command lines report as one clear line instead of a traceback."""

from __future__ import annotations


def _user_errors() -> tuple[type[BaseException], ...]:
    from sb3_plus.data.storage import DatasetExistsError
    from sb3_plus.envs.registry import UnknownEnvError
    from sb3_plus.experts.follower import ExpertActionError
    from sb3_plus.experts.routes import RouteError
    from sb3_plus.hub.errors import HUB_ERRORS

    errors: list[type[BaseException]] = [DatasetExistsError, UnknownEnvError, RouteError, ExpertActionError,
                                         FileNotFoundError, ValueError, TypeError, *HUB_ERRORS]
    try:
        from sb3_plus.config import ConfigError

        errors.append(ConfigError)
    except ImportError:
        pass
    return tuple(errors)


USER_ERRORS = _user_errors()
