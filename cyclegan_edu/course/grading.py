"""Graded runs of notebook 08 with papermill: one run per row of a grid, then summary.csv and summary.md.

    grade(grid, out)   the notebook once per row, keeping going past failures; the summary after every row
    grade(grid, out, jobs=JobOptions(jobs=3))   three rows at once (or on Slurm: `jobs.JobOptions`)

A grid is YAML (a list of mappings, or a mapping with `runs:` and optional `defaults:`) or CSV
(header `run_id,param1,param2,...`); each row names a run id and the parameters it overrides. Each
run writes its `results.json` (see `run_plan.write_results`), which the summary collects.

Papermill writes each row's values into the executed notebook as Python source, so a grid holds plain
values only, each of the type of the notebook's default for that parameter: one line of printable text,
a finite number, true/false (`typed_value`). Anything else (binary data, dates, lists, mappings, YAML
tags, text with newlines or control characters) is refused, with the file, row, run id and key, before
any run starts.
"""

from __future__ import annotations

import ast
import csv
import datetime
import io
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from cyclegan_edu.config import ConfigError
from cyclegan_edu.errors import InputNotFound, require_extra
from cyclegan_edu.jobs import JobOptions, run_rows

NOTEBOOK_NAME = "08_full_training.ipynb"  # the notebook a grid runs, by default
GRADER_PARAMETERS = ("checkpoint_dir", "results_path", "interactive")  # set by `grade` for every run
SUMMARY_METRICS = ("psnr", "psnr_identity", "ssim", "diversity", "fid", "kid")
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
NEEDED_FOR = "Graded runs (cyclegan-edu grade)"  # what papermill, of the [instructor] extra, is needed for


class GridError(ConfigError):
    """A grid of graded runs that cannot be run; the message names the row and the field."""


def default_notebook() -> Path:
    """notebooks/solutions/08_full_training.ipynb (the instructor's version) of this package's repository."""
    path = Path(__file__).resolve().parents[2] / "notebooks" / "solutions" / NOTEBOOK_NAME  # beside cyclegan_edu/
    if not path.is_file():
        raise InputNotFound(f"{NOTEBOOK_NAME} is not beside this installation of cyclegan_edu (looked for "
                            f"{path}): pass --notebook PATH to the notebook.")
    return path


def notebook_parameters(notebook: Path | str) -> dict[str, Any]:
    """The notebook's `parameters` cell as {name: default value} (papermill reads it)."""
    papermill = require_extra("papermill", "instructor", NEEDED_FOR)

    found = papermill.inspect_notebook(str(notebook))
    return {name: ast.literal_eval(info["default"]) for name, info in found.items()}


BOOL_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
RUN_ID_MAX = 100  # characters: the run id names a folder and a notebook file
GRID_KEYS = ("defaults", "runs")  # the keys of a YAML grid that is a mapping


def shown(value: Any, limit: int = 40) -> str:
    """repr(value), cut to about `limit` characters: always one line, whatever the value holds."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def described(value: Any) -> str:
    """What a grid value is, in words, for an error message (one line)."""
    if value is None:
        return "null (no value; leave the key out to keep the notebook's default)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if type(value) in (int, float):
        return f"the number {shown(value)}"
    if type(value) is str:
        try:
            float(value)
        except ValueError:
            return f"the text {shown(value)}"
        return (f"the text {shown(value)} (a number as text: unquote it; in YAML an exponent needs a dot and a sign, "
                "as in 1.0e-5)")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "binary data"
    if isinstance(value, datetime.datetime):
        return "a date and time (quote it to pass it as text)"
    if isinstance(value, datetime.date):
        return "a date (quote it to pass it as text)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (set, frozenset)):
        return "a set"
    return f"a {type(value).__name__} object"


def unprintable(text: str) -> str | None:
    """The first character of `text` that is not printable (newline, tab, other control and format
    characters, line and paragraph separators such as U+2028), as U+XXXX; None where there is none."""
    bad = next((char for char in text if not char.isprintable()), None)
    return None if bad is None else f"U+{ord(bad):04X}"


def finite(number: int | float) -> bool:
    """Whether a number is a float other than inf and nan (an int too large for a float is not)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def parse_value(text: str, default: Any) -> Any:
    """A CSV cell as the type of the parameter's default: "false" -> False, "0.5" -> 0.5; text stays text.

    Raises ValueError saying what is expected."""
    if isinstance(default, bool):
        lowered = text.strip().lower()
        if lowered not in BOOL_WORDS:
            raise ValueError("must be true or false (true, false, yes, no, 1 or 0)")
        return BOOL_WORDS[lowered]
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError("must be a whole number") from None
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            raise ValueError("must be a number") from None
    return text


