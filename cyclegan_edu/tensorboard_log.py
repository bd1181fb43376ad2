"""TensorBoard, optional: each epoch's line of losses.csv as scalars, and its sample grid as an image.

losses.csv, the sample PNGs and metrics.json stay the run's record; this module only copies what
they hold into RUN/tensorboard/ for TensorBoard's viewer (`%tensorboard --logdir runs` in Colab or
JupyterLab, `tensorboard --logdir runs` in a terminal), with the epoch as the step:

    loss/<name>                 every loss of cyclegan.LOSS_NAMES, the epoch's mean, as in losses.csv
    lr                          the generators' learning rate during the epoch
    time/seconds_per_iteration  and time/seconds_per_epoch
    samples                     the epoch's sample grid (rows as run_folder.SAMPLE_ROWS)

Each session of a run (the first, then each resume) writes its own event file. Its first event is a
restart at the epoch it logs first: TensorBoard then drops what an earlier session logged from that
epoch on (an epoch logged just before a kill, before its checkpoint), as losses.csv drops its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cyclegan_edu.cyclegan import LOSS_NAMES
from cyclegan_edu.errors import UserError

TAGS = {"lr": "lr", "seconds_per_iteration": "time/seconds_per_iteration", "seconds": "time/seconds_per_epoch"}
SAMPLES_TAG = "samples"


class TensorBoardMissing(UserError, ImportError):
    """The tensorboard switch is on but the tensorboard package is not installed."""


def tag(column: str) -> str:
    """The TensorBoard tag of a losses.csv column: `G_total` -> `loss/G_total`, `lr` -> `lr`."""
    return f"loss/{column}" if column in LOSS_NAMES else TAGS.get(column, column)


def available() -> bool:
    """Whether `torch.utils.tensorboard` can be imported (it needs the tensorboard package)."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        return False
    return True


def require() -> None:
    """Raise TensorBoardMissing, saying what to do, unless TensorBoard can be written."""
    if not available():
        raise TensorBoardMissing("tensorboard=True needs the tensorboard package: `pip install tensorboard`, or "
                                 "turn the switch off (`--no-tensorboard`, tensorboard=False). losses.csv and the "
                                 "sample grids are written either way.")


class EpochLog:
    """The TensorBoard event file of one session of a run; opened at the first epoch it logs."""

    def __init__(self, folder: Path | str) -> None:
        require()
        self.folder = Path(folder)
        self.writer: Any = None

    @classmethod
    def for_run(cls, enabled: bool, folder: Path | str, writes: bool) -> EpochLog | None:
        """None when `enabled` is off; raises TensorBoardMissing in every process when the package is
        missing (before a run writes anything); an EpochLog in the process that `writes` (rank 0)."""
        if not enabled:
            return None
        require()
        return cls(folder) if writes else None

    def write(self, record: dict[str, Any], sample_grid: Path | None = None) -> None:
        """One epoch: every column of its losses.csv line but `epoch`, then the grid PNG if it was saved."""
        from torch.utils.tensorboard import SummaryWriter

        epoch = int(record["epoch"])
        if self.writer is None:  # purge_step: what an earlier session logged from this epoch on is dropped
            self.writer = SummaryWriter(str(self.folder), purge_step=epoch)
        for column, value in record.items():
            if column != "epoch":
                self.writer.add_scalar(tag(column), value, global_step=epoch)
        if sample_grid is not None and sample_grid.is_file():
            with Image.open(sample_grid) as image:
                pixels = np.asarray(image.convert("RGB"))  # (H, W, 3) uint8, the PNG the run folder holds
            self.writer.add_image(SAMPLES_TAG, pixels, global_step=epoch, dataformats="HWC")
        self.writer.flush()  # an epoch is minutes: a kill must not lose what TensorBoard showed

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
