"""The card's 256-byte text block (UCS-2LE, space padded): decode it, and encode it for emulators.

The character at byte 248 selects the layout: ``I`` foreign permanent resident card (2017),
``Y`` foreign permanent resident card (2023), ``J`` Hong Kong/Macao/Taiwan residence permit,
anything else a resident card. Field positions are the protocol document's table, kept here as
data so that the decoder and the emulator's encoder cannot disagree.

Malformed blocks raise ``CardDataError`` only. Semantic doubts (unknown nation code) become
warnings for the validator to report, never a silent guess.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from station.idcard.codes import GENDER_CODES, GENDERS, NATION_CODES, NATIONS
from station.idcard.errors import CardDataError
from station.privacy import mask_id, unsafe_character

TEXT_SIZE = 256
PHOTO_SIZE = 1024
EXTRA_ADDRESS_SIZE = 70
NO_EXPIRY = "长期"

# (field, byte offset, byte length) per layout.
RESIDENT_LAYOUT = (
    ("name", 0, 30), ("gender", 30, 2), ("nation", 32, 4), ("birth", 36, 16),
    ("address", 52, 70), ("id_number", 122, 36), ("issuer", 158, 30),
    ("valid_from", 188, 16), ("valid_to", 204, 16), ("pass_number", 220, 18),
    ("issue_count", 238, 4), ("reserved", 242, 6), ("type", 248, 2), ("reserved2", 250, 6),
)
FOREIGN_2017_LAYOUT = (
    ("name_en", 0, 120), ("gender", 120, 2), ("id_number", 122, 30), ("nationality", 152, 6),
    ("name", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16), ("birth", 220, 16),
    ("card_version", 236, 4), ("authority_code", 240, 8), ("type", 248, 2),
    ("reserved", 250, 6),
)
FOREIGN_2023_LAYOUT = (
    ("name", 0, 30), ("gender", 30, 2), ("change_count", 32, 4), ("birth", 36, 16),
    ("name_en_1", 52, 70), ("id_number", 122, 36), ("reserved", 158, 30),
    ("valid_from", 188, 16), ("valid_to", 204, 16), ("name_en_2", 220, 22),
    ("nationality", 242, 6), ("type", 248, 2), ("previous_card", 250, 6),
)
LAYOUTS = {"": RESIDENT_LAYOUT, "J": RESIDENT_LAYOUT, "I": FOREIGN_2017_LAYOUT,
           "Y": FOREIGN_2023_LAYOUT}
CARD_TYPES = {"": "resident", "J": "hmt_residence", "I": "foreign_permanent",
              "Y": "foreign_permanent"}
TYPE_CHAR_OFFSET = 248

_DATE = re.compile(r"\d{8}")
_ALPHA3 = re.compile(r"[A-Z]{3}")
_ID_NUMBER = re.compile(r"\d{17}[\dX]")
_FOREIGN_2017_NUMBER = re.compile(r"[A-Z]{3}\d{12}")
# Fields kept in CardText.extra: everything a layout has that the identity JSON does not.
_IDENTITY_FIELDS = {"name", "name_en", "name_en_1", "name_en_2", "gender", "nation", "birth",
                    "address", "id_number", "issuer", "valid_from", "valid_to", "nationality",
                    "type"}


@dataclass
class CardText:
    """The decoded text block: identity fields in the contract's form, plus layout extras."""

    card_type: str                      # contract value: resident / foreign_permanent / hmt_residence
    layout: str                         # "", "I", "Y" or "J"
    values: dict[str, str | None]       # identity fields (Identity keyword arguments)
    extra: dict[str, str] = field(default_factory=dict)      # pass number, card version, …
    findings: list[tuple[str, dict]] = field(default_factory=list)  # (warning code, params)


def layout_of(block: bytes) -> str:
    """The layout letter from the type character at byte 248 ("" = resident card)."""
    char = bytes(block[TYPE_CHAR_OFFSET:TYPE_CHAR_OFFSET + 2]).decode("utf-16-le", "replace")
    return char if char in ("I", "Y", "J") else ""


# Chinese text fields a long name or address can fill to the last byte (cut there by the card).
CUT_TEXT_FIELDS = ("name", "address", "issuer")
CUT_MARK = "\ufffd"


