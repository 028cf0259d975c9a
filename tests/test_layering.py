"""Dependencies point one way:
``configs ← ingest ← recorder ← {evidence, playback, relay, monitor, patrol, access} ← api``,
with ``camsim`` (the camera simulator) used only by the CLI's ``sim``/``demo`` and by tests, and
the relay reading cameras through ``ingest`` alone.

The table names every top-level package of the product; a package added without a row here
fails ``test_every_package_has_a_row``, so nothing escapes the rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASE = {"configs", "ingest", "recorder"}
SERVICES = {"evidence", "playback", "relay", "monitor", "patrol", "access"}
ALLOWED: dict[str, set[str]] = {
    "configs": set(),
    "ingest": {"configs"},
    "camsim": set(),
    "recorder": {"configs", "ingest"},
    **{service: set(BASE) for service in SERVICES},
    # the relay reads the per-camera runtime from ingest, never the recorder
    "relay": {"configs", "ingest"},
    "api": BASE | SERVICES | {"camsim", "wall"},
    "wall": set(),
}
CAMSIM_USERS = {"api/cli.py", "api/demo.py"}
"""The only product modules that may import the simulator (the `sim` and `demo` commands)."""


def _packages() -> list[str]:
    return sorted(
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "bench"}
    )


def _imports(path: Path) -> Iterator[tuple[str, str]]:
    """(imported module, top-level package) of every absolute import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            yield name, name.split(".")[0]


def test_every_package_has_a_row() -> None:
    assert [p for p in _packages() if p not in ALLOWED] == []


@pytest.mark.parametrize("package", _packages())
def test_imports_point_one_way(package: str) -> None:
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        for name, top in _imports(path):
            if top not in ALLOWED or top == package:
                continue
            if top not in ALLOWED[package] or (top == "camsim" and relative not in CAMSIM_USERS):
                offenders.append(f"{relative} imports {name}")
    assert offenders == []


def test_no_module_cycles() -> None:
    """No two product modules import each other, directly or through others."""
    modules: dict[str, set[str]] = {}
    for package in _packages():
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[module] = {name for name, top in _imports(path) if top in ALLOWED}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {m: {r for n in deps if (r := resolve(n)) and r != m} for m, deps in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


def test_ingest_has_no_database_or_web_imports() -> None:
    for path in (ROOT / "ingest").rglob("*.py"):
        for name, top in _imports(path):
            assert top not in {"sqlalchemy", "fastapi", "starlette"}, f"{path.name}: {name}"
