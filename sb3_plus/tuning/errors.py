"""The errors of tuning that a user causes and can fix: bad tuning settings and bad search spaces."""

from __future__ import annotations

from sb3_plus.errors import UserError

__all__ = ["SearchSpaceError", "TuneError", "space_error"]


class TuneError(UserError, ValueError):
    """A tuning run that cannot start or go on as asked (the message says why and the fix)."""


class SearchSpaceError(UserError, ValueError):
    """A search space file, section or param that cannot be used.

    :param message: the full message (names the file, the section, the param, the field and the fix).
    :param file: the space file.
    :param section: the section (``default``, an env id or a pattern).
    :param param: the param name.
    :param field: the offending field of the param (``low``, ``choices``, ...).
    """

    def __init__(self, message: str, *, file: str | None = None, section: str | None = None,
                 param: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.section = section
        self.param = param
        self.field = field


def space_error(file: str, section: str | None, param: str | None, field: str | None, problem: str,
                fix: str) -> SearchSpaceError:
    """A :class:`SearchSpaceError` whose message names where the problem is, the problem and the fix.

    :param file: the space file.
    :param section: its section, or ``None`` for the file as a whole.
    :param param: the param, or ``None``.
    :param field: the param's field, or ``None``.
    :param problem: what is wrong.
    :param fix: how to correct it.
    """
    where = [file]
    if section is not None:
        where.append(f"section {section!r}")
    if param is not None:
        where.append(f"param {param!r}")
    if field is not None:
        where.append(f"field {field!r}")
    return SearchSpaceError(f"{', '.join(where)}: {problem}. Fix: {fix}", file=file, section=section, param=param,
                            field=field)
