"""The errors a user can cause and fix: one base class, caught once by the command line.

Every check of user input (a parameter, a folder, a file, a download) raises a `UserError` whose
message names the option or file and says what to do; `cyclegan-edu` prints that message as one
line and exits, where any other exception is a bug and keeps its traceback. Each kind also
subclasses the built-in exception it refines, so `except ValueError` keeps working.
"""

from __future__ import annotations


class UserError(Exception):
    """Input the user can fix; the message says how."""


class InputNotFound(UserError, FileNotFoundError):
    """A file or folder named by the user does not exist."""


class WouldOverwrite(UserError, FileExistsError):
    """Writing would replace something of the user's."""
