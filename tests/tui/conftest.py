"""TUI fixtures: a real store, the app from make_app(), deterministic stand-ins where the
snapshot needs them (fixed clock, fixed picture, no live workers)."""

from __future__ import annotations

import datetime as dt

import pytest

from station.domain import idnumber
from station.domain.identity import Identity
from station.session.model import CheckLine, MatchInfo
from station.store import open_store

SUPERVISOR, SUP_PIN = "主管甲", "2468"
PHOTOGRAPHER, PHO_PIN = "摄影乙", "1357"
TECHNICIAN, TECH_PIN = "技术丙", "9753"
# 09:10 at the station (UTC+8, its configured local time), whatever the machine zone
FIXED_NOW = dt.datetime(2017, 10, 25, 9, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def make_store(data_dir, station_id: str = "st-tui"):
    store = open_store(data_dir)
    with store.transaction():
        store.set_meta("station_id", station_id)
        store.set_meta("school_code", "10673")
        sup = store.operators.add(SUPERVISOR, "supervisor", SUP_PIN)
        store.operators.add(PHOTOGRAPHER, "photographer", PHO_PIN, by=sup)
        store.operators.add(TECHNICIAN, "technician", TECH_PIN, by=sup)
    return store


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    make_store(path).close()
    return path


def person(i: int, name: str = "李明") -> Identity:
    born = dt.date(1995, 3, 1) + dt.timedelta(days=41 * i)
    number = idnumber.make("530102", born, i, male=i % 2 == 0)
    return Identity(card_type="resident", name=f"{name}{i}", gender=idnumber.gender(number),
                    birth_date=born.isoformat(), id_number=number)


def portrait(width: int = 480, height: int = 640, good: bool = True):
    """A synthetic portrait on a blue backdrop (drawn, not a real person)."""
    import cv2
    import numpy as np

    img = np.zeros((height, width, 3), np.uint8)
    img[:] = (255, 197, 100)  # BGR of the CHSI reference blue
    cx = width // 2
    cv2.ellipse(img, (cx, int(height * 0.36)), (int(width * 0.21), int(height * 0.2)), 0, 0, 360,
                (150, 180, 225), -1)
    cv2.rectangle(img, (int(width * 0.15), int(height * 0.62)), (int(width * 0.85), height),
                  (40, 40, 40), -1)
    for dx in (-0.08, 0.08):
        cv2.circle(img, (int(cx + dx * width), int(height * 0.34)), 6, (30, 30, 30), -1)
    if not good:
        img = cv2.GaussianBlur(img, (31, 31), 0)
    return img


class PictureChecker:
    """Checks stand-in for snapshots: marker bytes decide pass/fail, the crop is a fixed JPEG."""

    def check(self, data: bytes):
        ok = data.startswith(b"GOOD")
        lines = [CheckLine("face_count", "pass", 1, 1, "一张人脸", "one face"),
                 CheckLine("head_top", "pass", 80, [50, 110], "头顶位置合适", "head top ok"),
                 CheckLine("sharpness", "pass" if ok else "fail", 120 if ok else 12, 40,
                           "清晰" if ok else "照片模糊：请对焦", "sharp" if ok else "blurry: focus"),
                 CheckLine("backdrop_uniformity", "warn", 6.1, 5.0, "背景略不均匀", "backdrop slightly uneven")]
        return ok, lines, {"passed": ok, "checks": [line.__dict__ for line in lines]}

    def crop(self, data: bytes) -> bytes:
        import cv2

        return cv2.imencode(".jpg", portrait(good=data.startswith(b"GOOD")))[1].tobytes()


def table_match(table: dict[str, list[str]]):
    def match(store, identity, now):
        flags = table.get(identity.id_number, ["not_on_roster"])
        return MatchInfo(flags=list(flags), department="物理与天文学院", degree="本科",
                         slot_label="2017-10-25 09:00–10:00 文汇楼一栋1403",
                         details={"slot_expected": 354})

    return match


def desk_app(data_dir, match: dict[str, list[str]], *, lang: str = "zh",
             login: tuple[str, str] | None = (PHOTOGRAPHER, PHO_PIN), **options):
    """The desk most TUI tests drive: no devices or live workers, a fixed clock, the scripted
    checker (PictureChecker) and the roster's verdicts ``match`` (ID number → flags)."""
    from station.tui.app import make_app

    return make_app(data_dir, camera=None, reader=None, live=False, lang=lang, login=login,
                    clock=lambda: FIXED_NOW,
                    service_kwargs={"checker": PictureChecker(), "match": table_match(match)},
                    **options)


async def step(pilot, fn, linger: float = 0.0) -> None:
    """A session step on the store thread; returns once the screen shows its answer."""
    pilot.app.runner.step(fn)
    await pilot.app.settle()
    await pilot.pause()
    if linger:
        await pilot.pause(linger)


async def student_at_desk(app, pilot, someone) -> None:
    """``someone``'s card read at the started desk (the session's own step, no reader), settled."""
    await app.settle()
    app.runner.step(lambda s: s.identify(someone))
    await app.settle()
    await pilot.pause()


async def desk_shown(pilot, timeout: float = 10.0):
    """The desk once login has switched to it and it is mounted: the switch is a message of its
    own, so the store thread going idle (``settle``) does not mean the desk has mounted yet (a
    loaded machine showed the desk's code mode still unread)."""
    import time

    from station.tui.screens.desk import DeskScreen

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = pilot.app.screen
        if isinstance(screen, DeskScreen) and screen.is_mounted:
            return screen
        await pilot.pause(0.02)
    raise AssertionError(f"the desk was not shown within {timeout} s: {pilot.app.screen!r}")


WALK_IN_SCHOOL = "10674"       # a Friday make-up school other than the station's own (10673)


def accept_at_desk(data_dir, people, *, picture: bytes = b"GOOD", overridden: bool = False) -> None:
    """``people`` photographed and accepted at the station's own desk through its service, as a
    photographer would (fee paid; ``picture`` for PictureChecker; ``overridden``: a failing photo
    accepted on the supervisor's word, with a reason)."""
    from station.session.service import CaptureService

    with open_store(data_dir) as store:
        op = store.operators.authenticate(PHOTOGRAPHER, PHO_PIN)
        sup = store.operators.authenticate(SUPERVISOR, SUP_PIN) if overridden else None
        service = CaptureService(store, op, checker=PictureChecker(), clock=lambda: FIXED_NOW,
                                 match=table_match({p.id_number: [] for p in people}))
        for p in people:
            service.identify(p)
            service.pay(None)
            service.capture(picture)
            if sup is None:
                service.accept()
            else:
                service.accept(override_by=sup, reason="judged fine")
            service.next()


def accept_walk_ins(data_dir, people, school: str = WALK_IN_SCHOOL, *, student_nos=None) -> None:
    """``people`` photographed and accepted at ``school``'s walk-in desk, through the desk's own
    service as a photographer would (address, fee, a passing photo). ``student_nos``: put them on
    that school's roster first (``roster import --school-code``), each with this student number."""
    from station.domain.schools import WalkIn
    from station.session.service import CaptureService

    with open_store(data_dir) as store:
        for identity, student_no in zip(people, student_nos or (), strict=False):
            store.insert("roster_entries", {
                "id_number": identity.id_number, "name": identity.name, "student_no": student_no,
                "department": "信息工程与自动化学院", "gender": identity.gender,
                "birth_date": identity.birth_date, "eligible": 1, "school_code": school})
        op = store.operators.authenticate(PHOTOGRAPHER, PHO_PIN)
        service = CaptureService(store, op, checker=PictureChecker(), clock=lambda: FIXED_NOW,
                                 walk_in=WalkIn(school, "昆明理工大学"),
                                 match=table_match({}))       # on no roster of this station
        for identity in people:
            service.identify(identity)
            service.set_mailing_address("云南省昆明市一二一大街")
            service.pay(None)
            service.capture(b"GOOD")
            service.accept()
            service.next()
