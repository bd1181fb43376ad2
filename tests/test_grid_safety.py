"""Nothing in a grid of graded runs executes.

Papermill writes each row's values into the executed notebook as Python source: a str as an escaped
literal, but bytes, dates and other objects without escaping, so a YAML `!!binary` value once ran a shell
command. A grid now carries plain values of each parameter's own type only, and anything else is one
error line naming the file, row, run id and key, before any notebook runs. The notebook run here is a
tiny stand-in with notebook 08's parameters that writes down what it received.
"""

import base64
import csv
import datetime
import json
from pathlib import Path

import nbformat
import pytest

from cyclegan_edu.cli import main
from cyclegan_edu.course import grading
from cyclegan_edu.course.grading import GridError, grade, notebook_parameters, typed_value

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_08 = REPO / "notebooks" / "solutions" / "08_full_training.ipynb"

RECORD = """import json
from pathlib import Path

_path = Path(results_path)
_path.parent.mkdir(parents=True, exist_ok=True)
_received = {name: [type(value).__name__, value] for name, value in globals().items() if name in NAMES}
_path.write_text(json.dumps({"received": _received, "metrics": {}, "device": {"type": "cpu"}, "resumed": False,
                             "timings": {"seconds_per_iteration": 0.0}}))
"""


@pytest.fixture(scope="module")
def defaults():
    return notebook_parameters(NOTEBOOK_08)


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory, defaults) -> Path:
    """A notebook with notebook 08's parameters and defaults that writes what it received to results_path."""
    parameters = nbformat.v4.new_code_cell("\n".join(f"{name} = {default!r}" for name, default in defaults.items()))
    parameters.metadata["tags"] = ["parameters"]
    record = nbformat.v4.new_code_cell(RECORD.replace("NAMES", repr(sorted(defaults))))
    notebook = nbformat.v4.new_notebook(cells=[parameters, record])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    path = tmp_path_factory.mktemp("stand_in") / "stand_in.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def marker(tmp_path) -> Path:
    """The file every payload tries to create."""
    return tmp_path / "PWNED"


@pytest.fixture
def runs(monkeypatch) -> list:
    """The rows `grade` ran (each still runs)."""
    ran = []
    run_one = grading.run_one

    def counted(notebook, out, row, kernel_name):
        ran.append(row)
        return run_one(notebook, out, row, kernel_name)
    monkeypatch.setattr(grading, "run_one", counted)
    return ran


def breakout(marker: Path) -> bytes:
    """Bytes that papermill would write as `"b'"; open(MARKER, "w"); "'"`: they run code."""
    return f'"; open("{marker}", "w"); "'.encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# (id, grid file name, text (MARKER and B64 filled in), fragments the one error line holds)
