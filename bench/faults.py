"""Fault harness: SIGKILL the station's writing commands at random moments, check what must hold.

Real processes (``python -m station``) on real files: roster import, ingest, export build, bundle
create and merge are each started and killed after a random delay (uniform over the command's
measured running time), then run again to completion, as an operator would. After every kill:

- the store opens and fsck finds no error (leftovers of the killed process are allowed until the
  next writing command removes them; after the rerun fsck must be clean: exit 0);
- nothing lost: every fact row present before the command is still there, unchanged;
- nothing exported twice: no capture in two batches, in the store or on the USB stick;
- no personal data outside the data folder: after the rerun the "USB stick" holds only finished
  batches and bundles, and the processes' temporary folder (TMPDIR) is empty;
- the rerun completes (exit 0) and does what the command is for.

Disk-full runs put a copy of the station on a small tmpfs (root only; skipped with the reason
otherwise), fill it, and check that ingest says so in words (exit 3), loses nothing, and works
again once space is freed.

``python -m bench faults`` runs the bench size (≥ 100 kills); ``python -m bench.faults --kills N``
any size; tests/store/test_store_fault_harness.py a CI size. Figures: kills, reruns, violations.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench._table import Figure

# The bench table (bench/_table.py): how many kills the run made, and what must stay at zero.
TABLE = [
    Figure("fault harness: processes SIGKILLed mid-run", "kills", "", at_least=100),
    Figure("fault harness: invariant violations after kills and reruns",
           "invariant_violations", "", at_most=0),
    Figure("fault harness: disk-full runs on a small tmpfs", "disk_full_runs", ""),
]

ROOT = Path(__file__).resolve().parent.parent
OPS = ("roster", "ingest", "export", "bundle", "merge")
SUP, PIN = "sup", "246810"
ROSTER_ROWS = 1500
# Files libraries keep in TMPDIR that hold no personal data: onnxruntime's session id (".ses":
# a number and a UUID), used by the checks' landmark model.
LIBRARY_FILES = frozenset({".ses"})
PORTRAITS = 12


@dataclass
class Figures:
    kills: int = 0                   # processes killed while running
    finished_first: int = 0          # the random delay outlived the command (no kill)
    reruns: int = 0
    by_op: Counter = field(default_factory=Counter)
    disk_full_runs: int = 0
    disk_full_skipped: str = ""
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"kills": self.kills, "finished_before_kill": self.finished_first,
                "reruns": self.reruns, "kills_by_command": dict(self.by_op),
                "disk_full_runs": self.disk_full_runs,
                "disk_full_skipped": self.disk_full_skipped or None,
                "invariant_violations": len(self.violations), "violations": self.violations[:50],
                "seconds": round(self.seconds, 1)}


class Harness:
    def __init__(self, root: Path, seed: int = 11, log=print) -> None:
        self.root = Path(root)
        self.rng = random.Random(seed)
        self.log = log
        self.master = self.root / "master"
        self.field = self.root / "field"
        self.usb = self.root / "usb"
        self.tmp = self.root / "tmp"
        self.inputs = self.root / "inputs"
        self.figures = Figures()
        self.typical: dict[str, float] = {}
        self.people: list[dict] = []
        self.next_person = 0
        self.roster_round = 0
        self.bundle_round = 0

    # -- processes -----------------------------------------------------------------------------
    def _env(self, data: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STATION")}
        env.update(PYTHONPATH=str(ROOT), STATION_DATA_DIR=str(data), STATION_OPERATOR=SUP,
                   STATION_PIN=PIN, TMPDIR=str(self.tmp), STATION_LANG="en")
        return env

    def run(self, data: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "station", "--lang", "en", *args], cwd=ROOT,
                              env=self._env(data), capture_output=True, text=True,
                              timeout=timeout)

    def must(self, data: Path, *args: str) -> subprocess.CompletedProcess:
        r = self.run(data, *args)
        if r.returncode != 0:
            raise RuntimeError(f"station {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
        return r

    # -- set-up --------------------------------------------------------------------------------
    def setup(self) -> None:
        import cv2

        from station.sim.portrait import render
        from station.sim.roster import bulk_roster, identity_for, roster_csv

        for folder in (self.usb / "exports", self.usb / "bundles", self.tmp, self.inputs):
            folder.mkdir(parents=True, exist_ok=True)
        self.rows = bulk_roster(ROSTER_ROWS)
        (self.inputs / "roster.csv").write_bytes(roster_csv(self.rows))
        for data, name in ((self.master, "master"), (self.field, "field")):
            self.must(data, "init", "--station-id", name, "--supervisor", SUP)
            self.must(data, "roster", "import", str(self.inputs / "roster.csv"))
        for i in range(PORTRAITS):
            cv2.imwrite(str(self.inputs / f"p{i}.jpg"), render(1024, 1365, seed=100 + i)[0])
        eligible = self._eligible()
        by_id = {r["身份证号"]: r for r in self.rows}
        for n, idn in enumerate(eligible):
            path = self.inputs / f"id{n}.json"
            path.write_text(json.dumps(identity_for(by_id[idn]).to_json(), ensure_ascii=False),
                            "utf-8")
            self.people.append({"id_number": idn, "identity": path,
                                "image": self.inputs / f"p{n % PORTRAITS}.jpg"})
        self._enrol_field()
        for op in OPS:                       # one uncut run each: how long a command takes here
            args = self.command(op)
            started = time.monotonic()
            self.must(self._data_for(op), *args)
            self.typical[op] = time.monotonic() - started

    def _eligible(self) -> list[str]:
        conn = sqlite3.connect(self.master / "station.sqlite3")
        try:
            return [r[0] for r in conn.execute(
                "SELECT id_number FROM roster_current WHERE eligible = 1 ORDER BY id_number")]
        finally:
            conn.close()

    def _enrol_field(self) -> None:
        """Merge takes only bundles of enrolled stations (issue 11 item 1), when it exists."""
        if self.run(self.master, "trust", "--help").returncode != 0:
            return
        key = self.inputs / "field.pem"
        self.must(self.field, "key", "export", "--out", str(key))
        self.must(self.master, "trust", "add", str(key))

    def _data_for(self, op: str) -> Path:
        return self.master

    # -- the commands --------------------------------------------------------------------------
    def command(self, op: str) -> list[str]:
        if op == "roster":
            self.roster_round += 1
            rows = [dict(r) for r in self.rows]
            for r in rows[self.roster_round % 7::7]:           # a seventh of the names change
                r["姓名"] = r["姓名"][:1] + "改" * (self.roster_round % 3 + 1)
            path = self.inputs / f"roster-{self.roster_round}.csv"
            from station.sim.roster import roster_csv

            path.write_bytes(roster_csv(rows))
            return ["roster", "import", str(path)]
        if op == "ingest":
            p = self.people[self.next_person % len(self.people)]
            self.next_person += 1
            self.current = p
            return [*self._ingest_args(p), "--json"]
        if op == "export":
            return ["export", "build", "--out", str(self.usb / "exports"), "--json"]
        if op == "bundle":
            self.bundle_round += 1
            return ["bundle", "create", "--out", str(self.usb / "bundles" /
                                                     f"master-{self.bundle_round}.zip")]
        if op == "merge":
            self._field_work()
            bundle = self.usb / "bundles" / f"field-{self.bundle_round}.zip"
            self.bundle_round += 1
            self.must(self.field, "bundle", "create", "--out", str(bundle))
            self.current_bundle = bundle
            return ["merge", str(bundle), "--json"]
        raise ValueError(op)

    def _field_work(self) -> None:
        """The field station ingests one more person (so each bundle brings something new)."""
        p = self.people[-(1 + self.bundle_round % (len(self.people) // 2))]
        self.run(self.field, "ingest", "--identity", str(p["identity"]), "--image",
                 str(p["image"]), "--paid", "--vouch")

    # -- one kill ------------------------------------------------------------------------------
    def cycle(self, op: str) -> None:
        data = self._data_for(op)
        args = self.command(op)
        before = snapshot(data)
        usb_before = usb_files(self.usb)
        proc = subprocess.Popen([sys.executable, "-m", "station", *args], cwd=ROOT,
                                env=self._env(data), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        delay = self.rng.uniform(0.0, self.typical[op] * 1.1)
        try:
            proc.wait(timeout=delay)
            finished = True
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            finished = False
        if finished:
            self.figures.finished_first += 1
        else:
            self.figures.kills += 1
            self.figures.by_op[op] += 1
        where = f"{op} #{self.figures.kills} (after {delay:.2f} s)"
        self._check_after_kill(data, before, where)
        self._rerun(op, data, args, where)
        self._check_after_rerun(op, data, before, usb_before, where)

    def _rerun(self, op: str, data: Path, args: list[str], where: str) -> None:
        if op == "ingest" and accepted(data, self.current["id_number"]):
            return                           # the killed run had finished its work
        self.figures.reruns += 1
        if op == "bundle" and Path(args[-1]).exists():
            # the killed run had renamed its finished bundle into place (or finished first): the
            # rerun is refused as a shared stick's other file would be, and the operator told
            # to add --force replaces their own (bundle create refuses to overwrite since 311d9da)
            args = [*args, "--force"]
        r = self.run(data, *args)
        if r.returncode != 0:
            self.violation(f"{where}: the rerun failed (exit {r.returncode}): {r.stderr[-400:]}")

    # -- what must hold ------------------------------------------------------------------------
    def violation(self, text: str) -> None:
        self.figures.violations.append(text)
        self.log(f"   VIOLATION {text}")

    def _check_after_kill(self, data: Path, before: dict, where: str) -> None:
        errors = fsck_problems(data, allow_leftovers=True)
        if errors:
            self.violation(f"{where}: after the kill fsck finds {errors}")
        lost = missing(before, snapshot(data))
        if lost:
            self.violation(f"{where}: after the kill {len(lost)} rows lost or changed: {lost[:3]}")

    def _check_after_rerun(self, op: str, data: Path, before: dict, usb_before: set[str],
                           where: str) -> None:
        errors = fsck_problems(data, allow_leftovers=False)
        if errors:
            self.violation(f"{where}: after the rerun fsck finds {errors}")
        lost = missing(before, snapshot(data))
        if lost:
            self.violation(f"{where}: after the rerun {len(lost)} rows lost: {lost[:3]}")
        twice = exported_twice(data, self.usb / "exports")
        if twice:
            self.violation(f"{where}: exported twice: {twice[:3]}")
        stray = [p for p in usb_files(self.usb) - usb_before if is_partial(p)]
        if stray:
            self.violation(f"{where}: partial or temporary files left on the USB stick: {stray[:3]}")
        leaked = [str(p) for p in self.tmp.rglob("*") if p.name not in LIBRARY_FILES]
        if leaked:
            self.violation(f"{where}: files left in the processes' TMPDIR: {leaked[:3]}")
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp.mkdir()
        done = self._done(op, data)
        if done:
            self.violation(f"{where}: {done}")

    def _done(self, op: str, data: Path) -> str | None:
        """None when the command's effect is there after the rerun."""
        if op == "ingest" and not accepted(data, self.current["id_number"]):
            return "the person is not accepted after the rerun"
        if op == "export":
            r = self.run(data, "export", "build", "--out", str(self.usb / "exports"), "--json")
            if r.returncode != 0 or json.loads(r.stdout or "{}").get("photos"):
                return "an export after the rerun still found photos to export"
        if op == "bundle":
            bundle = self.usb / "bundles" / f"master-{self.bundle_round}.zip"
            try:
                with zipfile.ZipFile(bundle) as zf:
                    if zf.testzip() is not None or "bundle.json" not in zf.namelist():
                        return f"bundle {bundle.name} is damaged"
            except (OSError, zipfile.BadZipFile) as exc:
                return f"bundle {bundle.name}: {exc}"
        if op == "merge":
            gone = merged_missing(self.field, data)
            if gone:
                return f"{gone} rows of the field station missing after the merge"
        return None

    @staticmethod
    def _ingest_args(p: dict) -> list[str]:
        """``station ingest`` of person ``p``. The roster rounds rename a seventh of the people:
        their cards then differ from the roster, which a supervisor approves (name_mismatch
        blocks until one does)."""
        return ["ingest", "--identity", str(p["identity"]), "--image", str(p["image"]),
                "--paid", "--vouch", "--force", "--reason", "roster renamed by the harness"]

    # -- disk full -----------------------------------------------------------------------------
    def disk_full(self, runs: int) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.faultkit import fill, mount_problem, tmpfs

        problem = mount_problem()
        if problem:
            self.figures.disk_full_skipped = problem
            self.log(f"   disk-full runs skipped: {problem}")
            return
        for n in range(runs):
            disk = self.root / f"disk{n}"
            with tmpfs(disk, "48m"):
                data = disk / "data"
                shutil.copytree(self.master, data)
                p = self.people[self.next_person % len(self.people)]
                self.next_person += 1
                before = snapshot(data)
                filler = fill(disk, leave_bytes=self.rng.randrange(0, 96 * 1024))
                r = self.run(data, *self._ingest_args(p))
                self.figures.disk_full_runs += 1
                where = f"disk full #{n + 1}"
                if r.returncode == 0:
                    pass                     # it fitted in what was left: still a valid run
                elif r.returncode != 3 or "full" not in r.stderr or "Traceback" in r.stderr:
                    self.violation(f"{where}: exit {r.returncode}, not in words: {r.stderr[-300:]}")
                errors = fsck_problems(data, allow_leftovers=True)
                if errors:
                    self.violation(f"{where}: fsck finds {errors}")
                filler.unlink()
                # looked at with the space back: a read-only reader of a WAL database must make
                # its shared-memory file, which a full disk refuses ("disk I/O error"): that is
                # the observer failing, not the store (the filler is not the store's file)
                if missing(before, snapshot(data)):
                    self.violation(f"{where}: rows lost")
                if not accepted(data, p["id_number"]):
                    again = self.run(data, *self._ingest_args(p))
                    if again.returncode != 0:
                        self.violation(f"{where}: after freeing space: exit {again.returncode}")
                if fsck_problems(data, allow_leftovers=False):
                    self.violation(f"{where}: fsck not clean after freeing space")


