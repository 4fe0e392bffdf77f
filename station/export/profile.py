"""Batch layouts are data: each pipeline's folder, naming and manifest live in ``exports/*.toml``.

``load_batch_profile("chsi")`` reads ``exports/chsi-batch.toml``; a wrong or missing key is an
InputError naming the file and the key, so a technician can fix the profile without reading code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.config import read_toml
from station.errors import InputError, Location
from station.paths import EXPORTS_DIR

PERSON_FIELDS = (
    "seq", "id_number", "capture_code", "name", "student_no", "department", "gender", "school_code",
    "file_name", "sha256", "captured_at", "kind", "replaces_batch", "identity_verified",
    "capture_id", "bytes",
)
# Extra fields a row of the corrections list can name.
CORRECTION_FIELDS = (*PERSON_FIELDS, "correction", "changes")
NAME_FIELDS = ("id_number", "student_no", "capture_code")


@dataclass(frozen=True)
class Column:
    header: str
    field: str


@dataclass(frozen=True)
class PhotoSpec:
    width: int = 480
    height: int = 640
    dpi: int = 300
    baseline: bool = True
    components: int = 3
    min_quality: int = 60
    min_kb: float = 30
    max_kb: float = 80


@dataclass(frozen=True)
class BatchProfile:
    name: str
    source: Path
    description: str = ""
    folder: str = "{school_code}_{date}_{batch_id}"
    school_code: str = "10673"
    photo_profile: str = "chsi"
    photos_folder: str = "upload"
    upload_zip: str = "{school_code}_{date}_{batch_id}.zip"
    photo_name: str = "{id_number}.jpg"
    spec: PhotoSpec = field(default_factory=PhotoSpec)
    csv_name: str = "manifest.csv"
    csv_encoding: str = "gbk"
    csv_newline: str = "\r\n"
    json_name: str = "manifest.json"
    checksums_name: str = "SHA256SUMS"
    signature_name: str = "manifest.json.sig"
    public_key_name: str = "station.pub"
    columns: tuple[Column, ...] = ()
    corrections_csv: str = "corrections.csv"
    corrections_folder: str = "corrections"
    correction_columns: tuple[Column, ...] = ()
    allow_unverified_identity: bool = False
    capture_code_pattern: str = ""       # what a 图像采集码 must look like; "" = this pipeline takes none
    print_width_mm: float = 35
    print_height_mm: float = 49
    print_dpi: int = 300

    @property
    def name_field(self) -> str:
        """The person field that names a photo file (id_number or student_no)."""
        for candidate in NAME_FIELDS:
            if "{" + candidate + "}" in self.photo_name:
                return candidate
        return "id_number"

    def check_capture_code(self, code: object, where: str | Location = "capture_code") -> str:
        """The code, if this pipeline takes 图像采集码 and it has the profile's form; else InputError.

        ``where``: the Location of the code as the user gave it (``--capture-code``, a field of
        an identity file), or the name of what it came from (its field is then capture_code).

        The code is opaque (its content is encrypted for the pipeline): only its form is checked,
        never its meaning. A form that names a file must not allow path characters.
        """
        # a scanner types the code as keystrokes: under an input method in full-width mode each
        # ASCII character arrives as its full-width form (U+FF01–U+FF5E), kept here as ASCII
        text = code.translate(_HALF_WIDTH) if isinstance(code, str) else ""
        at = where if isinstance(where, Location) else Location(where, field="capture_code")
        if not self.capture_code_pattern:
            raise InputError("exports.capture_code_not_taken", at, profile=self.name)
        if not re.fullmatch(self.capture_code_pattern, text) or not _plain(text):
            raise InputError("exports.bad_capture_code", at,
                             pattern=self.capture_code_pattern, length=len(text))
        return text

    def photo_path(self, file_name: str) -> str:
        """Path of a photo inside the batch folder, with forward slashes (as in SHA256SUMS)."""
        return f"{self.photos_folder}/{file_name}" if self.photos_folder else file_name


_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)}


def profile_path(name: str, exports_dir: Path | None = None) -> Path:
    base = exports_dir or EXPORTS_DIR
    if "/" in name or "\\" in name or name.startswith("."):
        raise InputError("exports.profile_name", Location(name), name=name)
    return base / f"{name}-batch.toml"


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: Location,
         default: Any = None) -> Any:
    """``table[key]`` of the expected type (a bool is not a number here), else a named InputError."""
    value = table.get(key, default)
    ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if not ok:
        name = f"{where.field}.{key}"
        raise InputError("exports.profile_field", Location(where.file, field=name), field=name,
                         value=repr(value))
    return value


def _photo_output(folder: Path, photo_profile: str) -> dict[str, Any]:
    """The file facts of the photo spec (``exports/<photo_profile>.toml`` [output]) the batch must meet.

    The spec is owned by the frame checks; the batch only reads its output section so that the two
    never disagree about size, dpi or file-size bounds.
    """
    path = folder / f"{photo_profile}.toml"
    if "/" in photo_profile or not path.is_file():
        return {}
    output = read_toml(path).get("output", {})
    keys = ("width", "height", "dpi", "min_quality", "min_kb", "max_kb")
    return {k: output[k] for k in keys if k in output}


MODES = ("card", "code")


def profile_for_mode(mode: str, photo_profile: str = "chsi", configured: str | None = None) -> str:
    """The batch profile a station uses: the one configured, else the mode's (card: the 2017
    ID-number layout ``chsi``; code: the 图像采集码 layout ``chsi-code``)."""
    if configured:
        return configured
    return f"{photo_profile}-code" if mode == "code" else photo_profile


def _plain(value: object) -> bool:
    """A name directly inside the batch folder: no path, no leading dot, printable."""
    return (isinstance(value, str) and bool(value) and "/" not in value and "\\" not in value
            and not value.startswith(".") and value.isprintable())


def _columns(table: dict[str, Any], section: str, allowed: tuple[str, ...], file: str) -> tuple[Column, ...]:
    columns = []
    for i, col in enumerate(table.get("columns", []), start=1):
        where = f"{section}.columns[{i}]"
        if not isinstance(col, dict) or col.get("field") not in allowed or not isinstance(col.get("header"), str):
            raise InputError("exports.profile_field", Location(file, field=where), field=where, value=repr(col))
        columns.append(Column(col["header"], col["field"]))
    if not columns:
        raise InputError("exports.profile_field", Location(file, field=f"{section}.columns"),
                         field=f"{section}.columns", value="[]")
    return tuple(columns)


def load_batch_profile(name: str = "chsi", exports_dir: Path | None = None) -> BatchProfile:
    path = profile_path(name, exports_dir)
    try:
        data = read_toml(path)
    except FileNotFoundError:
        raise InputError("exports.profile_missing", Location(str(path)), name=name, path=str(path)) from None
    return parse_batch_profile(data, path)


def parse_batch_profile(data: dict[str, Any], path: Path) -> BatchProfile:
    file = str(path)
    batch = data.get("batch", {})
    photos = data.get("photos", {})
    spec = photos.get("spec", {})
    manifest = data.get("manifest", {})
    policy = data.get("policy", {})
    prt = data.get("print", {})
    num = (int, float)
    photo_profile = _get(batch, "photo_profile", str, Location(file, field="batch"), "chsi")
    spec = {**_photo_output(path.parent, photo_profile), **spec}
    photo_spec = PhotoSpec(
        width=_get(spec, "width", int, Location(file, field="photos.spec"), 480),
        height=_get(spec, "height", int, Location(file, field="photos.spec"), 640),
        dpi=_get(spec, "dpi", int, Location(file, field="photos.spec"), 300),
        baseline=_get(spec, "baseline", bool, Location(file, field="photos.spec"), True),
        components=_get(spec, "components", int, Location(file, field="photos.spec"), 3),
        min_quality=_get(spec, "min_quality", int, Location(file, field="photos.spec"), 60),
        min_kb=_get(spec, "min_kb", num, Location(file, field="photos.spec"), 30),
        max_kb=_get(spec, "max_kb", num, Location(file, field="photos.spec"), 80),
    )
    upload = data.get("upload", {})
    fixes = data.get("corrections", {})
    columns = _columns(manifest, "manifest", PERSON_FIELDS, file)
    correction_columns = _columns(fixes, "corrections", CORRECTION_FIELDS, file)
    upload_folder = _get(upload, "folder", str, Location(file, field="upload"), "upload")
    upload_zip = _get(upload, "zip", str, Location(file, field="upload"), "{school_code}_{date}_{batch_id}.zip")
    corrections_csv = _get(fixes, "csv_name", str, Location(file, field="corrections"), "corrections.csv")
    corrections_folder = _get(fixes, "folder", str, Location(file, field="corrections"), "corrections")
    names = {"upload.folder": upload_folder, "corrections.csv_name": corrections_csv,
             "corrections.folder": corrections_folder}
    for key in ("csv_name", "json_name", "checksums_name", "signature_name", "public_key_name"):
        names[f"manifest.{key}"] = manifest.get(key, "x")
    for key, value in names.items():
        if not _plain(value):
            raise InputError("exports.profile_field", Location(file, field=key), field=key, value=repr(value))
    if upload_zip and (not _plain(upload_zip.replace("{", "").replace("}", "")) or not upload_zip.endswith(".zip")):
        raise InputError("exports.profile_field", Location(file, field="upload.zip"), field="upload.zip",
                         value=repr(upload_zip))
    photo_name = _get(photos, "name", str, Location(file, field="photos"), "{id_number}.jpg")
    if not any("{" + f + "}" in photo_name for f in NAME_FIELDS) or "/" in photo_name:
        raise InputError("exports.profile_field", Location(file, field="photos.name"),
                         field="photos.name", value=photo_name)
    pattern = _get(data.get("capture_code", {}), "pattern", str, Location(file, field="capture_code"), "")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise InputError("exports.profile_field", Location(file, field="capture_code.pattern"),
                         field="capture_code.pattern", value=f"{pattern!r} ({exc})") from None
    if "{capture_code}" in photo_name and not pattern:
        raise InputError("exports.profile_field", Location(file, field="capture_code.pattern"),
                         field="capture_code.pattern", value="'' (photos are named by capture_code)")
    encoding = _get(manifest, "csv_encoding", str, Location(file, field="manifest"), "gbk")
    try:
        "".encode(encoding)
    except LookupError:
        raise InputError("exports.profile_field", Location(file, field="manifest.csv_encoding"),
                         field="manifest.csv_encoding", value=encoding) from None
    return BatchProfile(
        name=_get(batch, "name", str, Location(file, field="batch"), path.stem.removesuffix("-batch")),
        source=path,
        description=batch.get("description", ""),
        folder=_get(batch, "folder", str, Location(file, field="batch"), "{school_code}_{date}_{batch_id}"),
        school_code=str(_get(batch, "school_code", (str, int), Location(file, field="batch"), "10673")),
        photo_profile=photo_profile,
        photos_folder=upload_folder,
        upload_zip=upload_zip,
        photo_name=photo_name,
        spec=photo_spec,
        csv_name=_get(manifest, "csv_name", str, Location(file, field="manifest"), "manifest.csv"),
        csv_encoding=encoding,
        csv_newline=_get(manifest, "csv_newline", str, Location(file, field="manifest"), "\r\n"),
        json_name=_get(manifest, "json_name", str, Location(file, field="manifest"), "manifest.json"),
        checksums_name=_get(manifest, "checksums_name", str, Location(file, field="manifest"), "SHA256SUMS"),
        signature_name=_get(manifest, "signature_name", str, Location(file, field="manifest"), "manifest.json.sig"),
        public_key_name=_get(manifest, "public_key_name", str, Location(file, field="manifest"), "station.pub"),
        columns=columns,
        corrections_csv=corrections_csv,
        corrections_folder=corrections_folder,
        correction_columns=correction_columns,
        allow_unverified_identity=_get(policy, "allow_unverified_identity", bool, Location(file, field="policy"), False),
        capture_code_pattern=pattern,
        print_width_mm=_get(prt, "width_mm", num, Location(file, field="print"), 35),
        print_height_mm=_get(prt, "height_mm", num, Location(file, field="print"), 49),
        print_dpi=_get(prt, "dpi", int, Location(file, field="print"), 300),
    )