HOSTILE = [
    ("yaml-binary", "g.yaml", "- run_id: alice\n  dataset: !!binary B64\n",
     ["row 1 (alice): dataset must be text, got binary data"]),
    ("yaml-binary-in-defaults", "g.yaml", "defaults:\n  data_root: !!binary B64\nruns:\n  - run_id: alice\n",
     ["row 1 (alice): data_root must be text, got binary data"]),
    ("yaml-binary-by-merge-key", "g.yaml",
     "- &base {run_id: alice, seed: 1}\n- <<: *base\n  run_id: bob\n  adversarial: !!binary B64\n",
     ["row 2 (bob): adversarial must be true or false, got binary data"]),
    ("yaml-python-apply", "g.yaml",
     "- run_id: alice\n  dataset: !!python/object/apply:os.system ['touch MARKER']\n",
     ["line 2: not valid YAML", "python/object/apply:os.system"]),
    ("yaml-python-name", "g.yaml", "- run_id: alice\n  dataset: !!python/name:os.system\n",
     ["line 2: not valid YAML", "python/name:os.system"]),
    ("yaml-python-new", "g.yaml",
     "- run_id: alice\n  dataset: !!python/object/new:subprocess.Popen [['touch', 'MARKER']]\n",
     ["line 2: not valid YAML", "python/object/new:subprocess.Popen"]),
    ("yaml-python-tag-as-run-id", "g.yaml", "- run_id: !!python/object/apply:os.getcwd []\n",
     ["line 1: not valid YAML", "python/object/apply:os.getcwd"]),
    ("yaml-date", "g.yaml", "- run_id: alice\n  dataset: 2024-01-01\n",
     ["row 1 (alice): dataset must be text, got a date (quote it to pass it as text)"]),
    ("yaml-timestamp", "g.yaml", "- run_id: alice\n  drive_folder: 2024-01-01 10:00:00\n",
     ["row 1 (alice): drive_folder must be text, got a date and time"]),
    ("yaml-impossible-date", "g.yaml", "- run_id: alice\n  dataset: 2024-13-45\n",
     ["cannot read the grid (month must be in 1..12)"]),
    ("yaml-list", "g.yaml", "- run_id: alice\n  dataset: [\"x\", \"MARKER\"]\n",
     ["row 1 (alice): dataset must be text, got a list"]),
    ("yaml-mapping", "g.yaml", "- run_id: alice\n  dataset: {path: MARKER}\n",
     ["row 1 (alice): dataset must be text, got a mapping"]),
    ("yaml-set", "g.yaml", "- run_id: alice\n  dataset: !!set {a: null}\n", ["dataset must be text, got a set"]),
    ("yaml-omap", "g.yaml", "- run_id: alice\n  preset: !!omap [a: 1]\n", ["preset must be text, got a list"]),
    ("yaml-null", "g.yaml", "- run_id: alice\n  dataset: ~\n", ["row 1 (alice): dataset must be text, got null"]),
    ("yaml-bool-for-text", "g.yaml", "- run_id: alice\n  dataset: yes\n",
     ["row 1 (alice): dataset must be text, got true (true/false)"]),
    ("yaml-text-for-bool", "g.yaml", "- run_id: alice\n  adversarial: \"false\"\n",
     ["row 1 (alice): adversarial must be true or false, got the text 'false'"]),
    ("yaml-bool-for-int", "g.yaml", "- run_id: alice\n  epochs: true\n",
     ["row 1 (alice): epochs must be a whole number, got true (true/false)"]),
    ("yaml-float-for-int", "g.yaml", "- run_id: alice\n  epochs: 2.5\n",
     ["row 1 (alice): epochs must be a whole number, got the number 2.5"]),
    ("yaml-bool-for-float", "g.yaml", "- run_id: alice\n  cycle_weight: false\n",
     ["row 1 (alice): cycle_weight must be a finite number, got false (true/false)"]),
    ("yaml-nan", "g.yaml", "- run_id: alice\n  cycle_weight: .nan\n",
     ["cycle_weight must be a finite number, got the number nan"]),
    ("yaml-overflow", "g.yaml", "- run_id: alice\n  identity_weight: 1.0e+400\n",
     ["identity_weight must be a finite number, got the number inf"]),
    ("yaml-number-as-text", "g.yaml", "- run_id: alice\n  identity_weight: 1e-5\n",
     ["identity_weight must be a finite number, got the text '1e-5' (a number as text: unquote it"]),
    ("yaml-newline-breakout", "g.yaml",
     "- run_id: alice\n  dataset: \"\\\"\\nimport os; os.system('touch MARKER')\\n\\\"\"\n",
     ["row 1 (alice): dataset must be one line of printable text, got the character U+000A"]),
    ("yaml-line-separator", "g.yaml", "- run_id: alice\n  dataset: \"x\\u2028open('MARKER', 'w')\"\n",
     ["dataset must be one line of printable text, got the character U+2028"]),
    ("yaml-carriage-return", "g.yaml", "- run_id: alice\n  dataset: \"x\\ropen('MARKER', 'w')\"\n",
     ["got the character U+000D"]),
    ("yaml-nul", "g.yaml", "- run_id: alice\n  dataset: \"x\\0\"\n", ["got the character U+0000"]),
    ("yaml-tab", "g.yaml", "- run_id: alice\n  dataset: \"x\\ty\"\n", ["got the character U+0009"]),
    ("yaml-next-line", "g.yaml", "- run_id: alice\n  dataset: \"x\\N\"\n", ["got the character U+0085"]),
    ("yaml-bidi-override", "g.yaml", "- run_id: alice\n  dataset: \"x\\u202Ey\"\n", ["got the character U+202E"]),
    ("yaml-run-id-number", "g.yaml", "- run_id: 007\n",
     ["row 1: run_id must be text (quote it in YAML), got the number 7"]),
    ("yaml-run-id-list", "g.yaml", "- run_id: [a]\n", ["row 1: run_id must be text (quote it in YAML), got a list"]),
    ("yaml-run-id-path", "g.yaml", "- run_id: ../../x\n", ["row 1: run_id '../../x' must be unique and made of"]),
    ("yaml-run-id-newline", "g.yaml", "- run_id: \"a\\nb\"\n", ["row 1: run_id 'a\\nb' must be unique and made of"]),
    ("yaml-run-id-too-long", "g.yaml", f"- run_id: {'a' * 101}\n", ["at most 100 characters"]),
    ("yaml-merge-repeats-run-id", "g.yaml", "- &base {run_id: alice}\n- <<: *base\n",
     ["row 2: run_id 'alice' must be unique"]),
    ("yaml-defaults-run-id", "g.yaml", "defaults: {run_id: alice}\nruns:\n  - {seed: 1}\n",
     ["`defaults:` cannot hold run_id"]),
    ("yaml-defaults-list", "g.yaml", "defaults: [seed]\nruns:\n  - run_id: alice\n",
     ["`defaults:` must be a mapping of parameters, got a list"]),
    ("yaml-defaults-grader-parameter", "g.yaml", "defaults: {results_path: MARKER}\nruns:\n  - run_id: alice\n",
     ["row 1 (alice): results_path are set by the grader"]),
    ("yaml-number-key", "g.yaml", "- run_id: alice\n  1: x\n", ["row 1 (alice): unknown parameter(s) 1;"]),
    ("yaml-binary-key", "g.yaml", "- run_id: alice\n  ? !!binary B64\n  : x\n",
     ["row 1 (alice): unknown parameter(s) b'"]),
    ("yaml-unknown-top-level-key", "g.yaml", "base: {seed: 1}\nruns:\n  - run_id: alice\n",
     ["unknown key(s) 'base' beside `runs:`"]),
    ("yaml-syntax", "g.yaml", "- run_id: alice\n  seed: [1\n", ["not valid YAML"]),
    ("yaml-bad-indent", "g.yml", "- run_id: alice\n seed: 1\n", ["line 2: not valid YAML"]),
    ("yaml-two-documents", "g.yaml", "- run_id: a\n---\n- run_id: b\n", ["line 2: not valid YAML", "single document"]),
    ("yaml-empty", "g.yaml", "", ["the grid is empty"]),
    ("yaml-scalar", "g.yaml", "hello\n", ["expected a list of runs", "got the text 'hello'"]),
    ("yaml-row-not-mapping", "g.yaml", "- run_id: a\n- [b]\n", ["row 2: expected a mapping of run_id and parameters"]),
    ("yaml-no-runs", "g.yaml", "runs: []\n", ["the grid holds no runs"]),
    ("yaml-huge-number", "g.yaml", f"- run_id: alice\n  seed: {'9' * 5000}\n", ["cannot read the grid"]),
    ("yaml-deep-nesting", "g.yaml", "- run_id: alice\n  dataset: " + "[" * 20000 + "]" * 20000 + "\n",
     ["cannot read the grid: it is nested too deeply"]),
    ("yaml-unknown-tag", "g.yaml", "- run_id: alice\n  dataset: !foo bar\n",
     ["line 2: not valid YAML for a grid (could not determine a constructor for the tag '!foo')"]),
    ("yaml-bad-timezone", "g.yaml", "- run_id: alice\n  dataset: 2001-12-14 21:59:43.10 +99:00\n",
     ["cannot read the grid (offset must be a timedelta"]),
    ("yaml-float-tag", "g.yaml", "- run_id: alice\n  dataset: !!float 1\n",
     ["row 1 (alice): dataset must be text, got the number 1.0"]),
    ("yaml-binary-run-id", "g.yaml", "- run_id: !!binary B64\n",
     ["row 1: run_id must be text (quote it in YAML), got binary"]),
    ("yaml-bool-key", "g.yaml", "- run_id: alice\n  yes: 1\n", ["row 1 (alice): unknown parameter(s) True;"]),
    ("csv-newline-breakout", "g.csv",
     "run_id,dataset\nalice,\"\"\"\nimport os; os.system(\"\"touch MARKER\"\")\n\"\"\"\n",
     ["row 1 (alice): dataset must be one line of printable text, got the character U+000A"]),
    ("csv-line-separator", "g.csv", "run_id,dataset\nalice,x\u2028open('MARKER'; 'w')\n", ["got the character U+2028"]),
    ("csv-stray-quote", "g.csv", "run_id,dataset\nalice,\"a\"b\n", ["line 2: not valid CSV"]),
    ("csv-unclosed-quote", "g.csv", "run_id,dataset\nalice,\"abc\nbob,x\n",
     ["not valid CSV", "unexpected end of data"]),
    ("csv-ragged-long", "g.csv", "run_id,seed\nalice,1,2\n", ["line 2: 3 cell(s) where the header has 2 columns"]),
    ("csv-ragged-short", "g.csv", "run_id,seed,epochs\nalice,1,2\nbob\n",
     ["line 3: 1 cell(s) where the header has 3 columns"]),
    ("csv-repeated-column", "g.csv", "run_id,seed,seed\nalice,1,2\n", ["column(s) 'seed' appear more than once"]),
    ("csv-empty", "g.csv", "", ["the grid is empty"]),
    ("csv-header-only", "g.csv", "run_id,seed\n", ["the grid holds no runs"]),
    ("csv-text-for-bool", "g.csv", "run_id,adversarial\nalice,maybe\n",
     ["row 1 (alice): adversarial='maybe' must be true or false"]),
    ("csv-float-for-int", "g.csv", "run_id,epochs\nalice,2.5\n",
     ["row 1 (alice): epochs='2.5' must be a whole number"]),
    ("csv-nan", "g.csv", "run_id,cycle_weight\nalice,nan\n",
     ["row 1 (alice): cycle_weight must be a finite number, got the number nan"]),
    ("csv-run-id-path", "g.csv", "run_id,seed\n../x,1\n", ["row 1: run_id '../x' must be unique and made of"]),
    ("csv-grader-parameter", "g.csv", "run_id,checkpoint_dir\nalice,MARKER\n",
     ["checkpoint_dir are set by the grader"]),
    ("csv-nul", "g.csv", "run_id,dataset\nalice,x\x00y\n",
     ["dataset must be one line of printable text, got the character U+0000"]),
    ("csv-inf", "g.csv", "run_id,cycle_weight\nalice,-inf\n",
     ["cycle_weight must be a finite number, got the number -inf"]),
    ("csv-huge-int", "g.csv", "run_id,seed\nalice," + "9" * 5000 + "\n",
     ["row 1 (alice): seed='99", "must be a whole number"]),
    ("csv-empty-header-cell", "g.csv", "run_id,,seed\nalice,x,1\n", ["row 1 (alice): unknown parameter(s) '';"]),
    ("csv-not-utf8", "g.csv", b"run_id,dataset\nalice,\xff\xfe\n", ["not UTF-8 text"]),
]


