"""The errors a user can cause and fix: one base class, caught once by the command line.

Every check of user input (a parameter, a folder, a file, a download) raises a `UserError` whose
message names the option or file and says what to do; `cyclegan-edu` prints that message as one
line and exits, where any other exception is a bug and keeps its traceback. Each kind also
subclasses the built-in exception it refines, so `except ValueError` keeps working.

`require_extra` is the one place a package of an optional extra (papermill and nbgrader of
`[instructor]`, torch-fidelity of `[fid]`) is imported: a student install without it gets a
MissingExtra that names the extra to install, not a bare ModuleNotFoundError.

`load_tensors` is the one place a file of tensors the user names (a checkpoint, a downloaded
generator) is read: `torch.load` fails on a damaged or foreign file in many ways, all of which
become one UnreadableCheckpoint here.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import torch


class UserError(Exception):
    """Input the user can fix; the message says how."""


class DownloadError(UserError, RuntimeError):
    """A file or dataset could not be downloaded, or what arrived was refused."""


class InputNotFound(UserError, FileNotFoundError):
    """A file or folder named by the user does not exist."""


class WouldOverwrite(UserError, FileExistsError):
    """Writing would replace something of the user's."""


class CheckpointMismatch(UserError, ValueError):
    """A checkpoint or generator file that is not the one asked for (another architecture, another kind)."""


class UnreadableCheckpoint(CheckpointMismatch):
    """A checkpoint or weights file that cannot be read as plain tensors at all."""


class MissingExtra(UserError, ImportError):
    """A command needs a package of an optional extra that this installation does not have."""


def require_extra(module: str, extra: str, needed_for: str) -> ModuleType:
    """`import module`, or a MissingExtra naming the extra that brings it (`pip install "cyclegan-edu[EXTRA]"`)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        package = module.split(".")[0].replace("_", "-")
        raise MissingExtra(f"{needed_for} needs {package}, which is not installed: it comes with the `{extra}` "
                           f'extra, pip install "cyclegan-edu[{extra}]" (or "cyclegan-edu[dev]", which has every '
                           "extra).") from error


def load_tensors(path: Path | str, what: str = "a checkpoint") -> Any:
    """`torch.load` of a file of plain tensors on the CPU (`weights_only`: a file that would run code is
    refused); any failure becomes an UnreadableCheckpoint that names the file and says what to do."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise UnreadableCheckpoint(f"No file at {path}: give the path of {what}.") from error
    except Exception as error:  # truncated, empty, foreign or malicious: torch raises many kinds
        raise UnreadableCheckpoint(
            f"Cannot read {path} as {what}: the file is truncated, empty, not a PyTorch file, or holds more "
            "than plain tensors (such files are refused because loading them could run code). Download or "
            "export it again, or choose another file.") from error
