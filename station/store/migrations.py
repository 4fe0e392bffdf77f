"""Versioned schema migrations; ``PRAGMA user_version`` holds the version a store is at.

Rules: a migration is never edited once it is on main (stations in the field are at that version);
a change is a new migration appended to ``MIGRATIONS``. Each runs in its own transaction together
with the version bump, so a crash leaves the store at the old or the new version, never between.

Every fact table carries the merge columns of sync.md: ``id`` (ULID), ``station_id``, ``seq`` (per
station) and ``hlc`` (hybrid logical clock). There are no autoincrement keys.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

MERGE_COLUMNS = """
    id TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hlc TEXT NOT NULL"""


def _fact(name: str, columns: str) -> str:
    return (
        f"CREATE TABLE {name} ({MERGE_COLUMNS},\n{columns}\n);\n"
        f"CREATE UNIQUE INDEX {name}_station_seq ON {name}(station_id, seq);\n"
    )


V1 = (
    """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
    + _fact("operators", """
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('photographer', 'technician', 'supervisor')),
    pin_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_by TEXT""")
    + _fact("audit", """
    operator TEXT,
    action TEXT NOT NULL,
    subject TEXT,
    details TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL""")
    + _fact("roster_entries", """
    id_number TEXT NOT NULL,
    student_no TEXT,
    name TEXT NOT NULL,
    gender TEXT,
    department TEXT,
    degree TEXT,
    program_years INTEGER,
    entry_year INTEGER,
    study_mode TEXT,
    eligible INTEGER NOT NULL,
    eligibility_rule TEXT""")
    + _fact("schedule_slots", """
    slot_key TEXT NOT NULL,
    date TEXT NOT NULL,
    campus TEXT NOT NULL,
    room TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    departments TEXT NOT NULL,
    expected_count INTEGER""")
    + _fact("card_reads", """
    id_number TEXT NOT NULL,
    name TEXT NOT NULL,
    identity TEXT NOT NULL,
    reader TEXT,
    operator TEXT""")
    + _fact("captures", """
    id_number TEXT NOT NULL,
    image_sha256 TEXT NOT NULL,
    source_name TEXT,
    camera TEXT NOT NULL DEFAULT '{}',
    card_read_id TEXT REFERENCES card_reads(id),
    operator TEXT""")
    + _fact("check_reports", """
    capture_id TEXT NOT NULL REFERENCES captures(id),
    passed INTEGER NOT NULL,
    report TEXT NOT NULL""")
    + _fact("payments", """
    id_number TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    method TEXT NOT NULL,
    reference TEXT,
    operator TEXT""")
    + _fact("acceptances", """
    capture_id TEXT NOT NULL REFERENCES captures(id),
    id_number TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    reason TEXT,
    override_by TEXT,
    operator TEXT""")
    + _fact("exports", """
    batch_id TEXT NOT NULL,
    capture_ids TEXT NOT NULL,
    profile TEXT,
    operator TEXT""")
    + _fact("corrections", """
    target_table TEXT NOT NULL,
    target_id TEXT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT,
    reason TEXT,
    operator TEXT""")
    + _fact("tombstones", """
    target_table TEXT NOT NULL,
    target_id TEXT NOT NULL,
    reason TEXT,
    operator TEXT""")
)

