"""Conventions of the instructor's notebooks (notebooks/solutions): install cell, `parameters` cell, nbgrader cells."""

import ast
import re
from pathlib import Path

import nbformat
import pytest

from cyclegan_edu import __version__
from cyclegan_edu.course import colab

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks" / "solutions"
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
CHECKER_CALL = re.compile(r"passed = (exercises\.)?check_\w+\(my_\w+|passed = (exercises\.)?check_\w+\(MyPool")


def nbgrader_cells(notebook):
    return [(index, cell, cell.metadata["nbgrader"]) for index, cell in enumerate(notebook.cells)
            if "nbgrader" in cell.metadata]


@pytest.mark.parametrize("path", EXERCISE_NOTEBOOKS, ids=[p.name for p in EXERCISE_NOTEBOOKS])
def test_each_exercise_is_an_nbgrader_solution_cell_then_a_graded_hidden_test(path):
    """Solution cell (answer between the markers) -> autograded cell: a visible check, a hidden `assert passed`."""
    notebook = nbformat.read(path, as_version=4)
    solutions = [i for i, cell in enumerate(notebook.cells) if "### BEGIN SOLUTION" in cell.source]
    assert solutions, f"{path.name}: no exercise"
    for index in solutions:
        cell, test = notebook.cells[index], notebook.cells[index + 1]
        assert cell.source.count("### BEGIN SOLUTION") == cell.source.count("### END SOLUTION")
        assert cell.metadata["nbgrader"]["solution"] and not cell.metadata["nbgrader"]["grade"]
        grading = test.metadata["nbgrader"]
        assert grading["grade"] and grading["points"] > 0 and grading["locked"] and not grading["solution"]
        assert grading["grade_id"] == cell.metadata["nbgrader"]["grade_id"] + "_check"
        visible, hidden = test.source.split("### BEGIN HIDDEN TESTS\n")
        assert CHECKER_CALL.match(visible), f"{path.name}: {visible!r}"
        assert hidden.startswith("assert passed") and hidden.rstrip().endswith("### END HIDDEN TESTS")
    marked = [index for index, _, meta in nbgrader_cells(notebook) if meta["solution"]]
    assert marked == solutions, f"{path.name}: only exercise cells are solution cells"


def test_grade_ids_are_unique_across_the_course():
    ids = [meta["grade_id"] for path in NOTEBOOKS for _, _, meta in nbgrader_cells(nbformat.read(path, as_version=4))]
    assert ids and len(ids) == len(set(ids))


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
    pyproject = (NOTEBOOK_DIR.parents[1] / "pyproject.toml").read_text()
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
    readme = (NOTEBOOK_DIR.parents[1] / "README.md").read_text()
    assert colab.repository_url() in readme
    for path in NOTEBOOKS:
        assert colab.colab_badge(path.name).split("](")[-1].rstrip(")") in readme, path.name