@pytest.mark.parametrize("name, text, fragments", [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_a_hostile_grid_is_one_error_line_and_nothing_runs(name, text, fragments, stand_in, marker, runs, tmp_path,
                                                           capsys):
    grid, out = tmp_path / name, tmp_path / "graded"
    if isinstance(text, bytes):
        grid.write_bytes(text)
    else:
        grid.write_text(text.replace("B64", b64(breakout(marker))).replace("MARKER", str(marker)), encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["grade", "--grid", str(grid), "--out", str(out), "--notebook", str(stand_in)])
    captured = capsys.readouterr()
    assert stopped.value.code == 2 and captured.out == ""
    assert captured.err.startswith(f"cyclegan-edu: error: {grid}: ") and captured.err.count("\n") == 1, captured.err
    for fragment in fragments:
        assert fragment in captured.err, captured.err
    assert runs == [] and not marker.exists() and not out.exists()


class Sneaky:
    """An object whose text breaks out of papermill's quotes (papermill writes `"{value}"` for unknown types)."""

    def __init__(self, marker):
        self.marker = marker

    def __str__(self):
        return f'"; open("{self.marker}", "w"); "'


@pytest.mark.parametrize("value, fragment", [
    (bytearray(b"x"), "dataset must be text, got binary data"),
    (memoryview(b"x"), "dataset must be text, got binary data"),
    (("a", "b"), "dataset must be text, got a list"),
    (frozenset("a"), "dataset must be text, got a set"),
    (datetime.time(1, 2), "dataset must be text, got a time object"),
    ("sneaky", "dataset must be text, got a Sneaky object"),
    ("str-subclass", "dataset must be text, got a Text object"),
])
def test_a_grid_given_as_rows_takes_plain_values_only(value, fragment, defaults, stand_in, marker, runs, tmp_path):
    if value == "sneaky":
        value = Sneaky(marker)
    elif value == "str-subclass":
        value = type("Text", (str,), {})("x")
    with pytest.raises(GridError, match="^row 1 \\(alice\\): ") as refused:
        grade([{"run_id": "alice", "dataset": value}], tmp_path / "graded", notebook=stand_in)
    assert fragment in str(refused.value) and "\n" not in str(refused.value)
    assert runs == [] and not marker.exists() and not (tmp_path / "graded").exists()


def injected_cell(notebook: Path, parameters: dict) -> str:
    """The source of the cell papermill injects for `parameters` (as `execute_notebook` does, without running)."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    cells = parameterize_notebook(load_notebook_node(str(notebook)), parameters).cells
    return next(cell.source for cell in cells if "injected-parameters" in cell.metadata.get("tags", []))


def test_the_payloads_are_real_papermill_runs_them_unchecked(stand_in, defaults, marker):
    """Without the checks, !!binary data and an object with a crafted str() run code in the injected cell."""
    for value in (breakout(marker), Sneaky(marker)):
        marker.unlink(missing_ok=True)
        exec(injected_cell(stand_in, {"dataset": value}), {})
        assert marker.exists()
        with pytest.raises(ValueError, match="must be text"):
            typed_value(value, defaults["dataset"])


# Text that tries to leave papermill's string literal. One line of printable text is accepted; papermill
# escapes it (backslashes, then quotes, non-ASCII as \\uXXXX). Text with line breaks or control characters
# is refused all the same, though papermill escapes it too.
ACCEPTED = [
    '"; open("MARKER", "w"); "', "'; open('MARKER', 'w'); '", "'''", '"""', '""" + open("MARKER", "w").name + """',
    '\\', '\\"', '\\\\"', '\\"; open("MARKER", "w"); \\"', "\\x22; open('MARKER', 'w')", "\\N{QUOTATION MARK}",
    "\\u2028", "{open('MARKER', 'w')}", "x # comment", "données ✓ 日本 🦓", " leading and trailing ",
]
REFUSED = [
    "\"\nimport os; os.system('touch MARKER')\n\"", "x\r\nopen('MARKER', 'w')", "x\u2028open('MARKER', 'w')",
    "x\u2029y", "x\x85y", "x\x00y", "x\ty", "x\x0b\x0c\x1cy", "x\u202ey", "\ud800",
]


@pytest.mark.parametrize("text", ACCEPTED + REFUSED)
def test_papermill_writes_text_back_exactly_and_runs_nothing(text, stand_in, defaults, marker):
    text = text.replace("MARKER", str(marker))
    if text in (t.replace("MARKER", str(marker)) for t in ACCEPTED):
        assert typed_value(text, defaults["dataset"]) == text
    else:
        with pytest.raises(ValueError, match="must be one line of printable text, got the character U\\+"):
            typed_value(text, defaults["dataset"])
    source = injected_cell(stand_in, {"dataset": text, "epochs": 3, "cycle_weight": 2.0, "resume": False})
    assert source.isascii() and len(source.strip().split("\n")) == 5, source
    namespace: dict = {}
    exec(source, namespace)
    assert namespace["dataset"] == text and (namespace["epochs"], namespace["cycle_weight"]) == (3, 2.0)
    assert namespace["resume"] is False and not marker.exists()


def test_plain_values_arrive_exactly_with_their_types(stand_in, marker, runs, tmp_path, capsys):
    """A real papermill run of the stand-in: text that looks like code arrives as text, numbers and switches typed."""
    tricky = '"; open("MARKER", "w"); "'.replace("MARKER", str(marker)) + " ''' \\"  # ends in a backslash
    grid = tmp_path / "grid.yaml"
    grid.write_text(json.dumps([{"run_id": "alice", "dataset": tricky, "preset": "smoke", "epochs": 3,
                                 "cycle_weight": 5, "identity_weight": 0.25, "adversarial": False,
                                 "drive_folder": "données/🦓"}], ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    cell = '"' + tricky.replace('"', '""') + '"'
    (tmp_path / "grid.csv").write_text(f"\ufeffrun_id,dataset,seed,cycle_weight,resume\nbob,{cell},7,2,no\n",
                                       encoding="utf-8")  # with Excel's byte order mark
    out = tmp_path / "graded"
    assert main(["grade", "--grid", str(grid), "--out", str(out), "--notebook", str(stand_in)]) == 0
    assert grade(tmp_path / "grid.csv", out, notebook=stand_in, log=lambda line: None)[0]["status"] == "ok"
    assert [row["run_id"] for row in runs] == ["alice", "bob"] and not marker.exists()
    alice = json.loads((out / "alice" / "results.json").read_text())["received"]
    assert alice["dataset"] == ["str", tricky] and alice["preset"] == ["str", "smoke"]
    assert alice["epochs"] == ["int", 3] and alice["cycle_weight"] == ["float", 5.0]
    assert alice["identity_weight"] == ["float", 0.25] and alice["adversarial"] == ["bool", False]
    assert alice["drive_folder"] == ["str", "données/🦓"] and alice["run_id"] == ["str", "alice"]
    assert alice["interactive"] == ["bool", False] and alice["results_path"][1] == str(out / "alice" / "results.json")
    bob = json.loads((out / "bob" / "results.json").read_text())["received"]
    assert bob["dataset"] == ["str", tricky] and bob["seed"] == ["int", 7]
    assert bob["cycle_weight"] == ["float", 2.0] and bob["resume"] == ["bool", False]
    assert bob["gan_loss"] == ["str", "lsgan"]  # not in the grid: the notebook's default


@pytest.mark.parametrize("text", ['=HYPERLINK("http://example.invalid","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_summary_csv_cells_never_start_a_spreadsheet_formula(tmp_path, text):
    rows = [{"run_id": "a", "status": "failed", "dataset": text, "psnr_AtoB": -1.5, "error": text}]
    grading.write_summary(rows, tmp_path, ["dataset"])
    with (tmp_path / "summary.csv").open(newline="") as file:
        (row,) = list(csv.DictReader(file))
    assert row["dataset"] == row["error"] == "'" + text and row["psnr_AtoB"] == "-1.5"
