"""The command line against a real catalog and storage: a stopped database, a catalog that is
not migrated, a running server holding the storage — each a clear line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from recorder.lock import storage_lock


def config(tmp_path: Path, **override: Any) -> Path:
    data: dict[str, Any] = {
        "storage": {"path": str(tmp_path / "rec")},
        "database": {"url": f"sqlite:///{tmp_path / 'catalog.db'}"},
    }
    data.update(override)
    path = tmp_path / "casewatch.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def casewatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.mark.parametrize("command", ["check", "migrate"])
def test_a_stopped_database_is_one_line_not_a_traceback(tmp_path: Path, command: str) -> None:
    file = config(tmp_path, database={"url": "postgresql+psycopg://cw:secret@127.0.0.1:9/cw"})
    result = casewatch(command, "--config", str(file), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "database.url: cannot open the catalog" in result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr


def test_check_never_migrates(tmp_path: Path) -> None:
    file = config(tmp_path)
    result = casewatch("check", "--config", str(file), cwd=tmp_path)
    assert result.returncode == 2
    assert "run `casewatch migrate" in result.stderr and "Traceback" not in result.stderr
    from sqlalchemy import create_engine, inspect

    engine = create_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    assert inspect(engine).get_table_names() == []  # check created nothing
    engine.dispose()
    assert casewatch("migrate", "--config", str(file), cwd=tmp_path).returncode == 0
    result = casewatch("check", "--config", str(file), cwd=tmp_path)
    assert result.returncode == 0 and "clean" in result.stdout


def test_repair_refuses_to_run_beside_a_server(tmp_path: Path) -> None:
    file = config(tmp_path)
    assert casewatch("migrate", "--config", str(file), cwd=tmp_path).returncode == 0
    with storage_lock(tmp_path / "rec", "casewatch serve"):  # what a running server holds
        result = casewatch("check", "--repair", "--config", str(file), cwd=tmp_path)
        assert result.returncode == 2
        assert f"pid {os.getpid()}, casewatch serve" in result.stderr
        assert "stop it first" in result.stderr and "Traceback" not in result.stderr
        served = casewatch("serve", "--config", str(file), cwd=tmp_path)
        assert served.returncode == 2 and "in use by another casewatch" in served.stderr
    result = casewatch("check", "--repair", "--config", str(file), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
