"""The import graph between our top-level packages: core is a leaf, nothing forms a cycle, tests and bench stay apart.

Every `import` counts, also one inside a function: a lazy import hides a cycle, it does not remove it.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("api", "budget", "cli", "core", "jobs", "models", "notify", "ops", "periodic", "suggestions", "tasks",
           "wiring")
OURS = PRODUCT + ("bench", "testkit", "tests")
# Arrows still pointing the wrong way, each to be removed by the change that moves its import.
KNOWN_BACKWARD: set[tuple[str, str]] = set()


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(OURS)


def _files(package: str) -> list[Path]:
    module = ROOT / f"{package}.py"
    return [module] if module.exists() else sorted((ROOT / package).rglob("*.py"))


def graph(packages: tuple[str, ...] = PRODUCT) -> dict[str, set[str]]:
    """package -> the other packages of ours it imports."""
    return {p: set().union(*(_imports(f) for f in _files(p))) - {p} for p in packages}


def test_core_imports_nothing_of_ours():
    assert graph()["core"] == set()


def test_models_import_only_core():
    assert graph()["models"] <= {"core"}


def test_no_cycle_between_product_packages():
    edges = {p: {t for t in targets if (p, t) not in KNOWN_BACKWARD} for p, targets in graph().items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            here = todo.pop()
            if here == goal:
                return True
            if here not in seen:
                seen.add(here)
                todo.extend(edges.get(here, ()))
        return False

    cycles = sorted((a, b) for a in edges for b in edges[a] if reaches(b, a))
    assert cycles == []


def test_only_the_entry_points_import_wiring():
    importers = {p for p, targets in graph().items() if "wiring" in targets}
    assert importers <= {"api", "tasks", "periodic", "cli"}  # get_app, the Huey module, its periodic tasks, the CLI


def test_the_product_imports_neither_tests_nor_bench_nor_testkit():
    assert all(not (targets & {"bench", "testkit", "tests"}) for targets in graph().values())


def test_tests_do_not_import_the_benchmark_except_its_own_test():
    offenders = [str(f.relative_to(ROOT)) for f in _files("tests")
                 if "bench" in _imports(f) and f.name != "test_bench_quick.py"]
    assert offenders == []