# ---------------------------------------------------------------- observations (read-only)

def _ro(data: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{data / 'station.sqlite3'}?mode=ro", uri=True, timeout=30)


def snapshot(data: Path) -> dict[tuple[str, str], str]:
    """(table, id) → hash of the row, for every fact row of the store."""
    from station.store.seals import sealed_tables

    conn = _ro(data)
    try:
        out = {}
        for table in sealed_tables(conn):
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                out[(table, row[0])] = hashlib.sha256(repr(tuple(row)).encode()).hexdigest()
        return out
    finally:
        conn.close()


def missing(before: dict, after: dict) -> list[tuple[str, str]]:
    # The purge is the only command that rewrites rows, and the harness never runs it.
    return [k for k, v in before.items() if after.get(k) != v]


def fsck_problems(data: Path, *, allow_leftovers: bool) -> list[str]:
    from station.store import open_store
    from station.store.fsck import fsck

    try:
        store = open_store(data, access="read", check=False)
    except Exception as exc:  # noqa: BLE001 - any failure to open is what we report
        return [f"cannot open: {exc}"]
    try:
        codes = [f.code for f in fsck(store) if f.fails]
    finally:
        store.close()
    if allow_leftovers:
        codes = [c for c in codes if not c.startswith("leftover_") and c != "orphan_image"]
    return codes


def accepted(data: Path, id_number: str) -> bool:
    conn = _ro(data)
    try:
        return conn.execute("SELECT 1 FROM accepted_captures WHERE id_number = ?",
                            (id_number,)).fetchone() is not None
    finally:
        conn.close()


def _loads(text: object) -> dict:
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def exported_twice(data: Path, exports: Path) -> list[str]:
    """Captures sent as a new photo more than once, in the store's batch records or on the stick.
    A capture sent again as a deliberate replacement (its person's record was corrected after the
    export, e.g. by a roster re-import) is not a second export."""
    conn = _ro(data)
    try:
        recorded: dict[str, list[dict]] = {}
        columns = {r[1] for r in conn.execute("PRAGMA table_info(exports)")}
        if "record" in columns:          # the batch record on its exports row (export's v5)
            rows = conn.execute("SELECT batch_id, record FROM exports").fetchall()
        else:                            # older stores: the record in the audit details
            rows = [(b, json.dumps(_loads(d).get("record", {}))) for b, d in conn.execute(
                "SELECT subject, details FROM audit WHERE action = 'export'")]
        for batch, record in rows:
            recorded[batch] = _loads(record).get("items", [])
        items = {r[0] for r in conn.execute("SELECT DISTINCT capture_id FROM export_items")}
        if "export_index" in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}:
            # batches recorded as one sealed row (export's v10): their captures are indexed here
            items |= {r[0] for r in conn.execute("SELECT DISTINCT capture_id FROM export_index")}
    finally:
        conn.close()
    twice: list[str] = []
    new_in_store = Counter(i.get("capture_id") for items_ in recorded.values() for i in items_
                           if i.get("kind", "new") == "new")
    twice += [f"{k} new in {n} batches (store)" for k, n in new_in_store.items() if n > 1]
    twice += [f"{k} exported without a batch record" for k in items - set(new_in_store)
              - {i.get("capture_id") for items_ in recorded.values() for i in items_}]
    seen: Counter = Counter()
    for manifest in exports.rglob("manifest.json"):
        if any(part.startswith(".") for part in manifest.relative_to(exports).parts):
            continue                          # an unfinished batch: the next build recovers it
        try:
            doc = json.loads(manifest.read_text("utf-8"))
        except (OSError, ValueError):
            twice.append(f"unreadable {manifest}")
            continue
        if doc.get("batch_id") and doc["batch_id"] not in recorded:
            twice.append(f"batch {doc['batch_id']} on the stick is not recorded")
        seen.update(i.get("capture_id") for i in doc.get("items", [])
                    if i.get("kind", "new") == "new")
    twice += [f"{k} new in {n} batches (stick)" for k, n in seen.items() if n > 1]
    return twice