def _decode_field(name: str, raw: bytes) -> tuple[str, bool]:
    """(text, cut): a full field whose last two bytes are the first half of a character outside
    the BMP lost the second half to the field's end. That half is marked ``CUT_MARK`` (and
    reported), not refused: the same card would fail at every tap. Any other broken UTF-16 is
    a bad read."""
    try:
        return raw.decode("utf-16-le"), False
    except UnicodeDecodeError:
        if name in CUT_TEXT_FIELDS and 0xD800 <= int.from_bytes(raw[-2:], "little") <= 0xDBFF:
            try:
                return raw[:-2].decode("utf-16-le") + CUT_MARK, True
            except UnicodeDecodeError:
                pass
        raise CardDataError("idcard.record.bad_encoding", field=name) from None


def _fields(layout: str, block: bytes, findings: list[tuple[str, dict]] | None = None
            ) -> dict[str, str]:
    """Each field of ``layout`` decoded from its own bytes, padding kept. Fields are fixed byte
    ranges: a character outside the BMP in one field must not shift the fields after it.
    A field cut mid-character is added to ``findings``."""
    fields = {}
    for name, start, size in LAYOUTS[layout]:
        if name.startswith("reserved") or name == "type":  # unused, or read by ``layout_of``
            continue
        fields[name], cut = _decode_field(name, block[start:start + size])
        if cut and findings is not None:
            from station.i18n import Words

            findings.append(("text_cut", {"field": Words((f"idcard.card_field.{name}",))}))
        bad = unsafe_character(_clean(fields[name]))
        if bad is not None:  # never echoed: the field is named, the character given as U+XXXX
            raise CardDataError("idcard.record.bad_character", field=name, character=bad)
    return fields


def _clean(value: str) -> str:
    return value.strip(" \x00\u3000")


def _date(name: str, value: str, allow_no_expiry: bool = False) -> str:
    if allow_no_expiry and value == NO_EXPIRY:
        return NO_EXPIRY
    if _DATE.fullmatch(value):
        try:
            return dt.datetime.strptime(value, "%Y%m%d").date().isoformat()
        except ValueError:
            pass
    raise CardDataError("idcard.record.bad_field", field=name, value=value)


def _id_number(layout: str, value: str) -> str:
    """The number in the only form its card carries: 18 characters (17 digits, then a digit or
    X), or on a 2017 foreign card 3 letters and 12 digits. Anything else is a damaged or forged
    card, and no roster could match it; the message masks the number."""
    number = value.upper()
    form = _FOREIGN_2017_NUMBER if layout == "I" else _ID_NUMBER
    if not form.fullmatch(number):
        raise CardDataError("idcard.record.bad_field", field="id_number", value=mask_id(number))
    return number


def _gender(value: str) -> str:
    if value not in GENDERS:
        raise CardDataError("idcard.record.bad_field", field="gender", value=value)
    return GENDERS[value]


def decode_text(block: bytes) -> CardText:
    """Decode the 256-byte text block into identity fields (see the module docstring)."""
    block = bytes(block)
    if len(block) != TEXT_SIZE:
        raise CardDataError("idcard.record.bad_size", length=len(block))
    layout = layout_of(block)
    findings: list[tuple[str, dict]] = []
    fields = _fields(layout, block, findings)
    raw = {name: _clean(value) for name, value in fields.items()}
    values: dict[str, str | None] = {
        "card_type": CARD_TYPES[layout],
        "gender": _gender(raw["gender"]),
        "birth_date": _date("birth", raw["birth"]),
        "valid_from": _date("valid_from", raw["valid_from"]),
        "valid_to": _date("valid_to", raw["valid_to"], allow_no_expiry=True),
        "id_number": _id_number(layout, raw["id_number"]),
    }
    if layout in ("", "J"):
        values.update(name=raw["name"], address=raw["address"] or None,
                      issuer=raw["issuer"] or None)
        nation = raw["nation"]
        if nation in NATIONS:
            values["nation"] = NATIONS[nation]
        elif nation:
            findings.append(("nation_unknown", {"nation": nation}))
    else:
        # 2023 cards split the English name over two fields by length, not at a word boundary.
        name_en = " ".join((raw["name_en"] if layout == "I"
                            else fields["name_en_1"] + fields["name_en_2"]).split())
        nationality = raw["nationality"]
        if not _ALPHA3.fullmatch(nationality):
            raise CardDataError("idcard.record.bad_field", field="nationality", value=nationality)
        # The contract's `name` is the Chinese name "if any"; without one the English name stands in.
        values.update(name=raw["name"] or name_en, name_en=name_en or None,
                      nationality=nationality)
    if not values["name"]:
        raise CardDataError("idcard.record.bad_field", field="name", value="")
    extra = {k: v for k, v in raw.items() if k not in _IDENTITY_FIELDS and v}
    return CardText(CARD_TYPES[layout], layout, values, extra, findings)


