"""Student copies of the notebooks: solutions cleared with nbgrader's own `ClearSolutions`.

In the committed notebooks each exercise's answer sits between `### BEGIN SOLUTION` and
`### END SOLUTION`, so CI runs and checks it. nbgrader replaces every such region with
`# YOUR CODE HERE` / `raise NotImplementedError()`:

    cyclegan-edu student-copies notebooks/ student_notebooks/
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from cyclegan_edu.errors import InputNotFound, WouldOverwrite, require_extra

NEEDED_FOR = "Student copies (cyclegan-edu student-copies)"  # what nbgrader, of the [instructor] extra, is needed for


def student_copy(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with solution regions cleared and outputs removed."""
    preprocessors = require_extra("nbgrader.preprocessors", "instructor", NEEDED_FOR)
    cleared, _ = preprocessors.ClearSolutions(enforce_metadata=False).preprocess(notebook, {})
    for cell in cleared.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return cleared


def write_student_copies(source: Path | str, destination: Path | str, overwrite: bool = False) -> list[Path]:
    """Write a student copy of every notebook in `source` into `destination`; returns the paths.

    A notebook already in `destination` (a student's work, perhaps) is replaced only with `overwrite`."""
    source, destination = Path(source), Path(destination)
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise InputNotFound(f"No notebooks in {source}: give the folder of the notebooks with solutions.")
    if destination.resolve() == source.resolve():
        raise WouldOverwrite("Write the student copies to another folder, not over the notebooks with solutions.")
    existing = [destination / path.name for path in notebooks if (destination / path.name).exists()]
    if existing and not overwrite:
        raise WouldOverwrite(f"{existing[0]} (and {len(existing) - 1} more) already exist: choose a new destination "
                             "folder, or pass --overwrite to replace them.")
    require_extra("nbgrader.preprocessors", "instructor", NEEDED_FOR)  # before any folder is made
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        copy = student_copy(nbformat.read(path, as_version=4))
        nbformat.write(copy, destination / path.name)
        written.append(destination / path.name)
    return written
