"""What a notebook runs on: device, versions, threads, and whether this is a CI smoke run."""

from __future__ import annotations

import platform

import torch

from cyclegan_edu import __version__
from cyclegan_edu.config import smoke_requested
from cyclegan_edu.devices import device_name, select_device


def describe() -> str:
    """One line per fact, for the environment cell at the top of every notebook."""
    device = select_device("auto")
    return "\n".join([
        f"device:        {device} ({device_name(device)})",
        f"cyclegan_edu:  {__version__}",
        f"torch:         {torch.__version__}, {torch.get_num_threads()} CPU threads",
        f"python:        {platform.python_version()}",
        f"smoke run:     {'yes (CYCLEGAN_EDU_SMOKE=1: tiny settings, seconds)' if smoke_requested() else 'no'}",
    ])
