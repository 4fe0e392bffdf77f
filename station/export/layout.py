"""Rendering a batch record into the profile's files: manifest rows, CSVs, JSON and SHA256SUMS.

Pure functions of (record, profile): no clock, no randomness, no dict-order surprises, so the same
record always gives the same bytes. The writer and the verifier both use them.

A batch folder holds the upload folder (photos only) and its zip — what the pipeline receives —
and beside them the manifest (CSV + JSON), the corrections list when there is one, SHA256SUMS over
all of it and the signature of the JSON manifest, which records the hash of every other file.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from station.errors import InputError, Location
from station.export.csvcell import neutralise
from station.export.names import check_text_field, render_file_name
from station.export.profile import BatchProfile, Column
from station.export.record import BatchItem, BatchRecord

FORMAT = "capture-station-batch/2"
FORMATS = (FORMAT, "capture-station-batch/1")      # /1: photos/ and manifest in one folder
YES_NO = {True: "是", False: "否"}
KIND_ZH = {"new": "新增", "replacement": "替换"}
CORRECTION_ZH = {"photo": "更正照片", "record": "更正信息"}
FIELD_ZH = {"name": "姓名", "student_no": "学号", "department": "院系", "gender": "性别",
            "id_number": "身份证号", "capture_code": "采集码"}
# What every manifest item carries besides the profile's columns: enough to check each file.
TECHNICAL_FIELDS = ("seq", "file_name", "path", "sha256", "capture_id", "kind", "replaces_batch",
                    "identity_verified", "override_by", "override_reason")


def _safe_template(template: str, record: BatchRecord, profile: BatchProfile, field: str) -> str:
    name = template.format(school_code=record.school_code, date=record.date, batch_id=record.batch_id)
    if "/" in name or "\\" in name or name.startswith(".") or not name or not name.isprintable():
        raise InputError("exports.unsafe_name.dots", Location(str(profile.source), field=field),
                         field=field, value=ascii(name))
    return name


def folder_name(record: BatchRecord, profile: BatchProfile) -> str:
    return _safe_template(profile.folder, record, profile, "batch.folder")


def zip_name(record: BatchRecord, profile: BatchProfile) -> str | None:
    """The upload zip's name, or None when the profile wants none or there are no photos."""
    if not profile.upload_zip or not record.items:
        return None
    return _safe_template(profile.upload_zip, record, profile, "upload.zip")


def item_file_name(item: BatchItem, profile: BatchProfile) -> str:
    where = f"capture {item.capture_id}"
    return render_file_name(profile.photo_name, {"id_number": item.id_number, "student_no": item.student_no,
                                                 "capture_code": item.capture_code}, where,
                            {"capture_code": profile.capture_code_pattern})


def _person_row(item: BatchItem, record: BatchRecord, seq: int) -> dict[str, Any]:
    where = f"capture {item.capture_id}"
    row = {
        "seq": seq,
        "school_code": record.school_code,
        "id_number": item.id_number,
        "capture_code": item.capture_code,
        "name": check_text_field("name", item.name, where),
        "student_no": check_text_field("student_no", item.student_no, where),
        "department": check_text_field("department", item.department, where),
        "gender": check_text_field("gender", item.gender, where),
        "sha256": item.sha256,
        "captured_at": item.captured_at,
        "kind": item.kind,
        "replaces_batch": item.replaces_batch,
        "identity_verified": bool(item.identity_verified),
        "capture_id": item.capture_id,
    }
    if item.overridden:  # only then: a batch without overrides keeps its manifest bytes
        # JSON only (never a CSV cell): the reason was checked as free text when it was given
        row.update(override_by=item.override_by, override_reason=item.override_reason)
    return row


def manifest_rows(record: BatchRecord, profile: BatchProfile) -> list[dict[str, Any]]:
    """One dict per photo of the upload folder, in batch order, with every person field."""
    rows = []
    seen: dict[str, str] = {}
    for seq, item in enumerate(record.sorted_items(profile.name_field), start=1):
        file_name = item_file_name(item, profile)
        folded = file_name.casefold()     # one file on the pipeline's Windows side, and in a zip unpacked there
        if folded in seen:
            raise InputError("exports.duplicate_file", Location(f"capture {item.capture_id}", field=profile.name_field),
                             file=file_name, other=seen[folded])
        seen[folded] = item.capture_id
        row = _person_row(item, record, seq)
        row.update(file_name=file_name, path=profile.photo_path(file_name))
        rows.append(row)
    return rows


