"""Data-parallel training on the GPUs of one node, started with torchrun (beyond the paper).

The paper trains with batch 1 on one GPU (Section 4). `torchrun --nproc-per-node P -m cyclegan_edu
train ...` starts P copies of the command, one per GPU; each joins a process group here (NCCL on
CUDA, gloo on the CPU) and trains the same networks on its own share of every epoch's images.
Before each optimizer step the gradients are averaged over the P processes, which is what
DistributedDataParallel computes, so the P copies take the same step and keep the same weights.
Started any other way (no torchrun, or `--nproc-per-node 1`), nothing here runs.

Batch size and learning rate: P processes of `batch_size` b average their gradients over P x b
images, an effective batch of P x b; the paper's is 1. Instance norm treats each image on its own,
so every network computes what it would at batch 1; only the gradient of a step is a mean over
more images, and an epoch has P times fewer steps. That is not the paper's optimization. Adam
divides each gradient by a running estimate of its size, so averaging mostly lowers the gradient's
noise, not the size of a step: keeping the paper's lr of 0.0002 keeps each step about as large as
the paper's, and the run as close to the paper's as data parallelism allows, but an epoch of P
times fewer steps moves the weights less far. Raising the lr with P (the linear rule of large-batch
SGD, or the square-root rule proposed for Adam) makes up for the fewer steps, at the price of
larger steps, to which GAN training is sensitive. Neither is the paper's run; `lr` stays as given.

Each process keeps its own image pools (the histories of its own fakes), seeded by its rank, and
the losses logged are the means over the processes. Rank 0 alone writes the run folder; its
checkpoint holds every process's pools and RNG states, so a run resumes exactly with the same
number of processes, and a resume with another number is refused.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from cyclegan_edu.errors import UserError


class ProcessCountMismatch(UserError, ValueError):
    """A run resumed with another number of processes than it was trained with."""


def process_count() -> int:
    """The processes torchrun started for this run (its WORLD_SIZE); 1 without torchrun."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Whether this process is rank 0, the one that writes and prints (true without torchrun)."""
    return int(os.environ.get("RANK", "0")) == 0


@dataclass(frozen=True)
class Processes:
    """This process's place in a run of `world_size` processes (1: a plain run) and the device it trains on."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run folder."""
        return self.rank == 0

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Each value averaged over the processes (one all-reduce); in one process, `values` as they are."""
        if self.world_size == 1:
            return values
        totals = torch.tensor(list(values.values()), dtype=torch.float64, device=self.device)
        dist.all_reduce(totals)
        return dict(zip(values, (totals / self.world_size).tolist()))

    def gather_on_main(self, value: Any) -> list[Any]:
        """Every process's `value` in rank order on rank 0; an empty list on the others."""
        gathered = [None] * self.world_size if self.is_main else None
        dist.gather_object(value, gathered, dst=0)
        return gathered or []

    def from_main(self, value: Any) -> Any:
        """Rank 0's `value` on every process; in one process, `value`."""
        if self.world_size == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def join(device: torch.device) -> Processes:
    """Under torchrun (WORLD_SIZE > 1), join the process group: NCCL with GPU LOCAL_RANK when `device`
    is CUDA, gloo on the CPU; other devices are refused. Without torchrun, one process on `device`.

    Returns after every process has joined, so what each process checked before (that the run
    folder is new, say) still holds when rank 0 starts writing.
    """
    world_size = process_count()
    if world_size == 1:
        return Processes(0, 1, device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise UserError(f"torchrun started more processes on this node than its {torch.cuda.device_count()} "
                            f"CUDA GPU(s): use --nproc-per-node {torch.cuda.device_count()} or fewer.")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise UserError(f"data-parallel training runs on CUDA GPUs or on the CPU, not on {device.type}: "
                        "start the run without torchrun, or with --device cpu.")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        dist.barrier(device_ids=[local_rank])
    else:
        dist.barrier()
    return Processes(rank, world_size, device)


def leave() -> None:
    """Leave the process group at the end of a run; nothing in one process."""
    if process_count() > 1 and dist.is_initialized():
        dist.destroy_process_group()


def average_gradients(parameters: Iterable[torch.Tensor]) -> None:
    """Replace each parameter's gradient by its mean over the processes, in one all-reduce.

    A parameter without a gradient is left out; which ones have one depends on the config alone,
    so it is the same on every process.
    """
    gradients = [parameter.grad for parameter in parameters if parameter.grad is not None]
    if not gradients:
        return
    flat = torch.cat([gradient.reshape(-1) for gradient in gradients])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for gradient, mean in zip(gradients, flat.split([gradient.numel() for gradient in gradients]), strict=True):
        gradient.copy_(mean.view_as(gradient))


def shard(length: int, rank: int, world_size: int) -> list[int]:
    """The items of an epoch of `length` items that process `rank` trains on, in order.

    As torch's DistributedSampler (no shuffle: the dataset's own seeded order is already shuffled)
    deals them: every `world_size`-th item from `rank` on, wrapping around at the end so that every
    process gets ceil(length / world_size) items. One process gets 0 .. length - 1.
    """
    return [(rank + world_size * k) % length for k in range(math.ceil(length / world_size))]


def check_process_count(trained_with: int, out_dir: Path | str) -> None:
    """Refuse to resume with another number of processes than the run's: each process's pools, RNG
    states and share of the data belong to its rank, so only the same number continues exactly."""
    now = process_count()
    if now == trained_with:
        return
    command = (f"torchrun --nproc-per-node {trained_with} -m cyclegan_edu resume {out_dir}" if trained_with > 1
               else f"cyclegan-edu resume {out_dir} (without torchrun)")
    raise ProcessCountMismatch(f"{out_dir} was trained by {trained_with} process(es) and this resume runs {now}: "
                               f"restart it with `{command}` to continue it exactly.")