def typed_value(value: Any, default: Any) -> Any:
    """`value` if it is a plain value of the type of the parameter's default (an int for a float is made a
    float), else ValueError saying what is expected.

    Only these reach papermill, which writes each parameter into the notebook as Python source: a str as
    an escaped string literal, but other objects (bytes, dates, ...) without escaping, so that they could
    run code. Text is one line of printable characters, numbers are finite."""
    if isinstance(default, bool):
        if type(value) is bool:
            return value
        raise ValueError(f"must be true or false, got {described(value)}")
    if isinstance(default, int):
        if type(value) is int:
            return value
        raise ValueError(f"must be a whole number, got {described(value)}")
    if isinstance(default, float):
        if type(value) in (int, float) and finite(value):
            return float(value)
        raise ValueError(f"must be a finite number, got {described(value)}")
    if isinstance(default, str):
        if type(value) is not str:
            raise ValueError(f"must be text, got {described(value)}")
        bad = unprintable(value)
        if bad:
            raise ValueError(f"must be one line of printable text, got the character {bad} in {described(value)}")
        return value
    if default is None:  # no type to follow: any plain value
        if value is None or type(value) is bool:
            return value
        if type(value) in (int, float) and finite(value):
            return value
        if type(value) is str and not unprintable(value):
            return value
        raise ValueError(f"must be one line of printable text, a finite number, true/false or null, "
                         f"got {described(value)}")
    raise ValueError(f"cannot be set by a grid (the notebook's default is {described(default)})")


def flat(error: BaseException, limit: int = 200) -> str:
    """An exception's message on one line, cut to about `limit` characters."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # utf-8-sig: a byte order mark (Excel's CSV) is dropped
    except UnicodeDecodeError as error:
        raise GridError(f"{path}: not UTF-8 text (byte {error.start}); save the grid as UTF-8.") from None
    except OSError as error:
        raise GridError(f"{path}: cannot read the grid ({error.strerror or flat(error)}).") from None


def read_csv_grid(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV grid: a header, then one row per run with as many cells; an empty cell keeps the default."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)  # lines end at \n, \r only
    try:
        header = next(reader, None)
        if header is None:
            raise GridError(f"{path}: the grid is empty; expected a header run_id,parameter,... and one row per run.")
        names = [name.strip() for name in header]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise GridError(f"{path}: line 1: column(s) {', '.join(map(shown, repeated))} appear more than once.")
        rows = []
        for cells in reader:
            if not cells:  # a blank line
                continue
            if len(cells) != len(names):
                raise GridError(f"{path}: line {reader.line_num}: {len(cells)} cell(s) where the header has "
                                f"{len(names)} columns; every row needs one cell per column (empty keeps the default).")
            rows.append({name: cell for name, cell in zip(names, cells) if cell.strip() != ""})
    except csv.Error as error:
        raise GridError(f"{path}: line {reader.line_num}: not valid CSV ({flat(error)}).") from None
    return rows


def read_grid(path: Path | str) -> list[dict[str, Any]]:
    """Rows of a YAML or CSV grid, each a dict with `run_id` and overrides (CSV values still text).

    A grid that cannot be read is one GridError naming the file (and the line, where known); the values
    are checked by `check_grid`."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFound(f"No grid at {path}.")
    if path.suffix.lower() == ".csv":
        return read_csv_grid(path)
    import yaml

    expected = ("expected a list of runs (mappings with run_id and parameters), or a mapping with `runs:` "
                "holding that list")
    try:
        content = yaml.safe_load(read_text(path))  # safe_load: no Python objects, a !!python/... tag is an error
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}: " if mark else ""
        what = " ".join(part for part in (error.context, error.problem) if part)
        raise GridError(f"{path}: {where}not valid YAML for a grid ({flat(what or error)}); a grid holds plain "
                        "values only: text, numbers, true/false.") from None
    except yaml.YAMLError as error:
        raise GridError(f"{path}: not valid YAML ({flat(error)}).") from None
    except RecursionError:
        raise GridError(f"{path}: cannot read the grid: it is nested too deeply.") from None
    except (ValueError, OverflowError) as error:  # e.g. a date that does not exist: 2024-13-45
        raise GridError(f"{path}: cannot read the grid ({flat(error)}); quote text that looks like a date "
                        "or a number.") from None
    if content is None:
        raise GridError(f"{path}: the grid is empty; {expected}.")
    defaults: Any = {}
    if isinstance(content, dict):
        if "runs" not in content:
            raise GridError(f"{path}: {expected}.")
        extra = [key for key in content if key not in GRID_KEYS]
        if extra:
            raise GridError(f"{path}: unknown key(s) {', '.join(map(shown, extra))} beside `runs:`; a grid mapping "
                            "holds `runs:` and optionally `defaults:`.")
        defaults, content = content.get("defaults"), content["runs"]
        defaults = {} if defaults is None else defaults
        if not isinstance(defaults, dict):
            raise GridError(f"{path}: `defaults:` must be a mapping of parameters, got {described(defaults)}.")
        if "run_id" in defaults:
            raise GridError(f"{path}: `defaults:` cannot hold run_id; each run names its own.")
    if not isinstance(content, list):
        raise GridError(f"{path}: {expected}; got {described(content)}.")
    for number, row in enumerate(content, start=1):
        if not isinstance(row, dict):
            raise GridError(f"{path}: row {number}: expected a mapping of run_id and parameters, "
                            f"got {described(row)}.")
    return [{**defaults, **row} for row in content]