# v2: what roster import and the derived views needed after the first field trial.
V2 = (
    """
ALTER TABLE roster_entries ADD COLUMN birth_date TEXT;
ALTER TABLE roster_entries ADD COLUMN category TEXT;
ALTER TABLE roster_entries ADD COLUMN earlier_uncaptured INTEGER NOT NULL DEFAULT 0;
ALTER TABLE roster_entries ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';
ALTER TABLE roster_entries ADD COLUMN content_hash TEXT;
ALTER TABLE roster_entries ADD COLUMN import_id TEXT;
ALTER TABLE schedule_slots ADD COLUMN content_hash TEXT;
ALTER TABLE schedule_slots ADD COLUMN import_id TEXT;
"""
    + _fact("imports", """
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    rows INTEGER NOT NULL,
    added INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    operator TEXT""")
    + _fact("export_items", """
    export_id TEXT NOT NULL REFERENCES exports(id),
    capture_id TEXT NOT NULL REFERENCES captures(id)""")
    + """
CREATE INDEX roster_entries_idn ON roster_entries(id_number, hlc);
CREATE INDEX schedule_slots_key ON schedule_slots(slot_key, hlc);
CREATE INDEX card_reads_idn ON card_reads(id_number, hlc);
CREATE INDEX captures_idn ON captures(id_number, hlc);
CREATE INDEX captures_sha ON captures(image_sha256);
CREATE INDEX check_reports_capture ON check_reports(capture_id, hlc);
CREATE INDEX payments_idn ON payments(id_number, hlc);
CREATE INDEX acceptances_capture ON acceptances(capture_id, hlc);
CREATE INDEX acceptances_idn ON acceptances(id_number, hlc);
CREATE INDEX export_items_capture ON export_items(capture_id);
CREATE INDEX tombstones_target ON tombstones(target_table, target_id);
CREATE INDEX operators_name ON operators(name, hlc);

-- Derived state. "Latest" = highest hybrid clock (then station id, part of the clock string).
CREATE VIEW roster_current AS
SELECT * FROM roster_entries r
WHERE r.hlc = (SELECT MAX(hlc) FROM roster_entries x WHERE x.id_number = r.id_number)
  AND NOT EXISTS (SELECT 1 FROM tombstones t
                  WHERE t.target_table = 'roster_entries' AND t.target_id = r.id);

CREATE VIEW schedule_current AS
SELECT * FROM schedule_slots s
WHERE s.hlc = (SELECT MAX(hlc) FROM schedule_slots x WHERE x.slot_key = s.slot_key)
  AND NOT EXISTS (SELECT 1 FROM tombstones t
                  WHERE t.target_table = 'schedule_slots' AND t.target_id = s.id);

CREATE VIEW operators_current AS
SELECT * FROM operators o
WHERE o.hlc = (SELECT MAX(hlc) FROM operators x WHERE x.name = o.name);

CREATE VIEW captures_live AS
SELECT * FROM captures c
WHERE NOT EXISTS (SELECT 1 FROM tombstones t
                  WHERE t.target_table = 'captures' AND t.target_id = c.id);

-- A capture's current decision is its latest acceptance fact.
CREATE VIEW capture_decisions AS
SELECT c.id AS capture_id, c.id_number, c.hlc AS captured_hlc, c.station_id, c.image_sha256,
       a.decision, a.reason, a.override_by, a.operator AS decided_by, a.hlc AS decided_hlc,
       EXISTS (SELECT 1 FROM export_items e WHERE e.capture_id = c.id) AS exported
FROM captures_live c
LEFT JOIN acceptances a ON a.id = (
    SELECT id FROM acceptances x WHERE x.capture_id = c.id ORDER BY x.hlc DESC LIMIT 1);

CREATE VIEW accepted_captures AS
SELECT * FROM capture_decisions WHERE decision = 'accept';

CREATE VIEW person_state AS
SELECT p.id_number,
       (SELECT COUNT(*) FROM captures_live c WHERE c.id_number = p.id_number) AS captures,
       (SELECT COALESCE(SUM(amount_cents), 0) FROM payments y
         WHERE y.id_number = p.id_number
           AND NOT EXISTS (SELECT 1 FROM tombstones t
                           WHERE t.target_table = 'payments' AND t.target_id = y.id)) AS paid_cents,
       (SELECT capture_id FROM accepted_captures a WHERE a.id_number = p.id_number
         ORDER BY a.decided_hlc DESC LIMIT 1) AS accepted_capture_id,
       (SELECT MAX(exported) FROM accepted_captures a WHERE a.id_number = p.id_number) AS exported
FROM (SELECT id_number FROM roster_entries UNION SELECT id_number FROM captures
      UNION SELECT id_number FROM payments UNION SELECT id_number FROM card_reads) p;
"""
)

# v3: the capture session's own facts (every desk transition) and walk-in captures (school code
# and mailing address travel with the accepted capture into exports).
V3 = (
    _fact("session_events", """
    id_number TEXT,
    event TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    operator TEXT,
    data TEXT NOT NULL DEFAULT '{}'""")
    + _fact("walk_ins", """
    id_number TEXT NOT NULL,
    capture_id TEXT NOT NULL REFERENCES captures(id),
    school_code TEXT NOT NULL,
    mailing_address TEXT,
    operator TEXT""")
    + """
CREATE INDEX session_events_idn ON session_events(id_number, hlc);
CREATE INDEX walk_ins_capture ON walk_ins(capture_id);
"""
)

