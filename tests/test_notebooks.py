"""Notebook conventions (install cell, environment banner, `parameters` cell, smoke mode); nbgrader copies."""

import ast
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cyclegan_edu import __version__
from cyclegan_edu.course import colab
from cyclegan_edu.course.student_copies import student_copy, write_student_copies

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_notebooks_are_numbered_from_00_to_08():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == sorted(numbers) and all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in NOTEBOOKS)


def test_committed_without_outputs(notebook):
    path, nb = notebook
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear outputs before committing"


def test_first_code_cell_installs_on_colab_only(notebook):
    path, nb = notebook
    first = code_cells(nb)[0].source
    assert '"google.colab" in sys.modules' in first and "pip install" in first, path.name


def test_parameters_cell_holds_commented_literals(notebook):
    path, nb = notebook
    tagged = [c for c in code_cells(nb) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
    lines = [line for line in tagged[0].source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line in lines:
        statement = ast.parse(line).body[0]
        assert isinstance(statement, (ast.Assign, ast.AnnAssign)), f"{path.name}: {line!r} is not an assignment"
        ast.literal_eval(statement.value)  # literals only: papermill injects values, it does not recompute
        assert "#" in line, f"{path.name}: {line!r} needs a trailing comment (papermill --help-notebook shows it)"


def test_imports_the_package_and_hides_no_exception(notebook):
    path, nb = notebook
    source = "\n".join(cell.source for cell in code_cells(nb))
    assert "cyclegan_edu" in source
    assert not re.search(r"except\s*(Exception)?\s*:", source), f"{path.name}: no cell may swallow exceptions"


EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if not p.name.startswith("00")]  # 00 has none
CHECKER_IMPORTS = ("from cyclegan_edu.course.exercises import", "from cyclegan_edu.course.step_exercise import")


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=[p.name for p in EXERCISE_NOTEBOOKS])
def test_each_exercise_has_a_solution_region_and_a_checker(path):
    source = "\n".join(cell.source for cell in code_cells(nbformat.read(path, as_version=4)))
    assert source.count("### BEGIN SOLUTION") == source.count("### END SOLUTION") >= 1
    assert "exercises.check_" in source or any(line in source for line in CHECKER_IMPORTS)


def run_until_error(nb, cwd):
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except CellExecutionError as error:
        return error
    return None


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=[p.name for p in EXERCISE_NOTEBOOKS])
def test_student_copy_stops_at_its_first_exercise(path, tmp_path):
    original = nbformat.read(path, as_version=4)
    copy = student_copy(nbformat.read(path, as_version=4))
    assert "### BEGIN SOLUTION" not in "".join(c.source for c in copy.cells)
    error = run_until_error(copy, tmp_path)
    assert error is not None and error.ename == "NotImplementedError", f"{path.name}: {error}"
    first_stub = next(i for i, c in enumerate(copy.cells) if "raise NotImplementedError()" in c.source)
    executed = [c for c in copy.cells[:first_stub] if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in executed), "every cell before the first exercise ran"
    assert len(copy.cells) == len(original.cells)


def test_student_copies_command_writes_every_notebook(tmp_path):
    if not NOTEBOOKS:
        pytest.skip("no notebooks yet")
    written = write_student_copies(NOTEBOOK_DIR, tmp_path / "students")
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    with pytest.raises(FileExistsError):
        write_student_copies(NOTEBOOK_DIR, NOTEBOOK_DIR)


PARAMETER_TYPES = {"int": int, "float": float, "str": str, "bool": bool, "tuple": tuple}  # tuple: notebook 04 only


def test_papermill_infers_a_type_for_every_parameter(notebook):
    """`seed: int = 0  # help`: papermill --help-notebook shows the annotation, not 'Unknown type'."""
    import papermill

    path, _ = notebook
    found = papermill.inspect_notebook(str(path))
    assert found, f"{path.name}: papermill found no parameters"
    for name, info in found.items():
        type_name = info["inferred_type_name"]
        assert type_name in PARAMETER_TYPES, f"{path.name}: {name} needs an annotation (int, float, str, bool)"
        default = ast.literal_eval(info["default"])
        assert type(default) is PARAMETER_TYPES[type_name], f"{path.name}: {name}: {type_name} = {default!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_badge_and_install_cell_point_at_this_release_of_the_one_repository(path):
    notebook = nbformat.read(path, as_version=4)
    installs = [cell.source for cell in code_cells(notebook) if colab.INSTALL_MARKER in cell.source]
    assert installs == [colab.install_cell()], "run `python -m cyclegan_edu.course.colab`"
    assert "@v" + __version__ in installs[0]
    badges = [found for cell in notebook.cells if cell.cell_type == "markdown"
              for found in colab.BADGE_PATTERN.findall(cell.source)]
    assert badges == [colab.colab_badge(path.name)], "run `python -m cyclegan_edu.course.colab`"


def test_the_repository_url_is_pyprojects_and_syncing_rewrites_an_old_notebook_once(tmp_path):
    pyproject = (NOTEBOOK_DIR.parent / "pyproject.toml").read_text()
    urls = re.search(r"\[project\.urls\][^\n]*\nRepository = \"([^\"]+)\"", pyproject)
    assert urls and urls.group(1) == colab.repository_url()
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# x\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                                      "(https://colab.research.google.com/github/someone/fork/blob/main/notebooks/x.ipynb)"),
        nbformat.v4.new_code_cell('if "google.colab" in sys.modules:\n    %pip install -q something-else')])
    path = tmp_path / "01_x.ipynb"
    nbformat.write(notebook, path)
    assert colab.sync_notebook(path) and not colab.sync_notebook(path)
    synced = nbformat.read(path, as_version=4)
    assert synced.cells[0].source == "# x\n\n" + colab.colab_badge("01_x.ipynb")
    assert synced.cells[1].source == colab.install_cell()


def test_the_readme_links_every_notebook_of_this_release_on_colab():
    readme = (NOTEBOOK_DIR.parent / "README.md").read_text()
    assert colab.repository_url() in readme
    for path in NOTEBOOKS:
        assert colab.colab_badge(path.name).split("](")[-1].rstrip(")") in readme, path.name
