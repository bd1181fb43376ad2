"""The package's layers, as the folders show them: every import points down, and the floors stay few.

A module's floor is 1 + the highest floor among the package modules it imports (at the top or inside
a function): floor 1 imports nothing of the package. The paper's concept modules stand alone, the
data layer knows nothing of the model, nothing below the command line imports the course, and no
import runs back up.
"""

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "cyclegan_edu"
PAPER_MODULES = ("adversarial", "lsgan", "cycle_consistency", "identity_loss", "history_buffer", "generator",
                 "patchgan")
MAX_FLOORS = 7


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts).removesuffix("__init__").rstrip(".") or "__init__"


@cache
def import_graph() -> dict[str, set[str]]:
    """{module: the package modules it imports}, names relative to the package."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cyclegan_edu"):
                base = node.module.removeprefix("cyclegan_edu").lstrip(".")
                candidates = [base] + [f"{base}.{alias.name}".lstrip(".") for alias in node.names]
                imported |= {c for c in candidates if c in modules and c not in ("", name)}
        graph[name] = imported
    return graph


@cache
def floor(module: str, seen: tuple[str, ...] = ()) -> int:
    assert module not in seen, f"import cycle: {' -> '.join(seen + (module,))}"
    return 1 + max((floor(target, seen + (module,)) for target in import_graph()[module]), default=0)


def test_no_cycles_and_at_most_seven_floors():
    floors = {module: floor(module) for module in import_graph()}
    assert max(floors.values()) <= MAX_FLOORS, floors


@pytest.mark.parametrize("module", PAPER_MODULES)
def test_the_paper_modules_stand_alone(module):
    assert import_graph()[module] == set()


def test_the_model_is_built_from_the_paper_modules_only():
    assert import_graph()["cyclegan"] <= set(PAPER_MODULES)


def test_the_data_layer_knows_nothing_of_the_model():
    for module, imported in import_graph().items():
        if module.startswith("data"):
            assert all(target.startswith("data") or target == "errors" for target in imported), (module, imported)


def test_only_the_command_line_and_the_course_import_the_course():
    for module, imported in import_graph().items():
        if not module.startswith("course") and module not in ("cli", "__main__"):
            assert not any(target.startswith("course") for target in imported), (module, imported)


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(REPO)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
