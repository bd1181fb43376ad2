"""One training run on disk: every file a run writes or reads, named in one place.

    RUN/checkpoints/latest.pt              everything needed to continue, rewritten atomically
    RUN/checkpoints/latest_net_G_A.pth     G (A to B) in the layout of the authors' code
    RUN/checkpoints/latest_net_G_B.pth     F (B to A), likewise
    RUN/checkpoints/evaluation.json        what `cyclegan-edu evaluate` measured
    RUN/samples/epoch_NNN.png, latest.png  sample grids, rows as in SAMPLE_ROWS
    RUN/losses.csv                         one line per epoch: mean losses, learning rate, timing
    RUN/metrics.json                       test scores at the end of training
    RUN/results.json                       notebook 08's record of the run (parameters, metrics, timings)
    RUN/run.json                           whose run this is: its id, its config, the overrides of resumes
    RUN/tensorboard/events.out.tfevents.*  with tensorboard on: losses.csv and the grids for TensorBoard

The trainer, the evaluator, the ablation study, notebook 08 and the grader all go through
`RunFolder`, so a file name is spelled once.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from cyclegan_edu.errors import UnreadableCheckpoint, load_tensors

# Rows of a sample grid, top to bottom; each row holds `sample_images` test images.
SAMPLE_ROWS = ("real A", "G(A)", "F(G(A))", "real B", "F(B)", "G(F(B))")
SAMPLE_GRID_PADDING = 2  # pixels between the images of a grid (torchvision's make_grid)
GENERATOR_FILES = {"AtoB": "latest_net_G_A.pth", "BtoA": "latest_net_G_B.pth"}  # the authors' names


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to a temporary file in the same folder, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class RunFolder:
    """The folder of one run and the files in it (see the module docstring for the layout)."""

    root: Path

    def __init__(self, root: Path | str) -> None:
        object.__setattr__(self, "root", Path(root))

    @classmethod
    def of(cls, target: Path | str) -> RunFolder:
        """The run a path names: the run folder itself, or a file in its checkpoints/ folder."""
        target = Path(target)
        return cls(target.parent.parent if target.is_file() and target.parent.name == "checkpoints" else target)

    # ---- paths ---------------------------------------------------------------------------------
    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def latest(self) -> Path:
        """The checkpoint a run resumes from."""
        return self.checkpoints / "latest.pt"

    def generator_file(self, direction: str) -> Path:
        """The exported generator of "AtoB" (G) or "BtoA" (F)."""
        return self.checkpoints / GENERATOR_FILES[direction]

    @property
    def evaluation(self) -> Path:
        return self.checkpoints / "evaluation.json"

    def sample_grid(self, epoch: int) -> Path:
        return self.root / "samples" / f"epoch_{epoch:03d}.png"

    @property
    def latest_samples(self) -> Path:
        return self.root / "samples" / "latest.png"

    @property
    def losses(self) -> Path:
        return self.root / "losses.csv"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard's event files (tensorboard_log.py): a copy of losses.csv and the grids, not the record."""
        return self.root / "tensorboard"

    @property
    def results(self) -> Path:
        return self.root / "results.json"

    @property
    def record(self) -> Path:
        return self.root / "run.json"

    # ---- the checkpoint ---------------------------------------------------------------------------
    def has_checkpoint(self) -> bool:
        return self.latest.is_file()

    def holds_a_run(self) -> bool:
        """Whether any file of a run is here already (a checkpoint, its record, or its loss history)."""
        return self.has_checkpoint() or self.record.exists() or self.losses.exists()

    def load_checkpoint(self) -> dict[str, Any]:
        """`latest.pt`, plain tensors only; an unreadable file raises UnreadableCheckpoint."""
        checkpoint = load_tensors(self.latest, "this run's checkpoint")
        if not isinstance(checkpoint, dict) or not {"config", "model", "epoch"} <= set(checkpoint):
            raise UnreadableCheckpoint(f"{self.latest} is not a cyclegan_edu training checkpoint (no config, model "
                                       "or epoch in it): put the run's own latest.pt back, or start a new run.")
        return checkpoint

    def save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        atomic_save(checkpoint, self.latest)

    def remove_partial_writes(self) -> list[Path]:
        """Delete the temporary files of checkpoint writes that a kill interrupted; returns them."""
        partial = sorted(self.checkpoints.glob(f".{self.latest.name}.*.tmp")) if self.checkpoints.is_dir() else []
        for path in partial:
            path.unlink(missing_ok=True)
        return partial

    # ---- run.json ----------------------------------------------------------------------------------
    def read_record(self) -> dict[str, Any] | None:
        """The run's id, config and resume overrides; None for a run from before run.json existed."""
        if not self.record.exists():
            return None
        try:
            return json.loads(self.record.read_text())
        except (ValueError, OSError) as error:
            raise UnreadableCheckpoint(f"{self.record} is damaged ({error}): restore it, or delete it to accept "
                                       "the checkpoint in this folder as this run's.") from error

    def write_record(self, record: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.record.with_name(f".{self.record.name}.tmp")
        temporary.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(temporary, self.record)

    # ---- losses.csv and metrics.json ----------------------------------------------------------------
    def read_history(self) -> list[dict[str, float]]:
        """The loss history as a list of per-epoch dicts of numbers; empty before the first epoch ends."""
        if not self.losses.exists():
            return []
        with self.losses.open(newline="") as file:
            return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(file)]

    def append_history(self, record: dict[str, Any]) -> None:
        new_file = not self.losses.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        with self.losses.open("a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(record))
            if new_file:
                writer.writeheader()
            writer.writerow(record)

    def drop_history_after(self, epoch: int) -> None:
        """Keep only the lines of epochs before `epoch`: a run killed after logging but before its
        checkpoint logs that epoch again when resumed."""
        if not self.losses.exists():
            return
        with self.losses.open(newline="") as file:
            rows = list(csv.DictReader(file))
        kept = [row for row in rows if int(row["epoch"]) < epoch]
        if len(kept) < len(rows):
            with self.losses.open("w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(kept)

    def has_metrics(self) -> bool:
        return self.metrics.is_file()

    def read_metrics(self) -> dict[str, Any]:
        return json.loads(self.metrics.read_text())

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        self.metrics.write_text(json.dumps(metrics, indent=2) + "\n")
