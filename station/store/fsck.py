"""Store integrity: SQLite's own check, foreign keys, images vs. references, the audit chain.

Every image reference is a column whose name ends in ``image_sha256`` in any table, so areas that
add tables referencing images are covered without changing this module.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from station.i18n import both

if TYPE_CHECKING:
    from station.store.core import Store


@dataclass(frozen=True)
class Finding:
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    severity: str = "error"  # "error" or "warning"

    def to_json(self) -> dict[str, Any]:
        zh, en = both(f"fsck.{self.code}", **self.params)
        return {"code": self.code, "severity": self.severity, **self.params,
                "message_zh": zh, "message_en": en}


def image_references(store: Store) -> list[tuple[str, str, str]]:
    """(table, row id, sha) for every image reference in the database."""
    conn = store.conn
    refs: list[tuple[str, str, str]] = []
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        if "id" not in cols:
            continue
        for col in cols:
            if col.endswith("image_sha256"):
                refs.extend((table, r[0], r[1]) for r in conn.execute(
                    f'SELECT id, "{col}" FROM "{table}" WHERE "{col}" IS NOT NULL'))
    return refs


def _mode_findings(store: Store) -> list[Finding]:
    out = []
    for path in (store.data_dir, store.path, store.images.root):
        if not path.exists():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            out.append(Finding("permissions", {"path": str(path), "mode": oct(mode),
                                               "expected": "0700" if path.is_dir() else "0600"},
                               "warning"))
    return out


def fsck(store: Store) -> list[Finding]:
    conn = store.conn
    findings: list[Finding] = []
    for (detail,) in conn.execute("PRAGMA integrity_check"):
        if detail != "ok":
            findings.append(Finding("sqlite", {"detail": detail}))
    for r in conn.execute("PRAGMA foreign_key_check"):
        findings.append(Finding("foreign_key", {"table": r[0], "rowid": r[1], "parent": r[2]}))

    referenced: set[str] = set()
    for table, row_id, sha in image_references(store):
        referenced.add(sha)
        if not store.images.exists(sha):
            findings.append(Finding("image_missing", {"sha": sha, "table": table, "id": row_id}))
        elif not store.images.verify(sha):
            findings.append(Finding("image_altered", {"sha": sha, "table": table, "id": row_id}))
    stored = set(store.images)
    for sha in sorted(stored - referenced):
        findings.append(Finding("orphan_image", {"sha": sha}, "warning"))
    root = store.images.root
    if root.is_dir():
        for sub in root.iterdir():
            for f in (sub.iterdir() if sub.is_dir() else [sub]):
                if f.name not in stored:
                    findings.append(Finding("stray_file", {"path": str(f)}, "warning"))

    for p in store.audit.verify():
        code = {"audit.altered": "audit_altered", "audit.broken_link": "audit_broken_link",
                "audit.missing_tail": "audit_missing_tail"}[p.code]
        findings.append(Finding(code, {"station": p.station_id, "seq": p.seq, "id": p.audit_id}))
    findings.extend(_mode_findings(store))
    return findings


def summary(store: Store) -> dict[str, Any]:
    conn = store.conn
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'meta'")]
    rows = sum(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables)
    return {"rows": rows, "images": sum(1 for _ in store.images)}
