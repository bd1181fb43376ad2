"""The hardware a run finds: which device to train on, what it is called, whether it has bf16."""

from __future__ import annotations

import platform

import torch


def select_device(name: str = "auto") -> torch.device:
    """CUDA, then Apple's MPS, then the CPU for "auto"; otherwise the named device."""
    if name != "auto":
        return torch.device(name)
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


def bf16_supported(device_type: str) -> bool:
    """Whether bf16 runs in hardware: CUDA GPUs from Ampere on; CPUs with AVX-512 BF16 or AMX."""
    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device_type != "cpu":
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's own probes
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