def correction_rows(record: BatchRecord, profile: BatchProfile) -> list[dict[str, Any]]:
    """One dict per entry of the corrections list; a newer photo gets its file in the corrections
    folder (named like an upload photo), a corrected record gets none."""
    rows = []
    for seq, fix in enumerate(record.sorted_corrections(profile.name_field), start=1):
        row = _person_row(fix, record, seq)
        file_name = item_file_name(fix, profile) if fix.has_photo else ""
        changes = [{"field": str(c.get("field", "")),
                    "old": check_text_field("changes", c.get("old"), f"capture {fix.capture_id}"),
                    "new": check_text_field("changes", c.get("new"), f"capture {fix.capture_id}")}
                   for c in fix.changes]
        row.update(correction=fix.correction, changes=changes, file_name=file_name,
                   path=f"{profile.corrections_folder}/{file_name}" if file_name else "",
                   sha256=fix.sha256 if fix.has_photo else "")
        rows.append(row)
    return rows


def _changes_text(changes: list[dict[str, str]]) -> str:
    return "；".join(f"{FIELD_ZH.get(c['field'], c['field'])}：{c['old']}→{c['new']}" for c in changes)


def csv_cell(field: str, value: object) -> str:
    """A manifest value as the CSV shows it (the verifier renders the same way to compare).

    Names, departments and the like are refused upstream when they start like a formula; free
    text such as an override reason is neutralised here, so no cell of the manifest runs."""
    return str(neutralise(_csv_text(field, value)))


def _csv_text(field: str, value: object) -> str:
    if field == "identity_verified":
        return YES_NO[bool(value)]
    if field == "kind":
        return KIND_ZH.get(str(value), str(value))
    if field == "correction":
        return CORRECTION_ZH.get(str(value), str(value))
    if field == "changes":
        return _changes_text(value) if isinstance(value, list) else str(value or "")
    return "" if value is None else str(value)


def render_csv(rows: list[dict[str, Any]], columns: tuple[Column, ...], profile: BatchProfile,
               name: str) -> bytes:
    """A CSV for the pipeline's Windows tools, in the profile's encoding (GBK for CHSI)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator=profile.csv_newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([csv_cell(c.field, row.get(c.field)) for c in columns])
    text = buf.getvalue()
    try:
        return text.encode(profile.csv_encoding)
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end]
        line = text.count(profile.csv_newline, 0, exc.start) + 1
        raise InputError("exports.not_encodable", Location(name, line),
                         encoding=profile.csv_encoding, char=ascii(bad)) from None


def manifest_csv(rows: list[dict[str, Any]], profile: BatchProfile) -> bytes:
    return render_csv(rows, profile.columns, profile, profile.csv_name)


def corrections_csv(rows: list[dict[str, Any]], profile: BatchProfile) -> bytes:
    return render_csv(rows, profile.correction_columns, profile, profile.corrections_csv)


def _public_item(row: dict[str, Any], columns: tuple[Column, ...], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row as the JSON manifest keeps it: the profile's columns and what a verifier needs,
    nothing personal beyond what the pipeline's own CSV already names."""
    keep = {c.field for c in columns} | set(TECHNICAL_FIELDS) | set(extra)
    return {k: v for k, v in row.items() if k in keep}


def _columns_json(columns: tuple[Column, ...]) -> list[dict[str, str]]:
    return [{"header": c.header, "field": c.field} for c in columns]


class JsonLines(str):
    """A list already rendered the way ``render_json`` renders one (one entry per line)."""


def render_list(values: list[Any]) -> JsonLines:
    if not values:
        return JsonLines("[]")
    inner = ",\n".join(f"    {_ONE_LINE(v)}" for v in values)
    return JsonLines(f"[\n{inner}\n  ]")


def manifest_items(rows: list[dict[str, Any]], profile: BatchProfile) -> JsonLines:
    """The manifest's item list, rendered: the bulk of manifest.json, and it needs no photo on
    disk, so the writer renders it while the photos are copied."""
    return render_list([_public_item(r, profile.columns) for r in rows])


def manifest_json(record: BatchRecord, profile: BatchProfile, rows: list[dict[str, Any]],
                  fixes: list[dict[str, Any]], files: dict[str, Any], key_fingerprint: str,
                  items: JsonLines | None = None) -> bytes:
    """The UTF-8 twin of the CSV plus what a verifier needs: spec, policy, files, key, counts.
    ``items``: the item list from ``manifest_items`` (rendered from ``rows`` when None)."""
    spec = profile.spec
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
                   "fee_cents": record.fee_cents,
                   "unverified_in_batch": sum(1 for r in rows if not r["identity_verified"])},
        "photo_spec": {"width": spec.width, "height": spec.height, "dpi": spec.dpi,
                       "baseline": spec.baseline, "components": spec.components,
                       "min_quality": spec.min_quality, "min_kb": spec.min_kb, "max_kb": spec.max_kb},
        "files": {"photos": profile.photos_folder, "csv": profile.csv_name,
                  "csv_encoding": profile.csv_encoding, "checksums": profile.checksums_name,
                  "signature": profile.signature_name, "public_key": profile.public_key_name, **files},
        "csv_columns": _columns_json(profile.columns),
        "signing_key": key_fingerprint,
        "counts": {"photos": len(rows), "corrections": len(fixes),
                   "correction_photos": sum(1 for f in fixes if f["file_name"]),
                   "not_in_batch": len(record.skipped)},
        "items": items if items is not None else manifest_items(rows, profile),
    }
    if fixes:
        doc["corrections"] = [_public_item(f, profile.correction_columns, ("correction", "changes"))
                              for f in fixes]
        doc["corrections_columns"] = _columns_json(profile.correction_columns)
    return render_json(doc)


