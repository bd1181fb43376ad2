"""One picture of the whole model (paper Fig. 3, Section 3): G, F, D_X, D_Y, both cycles and their losses.

    forward cycle   x -> G(x) -> F(G(x)) ~ x      D_Y tells G(x) from real y   (Eq. 1)
    backward cycle  y -> F(y) -> G(F(y)) ~ y      D_X tells F(y) from real x   (Eq. 1 for F)
    cycle loss      ||F(G(x)) - x||_1 + ||G(F(y)) - y||_1                       (Eq. 2)
    full objective  L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X) + lambda L_cyc(G, F)  (Eq. 3)
    identity        ||G(y) - y||_1 + ||F(x) - x||_1, optional                   (Section 5.2)

The diagram is data (BOXES, ARROWS) drawn by `cyclegan_diagram`; with `course_map=True` each part
also names the notebook that opens it (COURSE_MAP).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

BOX_WIDTH, BOX_HEIGHT = 2.2, 0.8
COLOURS = {"X": "#e6c9a8", "Y": "#d5dde3", "D": "#f2b8b5"}  # horse brown, zebra grey, judge red


@dataclass(frozen=True)
class Box:
    """An image (in domain "X" or "Y") or a discriminator ("D"), centred at (x, y)."""

    label: str
    x: float
    y: float
    kind: str


@dataclass(frozen=True)
class Arrow:
    """`start` -> `end` (keys of BOXES): a generator ("G", "F"), a discriminator's input ("judge") or a cycle loss."""

    start: str
    end: str
    kind: str
    label: str = ""


BOXES = {
    "x": Box("$x$\na horse", 1.5, 6.2, "X"),
    "G(x)": Box("$G(x)$\nits zebra", 5.5, 6.2, "Y"),
    "F(G(x))": Box("$F(G(x))$\nback to a horse", 9.5, 6.2, "X"),
    "y": Box("$y$\na zebra", 1.5, 2.6, "Y"),
    "F(y)": Box("$F(y)$\nits horse", 5.5, 2.6, "X"),
    "G(F(y))": Box("$G(F(y))$\nback to a zebra", 9.5, 2.6, "Y"),
    "D_Y": Box("$D_Y$: real zebra?", 5.5, 7.9, "D"),
    "real y": Box("real zebras $y$", 9.5, 7.9, "Y"),
    "D_X": Box("$D_X$: real horse?", 5.5, 0.9, "D"),
    "real x": Box("real horses $x$", 9.5, 0.9, "X"),
}

ARROWS = (
    Arrow("x", "G(x)", "G", "$G: X \\to Y$"),
    Arrow("G(x)", "F(G(x))", "F", "$F: Y \\to X$"),
    Arrow("y", "F(y)", "F", "$F: Y \\to X$"),
    Arrow("F(y)", "G(F(y))", "G", "$G: X \\to Y$"),
    Arrow("G(x)", "D_Y", "judge"),
    Arrow("real y", "D_Y", "judge"),
    Arrow("F(y)", "D_X", "judge"),
    Arrow("real x", "D_X", "judge"),
    Arrow("F(G(x))", "x", "cycle", "forward cycle loss $\\|F(G(x)) - x\\|_1$ (Eq. 2)"),
    Arrow("G(F(y))", "y", "cycle", "backward cycle loss $\\|G(F(y)) - y\\|_1$ (Eq. 2)"),
)

# Where each loss is written: (x, y, text); the adversarial terms sit beside their discriminator.
LOSS_NOTES = (
    (4.2, 7.9, "adversarial loss $\\mathcal{L}_{GAN}(G, D_Y, X, Y)$ (Eq. 1):\n$D_Y$ tells $G(x)$ from real $y$"),
    (4.2, 0.9, "adversarial loss $\\mathcal{L}_{GAN}(F, D_X, Y, X)$ (Eq. 1):\n$D_X$ tells $F(y)$ from real $x$"),
)
IDENTITY_NOTE = ("optional identity loss (Section 5.2): $\\|G(y) - y\\|_1 + \\|F(x) - x\\|_1$: "
                 "an image already in the output domain should pass unchanged")
TITLE = ("CycleGAN (Fig. 3, Eq. 3): $\\mathcal{L} = \\mathcal{L}_{GAN}(G, D_Y, X, Y) + "
         "\\mathcal{L}_{GAN}(F, D_X, Y, X) + \\lambda\\, \\mathcal{L}_{cyc}(G, F)$")

