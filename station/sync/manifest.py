"""The signed manifest of a station's data: who sent it, which rows (counted and digested), which files.

The manifest is what a station signs. It commits to the rows themselves (a digest per table over
the rows in key order, see ``station.sync.digest``), not only to the database file, so the same
manifest can vouch for rows that arrive by another road (the PostgreSQL hub of issue 15) as well
as for the SQLite file inside a bundle. Parsing is strict: every field is checked for type and
shape and a problem names the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from station.i18n import Words
from station.keys import valid_campaign, valid_station_id
from station.sync.archive import DB_MEMBER, IMAGE_PREFIX
from station.sync.errors import BundleRefused

FORMAT = "capture-station-bundle/2"
# A push to the PostgreSQL hub (station.hub): the same manifest for rows that travel without a
# database file — its members are the images only.
PUSH_FORMAT = "capture-station-push/1"
OLD_FORMATS = ("capture-station-bundle/1",)
_SHA = re.compile(r"^[0-9a-f]{64}$")
_TABLE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{4}(:[0-9a-f]{4}){7}$")


@dataclass(frozen=True)
class Manifest:
    station_id: str
    schema_version: int
    rows: dict[str, int]               # table → row count
    row_digests: dict[str, str]        # table → digest of its rows (station.sync.digest)
    members: dict[str, str]            # file member → SHA-256 (the database and every image)
    max_hlc: str
    signing_key: str                   # fingerprint of the key that signs this manifest
    school_code: str | None = None
    created_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT
    # the sender's campaign (``station.store.campaign``); None: made by a version before campaigns
    campaign: str | None = None

    @cached_property
    def images(self) -> dict[str, str]:
        """Image SHA-256 → member name (computed once: a merge asks for every image)."""
        return {name[len(IMAGE_PREFIX):]: name for name in self.members if name.startswith(IMAGE_PREFIX)}

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "station_id": self.station_id, "schema_version": self.schema_version,
                "rows": self.rows, "row_digests": self.row_digests, "members": self.members,
                "max_hlc": self.max_hlc, "signing_key": self.signing_key,
                "school_code": self.school_code, "created_at": self.created_at,
                **({"campaign": self.campaign} if self.campaign is not None else {})}

    def to_bytes(self) -> bytes:
        """The exact bytes that are signed."""
        return (json.dumps(self.to_json(), ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def parse(cls, body: bytes, source: str, expect: str = FORMAT) -> Manifest:
        """The manifest in ``body``; a ``BundleRefused`` naming the field for anything malformed.

        ``expect`` is the format the road it came by carries: a bundle's manifest (with its
        database member) or a hub push's (images only); the other one is refused."""
        member = "bundle.json"

        def bad(fld: str, problem: str) -> BundleRefused:
            return BundleRefused("manifest_field", source, member, field=fld,
                                 problem=Words((f"sync.problem.{problem}",)))

        try:
            doc = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            line = body.count(b"\n", 0, exc.start) + 1
            column = exc.start - (body.rfind(b"\n", 0, exc.start) + 1) + 1
            raise BundleRefused("manifest_json", source, member, line=line, column=column,
                                detail=str(exc)[:200]) from None
        except json.JSONDecodeError as exc:
            raise BundleRefused("manifest_json", source, member, line=exc.lineno, column=exc.colno,
                                detail=str(exc)[:200]) from None
        except ValueError as exc:                  # e.g. a number too long to convert
            raise BundleRefused("manifest_json", source, member, line=1, column=1,
                                detail=str(exc)[:200]) from None
        if not isinstance(doc, dict):
            raise bad("(document)", "not_object")
        fmt = doc.get("format")
        if fmt in OLD_FORMATS:
            raise BundleRefused("old_format", source, member, format=fmt)
        if fmt != expect or fmt not in (FORMAT, PUSH_FORMAT):
            raise bad("format", "wrong_format")
        station = doc.get("station_id")
        if not isinstance(station, str) or not valid_station_id(station):
            raise bad("station_id", "not_station_id")
        version = doc.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise bad("schema_version", "not_positive_int")
        rows = _mapping(doc.get("rows"), "rows", bad, _TABLE, lambda v: isinstance(v, int)
                        and not isinstance(v, bool) and v >= 0, "not_count")
        digests = _mapping(doc.get("row_digests"), "row_digests", bad, _TABLE,
                           lambda v: isinstance(v, str) and bool(_SHA.match(v)), "not_sha")
        if set(rows) != set(digests):
            raise bad("row_digests", "tables_differ")
        members = _mapping(doc.get("members"), "members", bad, None,
                           lambda v: isinstance(v, str) and bool(_SHA.match(v)), "not_sha")
        if DB_MEMBER not in members and fmt == FORMAT:
            raise bad("members", "db_not_listed")
        for name, sha in members.items():
            if name.startswith(IMAGE_PREFIX):
                if name[len(IMAGE_PREFIX):] != sha:
                    raise bad(f"members.{name[:90]}", "other_hash")
            elif name != DB_MEMBER or fmt == PUSH_FORMAT:
                raise bad(f"members.{name[:90]}", "not_member")
        max_hlc = doc.get("max_hlc")
        if not isinstance(max_hlc, str) or len(max_hlc) > 200:
            raise bad("max_hlc", "not_clock")
        key = doc.get("signing_key")
        if not isinstance(key, str) or not _FINGERPRINT.match(key):
            raise bad("signing_key", "not_fingerprint")
        school = doc.get("school_code")
        if school is not None and (not isinstance(school, str) or len(school) > 32):
            raise bad("school_code", "not_school_code")
        created = doc.get("created_at")
        if created is not None and (not isinstance(created, str) or len(created) > 64):
            raise bad("created_at", "not_time")
        campaign = doc.get("campaign")
        if campaign is not None and (not isinstance(campaign, str) or not valid_campaign(campaign)):
            raise bad("campaign", "not_campaign")
        return cls(station, version, rows, digests, members, max_hlc, key, school, created,
                   format=fmt, campaign=campaign)


def _mapping(value: Any, name: str, bad: Any, key_re: re.Pattern[str] | None,
             ok: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad(name, "not_object")
    for k, v in value.items():
        if key_re is not None and not key_re.match(k):
            raise bad(f"{name}.{k[:60]}", "not_table_name")
        if not ok(v):
            raise bad(f"{name}.{k[:60]}", what)
    return dict(value)