def check_grid(rows: list[dict[str, Any]], known: Mapping[str, Any], csv_text: bool = False,
               source: Path | str | None = None) -> list[dict[str, Any]]:
    """Every row has a unique, file-safe run_id and only the notebook's parameters, each a plain value of
    the type of its default (see `typed_value`); CSV text is typed first. `source` (the grid file) starts
    every message."""
    prefix = f"{source}: " if source else ""
    seen: set[str] = set()
    checked = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise GridError(f"{prefix}row {number}: expected a mapping of run_id and parameters, got {described(row)}.")
        run_id = row.get("run_id", "")
        if type(run_id) is not str:
            raise GridError(f"{prefix}row {number}: run_id must be text (quote it in YAML), got {described(run_id)}.")
        if not RUN_ID_PATTERN.fullmatch(run_id) or len(run_id) > RUN_ID_MAX or run_id in seen:
            raise GridError(f"{prefix}row {number}: run_id {shown(run_id)} must be unique and made of letters, "
                            f"digits, _ . - (starting with a letter or digit, at most {RUN_ID_MAX} characters).")
        seen.add(run_id)
        where = f"{prefix}row {number} ({run_id})"
        unknown = [key for key in row if key not in known]
        if unknown:
            names = ", ".join(key if type(key) is str and key.isidentifier() else shown(key) for key in unknown)
            raise GridError(f"{where}: unknown parameter(s) {names}; the notebook has {', '.join(known)}.")
        reserved = [key for key in row if key in GRADER_PARAMETERS]
        if reserved:
            raise GridError(f"{where}: {', '.join(reserved)} are set by the grader.")
        typed = {}
        for name, value in row.items():
            if name == "run_id":
                typed[name] = run_id
                continue
            if csv_text and type(value) is str:
                try:
                    value = parse_value(value, known[name])
                except ValueError as error:
                    raise GridError(f"{where}: {name}={shown(value)} {error}.") from None
            try:
                typed[name] = typed_value(value, known[name])
            except ValueError as error:
                raise GridError(f"{where}: {name} {error}.") from None
        typed["run_id"] = run_id
        checked.append(typed)
    if not checked:
        raise GridError(f"{prefix}the grid holds no runs.")
    return checked


