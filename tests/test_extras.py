"""A student install has no [instructor] or [fid] extra: the commands that need one say which to install.

`sys.modules[name] = None` makes `import name` fail as if the package were not installed.
"""

import sys

import pytest

from cyclegan_edu.course import grading, publish
from cyclegan_edu.errors import MissingExtra, UserError, require_extra
from cyclegan_edu.inception import standard_feature_extractor


def test_a_missing_extra_is_a_user_error_naming_the_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "papermill", None)
    with pytest.raises(MissingExtra) as caught:
        require_extra("papermill", "instructor", "Graded runs")
    assert isinstance(caught.value, UserError) and isinstance(caught.value, ImportError)
    assert str(caught.value).startswith("Graded runs needs papermill")
    assert 'pip install "cyclegan-edu[instructor]"' in str(caught.value)


def test_grade_without_papermill_asks_for_the_instructor_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "papermill", None)
    notebook = tmp_path / "08_full_training.ipynb"
    notebook.write_text("{}")  # never read: the check comes first
    with pytest.raises(MissingExtra, match=r'cyclegan-edu grade\) needs papermill.*"cyclegan-edu\[instructor\]"'):
        grading.grade([{"run_id": "a"}], tmp_path / "out", notebook=notebook)
    assert not (tmp_path / "out").exists()


def test_publishing_without_nbgrader_asks_for_the_instructor_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "nbgrader", None)
    monkeypatch.delitem(sys.modules, "nbgrader.preprocessors", raising=False)
    (tmp_path / "01_x.ipynb").write_text("{}")
    with pytest.raises(MissingExtra, match=r'publish\) needs nbgrader.*"cyclegan-edu\[instructor\]"'):
        publish.publish(tmp_path, tmp_path / "published")
    assert not (tmp_path / "published").exists()


def test_fid_without_torch_fidelity_asks_for_the_fid_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)
    with pytest.raises(MissingExtra, match=r'evaluate --fid\) needs torch-fidelity.*"cyclegan-edu\[fid\]"'):
        standard_feature_extractor(tmp_path, download=True)  # no download is tried
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_prints_it_as_one_line(monkeypatch, tmp_path, capsys):
    from cyclegan_edu.cli import main

    monkeypatch.setitem(sys.modules, "papermill", None)
    (tmp_path / "grid.yaml").write_text("- run_id: a\n")
    with pytest.raises(SystemExit) as stopped:
        main(["grade", "--grid", str(tmp_path / "grid.yaml"), "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert stopped.value.code == 1 and len(error.strip().splitlines()) == 1
    assert error.startswith("cyclegan-edu: error: ") and 'pip install "cyclegan-edu[instructor]"' in error
