"""Conflicts a supervisor decides, named in words, and decisions that merge like any other fact.

Service API (the CLI and the TUI's review screen both use only this):

    service = ConflictService(store)
    service.items(include_decided=False) -> list[ConflictItem]   # open items, oldest subject first
    service.get(ref) -> ConflictItem                               # ref: the item id or a prefix
    service.decide(ref, option, operator, reason=None) -> Decision # option: "1", "2", … (its key)

Each ``ConflictItem`` has a stable ``id`` (the same at every store that sees the same conflict),
``text(lang)`` — one sentence naming the person (masked ID number) and the question — and
``options``, each with ``key``, ``text(lang)`` and the fact it keeps (``fact_id``; for photos also
``image_sha256`` so a screen can show them side by side). ``to_json()`` carries both languages and
never a full ID number.

Kinds (sync.md §6): the same person accepted at two stations; one ID number read with different
name/gender/birth date; two corrections of the same field; one 图像采集码 on the photos of two
people (``code_clash``: exports leave both out until it is put right); a record key already used
by other content (a key clash, kept aside at merge). A decision is a ``conflict_decisions`` fact plus its
effects as ordinary facts — rejecting the photos not kept, or a new correction with the chosen
value — made in one transaction, so the derived state (exports, reports) follows it everywhere the
decision is merged. An item is open while some competing fact is not covered by its latest
decision: a new photo accepted at a third station reopens it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from station.errors import InputError, NotFoundError
from station.i18n import LANGUAGES, Words, t
from station.privacy import mask_code, mask_id
from station.store import conflicts as q

if TYPE_CHECKING:
    from station.store.core import Store

KINDS = ("accepted_at_two_stations", "same_id_different_identity", "two_corrections", "code_clash", "key_clash")
# Identity fields a person record carries (birth dates are only checked against the ID number).
CORRECTED_IDENTITY_FIELDS = ("name", "gender")
DECIDE_ACTION = "conflicts.decide"
VIEW_ACTION = "conflicts.view"


def item_id(kind: str, subject: str) -> str:
    """Stable across stores: the same conflict has the same id wherever it is seen."""
    return hashlib.sha256(f"{kind}\x1f{subject}".encode()).hexdigest()[:12]


def _both(key: str, **params: object) -> dict[str, str]:
    return {lang: t(key, lang, **params) for lang in LANGUAGES}


@dataclass(frozen=True)
class Option:
    key: str                       # what the supervisor types: "1", "2", …
    fact_id: str
    station_id: str
    texts: dict[str, str]
    image_sha256: str | None = None

    def text(self, lang: str) -> str:
        return self.texts[lang]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "fact_id": self.fact_id, "station_id": self.station_id,
                                "text_zh": self.texts["zh"], "text_en": self.texts["en"]}
        if self.image_sha256:
            data["image_sha256"] = self.image_sha256
        return data


@dataclass(frozen=True)
class Decision:
    id: str
    item_id: str
    option: str | None
    fact_id: str
    texts: dict[str, str]          # the chosen option in words
    operator: str | None
    station_id: str
    hlc: str
    reason: str | None
    effects: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "item_id": self.item_id, "option": self.option, "fact_id": self.fact_id,
                "text_zh": self.texts.get("zh", ""), "text_en": self.texts.get("en", ""),
                "operator": self.operator, "station_id": self.station_id, "at": local_time(self.hlc),
                "reason": self.reason, "effects": list(self.effects)}


@dataclass(frozen=True)
class ConflictItem:
    id: str
    kind: str
    subject: str                   # raw (may hold an ID number): never shown, never in JSON
    masked_subject: str
    texts: dict[str, str]
    options: tuple[Option, ...]
    decision: Decision | None = None
    open: bool = True
    id_number: str | None = field(default=None, repr=False)

    def text(self, lang: str) -> str:
        return self.texts[lang]

    def option(self, key: str) -> Option:
        for opt in self.options:
            if opt.key == key or opt.fact_id == key:
                return opt
        raise InputError("sync.conflicts.no_option", option=key, item=self.id,
                         choices=", ".join(o.key for o in self.options))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "subject": self.masked_subject, "open": self.open,
                "text_zh": self.texts["zh"], "text_en": self.texts["en"],
                "options": [o.to_json() for o in self.options],
                "decision": self.decision.to_json() if self.decision else None}


class ConflictService:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reading --------------------------------------------------------------------------------
    def items(self, include_decided: bool = False) -> list[ConflictItem]:
        detected = q.detect(self.store)
        names = q.person_names(self.store, [d.id_number for d in detected if d.id_number]
                               + [str(c.data["id_number"]) for d in detected if d.kind == "code_clash"
                                  for c in d.candidates])
        decisions = q.latest_decisions(self.store)
        out: list[ConflictItem] = []
        seen: set[str] = set()
        for d in detected:
            iid = item_id(d.kind, d.subject)
            seen.add(iid)
            decision = decisions.get(iid)
            covered = set(decision.candidates) | set(decision.effects) if decision else set()
            if decision and d.kind == "two_corrections":
                covered |= _successors(d, decision.effects, decision.station_id)
            is_open = not {c.fact_id for c in d.candidates} <= covered
            item = _words(iid, d, names.get(d.id_number or "", ""),
                          _decision(decision) if decision else None, is_open, names)
            if is_open or include_decided:
                out.append(item)
        if include_decided:            # decided items whose conflict is gone (e.g. photos rejected)
            for iid, row in decisions.items():
                if iid not in seen:
                    out.append(_settled(row))
        return out

    def count_open(self) -> int:
        return len(self.items())

    def get(self, ref: str) -> ConflictItem:
        ref = ref.strip().lower()
        if len(ref) < 4:
            raise InputError("sync.conflicts.short_ref", ref=ref)
        found = [i for i in self.items(include_decided=True) if i.id.startswith(ref)]
        if not found:
            raise NotFoundError("sync.conflicts.no_item", item=ref)
        if len({i.id for i in found}) > 1:
            raise InputError("sync.conflicts.ambiguous", ref=ref,
                             items=", ".join(sorted({i.id for i in found})))
        return found[0]

    # -- deciding -------------------------------------------------------------------------------
    def decide(self, ref: str, option: str, operator: str | None, reason: str | None = None) -> Decision:
        """Record the supervisor's choice and its effects in one transaction.

        The caller checks the operator's permission (``conflicts.decide``: supervisors).
        """
        store = self.store
        with store.transaction():
            item = self.get(ref)
            if not item.open:
                raise InputError("sync.conflicts.already_decided", item=item.id)
            chosen = item.option(option)
            self._after_candidates(item)
            effects = self._effects(item, chosen, operator)
            choice = {"option": chosen.key, "fact_id": chosen.fact_id, "text_zh": chosen.texts["zh"],
                      "text_en": chosen.texts["en"]}
            decision_id = q.record_decision(store, item.id, item.kind, item.subject,
                                            [o.fact_id for o in item.options], choice, effects,
                                            reason, operator)
            store.audit.append(operator, "conflict.decide", item.masked_subject,
                               {"item": item.id, "kind": item.kind, "option": chosen.key,
                                "fact_id": chosen.fact_id, "effects": effects})
        row = q.latest_decisions(store)[item.id]
        assert row.id == decision_id
        return _decision(row)

    def _after_candidates(self, item: ConflictItem) -> None:
        """Move this store's clock past every stamp the item competes on (the candidates and the
        decisions they carry), so the decision and its effects sort after them: a station whose
        clock runs ahead must not outrank the supervisor's later choice (``clock.receive``)."""
        from station.store.clock import HLC

        stamps: list[object] = []
        for c in _candidates(self.store, item):
            stamps.append(c.hlc)
            stamps.append(c.data.get("decided_hlc"))
            row = c.data.get("row")
            if isinstance(row, dict):
                stamps.append(row.get("hlc"))
        newest = None
        for stamp in stamps:
            try:
                clock = HLC.decode(stamp) if isinstance(stamp, str) else None
            except ValueError:
                clock = None
            if clock is not None and (newest is None or clock > newest):
                newest = clock
        if newest is not None:
            self.store.observe(newest.encode())

    def _effects(self, item: ConflictItem, chosen: Option, operator: str | None) -> list[str]:
        """Ordinary facts that make the derived state agree with the decision."""
        facts = self.store.facts
        note = f"conflict {item.id}"
        if item.kind == "accepted_at_two_stations":
            return [facts.record_acceptance(o.fact_id, "reject", reason=f"{note}: kept {chosen.fact_id}",
                                            operator=operator)
                    for o in item.options if o.fact_id != chosen.fact_id
                    and q.current_acceptance(self.store, o.fact_id) == "accept"]
        if item.kind == "two_corrections":
            table, target, fld = item.subject.split("/", 2)
            row = next(c for c in _candidates(self.store, item) if c.fact_id == chosen.fact_id)
            return [facts.record_correction(table, target, fld, None, row.data.get("new_value"),
                                            reason=note, operator=operator)]
        if item.kind == "same_id_different_identity":
            # the person's name and gender as the supervisor chose them, as corrections keyed by
            # the ID number: what exports, sheets and reports read (card reads stay as read)
            candidates = _candidates(self.store, item)
            row = next(c for c in candidates if c.fact_id == chosen.fact_id)
            return [facts.record_correction("roster_entries", item.subject, fld, None, row.data.get(fld),
                                            reason=note, operator=operator)
                    for fld in CORRECTED_IDENTITY_FIELDS
                    if any(c.data.get(fld) != row.data.get(fld) for c in candidates)]
        if item.kind == "code_clash":
            # the code is the chosen student's: the others' photos under it are rejected (a photo
            # already uploaded cannot be called back); each scans their own code and is
            # photographed again, which ends the clash
            owner = next(c for c in _candidates(self.store, item) if c.fact_id == chosen.fact_id)
            return [facts.record_acceptance(c.fact_id, "reject", reason=f"{note}: the capture code is "
                                            f"{mask_id(str(owner.data['id_number']))}'s", operator=operator)
                    for c in _candidates(self.store, item)
                    if c.data["id_number"] != owner.data["id_number"] and not c.data.get("exported")
                    and q.current_acceptance(self.store, c.fact_id) == "accept"]
        if item.kind == "key_clash":
            return self._key_effects(item, chosen, operator, note)
        return []

    def _key_effects(self, item: ConflictItem, chosen: Option, operator: str | None, note: str) -> list[str]:
        """Choosing a version set aside: for an acceptance, the chosen decision is recorded again
        as a new fact (a later decision of the capture is the one that counts); for any other
        table the decision itself is the record (rows are never overwritten)."""
        candidate = next((c for c in _candidates(self.store, item) if c.fact_id == chosen.fact_id), None)
        if candidate is None or candidate.data.get("kept") or candidate.data.get("table") != "acceptances":
            return []
        row = candidate.data.get("row") or {}
        capture, decision = row.get("capture_id"), row.get("decision")
        if not isinstance(capture, str) or decision not in ("accept", "reject") \
                or not q.capture_exists(self.store, capture):
            return []
        return [self.store.facts.record_acceptance(capture, decision, reason=f"{note}: kept {chosen.fact_id}",
                                                   override_by=row.get("override_by"), operator=operator)]