def flatten_metrics(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """{"AtoB": {"psnr": 20.1}} -> {"psnr_AtoB": 20.1}; numbers only."""
    return {f"{name}_{direction}": value for direction, scores in metrics.items()
            for name, value in scores.items() if isinstance(value, (int, float)) and not isinstance(value, bool)}


def run_one(notebook: Path, out: Path, row: dict[str, Any], kernel_name: str | None) -> dict[str, Any]:
    """Execute the notebook for one row into out/RUN_ID.ipynb; a failed run is reported, not raised."""
    papermill = require_extra("papermill", "instructor", NEEDED_FOR)
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    run_id = row["run_id"]
    results_path = out / run_id / "results.json"
    results_path.unlink(missing_ok=True)  # present afterwards only if this run succeeded
    parameters = {**row, "checkpoint_dir": str(out / run_id / "run"), "results_path": str(results_path),
                  "interactive": False}
    summary: dict[str, Any] = {"run_id": run_id, "status": "ok",
                               **{k: v for k, v in row.items() if k != "run_id"}}
    started = time.perf_counter()
    try:
        papermill.execute_notebook(str(notebook), str(out / f"{run_id}.ipynb"), parameters=parameters,
                                   kernel_name=kernel_name, progress_bar=False)
    except PapermillExecutionError as error:
        summary.update(status="failed", error=f"{error.ename}: {error.evalue}")
    except (CellTimeoutError, DeadKernelError) as error:
        summary.update(status="failed", error=f"{type(error).__name__}: {error}")
    summary["seconds"] = round(time.perf_counter() - started, 1)
    if summary["status"] == "ok":
        results = json.loads(results_path.read_text())
        summary.update(flatten_metrics(results["metrics"]), device=results["device"]["type"],
                       resumed=results["resumed"], seconds_per_iteration=results["timings"]["seconds_per_iteration"])
    return summary


def inert_cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe, the usual guard; numbers and other values are unchanged."""
    return f"'{value}" if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def write_summary(rows: list[dict[str, Any]], out: Path, overrides: Sequence[str]) -> None:
    """out/summary.csv (every column) and out/summary.md (the overrides and the key metrics)."""
    columns = list(dict.fromkeys(["run_id", "status", *overrides,
                                  *(k for row in rows for k in row if k != "error"), "error"]))
    with (out / "summary.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows({key: inert_cell(value) for key, value in row.items()} for row in rows)
    (out / "summary.md").write_text(summary_markdown(rows, overrides))


def summary_markdown(rows: list[dict[str, Any]], overrides: Sequence[str]) -> str:
    present = {k for row in rows for k in row}
    metrics = [f"{m}_{d}" for d in ("AtoB", "BtoA") for m in SUMMARY_METRICS if f"{m}_{d}" in present]
    columns = ["run_id", "status", *overrides, *metrics, "seconds"]
    ok = sum(row["status"] == "ok" for row in rows)

    def cell(value: Any, column: str = "") -> str:
        number = ".0f" if column == "seconds" else ".4g"
        text = "" if value is None else format(value, number) if isinstance(value, float) else str(value)
        return " ".join(text.split()).replace("|", "/")  # one line, no column breaks

    lines = [f"# Graded runs: {ok} ok, {len(rows) - ok} failed", "",
             "Metrics per direction (AtoB: G, BtoA: F); `psnr_identity` scores doing nothing, the baseline to beat. "
             "An empty parameter cell keeps the notebook's default.", "",
             "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c), c) for c in columns) + " |" for row in rows]
    failed = [row for row in rows if row["status"] != "ok"]
    if failed:
        lines += ["", "## Failed runs", ""]
        lines += [f"- **{row['run_id']}** ({row['run_id']}.ipynb): {cell(row['error'])}" for row in failed]
    return "\n".join(lines) + "\n"


def grade(grid: Path | str | list[dict[str, Any]], out: Path | str, notebook: Path | str | None = None,
          kernel_name: str | None = None, log: Callable[[str], None] = print,
          jobs: JobOptions = JobOptions()) -> list[dict[str, Any]]:
    """Run the notebook once per grid row, keep going past failures, write summary.csv and summary.md.

    `jobs` runs rows at once (`jobs.run_rows`); the summary is rewritten, in the grid's order, from the
    rows finished so far each time one ends."""
    notebook = Path(notebook) if notebook else default_notebook()
    if not notebook.is_file():
        raise InputNotFound(f"No notebook at {notebook}: pass --notebook PATH.")
    known = notebook_parameters(notebook)
    is_csv = not isinstance(grid, list) and Path(grid).suffix.lower() == ".csv"
    rows = check_grid(grid if isinstance(grid, list) else read_grid(grid), known, csv_text=is_csv,
                      source=None if isinstance(grid, list) else grid)
    overrides = [name for name in known if name != "run_id" and any(name in row for row in rows)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    finished: dict[int, dict[str, Any]] = {}

    def record(index: int, summary: dict[str, Any]) -> None:
        finished[index] = summary
        log(f"[{len(finished)}/{len(rows)}] {summary['run_id']}: {summary['status']} in {summary['seconds']} s"
            + (f" ({summary['error']})" if summary["status"] != "ok" else ""))
        write_summary([finished[i] for i in sorted(finished)], out, overrides)  # readable while others still run

    log(f"{len(rows)} run(s), {jobs.jobs if jobs.cluster == 'local' else 'all'} at once ({jobs.cluster}) ...")
    return run_rows(partial(run_one, notebook, out, kernel_name=kernel_name), rows, jobs, out / "jobs",
                    on_result=record)
