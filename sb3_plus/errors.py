"""Exception types for mistakes a user can fix (a bad option, a missing file, a wrong dataset).

Command lines print these as one line naming the problem and the fix, and exit with code 2.
Every other exception is a bug of ours and shows its full traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Base class of every error a user causes and can fix; the message says how."""


class InputNotFoundError(UserError, FileNotFoundError):
    """A file, folder, dataset or model the user named does not exist."""


class BadOptionError(UserError, ValueError):
    """A command-line option, setting or argument with a value that cannot be used."""


#: What command lines report as one clear line (exit code 2) instead of a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (UserError,)
