"""nbgrader's whole workflow on all nine notebooks, in smoke mode: the scores and seconds per student.

    python benchmarks/autograde_course.py        # needs the [instructor] extra (nbgrader)

`nbgrader generate_assignment` releases the nine notebooks; three students hand in the release
untouched (blank), with the instructor's answers typed in (solved), and with the answers but
Exercise 2 of notebook 01 wrong (wrong); `nbgrader autograde` grades each, timed, and `nbgrader export`
prints the grade table. tests/test_nbgrader.py runs the same commands on notebooks 01 and 04 in CI;
the README's "grading the exercises with nbgrader" quotes what this script measured.
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_nbgrader import REPO, SOLUTIONS, WRONG, filled_in, nbgrader  # noqa: E402 (the test's own helpers)

STUDENTS = {"blank": None, "solved": None, "wrong": WRONG}


def main() -> None:
    course = Path(tempfile.mkdtemp(prefix="cyclegan_edu_course_"))
    shutil.copy(REPO / "examples" / "nbgrader" / "nbgrader_config.py", course)
    shutil.copytree(SOLUTIONS, course / "source" / "all")
    nbgrader(course, "generate_assignment", "all")
    release, source = course / "release" / "all", course / "source" / "all"
    for student, wrong in STUDENTS.items():
        folder = course / "submitted" / student / "all"
        folder.mkdir(parents=True)
        for path in sorted(release.glob("*.ipynb")):
            if student == "blank":
                shutil.copy(path, folder / path.name)
            else:
                nbformat.write(filled_in(path, source / path.name, wrong), folder / path.name)
        nbgrader(course, "db", "student", "add", student)
    for student in STUDENTS:
        started = time.perf_counter()
        nbgrader(course, "autograde", "all", "--student", student)
        print(f"autograde {student}: {time.perf_counter() - started:.0f} s", flush=True)
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    print((course / "grades.csv").read_text())
    shutil.rmtree(course)


if __name__ == "__main__":
    main()