# v4: the supervisor's merge across trust boundaries (issue 11): enrolled station keys (one key per
# station id, one station id per key), rows of a bundle whose key was already used with other
# content (kept, never overwritten), the supervisor's decisions on conflicts (facts that merge like
# any other), and merged rows waiting for a parent row that has not arrived yet (local, never
# bundled: they are some other station's facts).
V4 = (
    _fact("station_keys", """
    enrolled_station TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    public_key TEXT NOT NULL,
    operator TEXT""")
    + _fact("merge_clashes", """
    target_table TEXT NOT NULL,
    target_id TEXT NOT NULL,
    origin_station TEXT NOT NULL,
    bundle_sha256 TEXT NOT NULL,
    theirs TEXT NOT NULL""")
    + _fact("conflict_decisions", """
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    candidates TEXT NOT NULL,
    choice TEXT NOT NULL,
    effects TEXT NOT NULL DEFAULT '[]',
    reason TEXT,
    operator TEXT""")
    + """
CREATE UNIQUE INDEX station_keys_enrolled ON station_keys(enrolled_station);
CREATE UNIQUE INDEX station_keys_fingerprint ON station_keys(fingerprint);
CREATE INDEX merge_clashes_target ON merge_clashes(target_table, target_id);
CREATE INDEX conflict_decisions_item ON conflict_decisions(item_id, hlc);

CREATE TABLE sync_pending (
    row_id TEXT NOT NULL,
    target_table TEXT NOT NULL,
    origin_station TEXT NOT NULL,
    seq INTEGER NOT NULL,
    row_json TEXT NOT NULL,
    bundle_sha256 TEXT NOT NULL,
    PRIMARY KEY (target_table, row_id)
);
"""
)

# v5: one export at a time. A batch's record moves from the audit details into its ``exports`` row
# (the audit keeps who and when, not ~3,000 names); ``export_pending`` is this station's local
# work list (no merge columns: never merged) of batches recorded but not yet finished on disk
# (folder renamed into place, report written), so the next build or ``--batch ID`` completes them.
V5 = """
ALTER TABLE exports ADD COLUMN record TEXT;
CREATE INDEX exports_batch ON exports(batch_id);
CREATE TABLE export_pending (
    batch_id TEXT PRIMARY KEY,
    out_dir TEXT NOT NULL,
    folder TEXT NOT NULL,
    make_zip INTEGER NOT NULL DEFAULT 0,
    recorded_ms INTEGER NOT NULL
);
"""

# v6: corrections after upload (issue 12.6). CHSI takes no second photo once it has one: a record
# corrected, or a newer photo accepted, after a person's photo went out is listed for the pipeline
# team in a later batch's corrections list (with the batch that delivered the photo), never put in
# an upload folder again. One row per listed correction, so each is listed once.
V6 = (
    _fact("export_corrections", """
    export_id TEXT NOT NULL REFERENCES exports(id),
    capture_id TEXT NOT NULL REFERENCES captures(id),
    id_number TEXT NOT NULL,
    correction TEXT NOT NULL CHECK (correction IN ('photo', 'record')),
    replaces_batch TEXT NOT NULL""")
    + """
CREATE INDEX export_corrections_capture ON export_corrections(capture_id);
CREATE INDEX export_corrections_idn ON export_corrections(id_number, hlc);
"""
)

# v7: today's pipeline keys each student by a 图像采集码 (issue 12.5). The code is an opaque,
# encrypted token from the student's QR code, stored with the capture it was scanned for.
V7 = """
ALTER TABLE captures ADD COLUMN capture_code TEXT;
CREATE INDEX captures_code ON captures(capture_code);
"""

# v8: trust boundaries (integrity). ``seals`` is the keyed chain over every fact row (station.store.seals);
# ``auth_attempts`` the persistent PIN lock-out per operator name. Neither is a fact table: they
# are this station's own bookkeeping and are never merged.
V8 = """
CREATE TABLE seals (
    n INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    row_id TEXT NOT NULL,
    ncols INTEGER NOT NULL,
    mac TEXT NOT NULL
);
CREATE UNIQUE INDEX seals_row ON seals(tbl, row_id);
CREATE TABLE auth_attempts (
    name TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    lockouts INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER NOT NULL DEFAULT 0,
    last_failure_ms INTEGER
);
"""

# v9: the end of a campaign. A technician confirms that a batch reached the pipeline; a
# supervisor's purge then masks the campaign's personal data (station.store.purge) and records
# what it did, including the photos it removed (fsck expects those files to be gone).
V9 = (
    _fact("upload_confirmations", """
    batch_id TEXT NOT NULL,
    note TEXT,
    operator TEXT""")
    + _fact("purges", """
    until TEXT,
    people INTEGER NOT NULL,
    rows_masked INTEGER NOT NULL,
    images TEXT NOT NULL DEFAULT '[]',
    operator TEXT""")
    + """
CREATE INDEX upload_confirmations_batch ON upload_confirmations(batch_id);
"""
)


