"""`station schedule import`: the slot table (date, campus, room, start, end, departments, count).

Same rules as the roster: every bad cell is reported, nothing is stored unless the whole file is
good. A re-import is the new complete schedule: changed slots become new facts, slots no longer
listed get a tombstone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.errors import InputError, Location
from station.roster import values
from station.roster.columns import SCHEDULE_ALIASES, SCHEDULE_REQUIRED, column_label, map_header
from station.roster.importer import (
    ImportRejected,
    ImportReport,
    cell_places,
    check_cells,
    clashing_columns,
    header_test,
    missing_columns,
)
from station.roster.tabular import CellError, Table, read_table
from station.store import imports

if TYPE_CHECKING:
    from station.settings import RosterSection
    from station.store.core import Store

SLOT_FIELDS = ("slot_key", "date", "campus", "room", "start", "end", "departments", "expected_count")
# A campaign's slot table has hundreds of rows (20,000 graduates in slots of ~50); a file of far
# more is not a schedule, and refusing it bounds what the checks below and their report hold.
MAX_SLOTS = 20_000


def slot_key(date: str, start: str, campus: str, room: str) -> str:
    """Stable name of a slot across re-imports: when and where it starts."""
    return f"{date} {start} {campus} {room}"


def parse_schedule(path: Path, settings: RosterSection) -> tuple[Table, list[dict], list[CellError]]:
    table = read_table(path, header_test(SCHEDULE_ALIASES, ("date", "departments")))
    if not table.rows:
        raise InputError("roster.no_rows", Location(table.file, table.header_line))
    if len(table.rows) > MAX_SLOTS:
        raise InputError("roster.too_many_rows", Location(table.file), rows=len(table.rows),
                         limit=MAX_SLOTS)
    cell_errors = check_cells(table, settings.max_cell_chars * 4)
    fields, _unknown = map_header(table.header, SCHEDULE_ALIASES)
    errors = clashing_columns(table, SCHEDULE_ALIASES)
    errors += missing_columns(table, fields, SCHEDULE_REQUIRED, (), SCHEDULE_ALIASES)
    if not ({"start", "end"} <= set(fields) or "time" in fields):
        errors.append(CellError(table.header_line, None, "roster.missing_column",
                                {"column": "开始时间/start + 结束时间/end | 时间/time"}))
    if errors:                          # without its columns no row can be read
        return table, [], cell_errors + errors
    slots: list[dict] = []
    row_errors: list[CellError] = []
    for line, cells in table.rows:
        slot = _parse_slot(table, line, cells, fields, row_errors)
        if slot is not None:
            slots.append(slot)
    flagged = cell_places(cell_errors)      # a bad cell hides no other row's errors
    errors = cell_errors + [e for e in row_errors if (e.line, e.column) not in flagged]
    seen: dict[str, int] = {}
    by_room: dict[tuple[str, str, str], list[dict]] = {}
    for s in slots:
        if s["slot_key"] in seen:
            errors.append(CellError(s["_line"], None, "schedule.duplicate_slot",
                                    {"first_line": seen[s["slot_key"]]}))
        seen.setdefault(s["slot_key"], s["_line"])
        by_room.setdefault((s["date"], s["campus"], s["room"]), []).append(s)
    for group in by_room.values():
        group.sort(key=lambda s: s["start"])
        for a, b in zip(group, group[1:], strict=False):
            if b["start"] < a["end"] and a["slot_key"] != b["slot_key"]:
                errors.append(CellError(b["_line"], None, "schedule.overlap",
                                        {"other_line": a["_line"]}))
    errors.sort(key=lambda e: e.line or 0)    # in file order, a refused cell among its row's
    return table, slots, errors


def department_overlaps(slots: list[dict]) -> list[tuple[str, int, int]]:
    """(department, earlier line, later line) for a department in two slots of one day whose
    times overlap. Two slots of one department at different times are legitimate (a capture
    belongs to the slot whose time contains it); overlapping ones make that ambiguous: the
    earlier-starting slot counts such a capture, which the warning says.

    Each later slot that overlaps is named once, with the earlier slot of that department still
    running longest, in one sweep per department and day. Every pair was listed before: a file
    putting one department in a few thousand rooms at once asked for millions of warnings (2,000
    rows: 74 s and 7 GB; 4,000: 230 s and 24 GB)."""
    found = []
    by_key: dict[tuple[str, str], list[dict]] = {}
    for s in slots:
        for d in s["departments"]:
            by_key.setdefault((s["date"], d), []).append(s)
    for (_day, department), group in by_key.items():
        group.sort(key=lambda s: (s["start"], s["_line"]))
        running = group[0]                       # the earlier slot that ends last
        for b in group[1:]:
            if b["start"] < running["end"]:
                found.append((department, running["_line"], b["_line"]))
            if b["end"] > running["end"]:
                running = b
    found.sort(key=lambda f: (f[2], f[1], f[0]))
    return found


def _parse_slot(table: Table, line: int, cells: list[str], fields: dict[str, int],
                errors: list[CellError]) -> dict | None:
    before = len(errors)

    def cell(name: str) -> str:
        i = fields.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    def bad(name: str, code: str, **params: Any) -> None:
        errors.append(CellError(line, column_label(table.header, fields[name]), code, params))

    def parse(name: str, fn):
        if not cell(name):
            bad(name, "roster.empty_cell")
            return None
        try:
            return fn(cell(name))
        except values.BadValue as exc:
            bad(name, exc.code, **exc.params)
            return None

    day = parse("date", values.date)
    campus = parse("campus", values.clean)
    room = parse("room", values.clean)
    if "start" in fields and "end" in fields:
        start, end = parse("start", values.time_of_day), parse("end", values.time_of_day)
    else:
        span = parse("time", values.time_range)
        start, end = span if span else (None, None)
    depts = parse("departments", values.departments)
    expected = None
    if "expected_count" in fields:
        try:
            expected = values.count(cell("expected_count"))
        except values.BadValue as exc:
            bad("expected_count", exc.code, **exc.params)
    if start and end and start >= end:
        bad("end" if "end" in fields else "time", "schedule.end_before_start", start=start, end=end)
    if len(errors) > before or day is None:
        return None
    date = day.isoformat()
    return {"slot_key": slot_key(date, start, campus, room), "date": date, "campus": campus,
            "room": room, "start": start, "end": end, "departments": depts,
            "expected_count": expected, "_line": line}


def import_schedule(store: Store, path: Path, settings: RosterSection, operator: str | None,
                    dry_run: bool = False) -> ImportReport:
    table, slots, errors = parse_schedule(Path(path), settings)
    if errors:
        if not dry_run and store.initialized:
            store.audit.append(operator, "schedule.import.refused", Path(path).name,
                               {"errors": len(errors)})
        raise ImportRejected(table.file, errors, kind="schedule")
    report = ImportReport("schedule", table.file, table.format, table.encoding, len(slots),
                          dry_run=dry_run)
    roster_departments = set(store.roster.departments())
    scheduled = {d for s in slots for d in s["departments"]}
    from station.roster.importer import _warning

    report.warnings = [_warning("schedule.department_not_on_roster", department=d)
                       for d in sorted(scheduled - roster_departments)] if roster_departments else []
    report.warnings += [_warning("schedule.department_without_slot", department=d)
                        for d in sorted(roster_departments - scheduled)]
    report.warnings += [_warning("schedule.department_overlap", department=d, line=b, other_line=a)
                        for d, a, b in department_overlaps(slots)]
    with store.transaction():
        changes = imports.diff(store, "schedule_slots", "slot_key", SLOT_FIELDS, slots)
        report.added, report.updated = changes.added, changes.updated
        report.unchanged, report.removed = changes.unchanged, len(changes.gone)
        if dry_run:
            return report
        import_id = imports.write(store, "schedule_slots", changes, kind="schedule",
                                  file_name=Path(path).name,
                                  file_sha256=hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                                  rows=len(slots), operator=operator, tombstone_gone=True)
        store.audit.append(operator, "schedule.import", Path(path).name, {
            "import_id": import_id, "slots": len(slots), "added": report.added,
            "updated": report.updated, "removed": report.removed})
        report.import_id = import_id
    return report
