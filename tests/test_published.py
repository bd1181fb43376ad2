"""The published notebooks (notebooks/NN_*.ipynb): the instructor's notebooks with the answers stripped by
nbgrader, executed at their CPU defaults by `cyclegan-edu publish`, outputs kept.

The drift test fails when a notebook of notebooks/solutions was edited without publishing it again
(`cyclegan-edu publish --only NN`).
"""

import re
from pathlib import Path

import nbformat
import pytest

from cyclegan_edu.course import publish

SOLUTIONS = sorted(publish.SOURCE.glob("*.ipynb"))
MAX_NOTEBOOK_BYTES = 2_000_000  # outputs are figures at the inline backend's size, not megabytes of logs
VOLATILE = [re.compile(r"\b0x[0-9a-f]{8,}\b"), re.compile(r"/tmp/"), re.compile(r"cyclegan_edu_publish_")]


def published(source: Path) -> nbformat.NotebookNode:
    path = publish.PUBLISHED / source.name
    assert path.is_file(), f"{path} is missing: run `cyclegan-edu publish --only {source.name[:2]}`"
    return nbformat.read(path, as_version=4)


def cells_without_outputs(notebook: nbformat.NotebookNode) -> list[tuple]:
    """What must agree between the two versions: each cell's type, id, source and metadata."""
    return [(cell.cell_type, cell.get("id"), cell.source, dict(cell.metadata)) for cell in notebook.cells]


@pytest.mark.parametrize("source", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_published_notebook_is_its_solutions_notebook_without_answers(source):
    expected = publish.student_version(nbformat.read(source, as_version=4))
    got = published(source)
    drift = [i for i, (a, b) in enumerate(zip(cells_without_outputs(expected), cells_without_outputs(got))) if a != b]
    assert len(expected.cells) == len(got.cells) and not drift, (
        f"notebooks/{source.name} differs from notebooks/solutions/{source.name} (cells {drift}): "
        f"run `cyclegan-edu publish --only {source.name[:2]}`")


@pytest.mark.parametrize("source", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_published_notebook_ran_top_to_bottom_at_cpu_defaults_with_every_exercise_open(source):
    notebook = published(source)
    assert notebook.metadata["cyclegan_edu"] == {"published_from": f"solutions/{source.name}", "smoke": False}
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "every cell ran, in order"
    assert not [output for cell in code for output in cell.outputs if output.output_type == "error"]
    text = "".join(cell.source for cell in notebook.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    checks = [cell for cell in code if cell.metadata.get("nbgrader", {}).get("grade")]
    for cell in checks:
        printed = "".join(output.get("text", "") for output in cell.outputs)
        assert printed.startswith("NOT DONE YET"), f"{source.name}: {cell.metadata['nbgrader']['grade_id']}"


@pytest.mark.parametrize("source", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_published_notebook_is_small_and_free_of_volatile_noise(source):
    path = publish.PUBLISHED / source.name
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, f"{path.name}: {path.stat().st_size:,} bytes"
    notebook = published(source)
    assert "widgets" not in notebook.metadata
    for cell in notebook.cells:
        assert "execution" not in cell.metadata
        for output in cell.get("outputs", []):
            assert publish.VOLATILE_MIME not in output.get("data", {})
            texts = [v for k, v in output.get("data", {}).items() if k.startswith("text/")]
            shown = output.get("text", "") + "".join(texts)
            for pattern in VOLATILE:
                assert not pattern.search(shown), f"{path.name}: {pattern.pattern} in {shown[:200]!r}"


def test_every_figure_of_the_course_is_visible_before_running():
    figures = {source.name: sum(any(mime.startswith("image/") for mime in output.get("data", {}))
                                for cell in published(source).cells
                                for output in cell.get("outputs", [])) for source in SOLUTIONS}
    assert all(count > 0 for count in figures.values()), figures


def test_publish_runs_a_student_notebook_past_its_unsolved_exercises(tmp_path):
    """Run All of the student version (smoke mode, set by conftest.py) reaches the end: both checks of
    notebook 01 say NOT DONE YET and the cells after them run on the package's losses."""
    written = publish.publish(publish.SOURCE, tmp_path, only=["01"])
    notebook = nbformat.read(written[0], as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)
    checks = ["".join(o.get("text", "") for o in cell.outputs) for cell in code
              if cell.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) == 2 and all(text.startswith("NOT DONE YET") for text in checks)
    assert notebook.metadata["cyclegan_edu"]["smoke"] is True
    assert "raise NotImplementedError()" in "".join(cell.source for cell in code)