# v10: a batch is recorded as ONE sealed fact. Its ``exports`` row already lists its captures
# (``capture_ids``, covered by the row's seal); writing 3,000 ``export_items`` fact rows beside it,
# each with its own stamp and seal, cost more than the rest of the recording. ``export_index`` is
# derived from the ``exports`` rows by triggers, for whatever way they arrive (a build here, a
# merge, a hub pull): it is this station's bookkeeping (no merge columns: never merged, not
# sealed), and fsck checks it against the sealed lists. ``own`` marks batches this station made:
# the partial UNIQUE index makes SQLite itself refuse to record one of its captures in a second
# of its own batches. Batches merged from elsewhere are indexed without that claim (two stations
# that both exported a capture offline is a fact to see, not a row to drop). ``export_items``
# keeps the rows of earlier batches (and of older stations' bundles) as they were.
_THIS_STATION = "(SELECT value FROM meta WHERE key = 'station_id')"
_LISTED = "json_each(CASE WHEN json_valid(NEW.capture_ids) THEN NEW.capture_ids ELSE '[]' END)"
V10 = f"""
CREATE TABLE export_index (
    capture_id TEXT NOT NULL,
    export_id TEXT NOT NULL REFERENCES exports(id),
    own INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (capture_id, export_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX export_index_once ON export_index(capture_id) WHERE own = 1;
CREATE INDEX export_index_export ON export_index(export_id);
INSERT OR IGNORE INTO export_index (capture_id, export_id, own)
SELECT j.value, e.id, 0 FROM exports e,
     json_each(CASE WHEN json_valid(e.capture_ids) THEN e.capture_ids ELSE '[]' END) j;
UPDATE OR IGNORE export_index SET own = 1
WHERE export_id IN (SELECT id FROM exports WHERE station_id = {_THIS_STATION});
CREATE TRIGGER export_index_own AFTER INSERT ON exports
WHEN NEW.station_id = {_THIS_STATION}
BEGIN
    INSERT INTO export_index (capture_id, export_id, own) SELECT value, NEW.id, 1 FROM {_LISTED};
END;
CREATE TRIGGER export_index_merged AFTER INSERT ON exports
WHEN NEW.station_id IS NOT {_THIS_STATION}
BEGIN
    INSERT OR IGNORE INTO export_index (capture_id, export_id, own) SELECT value, NEW.id, 0 FROM {_LISTED};
END;
DROP VIEW capture_decisions;
CREATE VIEW capture_decisions AS
SELECT c.id AS capture_id, c.id_number, c.hlc AS captured_hlc, c.station_id, c.image_sha256,
       a.decision, a.reason, a.override_by, a.operator AS decided_by, a.hlc AS decided_hlc,
       EXISTS (SELECT 1 FROM export_index e WHERE e.capture_id = c.id) AS exported
FROM captures_live c
LEFT JOIN acceptances a ON a.id = (
    SELECT id FROM acceptances x WHERE x.capture_id = c.id ORDER BY x.hlc DESC LIMIT 1);
"""

# v11: rosters per school. A branch office takes walk-ins of other schools (10674 …) and imports
# their rosters beside its own; one table keyed by ID number mixed them. A roster entry now says
# whose roster it is on (``school_code``); rows without one (every row before v11, and rows a
# store of an older version wrote) belong to this station's own school (``meta.school_code``, set
# at ``station init``): nothing is rewritten, so seals, bundles and merged rows stay as they were.
# ``roster_current`` stays the home school's roster (what every screen, report and export reads);
# ``roster_all_current`` holds the current entry per school and ID number, its school in ``school``.
_HOME_SCHOOL = "(SELECT value FROM meta WHERE key = 'school_code')"
V11 = f"""
ALTER TABLE roster_entries ADD COLUMN school_code TEXT;
CREATE INDEX roster_entries_school ON roster_entries(school_code, id_number, hlc);
DROP VIEW roster_current;
CREATE VIEW roster_current AS
SELECT r.*, COALESCE(r.school_code, {_HOME_SCHOOL}) AS school FROM roster_entries r
WHERE COALESCE(r.school_code, {_HOME_SCHOOL}) IS {_HOME_SCHOOL}
  AND r.hlc = (SELECT MAX(x.hlc) FROM roster_entries x WHERE x.id_number = r.id_number
               AND COALESCE(x.school_code, {_HOME_SCHOOL}) IS {_HOME_SCHOOL})
  AND NOT EXISTS (SELECT 1 FROM tombstones t
                  WHERE t.target_table = 'roster_entries' AND t.target_id = r.id);
CREATE VIEW roster_all_current AS
SELECT r.*, COALESCE(r.school_code, {_HOME_SCHOOL}) AS school FROM roster_entries r
WHERE r.hlc = (SELECT MAX(x.hlc) FROM roster_entries x WHERE x.id_number = r.id_number
               AND (x.school_code IS r.school_code
                    OR COALESCE(x.school_code, {_HOME_SCHOOL}) IS COALESCE(r.school_code, {_HOME_SCHOOL})))
  AND NOT EXISTS (SELECT 1 FROM tombstones t
                  WHERE t.target_table = 'roster_entries' AND t.target_id = r.id);
"""


