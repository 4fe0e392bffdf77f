"""Setting up a demo (and simulation) station: a store with the example schedule, the demo
roster, a supervisor and a photographer, and the list of cards the demo's tap key presents."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.config import load_settings
from station.domain.identity import Identity

if TYPE_CHECKING:
    from station.store.core import Store

DEMO_SUPERVISOR, DEMO_SUPERVISOR_PIN = "演示主管", "1234"
DEMO_PHOTOGRAPHER, DEMO_PHOTOGRAPHER_PIN = "演示摄影", "5678"
DEMO_STATION = "demo-1"
# The demo runs "during" the example schedule's second slot, so roster people match their slot.
DEMO_START = dt.datetime(2017, 10, 25, 9, 10)


@dataclass
class DemoSetup:
    """What `station demo` / `station simulate` need after set-up."""

    data_dir: Path
    people: list[Identity] = field(default_factory=list)   # cards, in tap order
    roster_size: int = 0
    eligible: list[Identity] = field(default_factory=list)    # on the roster, in today's slot
    ineligible: list[Identity] = field(default_factory=list)  # on the roster, not eligible
    off_roster: list[Identity] = field(default_factory=list)  # valid cards, not on the roster
    looks: dict[str, str] = field(default_factory=dict)       # ID number → sim look (station.sim.students)


def demo_clock(start: dt.datetime = DEMO_START) -> Callable[[], dt.datetime]:
    """A clock that starts at ``start`` and runs at real speed (the demo's schedule is in 2017)."""
    t0 = time.monotonic()

    def now() -> dt.datetime:
        return start + dt.timedelta(seconds=time.monotonic() - t0)

    return now


def fixed_clock(at: dt.datetime = DEMO_START) -> Callable[[], dt.datetime]:
    """A clock that never moves (snapshots)."""
    return lambda: at


def init_store(data_dir: Path, station_id: str = DEMO_STATION) -> Store:
    """A fresh store with a supervisor and a photographer (as `station init` + `operator add`)."""
    from station.store import open_store

    store = open_store(data_dir)
    if store.station_id is None:
        with store.transaction():
            store.set_meta("station_id", station_id)
            store.set_meta("school_code", "10673")
            sup = store.operators.add(DEMO_SUPERVISOR, "supervisor", DEMO_SUPERVISOR_PIN)
            store.operators.add(DEMO_PHOTOGRAPHER, "photographer", DEMO_PHOTOGRAPHER_PIN, by=sup)
    return store


def prepare(data_dir: Path, *, people: int = 40, roster_rows: int | None = None,
            mode: str = "card") -> DemoSetup:
    """Store + example schedule + demo roster; ``people`` cards to tap, slot people first, then
    one ineligible and one off-roster card so the demo shows both flags. ``mode="code"`` sets
    the station to take each student's 图像采集码 too (session.mode in station.toml)."""
    from station.roster.importer import import_roster
    from station.roster.schedule import import_schedule
    from station.sim import roster as sim_roster
    from station.sim.students import demo_looks

    data_dir = Path(data_dir)
    store = init_store(data_dir)
    if mode != "card":
        write_mode(data_dir, mode)
    try:
        roster_settings = load_settings(data_dir).roster
        rows = sim_roster.demo_roster()
        if roster_rows is not None:
            rows = rows[:roster_rows]
        files = data_dir / "demo-input"
        files.mkdir(parents=True, exist_ok=True)
        roster_path = files / "roster.csv"
        roster_path.write_bytes(sim_roster.roster_csv(rows))
        import_schedule(store, sim_roster.SCHEDULE_CSV, roster_settings, DEMO_SUPERVISOR)
        import_roster(store, roster_path, roster_settings, DEMO_SUPERVISOR)
        roster = {r["身份证号"]: r for r in rows}
        slot_people = _slot_people(store, rows, DEMO_START)
        eligible = [r for r in slot_people if _eligible(store, r["身份证号"])]
        ineligible = [r for r in rows if not _eligible(store, r["身份证号"])]
        good = [sim_roster.identity_for(r) for r in eligible[:max(people, 1)]]
        bad = [sim_roster.identity_for(r) for r in ineligible[:3]]
        off = sim_roster.off_roster_identities(2)
        cards = list(good[:max(people - 2, 1)])
        if bad:
            cards.insert(min(3, len(cards)), bad[0])
        if off:
            cards.insert(min(6, len(cards)), off[0])
        looks = demo_looks([i.id_number for i in good])
        return DemoSetup(data_dir, cards[:people], len(roster), good, bad, off, looks)
    finally:
        store.close()


def _eligible(store: Store, id_number: str) -> bool:
    entry = store.roster.get(id_number)
    return bool(entry and entry.eligible)


def _slot_people(store: Store, rows: list[dict[str, Any]],
                 when: dt.datetime) -> list[dict[str, Any]]:
    """Roster rows whose department's slot is running at ``when`` (the demo's "now")."""
    running = store.schedule.slot_at(when)
    departments: set[str] = set()
    for slot in running:
        departments.update(slot.departments)
    picked = [r for r in rows if r["培养单位"] in departments]
    return picked or rows


def tap_cards(store: Store, when: dt.datetime, limit: int = 40) -> list[Identity]:
    """Cards for a simulated or virtual reader outside the demo (``station run --reader sim``):
    the roster people of the slot running at ``when`` (else of the whole roster) who have no
    accepted photo yet, then one valid card that is not on the roster."""
    from station.domain import idnumber
    from station.sim.roster import off_roster_identities

    entries = store.roster.all()
    departments = {d for slot in store.schedule.slot_at(when) for d in slot.departments}
    slot_people = [e for e in entries if e.department in departments] or entries
    cards: list[Identity] = []
    for entry in slot_people:
        if len(cards) >= max(limit - 1, 1):
            break
        if store.person_state(entry.id_number).accepted_capture_id:
            continue
        born = idnumber.birth_date(entry.id_number)
        cards.append(Identity("resident", entry.name, idnumber.gender(entry.id_number),
                              entry.birth_date or (born.isoformat() if born else ""),
                              entry.id_number,
                              valid_from="2016-01-01", valid_to="2036-01-01", nation="汉"))
    return cards + off_roster_identities(1)


def write_mode(data_dir: Path, mode: str) -> None:
    """The demo station's ``session.mode`` in its own station.toml (a throw-away folder)."""
    from station.settings import CONFIG_FILE

    path = Path(data_dir) / CONFIG_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(text + f'\n[session]\nmode = "{mode}"\n', encoding="utf-8")


def demo_capture_codes(people: list[Identity]) -> dict[str, str]:
    """ID number → the 图像采集码 each demo student shows on the phone (code mode's sim stage)."""
    return {person.id_number: demo_capture_code(person) for person in people}


def demo_capture_code(identity: Identity) -> str:
    """The 图像采集码 a demo student shows (an opaque token, like the real ones: not derived
    from anything a reader could recover but made repeatable for the demo)."""
    import hashlib

    digest = hashlib.sha256(f"demo-capture-code:{identity.id_number}".encode()).digest()
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:16])
