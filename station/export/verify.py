"""Re-checking a batch folder before it leaves the station: layout, photos, checksums, signature.

Every problem is reported, not just the first, each naming the file (and line or field) and a
message key of ``exports.toml``; the technician fixes the batch once rather than once per problem.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station import faults, reasons
from station.export import layout
from station.export.jpeginfo import NotJpeg, read_jpeg_info
from station.export.profile import PhotoSpec
from station.i18n import Reason, both
from station.keys import fingerprint, verify_signature

PhotoChecker = Callable[[Path], list[str]]
MAX_MANIFEST_BYTES = 64 * 1024 * 1024     # ~3,000 items take 2 MB; more is not a batch of ours
# A zip of a whole batch comes from elsewhere and is unpacked into temporary space: a few hundred
# KB of zeros can claim gigabytes (a batch's photos, CSV and manifest never expand like that), so
# its members are counted and their sizes judged before a byte is unpacked, and each member is
# then streamed with its bytes counted against what it declared.
ZIP_MAX_MEMBERS = 100_000
ZIP_MAX_RATIO = 100                  # uncompressed / compressed, judged on members over the floor
ZIP_RATIO_FLOOR = 1 << 20
ZIP_FREE_MARGIN = 256 << 20          # room left free where it is unpacked


@dataclass(frozen=True)
class TrustedKey:
    """A public key a batch may be signed by: this station's, an enrolled station's, or ``--key``.

    ``station_id`` is the station the key was enrolled for; a batch signed by that key must name
    that station. This station's own key and a key given on the command line name none.
    """

    pem: bytes
    source: str = "given"            # station | enrolled | given
    station_id: str | None = None


def _trusted(keys: Sequence[TrustedKey | bytes] | None) -> list[TrustedKey]:
    return [k if isinstance(k, TrustedKey) else TrustedKey(k) for k in keys or ()]


@dataclass
class Problem:
    file: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        zh, en = both(f"exports.verify.{self.key}", **self.params)
        out: dict[str, Any] = {"file": self.file, "problem": self.key, "message_zh": zh, "message_en": en}
        if self.line is not None:
            out["line"] = self.line
        cause = next((v for v in self.params.values() if isinstance(v, Reason)), None)
        if cause is not None:        # the OS's own words, for a technician
            out["cause"] = {"code": cause.code, "detail": cause.original}
        return out

    def text(self, lang_message: str) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        return f"{where}: {lang_message}"


@dataclass
class VerifyResult:
    path: Path
    problems: list[Problem] = field(default_factory=list)
    photos: int = 0
    batch_id: str | None = None
    key_fingerprint: str | None = None
    key_trusted: bool = False
    key_source: str | None = None
    station_id: str | None = None
    frame_checks: bool = False
    # photos a supervisor accepted over failed checks (signed in the manifest): their frame
    # checks' failures, reported but not counted as problems
    overridden: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, file: str, key: str, line: int | None = None, **params: Any) -> None:
        self.problems.append(Problem(file, key, params, line))

    def to_json(self) -> dict[str, Any]:
        return {"batch": str(self.path), "batch_id": self.batch_id, "ok": self.ok,
                "photos": self.photos, "signing_key": self.key_fingerprint,
                "key_trusted": self.key_trusted, "key_source": self.key_source,
                "station_id": self.station_id, "frame_checks": self.frame_checks,
                "problems": [p.to_json() for p in self.problems],
                "accepted_over_checks": [p.to_json() for p in self.overridden]}


def check_photo_bytes(data: bytes, spec: PhotoSpec) -> list[tuple[str, dict[str, Any]]]:
    """Problems of one photo file against the spec, as (key, params); empty when it passes."""
    found: list[tuple[str, dict[str, Any]]] = []
    try:
        info = read_jpeg_info(data)
    except (NotJpeg, IndexError, ValueError) as exc:
        return [("not_jpeg", {"error": str(exc)})]
    if (info.width, info.height) != (spec.width, spec.height):
        found.append(("size", {"actual": f"{info.width}x{info.height}", "expected": f"{spec.width}x{spec.height}"}))
    dpi = info.dpi
    if dpi is None or round(dpi[0]) != spec.dpi or round(dpi[1]) != spec.dpi:
        found.append(("dpi", {"actual": "none" if dpi is None else f"{dpi[0]:g}x{dpi[1]:g}", "expected": spec.dpi}))
    if spec.baseline and info.process != "baseline":
        found.append(("not_baseline", {"actual": info.process}))
    if info.components != spec.components or info.precision != 8:
        found.append(("components", {"actual": info.components * info.precision, "expected": spec.components * 8}))
    if info.quality is not None and info.quality < spec.min_quality:
        found.append(("quality", {"actual": info.quality, "expected": spec.min_quality}))
    kb = len(data) / 1024
    if kb < spec.min_kb or kb > spec.max_kb:
        found.append(("file_size", {"actual": f"{kb:.1f}", "min": spec.min_kb, "max": spec.max_kb}))
    return found


def _spec_from(doc: dict[str, Any]) -> PhotoSpec:
    raw = doc.get("photo_spec") or {}
    known = set(PhotoSpec.__dataclass_fields__)
    return PhotoSpec(**{k: v for k, v in raw.items() if k in known})


def verify_batch(folder: Path, trusted_keys: Sequence[TrustedKey | bytes] | None = None,
                 frame_checker: PhotoChecker | None = None) -> VerifyResult:
    """Check ``folder``. The batch is good only when it is intact *and* signed by a trusted key:
    one of ``trusted_keys`` (this station's, an enrolled station's, or one given by ``--key``).
    A batch that is intact but signed by any other key — for instance the one it carries — fails.
    """
    folder = Path(folder)
    result = VerifyResult(folder)
    if not folder.is_dir():
        result.add(str(folder), "not_a_folder")
        return result
    links = _symlinks(folder)
    if links:
        # The writer never makes a link. A photo that is a link to a file elsewhere passed as
        # intact while the batch did not hold it (a copy to the upload medium takes the link, and
        # its target can change after the check), and reading through links reads any file of
        # the machine: each link is reported and nothing in the batch is read.
        for link in links:
            result.add(link, "symlink")
        return result
    found = _find_manifest(folder, result)
    if found is None:
        return result
    json_path, raw_json, doc = found
    result.batch_id = doc["batch_id"]
    result.station_id = doc["station_id"]
    files = doc["files"]
    names = {k: files.get(k) for k in ("csv", "checksums", "signature", "public_key")}
    for role, name in names.items():
        if not isinstance(name, str) or not (folder / name).is_file():
            result.add(str(name or role), "missing_file", role=role)
    _verify_signature(folder, raw_json, names, doc, _trusted(trusted_keys), result)
    _verify_checksums(folder, names.get("checksums"), result)
    spec = _spec_from(doc)
    current = doc.get("format") == layout.FORMAT
    _verify_csv(folder, doc, names.get("csv"), "csv_sha256", doc["items"], doc.get("csv_columns"), result)
    _verify_photos(folder, files.get("photos", "photos"), doc["items"], spec, frame_checker, result,
                   only_photos=current)
    if current:
        _verify_zip_members(folder, doc, spec, result)
    fixes = doc.get("corrections") or []
    if fixes:
        _verify_csv(folder, doc, files.get("corrections_csv"), "corrections_csv_sha256", fixes,
                    doc.get("corrections_columns"), result)
        _verify_photos(folder, files.get("corrections") or "", [f for f in fixes if f["file_name"]], spec,
                       frame_checker, result, only_photos=True)
    return result


def _symlinks(folder: Path) -> list[str]:
    """Paths (relative, forward slashes) of the symbolic links anywhere in ``folder``, never
    followed."""
    import os

    found = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(top) / name
            if path.is_symlink():
                found.append(path.relative_to(folder).as_posix())
    return sorted(found)


def _find_manifest(folder: Path, result: VerifyResult) -> tuple[Path, bytes, dict[str, Any]] | None:
    """The batch manifest (the one JSON file of our format) with its raw bytes, checked for shape.

    A manifest that is not JSON, not ours, or has a field of the wrong type is reported by name
    (``bad_manifest``) and verification stops there: nothing else can be trusted to mean anything.
    """
    unreadable: list[tuple[Path, str]] = []
    for candidate in sorted(folder.glob("*.json")):
        try:
            if candidate.stat().st_size > MAX_MANIFEST_BYTES:
                unreadable.append((candidate, f"larger than {MAX_MANIFEST_BYTES // (1024 * 1024)} MB"))
                continue
            raw = candidate.read_bytes()
            doc = json.loads(raw.decode("utf-8"))
        except OSError as exc:
            unreadable.append((candidate, reasons.of_os(exc)))
            continue
        except UnicodeDecodeError as exc:
            unreadable.append((candidate, f"not UTF-8 at byte {exc.start}"))
            continue
        except ValueError as exc:
            unreadable.append((candidate, str(exc)))
            continue
        if not isinstance(doc, dict) or doc.get("format") not in layout.FORMATS:
            if candidate.name == "manifest.json":
                unreadable.append((candidate, f"format is not {layout.FORMAT}"))
            continue
        field_name = layout.manifest_shape_problem(doc)
        if field_name is not None:
            result.add(candidate.name, "manifest_field", field=field_name)
            return None
        return candidate, raw, doc
    if unreadable:
        for path, error in unreadable:
            result.add(path.name, "bad_manifest", error=error)
    else:
        result.add("manifest.json", "missing_manifest")
    return None


def _verify_signature(folder: Path, raw_json: bytes, names: dict[str, Any], doc: dict[str, Any],
                      trusted: list[TrustedKey], result: VerifyResult) -> None:
    sig_name, pub_name = names.get("signature"), names.get("public_key")
    if not sig_name or not (folder / sig_name).is_file():
        return
    signature = (folder / sig_name).read_bytes()
    for key in trusted:
        if verify_signature(key.pem, raw_json, signature):
            result.key_fingerprint = fingerprint(key.pem)
            result.key_trusted, result.key_source = True, key.source
            if key.station_id is not None and doc.get("station_id") != key.station_id:
                result.add(sig_name, "station_mismatch", claimed=doc.get("station_id"), enrolled=key.station_id)
            break
    else:
        embedded = (folder / pub_name).read_bytes() if pub_name and (folder / pub_name).is_file() else None
        if embedded is not None and verify_signature(embedded, raw_json, signature):
            result.key_fingerprint = fingerprint(embedded)
            result.add(sig_name, "untrusted_key", fingerprint=result.key_fingerprint)
        else:
            result.add(sig_name, "bad_signature")
        return
    if doc.get("signing_key") != result.key_fingerprint:
        result.add(sig_name, "key_mismatch", expected=doc.get("signing_key"), actual=result.key_fingerprint)


def _verify_checksums(folder: Path, sums_name: str | None, result: VerifyResult) -> None:
    if not sums_name or not (folder / sums_name).is_file():
        return
    try:
        listed = layout.parse_checksums((folder / sums_name).read_bytes(), sums_name)
    except Exception as exc:  # InputError with the line
        result.add(sums_name, "bad_checksums", error=getattr(exc, "message", str(exc)))
        return
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    present.discard(sums_name)
    for path, sha in sorted(listed.items()):
        target = folder / path
        if path not in present:
            result.add(path, "missing_file", role="SHA256SUMS")
            continue
        actual = hashlib.sha256(target.read_bytes()).hexdigest()
        if actual != sha:
            result.add(path, "checksum", expected=sha[:16], actual=actual[:16])
    for path in sorted(present - set(listed)):
        result.add(path, "unlisted_file")


def _verify_csv(folder: Path, doc: dict[str, Any], csv_name: str | None, sha_field: str, items: list[dict[str, Any]],
                columns: list[dict[str, Any]] | None, result: VerifyResult) -> None:
    """The CSV holds exactly the manifest's items, cell by cell, in the recorded encoding."""
    if not csv_name or not (folder / csv_name).is_file():
        return
    data = (folder / csv_name).read_bytes()
    files = doc["files"]
    if hashlib.sha256(data).hexdigest() != files.get(sha_field):
        result.add(csv_name, "csv_hash")
    encoding = files.get("csv_encoding") or "gbk"
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        result.add(csv_name, "csv_encoding", encoding=encoding, error=str(exc))
        return
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if len(rows) - 1 != len(items):
        result.add(csv_name, "csv_rows", actual=max(len(rows) - 1, 0), expected=len(items))
    if columns is None:                       # format /1: no column list, look for the key values
        for number, (row, item) in enumerate(zip(rows[1:], items, strict=False), start=2):
            expected = {str(item.get(k) or "") for k in ("id_number", "file_name", "sha256", "name")}
            missing = sorted(v for v in expected if v and v not in row)
            if missing:
                result.add(csv_name, "csv_line", line=number, values=", ".join(missing))
        return
    headers = [c["header"] for c in columns]
    if rows and rows[0] != headers:
        result.add(csv_name, "csv_header", line=1, expected=",".join(headers))
    for number, (row, item) in enumerate(zip(rows[1:], items, strict=False), start=2):
        wanted = [layout.csv_cell(c["field"], item.get(c["field"])) for c in columns]
        differ = [h for h, have, want in zip(headers, row + [""] * len(headers), wanted, strict=False) if have != want]
        if differ or len(row) != len(headers):
            result.add(csv_name, "csv_line", line=number, values=", ".join(differ or headers))


