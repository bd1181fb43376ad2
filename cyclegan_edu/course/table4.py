"""Notebook 08's view of the ablation study (paper Section 5.1.4, Table 4, Figure 7).

Two things, both on top of `cyclegan_edu.ablation`: the committed CPU study (docs/ablation.csv and
docs/ablation.png, from `cyclegan-edu ablate --preset quick --seeds 3`), read back into a table; and the
settings of the short side-by-side the notebook trains itself, two variants at the study's budget.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

from cyclegan_edu import ablation
from cyclegan_edu.config import Config, preset
from cyclegan_edu.course import colab
from cyclegan_edu.data.downloads import download_file

STUDY_FILES = ("ablation.csv", "ablation.png")
# Where a pip install (Colab) finds the committed study: the docs folder of this release on GitHub.
STUDY_URL = colab.raw_url("docs/")
SHOWN_COLUMNS = ("psnr_AtoB", "psnr_identity_AtoB", "diversity_AtoB", "psnr_BtoA", "psnr_identity_BtoA",
                 "diversity_BtoA")


def committed_study(cache: Path | str, docs: Path | None = None, url: str = STUDY_URL) -> Path:
    """The folder holding ablation.csv and ablation.png: the repository's docs/ beside this package when
    it is there (a clone), else a copy downloaded once from `url` into `cache` (a pip install)."""
    docs = docs or Path(__file__).resolve().parents[2] / "docs"
    if all((docs / name).is_file() for name in STUDY_FILES):
        return docs
    cache = Path(cache)
    for name in STUDY_FILES:
        if not (cache / name).is_file():
            download_file([url + name], cache / name, progress=False)
    return cache


def jpeg_preview(path: Path, quality: int = 85) -> bytes:
    """The study's figure as JPEG bytes, for showing in a notebook: its sample photographs make the PNG
    1.8 MB, which every saved copy of the notebook would carry; the JPEG is about a sixth of that (303 KB)."""
    buffer = io.BytesIO()
    with Image.open(path) as figure:
        figure.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def read_study(folder: Path) -> list[dict[str, Any]]:
    """ablation.csv's rows (one per variant and seed), numbers as floats and the seed as an int."""
    with (folder / "ablation.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    return [{key: value if key == "variant" else int(value) if key == "seed" else float(value)
             for key, value in row.items()} for row in rows]


def study_table(rows: list[dict[str, Any]], columns: tuple[str, ...] = SHOWN_COLUMNS) -> str:
    """Markdown: each variant's mean ± spread over seeds of `columns` (`ablation.summarize`)."""
    kept = [{key: row[key] for key in ("variant", "seed", *columns)} for row in rows]
    return ablation.summarize(kept)


def variant_means(rows: list[dict[str, Any]], column: str) -> dict[str, float]:
    """{variant: mean of `column` over its seeds}."""
    values: dict[str, list[float]] = {}
    for row in rows:
        values.setdefault(row["variant"], []).append(row[column])
    return {variant: sum(found) / len(found) for variant, found in values.items()}


def side_by_side_base(smoke: bool, seed: int) -> Config:
    """The config both side-by-side variants start from: the study's own (the `quick` preset at its
    400-step budget, `ablation.BUDGETS`) with the fast step's batched passes and the data as tensors (the
    same arithmetic in another order, a fifth faster on 2 CPU cores), or the smoke preset in smoke mode."""
    if smoke:
        return preset("smoke", seed=seed)
    return preset("quick", seed=seed, **{**ablation.BUDGETS["quick"], "batched_passes": True, "data_on_device": True})


def side_by_side_folder(runs_root: Path, smoke: bool) -> Path:
    """Where the side-by-side's runs go: runs_root/table4_quick, whose finished runs a rerun reuses; in
    smoke mode a fresh temporary folder, so CI always trains (and never reuses smoke runs elsewhere)."""
    if smoke:
        return Path(tempfile.mkdtemp(prefix="cyclegan_edu_table4_"))
    return Path(runs_root) / "table4_quick"
