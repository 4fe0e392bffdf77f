"""Rendering a batch record into the profile's files: manifest rows, CSV, JSON and SHA256SUMS.

Pure functions of (record, profile): no clock, no randomness, no dict-order surprises, so the same
record always gives the same bytes. The writer and the verifier both use them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from station.errors import InputError, Location
from station.export.names import check_text_field, render_file_name
from station.export.profile import BatchProfile
from station.export.record import BatchItem, BatchRecord

FORMAT = "capture-station-batch/1"
YES_NO = {True: "是", False: "否"}
KIND_ZH = {"new": "新增", "replacement": "替换"}


def folder_name(record: BatchRecord, profile: BatchProfile) -> str:
    name = profile.folder.format(school_code=record.school_code, date=record.date,
                                 batch_id=record.batch_id)
    if "/" in name or "\\" in name or name.startswith(".") or not name:
        raise InputError("exports.unsafe_name.dots", Location(str(profile.source), field="batch.folder"),
                         field="batch.folder", value=ascii(name))
    return name


def item_file_name(item: BatchItem, profile: BatchProfile) -> str:
    where = f"capture {item.capture_id}"
    return render_file_name(profile.photo_name, {"id_number": item.id_number, "student_no": item.student_no}, where)


def manifest_rows(record: BatchRecord, profile: BatchProfile, sizes: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """One dict per photo, in batch order, with every person field the profile can name."""
    rows = []
    seen: dict[str, str] = {}
    for seq, item in enumerate(record.sorted_items(profile.name_field), start=1):
        where = f"capture {item.capture_id}"
        file_name = item_file_name(item, profile)
        if file_name in seen:
            raise InputError("exports.duplicate_file", Location(where, field=profile.name_field),
                             file=file_name, other=seen[file_name])
        seen[file_name] = item.capture_id
        row = {
            "seq": seq,
            "school_code": record.school_code,
            "id_number": item.id_number,
            "name": check_text_field("name", item.name, where),
            "student_no": check_text_field("student_no", item.student_no, where),
            "department": check_text_field("department", item.department, where),
            "gender": check_text_field("gender", item.gender, where),
            "file_name": file_name,
            "path": profile.photo_path(file_name),
            "sha256": item.sha256,
            "captured_at": item.captured_at,
            "kind": item.kind,
            "replaces_batch": item.replaces_batch,
            "identity_verified": bool(item.identity_verified),
            "capture_id": item.capture_id,
        }
        if sizes is not None:
            row["bytes"] = sizes.get(item.sha256, 0)
        rows.append(row)
    return rows


def _csv_cell(field: str, value: object) -> str:
    if field == "identity_verified":
        return YES_NO[bool(value)]
    if field == "kind":
        return KIND_ZH.get(str(value), str(value))
    return "" if value is None else str(value)


def manifest_csv(rows: list[dict[str, Any]], profile: BatchProfile) -> bytes:
    """The CSV the pipeline's Windows tools read, in the profile's encoding (GBK for CHSI)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator=profile.csv_newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow([c.header for c in profile.columns])
    for row in rows:
        writer.writerow([_csv_cell(c.field, row.get(c.field)) for c in profile.columns])
    text = buf.getvalue()
    try:
        return text.encode(profile.csv_encoding)
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end]
        line = text.count(profile.csv_newline, 0, exc.start) + 1
        raise InputError("exports.not_encodable", Location(profile.csv_name, line),
                         encoding=profile.csv_encoding, char=ascii(bad)) from None


def manifest_json(record: BatchRecord, profile: BatchProfile, rows: list[dict[str, Any]], csv_sha256: str,
                  key_fingerprint: str) -> bytes:
    """The UTF-8 twin of the CSV plus what a verifier needs: spec, policy, key, counts."""
    spec = profile.spec
    kinds = [r["kind"] for r in rows]
    doc = {
        "format": FORMAT,
        "batch_id": record.batch_id,
        "profile": profile.name,
        "photo_profile": profile.photo_profile,
        "school_code": record.school_code,
        "station_id": record.station_id,
        "created_at": record.created_at,
        "filters": dict(sorted(record.filters.items())),
        "policy": {"allow_unverified_identity": profile.allow_unverified_identity,
                   "fee_cents": profile.fee_cents,
                   "unverified_in_batch": sum(1 for r in rows if not r["identity_verified"])},
        "photo_spec": {"width": spec.width, "height": spec.height, "dpi": spec.dpi,
                       "baseline": spec.baseline, "components": spec.components,
                       "min_quality": spec.min_quality, "min_kb": spec.min_kb, "max_kb": spec.max_kb},
        "files": {"photos": profile.photos_folder, "csv": profile.csv_name,
                  "csv_encoding": profile.csv_encoding, "csv_sha256": csv_sha256,
                  "checksums": profile.checksums_name, "signature": profile.signature_name,
                  "public_key": profile.public_key_name},
        "signing_key": key_fingerprint,
        "counts": {"photos": len(rows), "new": kinds.count("new"),
                   "replacement": kinds.count("replacement"), "not_in_batch": len(record.skipped)},
        "items": rows,
    }
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def checksums(entries: dict[str, str]) -> bytes:
    """``sha256sum`` format (two spaces, forward slashes), sorted by path: `sha256sum -c` reads it."""
    return "".join(f"{sha}  {path}\n" for path, sha in sorted(entries.items())).encode("utf-8")


def parse_checksums(data: bytes, source: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        sha, sep, path = line.partition("  ")
        if not sep or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise InputError("exports.bad_checksum_line", Location(source, number), line=number)
        out[path.lstrip("*")] = sha
    return out