# v12: what the station wrote outside its data folder (station.store.written): batch folders and
# their reports, print sheets, bundles, each with what it held and the size and time of every file
# the station put there, so a purge can remove exactly those and nothing else. This station's own
# bookkeeping (no merge columns: never merged, dropped from bundles, not sealed). ``purge_id``
# is a purge's recorded intent; ``removed_ms`` is set once nothing the station wrote is left.
V12 = """
CREATE TABLE written_paths (
    path TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    covers TEXT NOT NULL DEFAULT '{}',
    files TEXT NOT NULL DEFAULT '{}',
    recorded_ms INTEGER NOT NULL,
    purge_id TEXT,
    removed_ms INTEGER,
    outcome TEXT
);
"""


# v13: campaigns (a season's work). Every store has a campaign id of its own in ``meta``
# (``campaign``: 32 random hex digits, made here for new and existing stores alike; ``station
# campaign new`` starts the next one), which its bundles and hub pushes carry under their
# signature; an enrolment records the campaign the enrolled station declared in its key file (or,
# enrolled before campaigns existed, the first campaign its signed data carried), and a merge or
# pull refuses data of any other campaign (``station.sync.verify``). NULL: not pinned yet.
def _v13(conn: sqlite3.Connection) -> None:
    # a bundle's or push's database has no local tables (``union.prune_to_station``)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'station_keys'").fetchone():
        conn.execute("ALTER TABLE station_keys ADD COLUMN campaign TEXT")
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('campaign', lower(hex(randomblob(16))))")


# v14: which rows each purge masked (``station.store.purge``), so the copies a PostgreSQL hub
# holds of them can be purged too (``station hub purge``, ``station.hub.purge``), then or later.
# Row keys only — no personal data; this station's own bookkeeping like ``written_paths`` (no
# merge columns: never merged, dropped from bundles, not sealed).
V14 = """
CREATE TABLE purged_rows (
    tbl TEXT NOT NULL,
    row_id TEXT NOT NULL,
    purge_id TEXT NOT NULL,
    PRIMARY KEY (tbl, row_id)
);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: str | Callable[[sqlite3.Connection], None]


MIGRATIONS: list[Migration] = [
    Migration(1, "facts, operators, audit", V1),
    Migration(2, "roster detail columns, imports, export items, indexes, derived views", V2),
    Migration(3, "session events and walk-in captures", V3),
    Migration(4, "enrolled station keys, merge clashes, conflict decisions, pending merged rows", V4),
    Migration(5, "batch records on their export row, pending batches", V5),
    Migration(6, "corrections listed after upload", V6),
    Migration(7, "capture codes (图像采集码) on captures", V7),
    Migration(8, "keyed seals over every fact row, PIN lock-out state", V8),
    Migration(9, "upload confirmations and purges", V9),
    Migration(10, "a batch recorded as one sealed fact, its captures indexed once", V10),
    Migration(11, "rosters per school (school code on roster entries)", V11),
    Migration(12, "files and folders written outside the data folder", V12),
    Migration(13, "campaign ids: the store's own, and the one each enrolment is pinned to", _v13),
    Migration(14, "the rows each purge masked (for the hub's copies)", V14),
]

LATEST = MIGRATIONS[-1].version


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _run(conn: sqlite3.Connection, migration: Migration) -> None:
    if callable(migration.apply):
        migration.apply(conn)
        return
    # executescript() would COMMIT our transaction; run statement by statement instead.
    for statement in _split(migration.apply):
        conn.execute(statement)


def _split(script: str) -> list[str]:
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> list[int]:
    """Bring the store up to ``target``; returns the versions applied. Safe with many processes."""
    applied = []
    for migration in MIGRATIONS:
        if migration.version > target or current_version(conn) >= migration.version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if current_version(conn) < migration.version:  # another process may have done it
                _run(conn, migration)
                conn.execute(f"PRAGMA user_version = {migration.version}")
                applied.append(migration.version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied
