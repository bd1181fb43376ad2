"""Watching a CycleGAN run: its loss curves and its newest sample grid, redrawn in place each epoch.

`TrainingView.update` has the signature of the trainer's `on_epoch_end(record, trainer)` callback:

    view = TrainingView(RunFolder(run_dir).read_history())   # earlier epochs of a resumed run, if any
    view.show()
    train(config, run_dir, on_epoch_end=view.update)

The loss panels group the terms of Eq. 3: the adversarial terms of G and F, the cycle terms
(Eq. 2, already weighted by lambda), the identity terms (Section 5.2) and the discriminators'
halved least-squares losses; the last panel is the learning rate of Section 4's schedule.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image as PILImage

from cyclegan_edu.run_folder import SAMPLE_GRID_PADDING, SAMPLE_ROWS

# Every loss of cyclegan.LOSS_NAMES but the total, grouped by the term of Eq. 3 it belongs to.
LOSS_PANELS: dict[str, tuple[tuple[str, str], ...]] = {
    "adversarial (G, F)": (("G_gan_ab", "G: A to B"), ("G_gan_ba", "F: B to A")),
    "cycle, x lambda": (("cycle_a", "F(G(a)) vs a"), ("cycle_b", "G(F(b)) vs b")),
    "identity": (("identity_a", "F(a) vs a"), ("identity_b", "G(b) vs b")),
    "discriminators": (("D_a", "D_X (judges A)"), ("D_b", "D_Y (judges B)")),
    "learning rate": (("lr", "lr"),),
}


def draw_losses(history: Sequence[dict[str, float]], axes: Sequence[Axes]) -> None:
    """One panel per group of LOSS_PANELS, mean loss per epoch; `axes` needs len(LOSS_PANELS) axes."""
    epochs = [row["epoch"] for row in history]
    for axis, (title, curves) in zip(axes, LOSS_PANELS.items()):
        axis.clear()
        for key, label in curves:
            if history and key in history[0]:
                axis.plot(epochs, [row[key] for row in history], marker="o", markersize=3, label=label)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(curves) > 1 and history:
            axis.legend(fontsize=8)


def draw_samples(image: np.ndarray, axis: Axes, rows: Sequence[str] = SAMPLE_ROWS) -> None:
    """A sample grid (H, W, 3) with each row named: input, translation, reconstruction, both ways."""
    axis.clear()
    axis.imshow(image, interpolation="nearest")  # sharp pixels; the saved PNG is also about half the bytes
    row_height = (image.shape[0] - SAMPLE_GRID_PADDING) / len(rows)
    axis.set_yticks([SAMPLE_GRID_PADDING / 2 + row_height * (i + 0.5) for i in range(len(rows))], labels=list(rows))
    axis.set_xticks([])
    axis.tick_params(length=0)


def read_image(path: Path | str) -> np.ndarray:
    with PILImage.open(path) as image:
        return np.asarray(image.convert("RGB"))


def figure_png(figure: Figure) -> bytes:
    """A matplotlib Figure (no pyplot state, so nothing is shown twice) as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


class TrainingView:
    """A loss plot beside the latest sample grid and a status line, updated in place (display_id)."""

    def __init__(self, history: Iterable[dict[str, float]] = (), sample_path: Path | str | None = None) -> None:
        self.history: list[dict[str, float]] = [dict(row) for row in history]
        self.sample_path = Path(sample_path) if sample_path else None
        self.handles: list[Any] = []

    def render(self) -> Figure:
        with_samples = self.sample_path is not None and self.sample_path.is_file()
        figure = Figure(figsize=(15, 3.4))
        ratios = [1.0] * len(LOSS_PANELS) + ([0.8] if with_samples else [])
        grid = figure.add_gridspec(1, len(ratios), width_ratios=ratios)
        axes = [figure.add_subplot(grid[0, i]) for i in range(len(ratios))]
        draw_losses(self.history, axes[:len(LOSS_PANELS)])
        if with_samples:
            draw_samples(read_image(self.sample_path), axes[-1])
            axes[-1].set_title("latest samples", fontsize=10)
        figure.tight_layout()
        return figure

    def status(self) -> str:
        if not self.history:
            return "no epoch finished yet"
        last = self.history[-1]
        return (f"epoch {int(last['epoch'])}: G total {last['G_total']:.3f}, D_X {last['D_a']:.3f}, "
                f"D_Y {last['D_b']:.3f}, lr {last['lr']:.2e}, "
                f"{last['seconds_per_iteration'] * 1000:.0f} ms per iteration")

    def show(self) -> None:
        """Display the plot and the status line once; `update` then replaces them."""
        from IPython.display import Image, Pretty, display

        self.handles = [display(Image(data=figure_png(self.render()), format="png"), display_id=True),
                        display(Pretty(self.status()), display_id=True)]

    def update(self, record: dict[str, Any], trainer: Any) -> None:
        """The trainer's on_epoch_end: add the epoch's losses, redraw with its newest sample grid."""
        from IPython.display import Image, Pretty

        self.history.append({k: float(v) for k, v in record.items()})
        self.sample_path = trainer.folder.latest_samples
        if not self.handles or None in self.handles:  # not shown yet, or outside IPython (no handles)
            self.show()
            return
        self.handles[0].update(Image(data=figure_png(self.render()), format="png"))
        self.handles[1].update(Pretty(self.status()))
