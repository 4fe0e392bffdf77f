"""`station camera list` and `station camera capture --out FILE`: the camera from scripts.

Heavy modules (gphoto2, cv2, PIL) are imported inside the handlers so `station --help` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

KINDS = ("gphoto2", "virtual", "sim")


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

    camera.set_defaults(handler=lambda ctx, args: (camera.print_help(), 2)[1])


def cmd_list(ctx, args) -> int:
    from station.camera import open_camera_from_config
    from station.cli.output import emit
    from station.i18n import t

    kind = args.camera or ctx.config.get("camera.driver", "gphoto2")
    cameras = open_camera_from_config(ctx.config, kind).list_cameras()

    def human(data: dict) -> str:
        if not data["cameras"]:
            return t("camera.doctor.no_camera")
        return "\n".join(f"{c['model']}\t{c['port']}\t{c['driver']}" for c in data["cameras"])

    emit(args.json, {"cameras": cameras}, human)
    return 0


def cmd_capture(ctx, args) -> int:
    import hashlib

    from station.camera import open_camera_from_config, service_from_config
    from station.camera.errors import CameraError
    from station.camera.files import write_atomic
    from station.cli.output import emit

    kind = args.camera or ctx.config.get("camera.driver", "gphoto2")
    camera = open_camera_from_config(ctx.config, kind)
    service = service_from_config(ctx.config, camera)
    timeout = args.timeout if args.timeout is not None else service.capture_timeout
    service.reconnect_initial = min(service.reconnect_initial, 1.0)  # a script waits, not a queue
    service.start()
    try:
        if not service.wait_connected(timeout):
            service.stop()
            raise service.last_error() or CameraError("camera.not_found")
        capture = service.capture(timeout)
    finally:
        service.stop()
    write_atomic(args.out, capture.data)
    raw_files = []
    if args.raw_out and capture.extra:
        name, data = next(iter(capture.extra.items()))
        write_atomic(args.raw_out, data)
        raw_files.append({"file_name": name, "out": str(args.raw_out), "size": len(data)})
    result = dict(capture.to_json(), out=str(args.out), camera_kind=kind,
                  sha256=hashlib.sha256(capture.data).hexdigest(), raw=raw_files)
    emit(args.json, result, lambda d: f"{d['out']}\t{d['file_name']}\t{d['size']} bytes")
    return 0
