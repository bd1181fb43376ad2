"""What a notebook runs on: device, versions, threads, and whether this is a CI smoke run."""

from __future__ import annotations

import platform
import sys

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


def enable_colab_widgets() -> bool:
    """On Colab with ipywidgets 8, switch on Colab's custom widget manager; True if it was switched on.

    Colab's own ipywidgets (7.7.1) needs nothing, and neither does any other frontend; upgrading Colab to 8
    needs this call (upgrading it in a running runtime needs a restart, which the course never asks for).
    """
    if "google.colab" not in sys.modules:
        return False
    import ipywidgets

    if int(ipywidgets.__version__.split(".")[0]) < 8:
        return False
    from google.colab import output

    output.enable_custom_widget_manager()
    return True