# The notebook that opens each part of the picture: (x, y, text), drawn with course_map=True.
COURSE_MAP = (
    (3.5, 7.0, "00: the generators G and F"),
    (5.5, 8.55, "06: PatchGAN"),
    (5.5, 0.25, "06: PatchGAN"),
    (6.75, 7.05, "05: which fakes D sees"),
    (6.75, 1.75, "05: which fakes D sees"),
    (2.1, 8.5, "01: Eq. 1   02: its limits   04: least squares"),
    (2.1, 0.25, "01: Eq. 1   02: its limits   04: least squares"),
    (5.5, 4.4, "03: cycle consistency"),
    (6.0, -0.6, "07: the identity loss"),
    (6.0, 9.05, "08: all of it, trained"),
)


def edge_point(box: Box, towards: Box) -> tuple[float, float]:
    """Where a straight arrow from `box` towards `towards` leaves the box: its side or its top/bottom."""
    if abs(towards.y - box.y) > abs(towards.x - box.x) / 2:
        return box.x, box.y + (BOX_HEIGHT / 2 if towards.y > box.y else -BOX_HEIGHT / 2)
    return box.x + (BOX_WIDTH / 2 if towards.x > box.x else -BOX_WIDTH / 2), box.y


def draw_box(axis: Axes, box: Box) -> None:
    axis.add_patch(FancyBboxPatch((box.x - BOX_WIDTH / 2, box.y - BOX_HEIGHT / 2), BOX_WIDTH, BOX_HEIGHT,
                                  boxstyle="round,pad=0.05", facecolor=COLOURS[box.kind], edgecolor="black"))
    axis.text(box.x, box.y, box.label, ha="center", va="center", fontsize=10)


def draw_arrow(axis: Axes, arrow: Arrow) -> None:
    """A generator is a thick arrow labelled above; a cycle loss bends back under (or over) its row."""
    start, end = BOXES[arrow.start], BOXES[arrow.end]
    if arrow.kind == "cycle":
        below = start.y > 4  # the forward cycle bends down, the backward one up, into the middle band
        offset = -BOX_HEIGHT / 2 if below else BOX_HEIGHT / 2
        patch = FancyArrowPatch((start.x, start.y + offset), (end.x, end.y + offset), arrowstyle="-|>",
                                mutation_scale=14, connectionstyle=f"arc3,rad={-0.12 if below else 0.12}",
                                color="tab:green", lw=1.8, linestyle="--")
        axis.add_patch(patch)
        axis.text((start.x + end.x) / 2, start.y + (-1.25 if below else 1.25), arrow.label, ha="center",
                  va="center", fontsize=10, color="tab:green")
        return
    generator = arrow.kind in ("G", "F")
    patch = FancyArrowPatch(edge_point(start, end), edge_point(end, start), arrowstyle="-|>",
                            mutation_scale=16 if generator else 12, lw=2.2 if generator else 1.2,
                            color="tab:blue" if generator else "tab:red")
    axis.add_patch(patch)
    if arrow.label:
        axis.text((start.x + end.x) / 2, start.y + 0.22, arrow.label, ha="center", va="bottom", fontsize=11,
                  color="tab:blue")


def cyclegan_diagram(course_map: bool = False) -> Figure:
    """The figure: both cycles as two rows, each discriminator beside the translation it judges.

    `course_map=True` adds, in grey, the notebook that opens each part (00 to 08).
    """
    figure, axis = plt.subplots(figsize=(11, 8))
    for box in BOXES.values():
        draw_box(axis, box)
    for arrow in ARROWS:
        draw_arrow(axis, arrow)
    for x, y, text in LOSS_NOTES:
        axis.text(x, y, text, ha="right", va="center", fontsize=9, color="tab:red")
    axis.text(6.0, -0.2, IDENTITY_NOTE, ha="center", va="center", fontsize=9, color="dimgrey")
    if course_map:
        for x, y, text in COURSE_MAP:
            axis.text(x, y, text, ha="center", va="center", fontsize=8, style="italic", color="grey")
    axis.set_title(TITLE, fontsize=11)
    axis.set_xlim(-0.3, 12.3)
    axis.set_ylim(-0.9, 9.3)
    axis.axis("off")
    figure.tight_layout()
    return figure
