"""`station camera list` and `station camera capture --out FILE`: the camera from scripts.

Heavy modules (gphoto2, cv2, PIL) are imported inside the handlers so `station --help` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from station.cli.values import seconds

KINDS = ("gphoto2", "virtual", "sim")
PRESET_ACTION = "camera.preset"  # station.store.operators.PERMISSIONS: technicians and up


def register(sub: argparse._SubParsersAction) -> None:
    camera = sub.add_parser("camera", help="tethered camera: list, capture")
    csub = camera.add_subparsers(dest="camera_command", metavar="SUBCOMMAND")

    p = csub.add_parser("list", help="detected cameras (model, port)")
    p.add_argument("--camera", choices=KINDS, help="driver (default: camera.driver from config)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_list, needs_data_dir=False)

    p = csub.add_parser("capture", help="take one photo and save it to FILE")
    p.add_argument("--out", type=Path, required=True, help="where to write the JPEG")
    p.add_argument("--camera", choices=KINDS, help="driver (default: camera.driver from config)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds to wait for the camera and the photo (default from config)")
    p.add_argument("--raw-out", type=Path, help="also write the RAW file here (RAW+JPEG cameras)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_capture)

    p = csub.add_parser("settings", help="show the camera's settings; change them with --set")
    p.add_argument("--camera", choices=KINDS, help="driver (default: camera.driver from config)")
    p.add_argument("--set", dest="changes", action="append", default=[], metavar="NAME=VALUE",
                   help="change a setting (iso, aperture, shutter, white_balance, image_quality, "
                        "image_size, capture_target); repeatable")
    p.add_argument("--save", action="store_true",
                   help="remember the changes as the station preset (re-applied on every connect)")
    p.add_argument("--timeout", type=float, default=None, help="seconds to wait for the camera")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=cmd_settings)

    camera.set_defaults(handler=lambda ctx, args: (camera.print_help(), 2)[1])


def cmd_list(ctx, args) -> int:
    from station.camera import open_camera_from_config
    from station.cli.output import emit
    from station.i18n import t

    kind = args.camera or ctx.settings.camera.driver
    cameras = open_camera_from_config(ctx.settings.camera, kind).list_cameras()

    def human(data: dict) -> str:
        if not data["cameras"]:
            return t("camera.doctor.no_camera")
        return "\n".join(f"{c['model']}\t{c['port']}\t{c['driver']}" for c in data["cameras"])

    emit(args.json, {"cameras": cameras}, human)
    return 0 if cameras else 3  # no camera is a missing device (exit 3), as for every command


def check_out(path: Path, option: str) -> None:
    """Refuse an output path that cannot be written *before* the shutter fires (exit 2 naming
    the option): a folder, a folder that does not exist (never created: a typo stays a typo), a
    folder this user may not write. A read-only medium is the medium fault every command
    reports (exit 3, station.media's words)."""
    import os

    from station.errors import InputError, Location

    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError("camera.out_is_dir", Location(option), path=str(path))
    if not folder.is_dir():
        raise InputError("camera.out_no_folder", Location(option), folder=str(folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        if _read_only_medium(folder):  # a locked USB stick: the medium's words, exit 3, as
            from station.errors import MediaError  # every other command's output says it

            raise MediaError("media.read_only", folder=str(folder))
        raise InputError("camera.out_not_writable", Location(option), folder=str(folder))


def _read_only_medium(folder: Path) -> bool:
    import os

    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def cmd_capture(ctx, args) -> int:
    import hashlib

    from station.camera import open_camera_from_config, service_from_config
    from station.camera.errors import CameraError
    from station.cli.output import emit, warn
    from station.fsio import atomic_write as write_atomic
    from station.i18n import both, t

    wait = seconds("--timeout", args.timeout)  # bad usage before the camera is opened
    check_out(args.out, "--out")
    if args.raw_out is not None:
        check_out(args.raw_out, "--raw-out")
    kind = args.camera or ctx.settings.camera.driver
    camera = open_camera_from_config(ctx.settings.camera, kind)
    if args.raw_out is not None and hasattr(camera, "download_raw"):
        camera.download_raw = True  # --raw-out asks for the RAW whatever camera.download_raw says
    service = service_from_config(ctx.settings.camera, camera, ctx.data_dir)
    timeout = wait or service.capture_timeout
    service.reconnect_initial = min(service.reconnect_initial, 1.0)  # a script waits, not a queue
    service.start()
    try:
        if not service.wait_connected(timeout, give_up_when_failed=True):
            service.stop()
            raise service.last_error() or CameraError("camera.not_found")
        capture = service.capture(timeout)
    finally:
        service.stop()
    write_atomic(args.out, capture.data, make_parents=False)
    raw_files = []
    warnings = []
    if args.raw_out and capture.extra:
        name, data = next(iter(capture.extra.items()))
        write_atomic(args.raw_out, data, make_parents=False)
        raw_files.append({"file_name": name, "out": str(args.raw_out), "size": len(data)})
    elif args.raw_out:  # the JPEG is saved; say plainly that no RAW came, and why that may be
        zh, en = both("camera.no_raw", out=str(args.raw_out))
        warnings.append({"key": "camera.no_raw", "message_zh": zh, "message_en": en})
        warn(t("camera.no_raw", out=str(args.raw_out)))
    result = dict(capture.to_json(), out=str(args.out), camera_kind=kind,
                  sha256=hashlib.sha256(capture.data).hexdigest(), raw=raw_files,
                  warnings=warnings)
    emit(args.json, result, lambda d: f"{d['out']}\t{d['file_name']}\t{d['size']} bytes")
    return 0


def _parse_changes(changes: list[str]) -> list[tuple[str, str]]:
    from station.errors import InputError, Location

    out = []
    for change in changes:
        name, sep, value = change.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InputError("camera.bad_change", Location("--set"), change=change)
        out.append((name.strip(), value.strip()))
    return out


def cmd_settings(ctx, args) -> int:
    from station.camera import open_camera_from_config, service_from_config
    from station.camera.errors import CameraError
    from station.camera.preset import load_preset, save_preset
    from station.cli.output import emit
    from station.errors import InputError, Location

    wait = seconds("--timeout", args.timeout)  # bad usage before the camera is opened
    changes = _parse_changes(args.changes)
    # Reading the settings needs nobody; saving them as the station preset changes what every
    # later session applies, so it needs an operator allowed to, and is audited (cli.md).
    op = ctx.operator(PRESET_ACTION) if args.save and changes else None
    kind = args.camera or ctx.settings.camera.driver
    service = service_from_config(ctx.settings.camera, open_camera_from_config(ctx.settings.camera, kind),
                                  ctx.data_dir)
    timeout = wait or service.capture_timeout
    service.start()
    try:
        if not service.wait_connected(timeout, give_up_when_failed=True):
            raise service.last_error() or CameraError("camera.not_found")
        for name, value in changes:
            try:
                service.set_setting(name, value)
            except CameraError as exc:
                if exc.key in ("camera.setting_value", "camera.setting_unknown", "camera.setting_readonly"):
                    raise InputError(exc.key, Location("--set", field=name), **exc.params) from None
                raise
        settings = service.settings()
        status = service.status()
    finally:
        service.stop()
    saved = None
    if op is not None:
        preset = load_preset(ctx.data_dir)
        preset.update(dict(changes))
        store = ctx.store()
        with store.transaction():  # audited, or not saved at all
            store.audit.append(op.name, PRESET_ACTION, kind,
                               {"changes": dict(changes), "preset": dict(preset)})
            saved = str(save_preset(ctx.data_dir, preset))
    data = {"camera": status.to_json(), "settings": {k: v.to_json() for k, v in settings.items()},
            "preset_saved": saved}

    def human(d: dict) -> str:
        lines = [f"{d['camera']['model']}  {d['camera']['battery']}"]
        for name, st in d["settings"].items():
            lines.append(f"{name:15} {st['value']:20} {' | '.join(st['choices'])}")
        if d["preset_saved"]:
            lines.append(d["preset_saved"])
        return "\n".join(lines)

    emit(args.json, data, human)
    return 0
