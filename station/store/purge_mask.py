"""What a purge makes of each value about a purged person (``station.store.purge`` runs it).

One set of rules for a column of a row and for a key of a JSON object quoted elsewhere (an
audit line's details, a batch record's items, a version set aside by a merge, a conflict's
candidates, a row waiting for its parent): ID numbers become keyed pseudonyms, names are masked
(a person's own name wherever their record holds it, and every name they were known by in free
text), and what only describes the person (birth date, address, card details, student number, …)
goes.

A correction of a person's field carries that field's old and new values under other column
names (``old_value``/``new_value``, or ``old``/``new`` in a batch record's changes): they are
treated as the field itself — a corrected name is masked like the name, a corrected student
number or birth date goes like the student number or birth date, a corrected ID number becomes
a pseudonym. The fact that the correction was made, of which field, by whom and when, stays.

Text an operator typed (``FREE_TEXT``: a correction's, deletion's, override's or conflict
decision's reason, an upload confirmation's note, a payment's reference, the name of a file an
operator imported or wrote, and the same keys in an audit line's details or a batch record's
items) can name anyone: it is kept, so the trail still
says why, but scrubbed in every row, whoever the row is about: every ID-number-like run of 18
characters is masked (a purged person's number becomes their pseudonym, any other one is masked
as on screens), and every name and student number a purged person was known by is masked
wherever it appears inside the text (a namesake's own reason loses the name too: the text is
kept for its why, not for who).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from station.privacy import mask_id, mask_name
from station.store.rekey import PERSON_TABLE, REKEY_FIELD

# Fields that only describe the person: dropped when the row (or JSON object) is about them.
DROPPED = frozenset({"birth_date", "address", "mailing_address", "card_serial",
                     "photo_wlt_sha256", "name_en", "issuer", "nation", "valid_from",
                     "valid_to", "source_name", "capture_code", "student_no", "content_hash"})
ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# Where a correction (or a conflict's candidate) keeps the values of the field it corrects.
CORRECTED_VALUES = ("old_value", "new_value", "old", "new")
# Records a correction can be keyed by: the ID number (``PERSON_TABLE``), a roster entry's or a
# capture's row id (older corrections and the review screen's).
PERSON_TARGETS = (PERSON_TABLE, "captures")
_KEPT = frozenset({"id", "station_id", "seq", "hlc", "hash", "prev_hash"})
# Columns and JSON keys holding text an operator typed (see the module's docstring).
FREE_TEXT = frozenset({"reason", "note", "reference", "override_reason",
                       "file_name", "file"})      # a roster or bundle file named after a student


def loads(value: Any) -> dict[str, Any]:
    try:
        data = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Masker:
    """Rewrites values about the people in scope; everything else is returned unchanged.

    ``ids``: their ID numbers; ``names``: every name they were known by (rosters, card reads,
    corrections); ``records``: row ids of their roster entries and captures (what a correction
    may be keyed by)."""

    def __init__(self, key: bytes, ids: set[str], names: set[str],
                 records: set[str] | None = None, numbers: set[str] | None = None) -> None:
        self.key, self.ids, self.names = key, ids, names
        self.records = records or set()
        # student numbers of the people in scope: masked where typed into free text
        self.numbers = {n for n in (numbers or set()) if len(n) >= 4}
        words = sorted({n for n in names if len(n) >= 2} | self.numbers, key=len, reverse=True)
        self._words = re.compile("|".join(map(re.escape, words))) if words else None

    def token(self, id_number: str) -> str:
        tag = hmac.new(self.key, b"purge/" + id_number.encode(), hashlib.sha256).hexdigest()[:8]
        return f"{mask_id(id_number)}#{tag}"

    def text(self, value: str, about: bool | None = None) -> str:
        """``about``: the text belongs to a record of someone in scope (True), of someone else
        (False: a namesake keeps their name), or nobody knows (None: names are masked)."""
        if value in self.ids:
            return self.token(value)
        if value in self.names and about is not False:
            return mask_name(value)
        if value[:1] in "{[":
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict | list):
                return json.dumps(self.walk(parsed, about), ensure_ascii=False, sort_keys=True)
        return ID_IN_TEXT.sub(lambda m: self.token(m.group(0)) if m.group(0) in self.ids
                              else m.group(0), value)

    def free_text(self, value: str) -> str:
        """Operator-typed text: every ID-number-like run masked (a purged person's number as
        their pseudonym), every name or student number of a purged person masked inside it."""
        out = ID_IN_TEXT.sub(lambda m: self.token(m.group(0).upper()) if m.group(0).upper() in self.ids
                             else mask_id(m.group(0)), value)
        if self._words is not None:
            out = self._words.sub(lambda m: "*" * len(m.group(0)) if m.group(0) in self.numbers
                                  else mask_name(m.group(0)), out)
        return out

    def about(self, obj: dict[str, Any], default: bool | None) -> bool | None:
        """Whether a row or JSON object is about someone in scope: by its ID number, or (a
        correction, a tombstone, a conflict and its candidates) by the record it targets."""
        if isinstance(obj.get("id_number"), str):
            return obj["id_number"] in self.ids
        table = obj.get("target_table", obj.get("table"))
        target = obj.get("target_id")
        if table in PERSON_TARGETS and isinstance(target, str):
            return target in self.ids or target in self.records
        subject = obj.get("subject")
        if isinstance(subject, str) and "kind" in obj:     # a conflict: a number or table/id/field
            parts = subject.split("/")
            if subject in self.ids or (len(parts) == 3 and parts[0] in PERSON_TARGETS
                                       and (parts[1] in self.ids or parts[1] in self.records)):
                return True
        return default

    def corrected(self, field_name: Any, value: Any) -> Any:
        """An old or new value of a corrected field of someone in scope, as that field goes."""
        if not isinstance(value, str) or value == "":
            return value
        if field_name == REKEY_FIELD:        # the new number is theirs too: a pseudonym as well
            return self.token(value.strip().upper())
        if field_name == "name":
            return mask_name(value)
        if field_name in DROPPED:
            return None
        return self.text(value, True)

    def walk(self, obj: Any, about: bool | None = None) -> Any:
        if isinstance(obj, list):
            return [self.walk(v, about) for v in obj]
        if isinstance(obj, dict):
            about = self.about(obj, about)
            out: dict[str, Any] = {}
            for k, v in obj.items():
                if about and k in DROPPED:
                    continue
                if about and "field" in obj and k in CORRECTED_VALUES:
                    out[k] = self.corrected(obj["field"], v)
                elif about and k == "extra":
                    out[k] = {} if isinstance(v, dict) else "{}"
                elif about and k == "name" and "id_number" in obj and isinstance(v, str):
                    out[k] = mask_name(v)          # a person's own name, known here or not
                elif k in FREE_TEXT and isinstance(v, str):
                    out[k] = self.free_text(v)
                else:
                    out[k] = self.walk(v, about)
            return out
        if isinstance(obj, str):
            return self.text(obj, about)
        return obj

    def row(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        about = self.about(row, None)
        out = {}
        for col, value in row.items():
            if col in _KEPT:
                out[col] = value
            elif about and col in DROPPED:
                out[col] = None
            elif about and "field" in row and col in CORRECTED_VALUES:
                out[col] = self.corrected(row["field"], value)
            elif about and col == "identity":
                kept = {k: v for k, v in loads(value).items() if k in ("card_type", "source")}
                out[col] = json.dumps({**kept, "purged": True}, sort_keys=True)
            elif about and col == "extra":
                out[col] = "{}"
            elif about and col == "name" and "id_number" in row and isinstance(value, str):
                out[col] = mask_name(value)
            elif col in FREE_TEXT and isinstance(value, str):
                out[col] = self.free_text(value)
            elif (table == "audit" and col == "subject" and isinstance(value, str)
                  and str(row.get("action", "")).endswith(("import", "import.refused"))):
                out[col] = self.free_text(value)          # an imported file's name
            elif isinstance(value, str):
                out[col] = self.text(value, about)
            else:
                out[col] = value
        return out
