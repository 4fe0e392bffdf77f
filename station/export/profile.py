"""Batch layouts are data: each pipeline's folder, naming and manifest live in ``exports/*.toml``.

``load_batch_profile("chsi")`` reads ``exports/chsi-batch.toml``; a wrong or missing key is an
InputError naming the file and the key, so a technician can fix the profile without reading code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station.config import read_toml
from station.errors import InputError, Location
from station.paths import EXPORTS_DIR

PERSON_FIELDS = (
    "seq", "id_number", "name", "student_no", "department", "gender", "school_code",
    "file_name", "sha256", "captured_at", "kind", "replaces_batch", "identity_verified",
    "capture_id", "bytes",
)
NAME_FIELDS = ("id_number", "student_no")


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
    photos_folder: str = "photos"
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
    allow_unverified_identity: bool = False
    fee_cents: int = 3000
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

    def photo_path(self, file_name: str) -> str:
        """Path of a photo inside the batch folder, with forward slashes (as in SHA256SUMS)."""
        return f"{self.photos_folder}/{file_name}" if self.photos_folder else file_name


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
    columns = []
    for i, col in enumerate(manifest.get("columns", []), start=1):
        where = f"manifest.columns[{i}]"
        if not isinstance(col, dict) or col.get("field") not in PERSON_FIELDS or not isinstance(col.get("header"), str):
            raise InputError("exports.profile_field", Location(file, field=where), field=where, value=repr(col))
        columns.append(Column(col["header"], col["field"]))
    if not columns:
        raise InputError("exports.profile_field", Location(file, field="manifest.columns"),
                         field="manifest.columns", value="[]")
    photo_name = _get(photos, "name", str, Location(file, field="photos"), "{id_number}.jpg")
    if not any("{" + f + "}" in photo_name for f in NAME_FIELDS) or "/" in photo_name:
        raise InputError("exports.profile_field", Location(file, field="photos.name"),
                         field="photos.name", value=photo_name)
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
        photos_folder=_get(photos, "folder", str, Location(file, field="photos"), "photos").strip("/"),
        photo_name=photo_name,
        spec=photo_spec,
        csv_name=_get(manifest, "csv_name", str, Location(file, field="manifest"), "manifest.csv"),
        csv_encoding=encoding,
        csv_newline=_get(manifest, "csv_newline", str, Location(file, field="manifest"), "\r\n"),
        json_name=_get(manifest, "json_name", str, Location(file, field="manifest"), "manifest.json"),
        checksums_name=_get(manifest, "checksums_name", str, Location(file, field="manifest"), "SHA256SUMS"),
        signature_name=_get(manifest, "signature_name", str, Location(file, field="manifest"), "manifest.json.sig"),
        public_key_name=_get(manifest, "public_key_name", str, Location(file, field="manifest"), "station.pub"),
        columns=tuple(columns),
        allow_unverified_identity=_get(policy, "allow_unverified_identity", bool, Location(file, field="policy"), False),
        fee_cents=_get(policy, "fee_cents", int, Location(file, field="policy"), 3000),
        print_width_mm=_get(prt, "width_mm", num, Location(file, field="print"), 35),
        print_height_mm=_get(prt, "height_mm", num, Location(file, field="print"), 49),
        print_dpi=_get(prt, "dpi", int, Location(file, field="print"), 300),
    )
