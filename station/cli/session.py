"""Session commands: ingest, simulate, run, demo. Heavy modules are imported in the handlers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.cli.context import Context

if TYPE_CHECKING:
    from station.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="store a capture for a person as the desk would")
    p.add_argument("--identity", type=Path, required=True, help="identity JSON file (the shape `station idcard read --json` prints; see README)")
    p.add_argument("--image", type=Path, required=True, help="the photo (any format Pillow reads)")
    p.add_argument("--paid", action="store_true", help="record the fee as paid now")
    p.add_argument("--reference", help="payment transaction number (with --paid)")
    p.add_argument("--force", action="store_true",
                   help="supervisor only: accept although checks fail or the roster says no")
    p.add_argument("--reason", help="why --force was needed (recorded in the audit)")
    p.add_argument("--vouch", action="store_true",
                   help="supervisor only: the identity file is a card read (idcard read --json) "
                        "you vouch for; without it the identity is recorded as typed (unverified)")
    p.add_argument("--walk-in", metavar="SCHOOL_CODE", help="walk-in capture for this school")
    p.add_argument("--address", help="mailing address (walk-in)")
    p.add_argument("--capture-code", metavar="CODE",
                   help="the student's capture code from the QR code (code mode; default: the identity "
                        "JSON's capture_code)")
    p.add_argument("--operator", dest="command_operator", metavar="NAME",
                   help="who acts (same as the global --operator; PIN from STATION_PIN or a prompt)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("simulate", help="run N students end to end on simulated devices")
    p.add_argument("--students", type=int, required=True, help="how many students to run")
    p.add_argument("--camera", default="sim", help="sim or virtual")
    p.add_argument("--reader", default="sim", help="sim or virtual")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_simulate, needs_data_dir=False)

    p = sub.add_parser("run", help="the station TUI")
    p.add_argument("--camera", choices=("gphoto2", "virtual", "sim"),
                   help="gphoto2, virtual or sim (default: configuration)")
    p.add_argument("--reader", help="pcsc[:NAME], serial:PORT, virtual, sim or manual (default: configuration)")
    p.add_argument("--walk-in", metavar="SCHOOL_CODE", help="walk-in desk for this school")
    p.add_argument("--lang", dest="command_lang", choices=("zh", "en"),
                   help="language of the screens (same as the global --lang)")
    p.add_argument("--auto-capture", type=float, metavar="SECONDS",
                   help="capture by itself after this long of steady framing")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("demo", help="the TUI on simulated devices with demo data (throw-away)")
    p.add_argument("--people", type=int, default=40, help="demo cards the tap key presents")
    p.add_argument("--lang", dest="command_lang", choices=("zh", "en"),
                   help="language of the screens (same as the global --lang)")
    p.add_argument("--keep", type=Path, help="keep the demo data in this folder instead")
    p.add_argument("--mode", choices=("card", "code"), default="card",
                   help="card: the ID card identifies (2017); code: also take each student's "
                        "capture code (q scans the demo student's code, v reads a QR code)")
    p.set_defaults(handler=cmd_demo, needs_data_dir=False)


# ---------------------------------------------------------------- ingest


def cmd_ingest(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.output import emit
    from station.domain.identity import Identity
    from station.errors import InputError, Location, RefusedError, StationError, UsageError
    from station.i18n import Words, t
    from station.privacy import mask_id
    from station.session.service import CaptureService

    if args.force and not (args.reason or "").strip():
        raise UsageError("session.force_needs_reason")  # an override is audited with its why
    if args.reference is not None and not args.paid:   # it was dropped, the fee left unpaid
        raise UsageError("session.reference_needs_paid")
    identity = Identity.load(args.identity)
    code = args.capture_code if args.capture_code is not None else identity.capture_code
    if code is not None and ctx.settings.session.mode != "code":
        raise UsageError("session.capture_code_card_mode")
    if code is None and ctx.settings.session.mode == "code":
        # said before the card read and the fee are recorded, not after them at the photo
        raise UsageError("session.ingest_needs_code")
    try:
        image = args.image.read_bytes()
    except OSError:
        raise InputError("session.image_missing", Location(str(args.image)),
                         path=str(args.image)) from None
    from station.privacy import check_text

    for value, name, limit in ((args.reason, "--reason", 500), (args.address, "--address", 200),
                               (args.reference, "--reference", 100)):
        if value is not None:
            check_text(value, field=name, limit=limit, source=name)
    from station.checks.imageio import open_source

    open_source(image, name=str(args.image))  # not an image at all: bad input, nothing stored
    op = ctx.operator("ingest")
    if args.force and not op.can("accept.override"):
        raise RefusedError("session.supervisor_required", action=Words(("session.action.force",)))
    if args.vouch:
        ctx.store().operators.require(op, "identity.vouch")
    walk_in = None
    if args.walk_in:
        from station.domain.schools import walk_in_for

        walk_in = walk_in_for(ctx.settings.schools, args.walk_in, "--walk-in")
    store = ctx.store()
    service = CaptureService(store, op, settings=ctx.settings, walk_in=walk_in)
    person = service.identify(identity, source="card" if args.vouch else "typed")
    if args.vouch:
        store.audit.append(op.name, "identity.vouch", identity.id_number,
                           {"card_read_id": person.card_read_id, "file": args.identity.name})
    out: dict[str, Any] = {"id_number": mask_id(identity.id_number), "name": identity.name,
                           "flags": person.match.flags, "accepted": False}
    if person.match.blocking:
        if not args.force:
            service.skip("roster")
            out["refused"] = person.match.blocking
            flags = Words(tuple(f"session.flag.{f}" for f in person.match.blocking), ", ", "、")
            emit(ctx.json, out, t("session.ingest_blocked", name=identity.name, flags=flags))
            return 1
        service.override_block(op, args.reason)
    if code is not None:
        try:
            where = (Location("--capture-code") if args.capture_code is not None     # as typed
                     else Location(str(args.identity), field="capture_code"))
            out["capture_code"] = service.set_capture_code(code, where=where)
        except StationError:
            service.skip("capture code refused")
            raise
    if not person.paid:
        if args.paid:
            service.pay(args.reference)
        else:
            service.pay_later()
    if walk_in is not None:
        service.set_mailing_address(args.address or "")
    result = service.capture(image, file_name=args.image.name)
    out.update(capture_id=result.capture_id, passed=result.passed,
               image_sha256=result.image_sha, crop_sha256=result.crop_sha,
               checks=[c.__dict__ for c in result.checks], paid=person.paid)
    if result.crop_error:
        out["crop_error"] = result.crop_error
    failed = Words(tuple(f"checks.name.{c.name}" for c in result.failed) or ("checks.name.crop",),
                   ", ", "、")
    if not result.passed and not args.force:
        service.retake("checks failed (ingest)")
        service.skip("checks failed")
        emit(ctx.json, out, t("session.ingest_failed", checks=failed))
        return 1
    service.accept(override_by=op if not result.passed else None, reason=args.reason)
    service.next()
    out["accepted"] = True
    if not result.passed:
        out["override_by"] = op.name
    emit(ctx.json, out, t("session.ingest_ok", name=identity.name, capture_id=result.capture_id))
    return 0


# ---------------------------------------------------------------- simulate


def cmd_simulate(ctx: Context, args: argparse.Namespace) -> int:
    import tempfile

    from station.cli.output import emit
    from station.errors import UsageError
    from station.i18n import t
    from station.sim.simulate import simulate

    if args.students < 1:
        raise UsageError("session.bad_students", value=args.students)
    with tempfile.TemporaryDirectory(prefix="station-sim-") as tmp:
        result = simulate(Path(tmp) / "data", args.students, camera=args.camera,
                          reader=args.reader)
    soft = result["per_student_software_ms"]
    emit(ctx.json, result, t("session.simulate_done", students=result["students"],
                             median=soft["median"], p95=soft["p95"],
                             per_hour=result["students_per_hour"]))
    return 0


# ---------------------------------------------------------------- run / demo


def _probe_picture(settings: Settings) -> str:
    """The tui.picture setting; textual-image asks the terminal now, before Textual runs."""
    from station.tui import picture_mode

    mode = settings.tui.picture
    picture_mode.probe(mode)
    return mode


def cmd_run(ctx: Context, args: argparse.Namespace) -> int:
    from station.cli.values import seconds
    from station.errors import RefusedError
    from station.tui.app import make_app

    # bad usage first; -5 captured on the first passing frame, nan or inf never (0: off)
    auto = seconds("--auto-capture", args.auto_capture, zero_allowed=True)
    if args.reader is not None:       # a mistyped reader opened the desk anyway
        from station.idcard import check_reader_spec

        check_reader_spec(args.reader)
    # before `station init` (or with a mistyped --data-dir) the desk's login could never succeed:
    # say so here, naming the folder, instead of opening it (and an empty store) there
    store = ctx.store(access="auto")
    if not store.initialized:
        raise RefusedError("store.not_initialized")
    if ctx.clock_is_right:               # accepted (audited) here; else the desk says it at start
        ctx.check_clock(store)
    ctx.close()                                  # the desk opens its own
    cfg = ctx.settings
    if args.walk_in:   # here, in words (exit 2): the desk's mount crashed on it, traceback, exit 0
        from station.domain.schools import walk_in_for

        walk_in_for(cfg.schools, args.walk_in, "--walk-in")
    if auto is None:
        auto = cfg.session.auto_capture_seconds
    picture = _probe_picture(cfg)
    app = make_app(ctx.data_dir, camera=args.camera or cfg.camera.driver,
                   reader=args.reader or cfg.idcard.reader, lang=ctx.lang,
                   walk_in=args.walk_in, auto_capture_seconds=auto, picture=picture)
    app.run()
    return 0


def cmd_demo(ctx: Context, args: argparse.Namespace) -> int:
    import shutil
    import sys
    import tempfile

    from station.i18n import t
    from station.sim import demo
    from station.sim.students import Stage
    from station.tui.app import make_app

    picture = _probe_picture(ctx.settings)
    tmp = None
    if args.keep:
        data_dir = args.keep
    else:
        tmp = tempfile.mkdtemp(prefix="station-demo-")
        data_dir = Path(tmp) / "data"
    try:
        setup = demo.prepare(data_dir, people=args.people, mode=args.mode)
        sys.stderr.write(t("session.demo_dir", path=data_dir) + "\n")
        # code mode: each student holds up the phone with their 图像采集码 (the desk's v reads it)
        codes = demo.demo_capture_codes(setup.people) if args.mode == "code" else None
        app = make_app(data_dir, camera="sim", reader="sim", lang=ctx.lang, demo=True,
                       demo_people=setup.people, clock=demo.demo_clock(),
                       camera_opts={"source": Stage(setup.looks, codes=codes)},
                       demo_looks=setup.looks,
                       login=(demo.DEMO_SUPERVISOR, demo.DEMO_SUPERVISOR_PIN), picture=picture)
        app.run()
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0
