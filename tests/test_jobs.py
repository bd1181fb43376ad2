"""Many runs at once: the ablation study and the grader on submitit's local executor (real subprocesses)."""

import csv
import dataclasses
import math
import operator
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from cyclegan_edu import ablation, jobs
from cyclegan_edu import config as presets
from cyclegan_edu.cli import main
from cyclegan_edu.errors import UserError
from cyclegan_edu.jobs import JobOptions, RowJob, local_slots, run_rows

VARIANTS = ["gan_alone", "cycle_alone", "full"]  # three rows, one seed each
TIMING_COLUMNS = {"seconds", "seconds_per_iteration"}  # the only columns that may differ between two executions


def job_threads() -> int:
    """Threads each of 3 local jobs gets here. A sequential run compared with them must use as many: oneDNN's sums
    depend on the thread count, and a GAN's training turns a last-bit difference into a visible one (AVX-512)."""
    return local_slots(3)[0]["threads"] or torch.get_num_threads()


@pytest.fixture
def own_threads() -> Iterator[None]:
    """The test may set pytest's own thread count, as a job does in its process; it gets its count back after."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as file:
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in csv.DictReader(file)]


def task_pids(controller_pid: int) -> list[int]:
    """The processes a submitit local controller started (its job's tasks)."""
    children = Path(f"/proc/{controller_pid}/task/{controller_pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def preempt_when(ready: Path, job, sent: list[int]) -> threading.Thread:
    """A thread that waits for `ready` to exist, then sends the job's task the preemption signal (USR2),
    as Slurm does before preempting or at the time limit."""
    def watch() -> None:
        deadline = time.monotonic() + 300
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in task_pids(int(job.job_id)):
            os.kill(pid, signal.SIGUSR2)
            sent.append(pid)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_rows_run_in_subprocesses_and_come_back_in_order(tmp_path):
    finished = []
    # the function travels to the job by reference, so it must be importable there: operator.neg is
    results = run_rows(operator.neg, [1, 2, 3, 4], JobOptions(jobs=2), tmp_path,
                       on_result=lambda i, r: finished.append(i))
    assert results == [-1, -2, -3, -4] and sorted(finished) == [0, 1, 2, 3]
    assert any(tmp_path.iterdir()), "submitit wrote its job folders"


def test_a_failed_row_names_its_row_and_its_log(tmp_path):
    with pytest.raises(jobs.JobFailed, match=r"run for -1 failed \(FailedJobError\): its log is .*\.err"):
        run_rows(math.sqrt, [4, -1], JobOptions(jobs=2), tmp_path)


def test_each_local_job_gets_its_share_of_the_cpu(monkeypatch, own_threads):
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 8)
    slots = local_slots(3)
    assert [slot["threads"] for slot in slots] == [2, 2, 2] and all(slot["gpus_per_node"] == 0 for slot in slots)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # restored after the test, like the thread count
    # a job sets its own process's threads and its children's (a graded notebook's kernel)
    child = [sys.executable, "-c", "import torch; print(torch.get_num_threads())"]
    job = RowJob(lambda row: (-row, torch.get_num_threads(), int(subprocess.check_output(child))), 5, threads=1)
    assert job() == (-5, 1, 1)


@pytest.mark.parametrize("options, message", [(dict(jobs=0), "--jobs 0"), (dict(cluster="pbs"), "--cluster 'pbs'"),
                                              (dict(timeout_min=0), "--time-limit")])
def test_bad_job_options_say_what_to_give(options, message):
    with pytest.raises(UserError, match=message):
        JobOptions(**options)


def test_parallel_study_with_one_run_preempted_equals_the_sequential_study(toy_env, tmp_path, monkeypatch,
                                                                            own_threads):
    base = dataclasses.replace(presets.smoke(), iterations_per_epoch=20, checkpoint_every=5)
    torch.set_num_threads(job_threads())
    sequential = ablation.run_ablation(base, tmp_path / "sequential", seeds=1, variants=VARIANTS, progress=False)
    assert [row["variant"] for row in sequential] == VARIANTS

    sent: list[int] = []
    preempted_run = tmp_path / "parallel" / "runs" / "cycle_alone_seed0"

    def run_rows_preempting_one(function, rows, options, folder, on_result):
        def on_submit(index, job):
            if rows[index] == ("cycle_alone", 0):
                preempt_when(preempted_run / "losses.csv", job, sent)  # mid-run: after its first epoch
        return run_rows(function, rows, options, folder, on_result, on_submit=on_submit)

    monkeypatch.setattr(ablation, "run_rows", run_rows_preempting_one)
    parallel = ablation.run_ablation(base, tmp_path / "parallel", seeds=1, variants=VARIANTS, progress=False,
                                     jobs=JobOptions(jobs=3))
    assert sent, "the preemption signal reached the running job"
    logs = "".join(path.read_text() for path in (tmp_path / "parallel" / "jobs").rglob("*_log.*"))
    assert "Requeued job" in logs  # submitit requeued it, and the requeued job resumed the run
    parallel_csv, sequential_csv = (read_rows(tmp_path / name / "ablation.csv") for name in ("parallel", "sequential"))
    assert [row["variant"] for row in parallel_csv] == VARIANTS
    assert parallel_csv == sequential_csv
    assert [row["variant"] for row in parallel] == VARIANTS


# A notebook with notebook 08's contract in a few seconds (its parameters, a smoke run, results.json), so that
# six executions test the grader's jobs and not notebook 08, which tests/test_grading.py runs itself.
SMALL_GRADED_NOTEBOOK = [
    """run_id: str = "run"  # the grid's row
seed: int = 0  # seeds the run
forward_cycle: bool = True  # Eq. 2's forward term
backward_cycle: bool = True  # Eq. 2's backward term
checkpoint_dir: str = ""  # set by the grader
results_path: str = ""  # set by the grader
interactive: bool = True  # set by the grader""",
    """import json
from pathlib import Path
from cyclegan_edu.config import preset
from cyclegan_edu.training import train
config = preset("smoke", seed=seed, forward_cycle=forward_cycle, backward_cycle=backward_cycle)
metrics = train(config, checkpoint_dir, progress=False)
Path(results_path).write_text(json.dumps({"metrics": metrics, "device": {"type": "cpu"}, "resumed": False,
                                          "timings": {"seconds_per_iteration": 0.0}}))""",
]


def test_grading_three_rows_with_jobs_3_gives_the_sequential_summary(toy_env, tmp_path, monkeypatch):
    import nbformat

    cells = [nbformat.v4.new_code_cell(source) for source in SMALL_GRADED_NOTEBOOK]
    cells[0].metadata["tags"] = ["parameters"]
    notebook = tmp_path / "graded.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                   "display_name": "Python 3", "language": "python"}}), notebook)
    grid = tmp_path / "grid.yaml"
    grid.write_text("- run_id: full\n- run_id: no_backward\n  backward_cycle: false\n"
                    "- run_id: gan_alone\n  forward_cycle: false\n  backward_cycle: false\n")
    monkeypatch.setenv("OMP_NUM_THREADS", str(job_threads()))  # the sequential kernels'
    assert main(["grade", "--grid", str(grid), "--out", str(tmp_path / "sequential"), "--notebook", str(notebook)]) == 0
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert main(["grade", "--grid", str(grid), "--out", str(tmp_path / "parallel"), "--notebook", str(notebook),
                 "--jobs", "3"]) == 0
    sequential, parallel = (read_rows(tmp_path / folder / "summary.csv") for folder in ("sequential", "parallel"))
    assert [row["status"] for row in parallel] == ["ok"] * 3 and "psnr_AtoB" in parallel[0]
    assert parallel == sequential
