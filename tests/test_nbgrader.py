"""nbgrader's own workflow on the course's notebooks, with its own commands and no check turned off.

`nbgrader generate_assignment` releases all nine notebooks; `nbgrader autograde` then grades three
submissions of notebooks 01 and 04 (three exercises, 3 points) in smoke mode: the release untouched
(blank), the release with the instructor's solutions filled in (solved), and the solved one with one
answer wrong (Exercise 2 of notebook 01, 1 point).
"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "notebooks" / "solutions"
GRADED = ["01_adversarial_loss.ipynb", "04_lsgan.ipynb"]
WRONG = ("ex01_non_saturating_loss", "F.softplus(-fake_logits).mean()", "-F.softplus(fake_logits).mean()")


def nbgrader(course: Path, *args: str) -> str:
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                   "CYCLEGAN_EDU_SMOKE": "1"}
    done = subprocess.run(["nbgrader", *args], cwd=course, env=environment, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"nbgrader {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def filled_in(release: Path, source: Path, wrong: tuple[str, str, str] | None = None) -> nbformat.NotebookNode:
    """The released notebook with every solution cell's answer typed in, as a student would hand it in."""
    notebook, answers = nbformat.read(release, as_version=4), nbformat.read(source, as_version=4)
    solutions = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in answers.cells
                 if cell.metadata.get("nbgrader", {}).get("solution")}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
            if wrong and grade_id == wrong[0]:
                assert wrong[1] in cell.source
                cell.source = cell.source.replace(wrong[1], wrong[2])
    return notebook


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "examples" / "nbgrader" / "nbgrader_config.py", course)
    shutil.copytree(SOLUTIONS, course / "source" / "all")
    (course / "source" / "graded").mkdir()
    for name in GRADED:
        shutil.copy(SOLUTIONS / name, course / "source" / "graded")
    nbgrader(course, "generate_assignment", "all")
    nbgrader(course, "generate_assignment", "graded")
    return course


def test_generate_assignment_releases_every_notebook_with_stubs_and_no_answers(course):
    released = sorted((course / "release" / "all").glob("*.ipynb"))
    assert [p.name for p in released] == [p.name for p in sorted(SOLUTIONS.glob("*.ipynb"))]
    for path in released[1:]:  # 00 has no exercise
        text = path.read_text()
        assert "raise NotImplementedError()" in text, path.name
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "assert passed" not in text


def test_autograde_scores_blank_zero_solved_full_and_one_wrong_answer_loses_its_points(course):
    release, source = course / "release" / "graded", course / "source" / "graded"
    for student, wrong in [("blank", None), ("solved", None), ("wrong", WRONG)]:
        folder = course / "submitted" / student / "graded"
        folder.mkdir(parents=True)
        for name in GRADED:
            if student == "blank":
                shutil.copy(release / name, folder / name)
            else:
                nbformat.write(filled_in(release / name, source / name, wrong), folder / name)
        nbgrader(course, "db", "student", "add", student)
    nbgrader(course, "autograde", "graded")
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv", newline="") as table:
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(table)}
    assert scores == {"blank": (0.0, 3.0), "solved": (3.0, 3.0), "wrong": (2.0, 3.0)}