def _verify_photos(folder: Path, photos_folder: str, items: list[dict[str, Any]], spec: PhotoSpec,
                   frame_checker: PhotoChecker | None, result: VerifyResult, only_photos: bool) -> None:
    """Every listed photo is there, intact and on spec; nothing else is in the folder.

    ``only_photos``: the upload folder of a /2 batch holds JPEGs and nothing else (no manifest,
    no sub-folder), as the pipeline wants it.
    """
    base = folder / photos_folder if photos_folder else folder
    listed = set()
    for item in items:
        name = item["file_name"]
        rel = f"{photos_folder}/{name}" if photos_folder else name
        listed.add(rel)
        if not layout.plain_name(name) or not name.lower().endswith(".jpg"):
            result.add(rel, "unsafe_name", value=ascii(name))
            continue
        path = base / name
        if not path.is_file():
            result.add(rel, "missing_photo", id=item["capture_id"])
            continue
        data = path.read_bytes()
        result.photos += 1
        if hashlib.sha256(data).hexdigest() != item["sha256"]:
            result.add(rel, "photo_hash")
        for key, params in check_photo_bytes(data, spec):
            result.add(rel, f"photo.{key}", **params)
        if frame_checker is not None:
            result.frame_checks = True
            for message in frame_checker(path):
                if item.get("override_by"):
                    result.overridden.append(Problem(rel, "photo.frame_overridden", {
                        "check": message, "by": str(item["override_by"]),
                        "reason": str(item.get("override_reason") or "-")}))
                else:
                    result.add(rel, "photo.frame", check=message)
    if base.is_dir() and base != folder:
        for path in sorted(base.iterdir()):
            rel = path.relative_to(folder).as_posix()
            if rel in listed:
                continue
            if only_photos and not (path.is_file() and path.suffix.lower() == ".jpg"):
                result.add(rel, "upload_not_photo")
            else:
                result.add(rel, "photo_not_in_manifest")