def usb_files(usb: Path) -> set[str]:
    return {str(p.relative_to(usb)) for p in usb.rglob("*")}


def is_partial(rel: str) -> bool:
    return any(part.startswith(".") or part.endswith((".tmp", ".partial"))
               for part in Path(rel).parts)


def merged_missing(field_data: Path, master: Path) -> int:
    """Rows the field station itself recorded (what its bundles carry) missing on the master;
    local tables (operators, its own import and clash bookkeeping) never travel."""
    from station.store.seals import sealed_tables
    from station.store.union import LOCAL_TABLES

    conn = _ro(field_data)
    try:
        tables = set(sealed_tables(conn)) - LOCAL_TABLES
        station = conn.execute("SELECT value FROM meta WHERE key = 'station_id'").fetchone()[0]
        theirs = {(t, r[0]) for t in tables
                  for r in conn.execute(f'SELECT id FROM "{t}" WHERE station_id = ?', (station,))}
    finally:
        conn.close()
    ours = snapshot(master)
    return sum(1 for key in theirs if key not in ours)


# ---------------------------------------------------------------- running it

def run(kills: int, seed: int = 11, disk_full_runs: int = 3, root: Path | None = None,
        log=print) -> Figures:
    started = time.monotonic()
    own = root is None
    root = Path(tempfile.mkdtemp(prefix="station-faults-")) if own else Path(root)
    try:
        h = Harness(root, seed, log)
        h.setup()
        log(f"   set-up done; one uncut run took (s): "
            f"{ {k: round(v, 2) for k, v in h.typical.items()} }")
        while h.figures.kills < kills:
            op = h.rng.choice(OPS)
            h.cycle(op)
            if h.figures.kills and h.figures.kills % 10 == 0:
                log(f"   {h.figures.kills} kills, {len(h.figures.violations)} violations")
        h.disk_full(disk_full_runs)
        h.figures.seconds = time.monotonic() - started
        return h.figures
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)


def main() -> dict:
    """The bench size: 100 kills and 5 disk-full runs."""
    figures = run(kills=int(os.environ.get("STATION_FAULT_KILLS", "100")), disk_full_runs=5)
    load = os.getloadavg()
    return {**figures.to_json(), "load_average": [round(x, 2) for x in load]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--disk-full", type=int, default=5)
    a = parser.parse_args()
    print(json.dumps({**run(a.kills, a.seed, a.disk_full).to_json(),
                      "load_average": [round(x, 2) for x in os.getloadavg()]}, indent=2))
