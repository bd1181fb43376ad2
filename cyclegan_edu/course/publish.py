"""The published notebooks: what a student opens, made from the instructor's notebooks with solutions.

`notebooks/solutions/NN_*.ipynb` is the one source that is edited. Each exercise there is an
nbgrader solution cell (its answer between `### BEGIN SOLUTION` and `### END SOLUTION`) followed by an
autograded test cell whose `assert passed` sits between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS`.
Publishing strips both with nbgrader's own preprocessors (what `nbgrader generate_assignment` does),
runs the student version top to bottom at its CPU defaults (every exercise then reports NOT DONE YET and
the lesson goes on with the package's version), and keeps the outputs, minus what changes from run to
run without meaning anything (cell timings, widget model ids, the temporary folder it ran in):

    cyclegan-edu publish                      # notebooks/solutions/*.ipynb -> notebooks/*.ipynb
    cyclegan-edu publish --only 03 --only 08  # some of them

The result is what nbgrader would release, with outputs: an instructor can hand it out as it is.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import nbformat

from cyclegan_edu.config import smoke_requested
from cyclegan_edu.errors import InputNotFound, WouldOverwrite, require_extra

NEEDED_FOR = "Publishing the notebooks (cyclegan-edu publish)"  # nbgrader, of the [instructor] extra
REPOSITORY = Path(__file__).resolve().parents[2]  # the checkout this package was installed from (pip install -e)
SOURCE = REPOSITORY / "notebooks" / "solutions"
PUBLISHED = REPOSITORY / "notebooks"
VOLATILE_MIME = "application/vnd.jupyter.widget-view+json"  # a model id of a kernel that is gone: no state is saved
CELL_TIMEOUT_S = 1800  # the longest cell at CPU defaults (notebook 07's two runs) takes minutes, not half an hour


def student_version(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as nbgrader releases it: solutions replaced by stubs, hidden tests removed, no outputs.

    `enforce_metadata=True`: a solution region outside an nbgrader solution cell is an error here as it
    is in `nbgrader generate_assignment`."""
    preprocessors = require_extra("nbgrader.preprocessors", "instructor", NEEDED_FOR)
    resources: dict = {}
    notebook, resources = preprocessors.ClearSolutions(enforce_metadata=True).preprocess(notebook, resources)
    notebook, resources = preprocessors.ClearHiddenTests(enforce_metadata=True).preprocess(notebook, resources)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("cyclegan_edu", None)
    return notebook


def scrubbed(text: str, workdir: Path) -> str:
    """`text` with the temporary working folder written as `.` and the publisher's home folder as `~`."""
    for folder, shown in [(str(workdir.resolve()), "."), (str(workdir), "."), (str(Path.home()), "~")]:
        text = text.replace(folder, shown)
    return text


def without_volatile_outputs(notebook: nbformat.NotebookNode, workdir: Path) -> nbformat.NotebookNode:
    """Cell timings, widget views and the publisher's folders removed; everything else kept."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(VOLATILE_MIME, None)
            if "text" in output:
                output.text = scrubbed(output.text, workdir)
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output.data[mime] = scrubbed(value, workdir)
    return notebook


def execute(notebook: nbformat.NotebookNode, workdir: Path, kernel_name: str = "python3") -> None:
    """Run every cell in `workdir`; stops at the first error (`nbclient.exceptions.CellExecutionError`)."""
    nbclient = require_extra("nbclient", "instructor", NEEDED_FOR)
    nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name=kernel_name, record_timing=False,
                            resources={"metadata": {"path": str(workdir)}}).execute()


def publish_one(source: Path, destination: Path, kernel_name: str = "python3") -> float:
    """Write the executed student version of `source` to `destination`; returns the seconds it ran."""
    notebook = student_version(nbformat.read(source, as_version=4))
    with tempfile.TemporaryDirectory(prefix="cyclegan_edu_publish_") as folder:
        started = time.perf_counter()
        execute(notebook, Path(folder), kernel_name)
        seconds = time.perf_counter() - started
        notebook = without_volatile_outputs(notebook, Path(folder))
    notebook.metadata["cyclegan_edu"] = {"published_from": f"solutions/{source.name}", "smoke": smoke_requested()}
    nbformat.write(notebook, destination)
    return seconds


def chosen(sources: list[Path], only: Iterable[str]) -> list[Path]:
    """The notebooks whose names start with one of `only` (e.g. "03"); all of them when `only` is empty."""
    only = list(only)
    if not only:
        return sources
    picked = [path for path in sources if any(path.name.startswith(prefix) for prefix in only)]
    unknown = [prefix for prefix in only if not any(path.name.startswith(prefix) for path in sources)]
    if unknown:
        raise InputNotFound(f"--only {unknown[0]}: no notebook's name starts with it; the notebooks are "
                            f"{', '.join(path.name for path in sources)}.")
    return picked


def was_published(path: Path) -> bool:
    """True for a notebook this module wrote (its metadata says so): replacing it loses nothing."""
    try:
        return "published_from" in nbformat.read(path, as_version=4).metadata.get("cyclegan_edu", {})
    except Exception:  # unreadable or not a notebook: not ours, so never replaced without --overwrite
        return False


def publish(source: Path | str = SOURCE, destination: Path | str = PUBLISHED, only: Iterable[str] = (),
            kernel_name: str = "python3", overwrite: bool = False) -> list[Path]:
    """Publish every notebook of `source` (or those named by `only`) into `destination`; returns the paths.

    A notebook in `destination` that this command did not write (a student's work, perhaps) is replaced
    only with `overwrite`."""
    source, destination = Path(source), Path(destination)
    sources = sorted(source.glob("*.ipynb"))
    if not sources:
        raise InputNotFound(f"No notebooks in {source}: pass --source with the folder of the notebooks with "
                            "solutions (notebooks/solutions of a clone of the repository).")
    if destination.resolve() == source.resolve():
        raise WouldOverwrite("Publish into another folder than the notebooks with solutions: they are the source.")
    picked = chosen(sources, only)
    foreign = [destination / path.name for path in picked
               if (destination / path.name).exists() and not was_published(destination / path.name)]
    if foreign and not overwrite:
        raise WouldOverwrite(f"{foreign[0]} was not written by `cyclegan-edu publish` (someone's own notebook?): "
                             "choose another --out folder, or pass --overwrite to replace it.")
    require_extra("nbgrader.preprocessors", "instructor", NEEDED_FOR)  # before any folder is made
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for path in picked:
        seconds = publish_one(path, destination / path.name, kernel_name)
        print(f"{destination / path.name}: executed in {seconds:.0f} s")
        written.append(destination / path.name)
    return written
