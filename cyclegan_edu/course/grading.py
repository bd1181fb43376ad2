"""Graded runs of notebook 08 with papermill: one run per row of a grid, then summary.csv and summary.md.

    grade(grid, out)   the notebook once per row, keeping going past failures; the summary after every row

A grid is YAML (a list of mappings, or a mapping with `runs:` and optional `defaults:`) or CSV
(header `run_id,param1,param2,...`); each row names a run id and the parameters it overrides. Each
run writes its `results.json` (see `run_plan.write_results`), which the summary collects.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cyclegan_edu.config import ConfigError
from cyclegan_edu.course.run_plan import NOTEBOOK_NAME
from cyclegan_edu.errors import InputNotFound

GRADER_PARAMETERS = ("checkpoint_dir", "results_path", "interactive")  # set by `grade` for every run
SUMMARY_METRICS = ("psnr", "psnr_identity", "ssim", "diversity", "fid", "kid")
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class GridError(ConfigError):
    """A grid of graded runs that cannot be run; the message names the row and the field."""


def default_notebook() -> Path:
    """notebooks/08_full_training.ipynb of the repository this package was installed from."""
    path = Path(__file__).resolve().parents[2] / "notebooks" / NOTEBOOK_NAME  # beside cyclegan_edu/
    if not path.is_file():
        raise InputNotFound(f"{NOTEBOOK_NAME} is not beside this installation of cyclegan_edu (looked for "
                            f"{path}): pass --notebook PATH to the notebook.")
    return path


def notebook_parameters(notebook: Path | str) -> dict[str, Any]:
    """The notebook's `parameters` cell as {name: default value} (papermill reads it)."""
    import papermill

    found = papermill.inspect_notebook(str(notebook))
    return {name: ast.literal_eval(info["default"]) for name, info in found.items()}


def parse_value(text: str, default: Any) -> Any:
    """A CSV cell as the type of the parameter's default: "false" -> False, "0.5" -> 0.5."""
    if isinstance(default, bool):
        lowered = text.strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"{text!r} is not true or false")
        return lowered in ("true", "1", "yes")
    if isinstance(default, (int, float)):
        return type(default)(float(text)) if isinstance(default, float) else int(text)
    return text


def read_grid(path: Path | str) -> list[dict[str, Any]]:
    """Rows of a YAML or CSV grid, each a dict with `run_id` and overrides (CSV values still text)."""
    path = Path(path)
    if not path.is_file():
        raise InputNotFound(f"No grid at {path}.")
    if path.suffix.lower() == ".csv":
        with path.open(newline="") as file:
            return [{k.strip(): v for k, v in row.items() if v is not None and v.strip() != ""}
                    for row in csv.DictReader(file)]
    import yaml

    content = yaml.safe_load(path.read_text())
    defaults: dict[str, Any] = {}
    if isinstance(content, dict):
        defaults, content = content.get("defaults") or {}, content.get("runs")
    if not isinstance(content, list) or not all(isinstance(row, dict) for row in content):
        raise GridError(f"{path}: expected a list of runs (mappings with run_id and parameters), "
                        "or a mapping with `runs:` holding that list.")
    return [{**defaults, **row} for row in content]


def check_grid(rows: list[dict[str, Any]], known: Mapping[str, Any], csv_text: bool = False) -> list[dict[str, Any]]:
    """Every row has a unique, file-safe run_id and only the notebook's parameters; CSV text is typed."""
    seen: set[str] = set()
    checked = []
    for number, row in enumerate(rows, start=1):
        run_id = str(row.get("run_id", ""))
        if not RUN_ID_PATTERN.fullmatch(run_id) or run_id in seen:
            raise GridError(f"row {number}: run_id {run_id!r} must be unique and made of letters, digits, _ . -")
        seen.add(run_id)
        unknown = sorted(set(row) - set(known))
        if unknown:
            raise GridError(f"row {number} ({run_id}): unknown parameter(s) {', '.join(unknown)}; "
                            f"the notebook has {', '.join(known)}.")
        reserved = sorted(set(row) & set(GRADER_PARAMETERS))
        if reserved:
            raise GridError(f"row {number} ({run_id}): {', '.join(reserved)} are set by the grader.")
        typed = {}
        for name, value in row.items():
            if csv_text and name != "run_id":
                try:
                    value = parse_value(value, known[name])
                except ValueError as error:
                    raise GridError(f"row {number} ({run_id}): {name}={value!r}: {error}") from None
            typed[name] = value
        typed["run_id"] = run_id
        checked.append(typed)
    if not checked:
        raise GridError("the grid holds no runs.")
    return checked


def flatten_metrics(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """{"AtoB": {"psnr": 20.1}} -> {"psnr_AtoB": 20.1}; numbers only."""
    return {f"{name}_{direction}": value for direction, scores in metrics.items()
            for name, value in scores.items() if isinstance(value, (int, float)) and not isinstance(value, bool)}


def run_one(notebook: Path, out: Path, row: dict[str, Any], kernel_name: str | None) -> dict[str, Any]:
    """Execute the notebook for one row into out/RUN_ID.ipynb; a failed run is reported, not raised."""
    import papermill
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


def write_summary(rows: list[dict[str, Any]], out: Path, overrides: Sequence[str]) -> None:
    """out/summary.csv (every column) and out/summary.md (the overrides and the key metrics)."""
    columns = list(dict.fromkeys(["run_id", "status", *overrides,
                                  *(k for row in rows for k in row if k != "error"), "error"]))
    with (out / "summary.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
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
          kernel_name: str | None = None, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run the notebook once per grid row, keep going past failures, write summary.csv and summary.md."""
    notebook = Path(notebook) if notebook else default_notebook()
    if not notebook.is_file():
        raise InputNotFound(f"No notebook at {notebook}: pass --notebook PATH.")
    known = notebook_parameters(notebook)
    is_csv = not isinstance(grid, list) and Path(grid).suffix.lower() == ".csv"
    rows = check_grid(grid if isinstance(grid, list) else read_grid(grid), known, csv_text=is_csv)
    overrides = [name for name in known if name != "run_id" and any(name in row for row in rows)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summaries: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        log(f"[{number}/{len(rows)}] {row['run_id']} ...")
        summaries.append(run_one(notebook, out, row, kernel_name))
        last = summaries[-1]
        log(f"[{number}/{len(rows)}] {row['run_id']}: {last['status']} in {last['seconds']} s"
            + (f" ({last['error']})" if last["status"] != "ok" else ""))
        write_summary(summaries, out, overrides)  # after every run: an interrupted grading keeps its rows
    return summaries
