"""Many runs at once: the rows of an ablation study or a grading grid, one job per row.

    JobOptions()                        one row after another, in this process (the default)
    JobOptions(jobs=3)                  three rows at once on this machine, each in its own process
                                        (submitit's LocalExecutor), each on its own GPU when there are
                                        enough, otherwise on its share of the CPU's threads
    JobOptions(cluster="slurm", ...)    one Slurm job per row through submitit, at most `jobs` at once

A job that is preempted or reaches its time limit is requeued as it was (`RowJob` is a submitit
`Checkpointable`): the row's function resumes a run from its last checkpoint and reuses a finished
one, so a requeued row continues where it stopped. `run_rows` hands each result to `on_result` as
soon as its row finishes, so a caller can rewrite its summary from whatever has finished.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import submitit

from cyclegan_edu.errors import UserError

Row = TypeVar("Row")
CLUSTERS = ("local", "slurm")
POLL_SECONDS = 0.5


class JobFailed(UserError):
    """A row's job raised or was killed for good (no requeue left)."""


@dataclass(frozen=True)
class JobOptions:
    """How to run the rows. `jobs`: rows at once; `cluster`: this machine or Slurm; the rest: each Slurm job's
    resources (`gpus_per_job`, `timeout_min`, `partition`) and how often a job may be requeued."""

    jobs: int = 1
    cluster: str = "local"
    gpus_per_job: int = 1
    timeout_min: int = 24 * 60
    partition: str = ""
    max_requeues: int = 3

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise UserError(f"--jobs {self.jobs}: give at least 1 (rows at once).")
        if self.cluster not in CLUSTERS:
            raise UserError(f"--cluster {self.cluster!r}: choose one of {', '.join(CLUSTERS)}.")
        if self.timeout_min < 1 or self.gpus_per_job < 0 or self.max_requeues < 0:
            raise UserError("need --time-limit >= 1 minute, --gpus-per-job >= 0 and --max-requeues >= 0.")

    @property
    def in_process(self) -> bool:
        return self.cluster == "local" and self.jobs == 1


class RowJob(submitit.helpers.Checkpointable):
    """One row as a job. Requeued unchanged on preemption or time-out (Checkpointable's default
    `checkpoint`), which is right because `function` resumes the row's run from its last checkpoint."""

    def __init__(self, function: Callable[[Any], Any], row: Any, threads: int = 0) -> None:
        self.function, self.row, self.threads = function, row, threads

    def __call__(self) -> Any:
        import torch

        if self.threads:  # this job's share of the CPU, not every core per job
            os.environ["OMP_NUM_THREADS"] = str(self.threads)  # also for the processes it starts (a notebook's kernel)
            torch.set_num_threads(self.threads)
        return self.function(self.row)


def local_slots(jobs: int) -> list[dict[str, Any]]:
    """Per concurrent job: a GPU of its own (round robin when jobs outnumber GPUs), or its share of CPU threads."""
    import torch

    gpus = torch.cuda.device_count()
    if gpus:
        return [dict(gpus_per_node=1, visible_gpus=[slot % gpus], threads=0) for slot in range(jobs)]
    threads = max(1, (os.cpu_count() or 1) // jobs)
    return [dict(gpus_per_node=0, visible_gpus=[], threads=threads) for _ in range(jobs)]


def make_executor(options: JobOptions, folder: Path) -> submitit.Executor:
    """submitit's executor for the cluster, with the per-job resources set; logs go under `folder`."""
    if options.cluster == "slurm":
        executor = submitit.AutoExecutor(folder=folder / "%j", cluster="slurm")
        executor.update_parameters(timeout_min=options.timeout_min, gpus_per_node=options.gpus_per_job,
                                   slurm_max_num_timeout=options.max_requeues,
                                   **({"slurm_partition": options.partition} if options.partition else {}))
        return executor
    executor = submitit.LocalExecutor(folder=folder / "%j", max_num_timeout=options.max_requeues)
    executor.update_parameters(timeout_min=options.timeout_min)
    return executor


def job_failure(job: submitit.Job, row: Any, error: Exception) -> JobFailed:
    return JobFailed(f"the run for {row!r} failed ({type(error).__name__}): its log is {job.paths.stderr}")


def run_rows(function: Callable[[Row], Any], rows: Sequence[Row], options: JobOptions, folder: Path,
             on_result: Callable[[int, Any], None] = lambda index, result: None,
             on_submit: Callable[[int, submitit.Job], None] = lambda index, job: None) -> list[Any]:
    """`function(row)` for every row, as `options` says; results in the rows' order.

    `on_result(index, result)` runs in this process as each row finishes (in the order they finish);
    `on_submit(index, job)` as each job is handed to submitit (tests use it to interrupt one)."""
    if options.in_process:
        results = []
        for index, row in enumerate(rows):
            results.append(function(row))
            on_result(index, results[-1])
        return results
    executor = make_executor(options, folder)
    if options.cluster == "local":
        slots = local_slots(options.jobs)
    else:  # Slurm queues what it cannot start yet; --jobs 1 there means no cap
        slots = [dict(threads=0)] * (len(rows) if options.jobs == 1 else options.jobs)
    waiting, running, results = list(enumerate(rows)), {}, {}
    while waiting or running:
        free = [slot for slot in range(len(slots)) if slot not in running]
        while waiting and free:
            slot = free.pop(0)
            index, row = waiting.pop(0)
            resources = dict(slots[slot])
            threads = resources.pop("threads")
            if options.cluster == "local":
                executor.update_parameters(**resources)
            job = executor.submit(RowJob(function, row, threads))
            running[slot] = (index, row, job)
            on_submit(index, job)
        for slot, (index, row, job) in list(running.items()):
            if job.done():
                del running[slot]
                try:
                    results[index] = job.result()
                except Exception as error:  # submitit re-raises the job's error here: name the row and its log
                    for _, _, other in running.values():
                        other.cancel(check=False)
                    raise job_failure(job, row, error) from error
                on_result(index, results[index])
        time.sleep(POLL_SECONDS if running else 0)
    return [results[index] for index in range(len(rows))]