def _successors(d: q.Detected, effects: tuple[str, ...], decided_at: str) -> set[str]:
    """Corrections the deciding store itself made after a two_corrections decision, each over the
    value then current (the decided one, then each successor's): that store knew the decision, so
    each is the field's next value (a student's later request), not a competitor that reopens the
    item. A correction made elsewhere, or over another value, stops the chain: it competes (the
    item reopens; another store's later correction may not have seen the decision)."""
    chosen = [c for c in d.candidates if c.fact_id in effects]
    if not chosen:
        return set()
    current = max(chosen, key=lambda c: c.hlc)
    out: set[str] = set()
    for c in sorted(d.candidates, key=lambda c: c.hlc):
        if c.fact_id in effects or c.hlc <= current.hlc:
            continue
        if c.station_id != decided_at or c.data.get("old_value") != current.data.get("new_value"):
            break
        out.add(c.fact_id)
        current = c
    return out


def _candidates(store: Store, item: ConflictItem) -> tuple[q.Candidate, ...]:
    for d in q.detect(store):
        if item_id(d.kind, d.subject) == item.id:
            return d.candidates
    return ()


# -- words ---------------------------------------------------------------------------------------
def local_time(hlc: str) -> str:
    """A stamp's wall time as the station's local 'MM-DD HH:MM', with the year in front when it is
    not this year (a station clock a year off must show as such, not as a date that looks right)."""
    from station.domain.localtime import from_ms, local_now

    try:
        when = from_ms(int(hlc.split("-", 1)[0]))
    except (ValueError, AttributeError, OverflowError, OSError):
        return ""
    if when.year != local_now().year:
        return when.strftime("%Y-%m-%d %H:%M")
    return when.strftime("%m-%d %H:%M")


