"""`station check`, `station crop`, `station calibrate`: the photo checks on the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from station.cli.context import Context


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="run every frame check on images (exit 1 if any fails)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="photos to check (any format Pillow reads)")
    p.add_argument("--profile", help="photo profile exports/NAME.toml (default: exports.profile)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--no-calibration", action="store_true", help="ignore this station's calibration")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("crop", help="make the export photo (scale and cut only; exit 1 if the frame cannot meet the profile)")
    p.add_argument("image", metavar="IMAGE", help="the camera frame")
    p.add_argument("--out", required=True, type=Path, metavar="FILE",
                   help="where to write the export JPEG (.jpg)")
    p.add_argument("--profile", help="photo profile exports/NAME.toml (default: exports.profile)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-calibration", action="store_true", help="ignore this station's calibration")
    p.set_defaults(handler=cmd_crop)

    p = sub.add_parser("calibrate", help="measure this station's backdrop colour and sharpness")
    p.add_argument("--empty", required=True, type=Path, metavar="FRAME",
                   help="a frame of the empty backdrop (no one in the chair)")
    p.add_argument("--subject", type=Path, metavar="FRAME", help="a well-focused test subject")
    p.add_argument("--profile", help="photo profile exports/NAME.toml (default: exports.profile)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_calibrate)


def _calibration(ctx: Context, profile: str, skip: bool):
    if skip:
        return None
    from station.checks.calibration import load_calibration

    return load_calibration(ctx.data_dir, profile)


def cmd_check(ctx: Context, args: argparse.Namespace) -> int:
    from station.checks import load_profile
    from station.checks.pipeline import analyse
    from station.checks.workers import set_opencv_threads
    from station.cli.output import emit

    profile = load_profile(args.profile or ctx.settings.exports.profile)
    calibration = _calibration(ctx, profile.name, args.no_calibration)
    threads = ctx.settings.session.check_threads
    set_opencv_threads(threads)
    reports = [analyse(Path(img), profile, calibration, name=img, threads=threads).report
               for img in args.images]
    data = {"results": [r.to_json() for r in reports]}
    emit(args.json, data, lambda _: "\n".join(_human(r, ctx.lang) for r in reports))
    return 0 if all(r.passed for r in reports) else 1


def _human(report, lang: str) -> str:
    from station.i18n import t

    mark = "✓" if report.passed else "✗"
    lines = [f"{mark} {report.image}  ({report.elapsed_ms:.0f} ms)"]
    for c in report.checks:
        if c.status != "pass":
            text = c.message_zh if lang == "zh" else c.message_en
            status = t(f"cli.check_status.{c.status}", lang)
            lines.append(f"    {status} {t(f'checks.name.{c.name}', lang)}: {text}")
    return "\n".join(lines)


def cmd_crop(ctx: Context, args: argparse.Namespace) -> int:
    from station.checks import check_and_crop, load_profile
    from station.checks.workers import set_opencv_threads
    from station.cli.output import emit
    from station.errors import InputError, Location
    from station.i18n import t

    if not Path(args.image).is_file():
        raise InputError("common.file_missing", Location(args.image), path=args.image)
    _check_crop_out(args.out)
    profile = load_profile(args.profile or ctx.settings.exports.profile)
    calibration = _calibration(ctx, profile.name, args.no_calibration)
    threads = ctx.settings.session.check_threads
    set_opencv_threads(threads)
    report, data = check_and_crop(Path(args.image), profile, calibration, threads=threads)
    from station.fsio import atomic_write

    atomic_write(args.out, data)
    width, height = profile.size
    info = {"image": args.image, "out": str(args.out), "bytes": len(data), "width": width,
            "height": height, "quality": _quality(data), "report": report.to_json()}
    emit(args.json, info, t("checks.crop_written", path=args.out, width=width, height=height,
                            kb=f"{len(data) / 1024:.1f}", quality=info["quality"]))
    return 0


NOT_JPEG = frozenset({".png", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".heic", ".heif", ".jp2",
                      ".pdf"})


def _check_crop_out(out: Path) -> None:
    """Before any work: a JPEG written under a .png name fooled every later tool, and a folder
    given as the file cannot be written. Anything else is written (the same name replaced,
    missing folders made), as before: scripts crop into one name again and again."""
    from station.errors import InputError, Location

    if out.suffix.lower() in NOT_JPEG:
        raise InputError("common.out_not_jpeg", Location("--out"), path=str(out))
    if out.is_dir():
        raise InputError("common.out_is_dir", Location("--out"), path=str(out))


def _quality(data: bytes) -> int | None:
    """Estimated JPEG quality (its quantisation tables), for the record."""
    from station.checks.imageio import jpeg_quality

    return jpeg_quality(data)


def cmd_calibrate(ctx: Context, args: argparse.Namespace) -> int:
    import numpy as np

    from station.checks import load_profile
    from station.checks.calibration import calibrate, save_calibration
    from station.checks.framing import rgb_to_lab
    from station.cli.output import emit, warn
    from station.errors import InputError, Location
    from station.i18n import t

    for frame in (args.empty, args.subject):
        if frame is not None and not frame.is_file():
            raise InputError("common.file_missing", Location(str(frame)), path=str(frame))
    op = ctx.operator("calibrate")           # it changes what every later check accepts
    profile = load_profile(args.profile or ctx.settings.exports.profile)
    cal = calibrate(args.empty, args.subject, profile)
    delta = float(np.linalg.norm(np.array(cal.backdrop_lab) - rgb_to_lab(profile.backdrop.reference_rgb)))
    store = ctx.store()
    with store.transaction():                # audited, or not saved at all
        store.audit.append(op.name, "calibrate", profile.name,
                           {**cal.to_json(), "reference_delta_e": round(delta, 1),
                            "empty": args.empty.name,
                            "subject": args.subject.name if args.subject else None})
        path = save_calibration(ctx.data_dir, cal)
    data = {**cal.to_json(), "reference_delta_e": round(delta, 1), "path": str(path)}
    sharp = f"{cal.sharpness:.2f}" if cal.sharpness else "-"   # the profile's scale: ≈ 0.4–1.3
    emit(args.json, data, t("checks.calibrated", rgb=",".join(map(str, cal.backdrop_rgb)),
                            delta_e=f"{delta:.1f}", sharpness=sharp))
    if delta > profile.backdrop.colour_fail and not args.json:
        warn(t("checks.calibration_far", delta_e=f"{delta:.1f}"))
    return 0
