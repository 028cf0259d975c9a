"""Dependencies point one way: configs ← ingest ← recorder ← {relay, patrol} ← api."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "configs": set(),
    "ingest": {"configs"},
    "recorder": {"configs", "ingest"},
    "relay": {"configs", "ingest", "recorder"},
    "patrol": {"configs", "ingest", "recorder"},
    "api": {"configs", "ingest", "recorder", "relay", "patrol"},
}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package: str) -> None:
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED and top != package and top not in ALLOWED[package]:
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_ingest_has_no_database_or_web_imports() -> None:
    for path in (ROOT / "ingest").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for forbidden in ("import sqlalchemy", "from sqlalchemy", "import fastapi", "from fastapi"):
            assert forbidden not in text, f"{path.name}: {forbidden}"
