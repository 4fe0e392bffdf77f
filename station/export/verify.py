"""Re-checking a batch folder before it leaves the station: layout, photos, checksums, signature.

Every problem is reported, not just the first, each naming the file (and line or field) and a
message key of ``exports.toml``; the technician fixes the batch once rather than once per problem.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.export import layout
from station.export.jpeginfo import NotJpeg, read_jpeg_info
from station.export.names import check_name_field
from station.export.profile import PhotoSpec
from station.i18n import both
from station.keys import fingerprint, verify_signature

PhotoChecker = Callable[[Path], list[str]]


@dataclass
class Problem:
    file: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        zh, en = both(f"exports.verify.{self.key}", **self.params)
        out: dict[str, Any] = {"file": self.file, "problem": self.key, "message_zh": zh,
                               "message_en": en}
        if self.line is not None:
            out["line"] = self.line
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
    frame_checks: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, file: str, key: str, line: int | None = None, **params: Any) -> None:
        self.problems.append(Problem(file, key, params, line))

    def to_json(self) -> dict[str, Any]:
        return {"batch": str(self.path), "batch_id": self.batch_id, "ok": self.ok,
                "photos": self.photos, "signing_key": self.key_fingerprint,
                "key_trusted": self.key_trusted, "frame_checks": self.frame_checks,
                "problems": [p.to_json() for p in self.problems]}


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


def verify_batch(folder: Path, trusted_keys: list[bytes] | None = None,
                 frame_checker: PhotoChecker | None = None) -> VerifyResult:
    """Check ``folder``; ``trusted_keys`` are PEM public keys (the station's, or given by --key)."""
    folder = Path(folder)
    result = VerifyResult(folder)
    if not folder.is_dir():
        result.add(str(folder), "not_a_folder")
        return result
    json_path = _find_manifest(folder)
    if json_path is None:
        result.add("manifest.json", "missing_manifest")
        return result
    raw_json = json_path.read_bytes()
    try:
        doc = json.loads(raw_json.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        result.add(json_path.name, "bad_manifest", error=str(exc))
        return result
    result.batch_id = doc.get("batch_id")
    files = doc.get("files", {})
    names = {k: files.get(k) for k in ("csv", "checksums", "signature", "public_key")}
    for role, name in names.items():
        if not isinstance(name, str) or not (folder / name).is_file():
            result.add(str(name or role), "missing_file", role=role)
    _verify_signature(folder, raw_json, names, doc, trusted_keys, result)
    _verify_checksums(folder, names.get("checksums"), result)
    _verify_csv(folder, doc, names.get("csv"), result)
    _verify_photos(folder, doc, frame_checker, result)
    return result


def _find_manifest(folder: Path) -> Path | None:
    for candidate in sorted(folder.glob("*.json")):
        try:
            if json.loads(candidate.read_text(encoding="utf-8")).get("format") == layout.FORMAT:
                return candidate
        except (OSError, ValueError, AttributeError):
            continue
    return None


def _verify_signature(folder: Path, raw_json: bytes, names: dict[str, Any], doc: dict[str, Any],
                      trusted_keys: list[bytes] | None, result: VerifyResult) -> None:
    sig_name, pub_name = names.get("signature"), names.get("public_key")
    if not sig_name or not (folder / sig_name).is_file():
        return
    signature = (folder / sig_name).read_bytes()
    embedded = (folder / pub_name).read_bytes() if pub_name and (folder / pub_name).is_file() else None
    candidates = list(trusted_keys or [])
    if not candidates and embedded is not None:
        candidates = [embedded]
    for pem in candidates:
        if verify_signature(pem, raw_json, signature):
            result.key_fingerprint = fingerprint(pem)
            result.key_trusted = bool(trusted_keys)
            break
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


def _verify_csv(folder: Path, doc: dict[str, Any], csv_name: str | None, result: VerifyResult) -> None:
    if not csv_name or not (folder / csv_name).is_file():
        return
    data = (folder / csv_name).read_bytes()
    files = doc.get("files", {})
    if hashlib.sha256(data).hexdigest() != files.get("csv_sha256"):
        result.add(csv_name, "csv_hash")
    try:
        text = data.decode(files.get("csv_encoding", "gbk"))
    except (UnicodeDecodeError, LookupError) as exc:
        result.add(csv_name, "csv_encoding", encoding=files.get("csv_encoding"), error=str(exc))
        return
    rows = list(csv.reader(io.StringIO(text, newline="")))
    items = doc.get("items", [])
    if len(rows) - 1 != len(items):
        result.add(csv_name, "csv_rows", actual=max(len(rows) - 1, 0), expected=len(items))
    for number, (row, item) in enumerate(zip(rows[1:], items, strict=False), start=2):
        expected = {item.get("id_number", ""), item.get("file_name", ""), item.get("sha256", ""), item.get("name", "")}
        missing = sorted(v for v in expected if v and v not in row)
        if missing:
            result.add(csv_name, "csv_line", line=number, values=", ".join(missing))


def _verify_photos(folder: Path, doc: dict[str, Any], frame_checker: PhotoChecker | None, result: VerifyResult) -> None:
    spec = _spec_from(doc)
    photos_folder = doc.get("files", {}).get("photos", "photos")
    base = folder / photos_folder if photos_folder else folder
    listed = set()
    for item in doc.get("items", []):
        name = item.get("file_name", "")
        rel = f"{photos_folder}/{name}" if photos_folder else name
        listed.add(rel)
        try:
            for name_field in ("id_number",):
                check_name_field(name_field, item.get(name_field))
            if "/" in name or "\\" in name or ".." in name or name.startswith("."):
                raise ValueError(name)
        except Exception:
            result.add(rel, "unsafe_name", value=ascii(name))
            continue
        path = base / name
        if not path.is_file():
            result.add(rel, "missing_photo", id=item.get("capture_id"))
            continue
        data = path.read_bytes()
        result.photos += 1
        if hashlib.sha256(data).hexdigest() != item.get("sha256"):
            result.add(rel, "photo_hash")
        for key, params in check_photo_bytes(data, spec):
            result.add(rel, f"photo.{key}", **params)
        if frame_checker is not None:
            result.frame_checks = True
            for message in frame_checker(path):
                result.add(rel, "photo.frame", check=message)
    if base.is_dir():
        for path in sorted(base.iterdir()):
            rel = path.relative_to(folder).as_posix()
            if rel not in listed:
                result.add(rel, "photo_not_in_manifest")


def verify_zip(archive: Path, trusted_keys: list[bytes] | None = None,
               frame_checker: PhotoChecker | None = None) -> VerifyResult:
    """Verify a zipped batch: unpacked into a private temporary folder, then checked like a folder.

    A member that would land outside the folder (absolute path, ``..``) is reported, not unpacked.
    """
    import tempfile
    import zipfile

    archive = Path(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        result = VerifyResult(archive)
        result.add(archive.name, "bad_manifest", error=str(exc))
        return result
    with zf, tempfile.TemporaryDirectory(prefix=".verify-") as tmp:
        root = Path(tmp)
        unsafe = []
        for info in zf.infolist():
            name = info.filename
            parts = Path(name).parts
            if name.startswith("/") or ".." in parts or "\\" in name or any(ord(c) < 32 for c in name):
                unsafe.append(name)
                continue
            zf.extract(info, root)
        tops = sorted({Path(i.filename).parts[0] for i in zf.infolist() if i.filename not in unsafe})
        folder = root / tops[0] if len(tops) == 1 and (root / tops[0]).is_dir() else root
        result = verify_batch(folder, trusted_keys, frame_checker)
        result.path = archive
        for name in unsafe:
            result.add(name, "unsafe_name", value=ascii(name))
    return result
