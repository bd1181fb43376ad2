"""The install story stays honest: CI runs the README's commands, conda matches pip."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge's name for the same package


def readme_code_lines() -> set[str]:
    return {line.strip() for line in (ROOT / "README.md").read_text().splitlines()}


def ci_command_after(marker: str) -> str:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return lines[lines.index(marker) + 1].strip()


@pytest.mark.parametrize("marker", ["# README install", "# README test"])
def test_ci_runs_the_readme_commands_word_for_word(marker):
    command = ci_command_after(marker)
    assert command in readme_code_lines(), f"{command!r} from .ci/run is not a line of README.md"


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def extra_requirements(project: dict, extra: str) -> list[str]:
    """The extra's requirements, with a self-reference such as "cyclegan-edu[instructor,fid]" expanded."""
    found = []
    for requirement in project["optional-dependencies"][extra]:
        own = re.fullmatch(re.escape(project["name"]) + r"\[([\w,\s-]+)\]", requirement)
        if own:  # pip installs the named extras of the package itself
            found += [r for name in own.group(1).split(",") for r in extra_requirements(project, name.strip())]
        else:
            found.append(requirement)
    return found


def test_environment_yml_lists_the_same_packages_as_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_names = requirement_names(project["dependencies"] + extra_requirements(project, "dev"))
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_names = {CONDA_NAMES.get(d.split("=")[0], d.split("=")[0]) for d in environment["dependencies"]
                   if isinstance(d, str)} - {"python", "pip"}
    assert conda_names == pip_names
    assert "python=3.11" in environment["dependencies"]


def test_console_script_points_at_the_cli():
    tomllib = pytest.importorskip("tomllib")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"cyclegan-edu": "cyclegan_edu.cli:main"}


def test_a_student_install_leaves_out_the_instructor_and_fid_packages():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert requirement_names(extra_requirements(project, "instructor")) == {"papermill", "nbgrader"}
    assert requirement_names(extra_requirements(project, "fid")) == {"torch-fidelity"}
    assert not requirement_names(project["dependencies"]) & {"papermill", "nbgrader", "torch-fidelity"}
    everything = requirement_names(extra_requirements(project, "dev"))
    assert {"papermill", "nbgrader", "torch-fidelity", "pytest", "nbval"} <= everything
