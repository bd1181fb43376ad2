"""Benchmark: the plain training step against the fast one, in one process, alternating.

    cyclegan-edu bench --size 128 --device cpu        (also: python benchmarks/bench_step.py ...)
    cyclegan-edu bench --size 128 --device cpu --batched-passes --channels-last   (just these switches)

Both models start from the same weights and see the same batches. Reported per path: median
seconds per iteration, images per second (two domains per step), peak memory, achieved TFLOP/s
from the FLOPs of one plain step (counted by torch.utils.flop_counter) and their share of the
device's peak where it is known; the last line is `speedup: X.XX`.
"""

from __future__ import annotations

import dataclasses
import resource
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from cyclegan_edu.config import Config, fast_switches, paper
from cyclegan_edu.cyclegan import CycleGAN
from cyclegan_edu.devices import select_device
from cyclegan_edu.fast import build_model

# The paper's 200-epoch horse2zebra run: max(1,334 horses, 1,067 zebras) steps per epoch at batch 1.
HORSE2ZEBRA_ITERATIONS = 1_334 * 200
# Dense peak TFLOP/s at the precision the fast path uses there (vendor data sheets).
DEVICE_PEAKS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "T4": 65.0, "V100": 125.0}


def network_config(size: int) -> Config:
    """The paper's networks for this image size: 6 residual blocks below 256 px, 9 from 256 px."""
    return dataclasses.replace(paper(), crop_size=size, load_size=size, generator_blocks=9 if size >= 256 else 6)


def step_flops(model: CycleGAN, real_a: torch.Tensor, real_b: torch.Tensor) -> int:
    """FLOPs of one training step (forward and backward of all four networks)."""
    counter = FlopCounterMode(display=False)
    with counter:
        model.train_step(real_a, real_b)
    return counter.get_total_flops()


def timed(step: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def peak_memory_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux: the whole process


def run_benchmark(size: int = 128, device_name: str = "auto", steps: int = 5, warmup: int = 2,
                  switches: dict[str, object] | None = None, print_fn: Callable[[str], None] = print) -> float:
    """Time both paths; print the report; return the speedup (plain seconds / fast seconds)."""
    device = select_device(device_name)
    config = network_config(size)
    if switches is None:
        switches = {k: v for k, v in fast_switches(device.type).items() if k != "data_on_device"}
    fast_config = dataclasses.replace(config, **switches)
    models = {}
    for name, model_config in (("plain", config), ("fast", fast_config), ("flop count", config)):
        torch.manual_seed(0)  # the same initial weights for every model
        models[name] = build_model(model_config, device)
    plain, fast = models["plain"], models["fast"]
    generator = torch.Generator().manual_seed(0)
    batch = [(torch.rand(1, 3, size, size, generator=generator) * 2 - 1).to(device) for _ in range(2)]
    flops = step_flops(models["flop count"], *batch)

    times: dict[str, list[float]] = {"plain": [], "fast": []}
    memory: dict[str, float] = {}
    for name, model in (("plain", plain), ("fast", fast)):
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for _ in range(warmup):  # compile, autotuning, allocator warm-up
            model.train_step(*batch)
        memory[name] = peak_memory_mib(device)
    for _ in range(steps):  # alternate, so both paths see the same machine conditions
        for name, model in (("plain", plain), ("fast", fast)):
            times[name].append(timed(lambda: model.train_step(*batch), device))

    peak = next((value for key, value in DEVICE_PEAKS.items() if device.type == "cuda"
                 and key in torch.cuda.get_device_name(device)), None)
    print_fn(f"device: {device}{' (' + torch.cuda.get_device_name(device) + ')' if device.type == 'cuda' else ''}, "
             f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print_fn(f"image size {size}, generator blocks {config.generator_blocks}, batch 1, "
             f"{flops / 1e9:.1f} GFLOP per step; fast switches: {switches}")
    for name in ("plain", "fast"):
        median = statistics.median(times[name])
        achieved = flops / median / 1e12
        share = f", {achieved / peak:.1%} of {peak:.0f} peak" if peak else ""
        memory_kind = "peak allocated" if device.type == "cuda" else "process peak RSS"
        print_fn(f"{name:>5}: {median:.3f} s/iter, {2 / median:.2f} images/s, {memory_kind} {memory[name]:.0f} MiB, "
                 f"{achieved:.3f} TFLOP/s{share}")
    if size == 256:
        hours = {name: statistics.median(times[name]) * HORSE2ZEBRA_ITERATIONS / 3600 for name in times}
        print_fn(f"200 epochs of horse2zebra ({HORSE2ZEBRA_ITERATIONS:,} iterations) at this pace: "
                 f"plain {hours['plain']:.2f} h, fast {hours['fast']:.2f} h")
    speedup = statistics.median(times["plain"]) / statistics.median(times["fast"])
    print_fn(f"speedup: {speedup:.2f}")
    return speedup