def decode_extra_address(data: bytes) -> str | None:
    """The extra-address block (command 30 03): 70 bytes UCS-2LE; None when blank.

    Held to the text block's rule (``_fields``): it is joined to the card's address, shown on the
    desk, stored in the card read and sent to the master, so an ESC sequence or a direction mark
    from a forged card or a faulty reader must stop here, named, never echoed."""
    data = bytes(data)
    if len(data) != EXTRA_ADDRESS_SIZE:
        raise CardDataError("idcard.record.bad_size", length=len(data))
    try:
        text = _clean(data.decode("utf-16-le"))
    except UnicodeDecodeError:
        raise CardDataError("idcard.record.bad_encoding", field="extra_address") from None
    bad = unsafe_character(text)
    if bad is not None:
        raise CardDataError("idcard.record.bad_character", field="extra_address", character=bad)
    return text or None


# ---- encoding (the emulator's side) -------------------------------------------------------------

class FieldTooLong(ValueError):
    """A value longer than its field on the card: an emulator cannot write that card."""

    def __init__(self, name: str, length: int, size: int) -> None:
        super().__init__(f"{name} is too long for the card ({length} > {size} bytes)")
        # the identity JSON's field that holds it, and how many characters the card takes
        self.field = {"birth": "birth_date", "name_en_1": "name_en", "name_en_2": "name_en"}.get(name, name)
        self.chars = size // 2


def _put(buf: bytearray, layout: str, name: str, value: str) -> None:
    for fname, start, size in LAYOUTS[layout]:
        if fname == name:
            raw = value.encode("utf-16-le")
            if len(raw) > size:
                raise FieldTooLong(name, len(raw), size)
            buf[start:start + size] = raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)
            return
    raise KeyError(name)


def _yyyymmdd(value: str | None) -> str:
    if value in (None, ""):
        return ""
    return value if value == NO_EXPIRY else value.replace("-", "")


def encode_text(identity, layout: str | None = None, **extra: str) -> bytes:
    """The 256-byte block a card holding ``identity`` would carry (for emulators and tests).

    ``layout`` picks "", "J", "I" or "Y"; by default resident cards use "", residence permits
    "J" and foreign cards the 2023 layout "Y". ``extra`` fills layout-only fields.
    """
    if layout is None:
        layout = {"resident": "", "hmt_residence": "J", "foreign_permanent": "Y",
                  "manual": ""}[identity.card_type]
    buf = bytearray(" ".encode("utf-16-le") * (TEXT_SIZE // 2))
    put = lambda name, value: _put(buf, layout, name, value or "")  # noqa: E731
    put("gender", GENDER_CODES[identity.gender])
    put("birth", _yyyymmdd(identity.birth_date))
    put("id_number", identity.id_number)
    put("valid_from", _yyyymmdd(identity.valid_from))
    put("valid_to", _yyyymmdd(identity.valid_to))
    if layout in ("", "J"):
        put("name", identity.name)
        put("nation", NATION_CODES.get(identity.nation or "", ""))
        put("address", identity.address)
        put("issuer", identity.issuer)
    elif layout == "I":
        put("name_en", identity.name_en)
        put("nationality", identity.nationality)
        put("name", identity.name if identity.name != identity.name_en else "")
    else:
        put("name", identity.name if identity.name != identity.name_en else "")
        english = identity.name_en or ""
        put("name_en_1", english[:35])
        put("name_en_2", english[35:])
        put("nationality", identity.nationality)
    for name, value in extra.items():
        put(name, value)
    if layout:
        put("type", layout)
    return bytes(buf)


def encode_extra_address(address: str) -> bytes:
    raw = address.encode("utf-16-le")
    if len(raw) > EXTRA_ADDRESS_SIZE:
        raise ValueError("extra address too long")
    return raw + " ".encode("utf-16-le") * ((EXTRA_ADDRESS_SIZE - len(raw)) // 2)
