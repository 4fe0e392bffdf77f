"""The layers of ARCHITECTURE.md hold: who may import whom, and SQL only in the store."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Packages whose owners still move their SQL into store read models (issue 14): none left — sync
# and export keep theirs in store/ (union, trust, conflicts, people, exports) — and the test keeps
# it that way.
SQL_NOT_YET_MOVED: tuple[str, ...] = ()
SQL = re.compile(r"""["'][^"'\n]*\b(SELECT\b|INSERT\s+(OR\s+\w+\s+)?INTO\b|UPDATE\s+\w+\s+SET\b|"""
                 r"""DELETE\s+FROM\b|CREATE\s+(TABLE|VIEW|INDEX|TRIGGER)\b|PRAGMA\b)""")
# The PostgreSQL hub's own store (issue 15): its DDL and every statement it runs against the hub.
HUB_STORE = ("station/hub/schema.py", "station/hub/queries.py", "station/hub/ed25519.py")


def test_import_contracts_hold() -> None:
    """import-linter's contracts in pyproject.toml ([tool.importlinter])."""
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_sql_is_written_only_in_the_store() -> None:
    found = []
    for path in sorted((ROOT / "station").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in HUB_STORE:
            continue
        if rel.startswith("station/store/") or rel.startswith(SQL_NOT_YET_MOVED):
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if SQL.search(line):
                found.append(f"{rel}:{number}: {line.strip()[:80]}")
    assert found == [], "SQL outside station/store/ (add a read model there):\n" + "\n".join(found)


def test_the_sql_finder_finds_sql() -> None:
    """The pattern above must be able to fail."""
    assert SQL.search('conn.execute("SELECT id FROM captures")')
    assert SQL.search("x = 'INSERT OR IGNORE INTO main.t VALUES (1)'")
    assert SQL.search('run("PRAGMA quick_check")')
    assert not SQL.search('t("session.select_reader")')
