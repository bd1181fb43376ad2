"""Notebook 00's picture of the model: it draws every named part, and its arrows say what the paper says."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text

from cyclegan_edu.course.diagram import ARROWS, BOXES, COURSE_MAP, cyclegan_diagram


@pytest.fixture(params=[False, True], ids=["plain", "course_map"])
def figure(request):
    figure = cyclegan_diagram(course_map=request.param)
    yield figure, request.param
    plt.close(figure)


def texts(figure) -> list[str]:
    return [text.get_text() for text in figure.findobj(Text)]


def follow(start: str, *mappings: str) -> str:
    """The box reached from `start` along the generator arrows named by `mappings`, in order."""
    for mapping in mappings:
        (start,) = [a.end for a in ARROWS if a.start == start and a.kind == mapping]
    return start


def test_every_box_and_arrow_is_drawn(figure):
    figure, _ = figure
    written = texts(figure)
    for label in [box.label for box in BOXES.values()] + [arrow.label for arrow in ARROWS if arrow.label]:
        assert label in written
    assert len(figure.findobj(FancyBboxPatch)) == len(BOXES)
    assert len(figure.findobj(FancyArrowPatch)) == len(ARROWS)


def test_the_losses_and_the_full_objective_are_named(figure):
    figure, _ = figure
    written = "\n".join(texts(figure))
    for name in ("Eq. 1", "Eq. 2", "Eq. 3", "D_Y", "D_X", "\\lambda", "identity"):
        assert name in written


def test_course_map_names_every_notebook_only_when_asked(figure):
    figure, course_map = figure
    written = "\n".join(texts(figure))
    for number in [f"{n:02d}:" for n in range(9)]:
        assert (number in written) == course_map, number
    assert len(COURSE_MAP) >= 9


def test_g_maps_x_to_y_and_f_maps_y_to_x():
    for arrow in ARROWS:
        start, end = BOXES[arrow.start].kind, BOXES[arrow.end].kind
        if arrow.kind == "G":
            assert (start, end) == ("X", "Y"), arrow
        if arrow.kind == "F":
            assert (start, end) == ("Y", "X"), arrow


def test_each_discriminator_judges_its_own_domain_real_and_fake():
    inputs = {name: [a.start for a in ARROWS if a.kind == "judge" and a.end == name] for name in ("D_X", "D_Y")}
    assert sorted(inputs["D_Y"]) == ["G(x)", "real y"] and sorted(inputs["D_X"]) == ["F(y)", "real x"]
    for name, domain in (("D_X", "X"), ("D_Y", "Y")):
        assert {BOXES[start].kind for start in inputs[name]} == {domain}


def test_both_cycles_come_back_to_where_they_started():
    forward, backward = follow("x", "G", "F"), follow("y", "F", "G")
    assert (forward, backward) == ("F(G(x))", "G(F(y))")
    cycles = {(a.start, a.end) for a in ARROWS if a.kind == "cycle"}
    assert cycles == {(forward, "x"), (backward, "y")}
