"""The hardware a run finds: which device to train on, and what it is called."""

from __future__ import annotations

import platform

import torch

from cyclegan_edu.errors import UserError


class DeviceUnavailable(UserError, RuntimeError):
    """A device named by the user that this machine does not have."""


def select_device(name: str = "auto") -> torch.device:
    """CUDA, then Apple's MPS, then the CPU for "auto"; otherwise the named device, if this machine has it."""
    if name != "auto":
        try:
            device = torch.device(name)
        except RuntimeError as error:
            raise DeviceUnavailable(f"--device {name} is not a device name: use auto, cpu, cuda, cuda:N or "
                                    "mps.") from error
        if device.type == "cuda" and not torch.cuda.is_available():
            raise DeviceUnavailable(f"--device {name}: PyTorch sees no CUDA GPU on this machine. Use --device auto "
                                    "(or cpu), or install a CUDA build of PyTorch on a machine with a GPU.")
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise DeviceUnavailable(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                                    "numbered from 0.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise DeviceUnavailable(f"--device {name}: Apple's MPS is not available here. Use --device auto or cpu.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device) -> str:
    """The GPU's model for CUDA, else the processor as the platform reports it."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()