_ONE_LINE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def render_json(doc: dict[str, Any]) -> bytes:
    """Sorted keys, one top-level key per line and one list entry per line: readable and diffable,
    and fast (the C encoder renders each line; an indented dump of 3,000 items is ten times slower).
    """
    one = _ONE_LINE      # one encoder for every line (json.dumps with options builds one per call)
    lines = []
    for key in sorted(doc):
        value = doc[key]
        if isinstance(value, list):
            value = render_list(value)
        if isinstance(value, JsonLines):
            lines.append(f"  {one(key)}: {value}")
        else:
            lines.append(f"  {one(key)}: {one(value)}")
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode("utf-8")


_TOP_FIELDS: dict[str, type | tuple[type, ...]] = {
    "batch_id": str, "station_id": str, "school_code": str, "files": dict, "items": list,
    "photo_spec": dict, "signing_key": (str, type(None)),
}
_FILE_FIELDS = ("csv", "checksums", "signature", "public_key")
_OPTIONAL_FILES = ("zip", "corrections_csv", "corrections")
_ITEM_TEXT = ("file_name", "sha256", "capture_id")


def plain_name(value: object, allow_empty: bool = False) -> bool:
    """A file or folder name directly inside the batch folder (no path, no dots, no controls)."""
    if not isinstance(value, str):
        return False
    if value == "":
        return allow_empty
    return ("/" not in value and "\\" not in value and not value.startswith(".")
            and value.isprintable() and len(value) <= 255)


def _list_problem(entries: object, name: str) -> str | None:
    if not isinstance(entries, list):
        return name
    for number, item in enumerate(entries, start=1):
        if not isinstance(item, dict):
            return f"{name}[{number}]"
        for field in _ITEM_TEXT:
            if not isinstance(item.get(field), str):
                return f"{name}[{number}].{field}"
        for field, value in item.items():
            if field == "changes" and isinstance(value, list) and all(
                    isinstance(c, dict) and all(isinstance(v, str) for v in c.values()) for c in value):
                continue
            if not isinstance(value, str | int | float | bool | type(None)):
                return f"{name}[{number}].{field}"
    return None


def _columns_problem(columns: object, name: str) -> str | None:
    if columns is None:
        return None
    if not isinstance(columns, list) or not all(
            isinstance(c, dict) and isinstance(c.get("header"), str) and isinstance(c.get("field"), str)
            for c in columns):
        return name
    return None


def manifest_shape_problem(doc: dict[str, Any]) -> str | None:
    """The first field of a batch manifest that has the wrong type or an unsafe name, or None.

    The verifier reads file names and numbers from the manifest; a manifest from elsewhere is
    hostile until its shape is checked, so every field it uses is checked here first.
    """
    for name, kind in _TOP_FIELDS.items():
        if not isinstance(doc.get(name), kind):
            return name
    files = doc["files"]
    for name in _FILE_FIELDS:
        if not plain_name(files.get(name)):
            return f"files.{name}"
    for name in _OPTIONAL_FILES:
        if files.get(name) is not None and not plain_name(files.get(name)):
            return f"files.{name}"
    if not plain_name(files.get("photos", "photos"), allow_empty=True):
        return "files.photos"
    for name in ("csv_encoding", "csv_sha256", "zip_sha256", "corrections_csv_sha256"):
        if not isinstance(files.get(name, ""), str | type(None)):
            return f"files.{name}"
    for key, value in doc["photo_spec"].items():
        if not isinstance(value, int | float) or isinstance(value, bool) and key != "baseline":
            return f"photo_spec.{key}"
    return (_list_problem(doc["items"], "items")
            or (_list_problem(doc["corrections"], "corrections") if "corrections" in doc else None)
            or _columns_problem(doc.get("csv_columns"), "csv_columns")
            or _columns_problem(doc.get("corrections_columns"), "corrections_columns"))


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
