"""Where the course lives online, written once: every notebook's Colab badge and install cell come from here.

A notebook opened on Colab has no package beside it, so its first code cell installs one. It installs the
release the notebook belongs to, `RELEASE` (the git tag `v` + the package version), from `REPOSITORY`, and
its badge opens the notebook of that same tag: notebook and package always match. To publish a release,
bump the version in pyproject.toml and cyclegan_edu/__init__.py, run `python -m cyclegan_edu.course.colab`
(it rewrites the badges and install cells of notebooks/solutions), `cyclegan-edu publish`, commit, and push
the tag. `tests/test_notebooks.py` fails when a notebook's badge or install cell differs from what this module writes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from cyclegan_edu import __version__

REPOSITORY = "cyclegan-edu/cyclegan_edu"  # GitHub owner/name; pyproject's [project.urls] names the same (tested)
RELEASE = f"v{__version__}"
INSTALL_MARKER = 'if "google.colab" in sys.modules:'
BADGE_PATTERN = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\(https://colab\.research\.google\.com/github/[^)]*\)")
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks" / "solutions"  # the source; `publish` copies the cells


def repository_url() -> str:
    return f"https://github.com/{REPOSITORY}"


def raw_url(path: str, ref: str = RELEASE) -> str:
    """A file of the repository at `ref`, as a download URL (e.g. docs/ablation.csv for pip installs)."""
    return f"https://raw.githubusercontent.com/{REPOSITORY}/{ref}/{path}"


def colab_badge(notebook: str, ref: str = RELEASE) -> str:
    """The markdown badge that opens `notebook` (a file name in notebooks/) of `ref` on Colab."""
    return ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{REPOSITORY}/blob/{ref}/notebooks/{notebook})")


def install_cell(ref: str = RELEASE) -> str:
    """The first code cell of every notebook: on Colab, install the package of `ref` once; elsewhere nothing."""
    return ("import sys\n\n"
            f"{INSTALL_MARKER}  # on Colab, install this notebook's release of the course package once\n"
            "    try:\n"
            "        import cyclegan_edu\n"
            "    except ImportError:\n"
            f'        %pip install -q "cyclegan-edu @ git+{repository_url()}@{ref}"')


def sync_notebook(path: Path) -> bool:
    """Rewrite `path`'s badge and install cell from this module; True when anything changed."""
    import nbformat  # a maintainer's tool: nbformat comes with Jupyter, not with every install

    notebook = nbformat.read(path, as_version=4)
    changed = False
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and BADGE_PATTERN.search(cell.source):
            source = BADGE_PATTERN.sub(lambda _: colab_badge(path.name), cell.source)
        elif cell.cell_type == "code" and INSTALL_MARKER in cell.source:
            source = install_cell()
        else:
            continue
        changed |= source != cell.source
        cell.source = source
    if changed:
        nbformat.write(notebook, path)
    return changed


def main(folder: Path = NOTEBOOKS) -> None:
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        if sync_notebook(path):
            print(f"updated {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else NOTEBOOKS)