def _who(name: str, id_number: str | None) -> dict[str, str]:
    masked = mask_id(id_number) if id_number else ""
    return _both("sync.words.who", name=name or "?", id=masked) if name else _both("sync.words.who_id", id=masked)


def _words(iid: str, d: q.Detected, name: str, decision: Decision | None, is_open: bool,
           names: dict[str, str] | None = None) -> ConflictItem:
    who = _who(name, d.id_number)
    stations = "、".join(sorted({c.station_id for c in d.candidates if c.station_id}))
    options: list[Option] = []
    texts: dict[str, str]
    masked = mask_id(d.id_number) if d.id_number else d.subject.split("/", 1)[0]
    if d.kind == "accepted_at_two_stations":
        texts = {lang: t("sync.conflict.accepted_at_two_stations", lang, who=who[lang], stations=stations)
                 for lang in LANGUAGES}
        for n, c in enumerate(d.candidates, start=1):
            opt = {lang: t("sync.option.capture", lang, station=c.station_id, time=local_time(c.hlc),
                           exported=t("sync.words.exported", lang) if c.data.get("exported") else "")
                   for lang in LANGUAGES}
            options.append(Option(str(n), c.fact_id, c.station_id, opt, c.data.get("image_sha256")))
    elif d.kind == "same_id_different_identity":
        differing = [f for f in q.IDENTITY_FIELDS if len({c.data.get(f) for c in d.candidates}) > 1]
        fields = Words(tuple(f"sync.field.{f}" for f in differing), "、")
        texts = {lang: t("sync.conflict.same_id_different_identity", lang, id=masked, fields=fields)
                 for lang in LANGUAGES}
        for n, c in enumerate(d.candidates, start=1):
            gender = Words((f"sync.gender.{c.data.get('gender') or 'unknown'}",))
            how = "sync.option.identity_roster" if c.data.get("roster") else "sync.option.identity"
            opt = {lang: t(how, lang, name=c.data.get("name") or "?", gender=gender,
                           birth=c.data.get("birth_date") or "?",
                           stations="、".join(c.data.get("stations", [])), reads=c.data.get("reads", 1),
                           typed=t("sync.words.typed", lang) if c.data.get("typed") else "")
                   for lang in LANGUAGES}
            options.append(Option(str(n), c.fact_id, c.station_id, opt))
    elif d.kind == "two_corrections":
        fld = d.candidates[0].data.get("field", "")
        label = Words((f"sync.field.{fld}",))
        texts = {lang: t("sync.conflict.two_corrections", lang, who=who[lang], field=label, stations=stations)
                 for lang in LANGUAGES}
        for n, c in enumerate(d.candidates, start=1):
            opt = {lang: t("sync.option.correction", lang, value=c.data.get("new_value") or "",
                           station=c.station_id, time=local_time(c.hlc), operator=c.data.get("operator") or "?")
                   for lang in LANGUAGES}
            options.append(Option(str(n), c.fact_id, c.station_id, opt))
    elif d.kind == "code_clash":
        masked = mask_code(str(d.candidates[0].data.get("capture_code") or ""))
        people = list(dict.fromkeys(str(c.data["id_number"]) for c in d.candidates))
        whos = {lang: ("、" if lang == "zh" else ", ").join(_who((names or {}).get(p, ""), p)[lang] for p in people)
                for lang in LANGUAGES}
        texts = {lang: t("sync.conflict.code_clash", lang, count=len(people), code=masked, who=whos[lang])
                 for lang in LANGUAGES}
        for n, c in enumerate(d.candidates, start=1):
            owner = _who((names or {}).get(str(c.data["id_number"]), ""), str(c.data["id_number"]))
            opt = {lang: t("sync.option.code_owner", lang, who=owner[lang], station=c.station_id,
                           time=local_time(c.hlc),
                           exported=t("sync.words.exported", lang) if c.data.get("exported") else "")
                   for lang in LANGUAGES}
            options.append(Option(str(n), c.fact_id, c.station_id, opt, c.data.get("image_sha256")))
    else:  # key_clash: every version offered, the one in use (the deterministic winner) first
        table = d.subject.split("/", 1)[0]
        versions = "、".join(sorted({c.station_id for c in d.candidates if c.station_id}))
        texts = {lang: t("sync.conflict.key_clash", lang, stations=versions,
                         table=Words((f"sync.table.{table}",)), row=d.subject.split("/", 1)[1][-8:])
                 for lang in LANGUAGES}
        for n, c in enumerate(d.candidates, start=1):
            opt = {lang: t("sync.option.key_version", lang, station=c.station_id or "?",
                           time=local_time(c.hlc),
                           kept=t("sync.words.in_use", lang) if c.data.get("kept") else "")
                   for lang in LANGUAGES}
            options.append(Option(str(n), c.fact_id, c.station_id, opt))
    return ConflictItem(iid, d.kind, d.subject, masked, texts, tuple(options), decision, is_open, d.id_number)


def _decision(row: q.DecisionRow) -> Decision:
    texts = {lang: str(row.choice.get(f"text_{lang}", "")) for lang in LANGUAGES}
    return Decision(row.id, row.item_id, row.choice.get("option"), str(row.choice.get("fact_id", "")),
                    texts, row.operator, row.station_id, row.hlc, row.reason, row.effects)


def _settled(row: q.DecisionRow) -> ConflictItem:
    """A decided item whose conflict no longer shows in the facts (its effects resolved it)."""
    subject = row.subject
    person = row.kind in ("accepted_at_two_stations", "same_id_different_identity")
    masked = mask_id(subject) if person else subject.split("/", 1)[0]
    about: str | Words = masked if person else Words((f"sync.table.{masked}",))
    kind_words = Words((f"sync.kind.{row.kind}",))
    texts = {lang: t("sync.conflict.settled", lang, kind=kind_words, subject=about) for lang in LANGUAGES}
    return ConflictItem(row.item_id, row.kind, subject, masked, texts, (), _decision(row), False)