def _verify_zip_members(folder: Path, doc: dict[str, Any], spec: PhotoSpec, result: VerifyResult) -> None:
    """The upload zip beside the upload folder: its recorded hash, and exactly the batch's photos
    (top level, JPEG, the same bytes) — nothing else, so the pipeline can take it as it is."""
    import zipfile

    files = doc["files"]
    name = files.get("zip")
    items = doc["items"]
    if not name:
        if items and doc.get("format") == layout.FORMAT:
            result.add("(zip)", "missing_file", role="zip")
        return
    path = folder / name
    if not path.is_file():
        result.add(name, "missing_file", role="zip")
        return
    if _sha256_file(path) != files.get("zip_sha256"):
        result.add(name, "zip_hash")
    by_name = {i["file_name"]: i for i in items}
    limit = max(int(spec.max_kb * 1024 * 4), 1 << 20)
    try:
        with zipfile.ZipFile(path) as zf:
            seen = set()
            for info in zf.infolist():
                member = info.filename
                item = by_name.get(member)
                if item is None:
                    key = "zip_not_photo" if not member.lower().endswith(".jpg") else "zip_extra_member"
                    result.add(f"{name}:{member}", key)
                    continue
                seen.add(member)
                if info.file_size > limit or info.compress_size > limit:
                    result.add(f"{name}:{member}", "zip_member_size", size=info.file_size)
                    continue
                if hashlib.sha256(zf.read(info)).hexdigest() != item["sha256"]:
                    result.add(f"{name}:{member}", "photo_hash")
            for member in sorted(set(by_name) - seen):
                result.add(f"{name}:{member}", "missing_photo", id=by_name[member]["capture_id"])
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError) as exc:
        result.add(name, "bad_zip", error=reasons.of(exc))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _beside(archive: Path) -> Path | None:
    """The batch folder an upload zip sits in, when that folder's manifest names this zip."""
    for candidate in sorted(archive.parent.glob("*.json")):
        try:
            if candidate.stat().st_size > MAX_MANIFEST_BYTES:
                continue
            doc = json.loads(candidate.read_bytes().decode("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("format") in layout.FORMATS and isinstance(doc.get("files"), dict) \
                and doc["files"].get("zip") == archive.name:
            return archive.parent
    return None


def _unpack_space(data_dir: Path | None) -> AbstractContextManager[Path | str]:
    """Where a zip of a whole batch (ID numbers, names, photos) is unpacked: the data folder's
    scratch space (station.store.scratch: what a killed verify leaves there is swept by the next
    command), as every temporary copy of personal data; the system's temporary folder only when
    there is no station here or its data folder cannot be written (verify works on read-only
    media)."""
    import os
    import tempfile

    from station.store.core import DB_NAME

    if data_dir is not None and (Path(data_dir) / DB_NAME).is_file() \
            and os.access(data_dir, os.W_OK | os.X_OK):
        from station.store.scratch import scratch_dir

        return scratch_dir(Path(data_dir), "verify")
    return tempfile.TemporaryDirectory(prefix=".verify-")


def verify_zip(archive: Path, trusted_keys: Sequence[TrustedKey | bytes] | None = None,
               frame_checker: PhotoChecker | None = None, data_dir: Path | None = None) -> VerifyResult:
    """Verify a zip: an upload zip is checked with the batch folder it sits in (the manifest
    beside it covers it); a zip of a whole batch (format /1) is unpacked privately (in
    ``data_dir``'s scratch space when given) and checked.

    A member that would land outside the folder (absolute path, ``..``) is reported, not unpacked.
    """
    import zipfile

    archive = Path(archive)
    folder = _beside(archive)
    if folder is not None:
        result = verify_batch(folder, trusted_keys, frame_checker)
        result.path = archive
        return result
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:            # a file that is no zip at all (a CSV, a photo)
        result = VerifyResult(archive)
        result.add(archive.name, "not_a_zip")
        return result
    except OSError as exc:
        result = VerifyResult(archive)
        result.add(archive.name, "bad_zip", error=reasons.of(exc))
        return result
    with zf, _unpack_space(data_dir) as tmp:
        root = Path(tmp)
        refused = _unpack_limits(zf, archive, root)
        if refused is not None:
            return refused
        unsafe = []
        for info in zf.infolist():
            name = info.filename
            parts = Path(name).parts
            if name.startswith("/") or ".." in parts or "\\" in name or any(ord(c) < 32 for c in name):
                unsafe.append(name)
                continue
            damaged = _unpack(zf, info, root)
            if damaged is not None:
                result = VerifyResult(archive)
                result.add(f"{archive.name}:{name}", "bad_zip", error=damaged)
                return result
        faults.point("export.verify.unpacked")
        tops = sorted({Path(i.filename).parts[0] for i in zf.infolist() if i.filename not in unsafe})
        folder = root / tops[0] if len(tops) == 1 and (root / tops[0]).is_dir() else root
        result = verify_batch(folder, trusted_keys, frame_checker)
        result.path = archive
        if not result.batch_id and not unsafe:
            result.problems = [Problem(archive.name, "zip_no_manifest")]
        for name in unsafe:
            result.add(name, "unsafe_name", value=ascii(name))
    return result


def _unpack_limits(zf: Any, archive: Path, root: Path) -> VerifyResult | None:
    """A failed result naming the zip (or its member) when it cannot be unpacked safely."""
    import shutil

    archive_name = archive.name

    def refused(where: str, key: str, **params: Any) -> VerifyResult:
        result = VerifyResult(archive)
        result.add(where, key, **params)
        return result

    infos = zf.infolist()
    if len(infos) > ZIP_MAX_MEMBERS:
        return refused(archive_name, "zip_too_many_members", count=len(infos), limit=ZIP_MAX_MEMBERS)
    for info in infos:
        if info.file_size > ZIP_RATIO_FLOOR and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
            return refused(f"{archive_name}:{info.filename[:120]}", "zip_expansion",
                           ratio=info.file_size // max(info.compress_size, 1), limit=ZIP_MAX_RATIO)
    total = sum(info.file_size for info in infos)
    free = shutil.disk_usage(root).free
    if total + ZIP_FREE_MARGIN > free:
        return refused(archive_name, "zip_no_room", need_mb=total >> 20, free_mb=free >> 20)
    return None


def _unpack(zf: Any, info: Any, root: Path) -> str | None:
    """Stream one member under ``root`` (never more bytes than it declared); the error in words
    when the member is damaged (CRC, truncation, encryption, an unknown compression)."""
    import shutil
    import zipfile
    import zlib

    target = root / info.filename
    try:
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            if dst.tell() > info.file_size:
                return f"more bytes than the {info.file_size} declared"
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
            ValueError, OSError) as exc:
        return reasons.of(exc)
    return None
