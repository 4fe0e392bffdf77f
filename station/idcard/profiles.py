"""Reader profiles: how a reader model carries SAM_V frames, as TOML files in drivers/readers/.

A profile names its transport and what that transport needs:
- ``pcsc``: an envelope for the PC/SC reader: ``[tunnel]`` (SAM_V frames in pseudo-APDUs) or
  ``[block_read]`` (the reader runs the SAM itself and hands out the card's data in blocks);
  neither means the reader reads only the card serial;
- ``usb``: vendor/product id, interface and bulk endpoints of a SAM_V reader on raw USB;
- ``serial``: baud rate of a SAM_V reader on a (USB-)serial port.
Every profile has ``[timing]``: the poll interval (vendor guidance: no more often than every
300 ms) and a deadline per command (a full read may take ~3.5 s). ``verified`` says whether a
real reader of that model has answered this profile; the reader table in drivers/README.md
shows it. Supporting another reader model is one more file, not new code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from station import reasons
from station.config import read_toml
from station.errors import InputError, Location
from station.idcard import samv
from station.paths import DRIVERS_DIR

DEFAULT_PROFILES = {"pcsc": "samv-tunnel", "serial": "samv-serial", "usb": "routon-idr200"}
TRANSPORTS = ("pcsc", "usb", "serial")
MIN_POLL_INTERVAL = 0.3     # seconds; vendor guidance: poll for a card no more often than this

# Command names a [timing.deadlines] table may use, and their SAM_V codes.
COMMANDS: Mapping[str, tuple[int, int]] = MappingProxyType({
    "reset_sam": samv.RESET_SAM, "sam_status": samv.SAM_STATUS, "sam_id": samv.SAM_ID,
    "find_card": samv.FIND_CARD, "select_card": samv.SELECT_CARD,
    "read_text_photo": samv.READ_TEXT_PHOTO, "read_extra_address": samv.READ_EXTRA_ADDRESS,
    "read_with_fingerprint": samv.READ_WITH_FINGERPRINT,
})
DEFAULT_DEADLINES: Mapping[str, float] = MappingProxyType({
    "default": 1.0, "find_card": 0.5, "select_card": 0.5, "read_text_photo": 3.5,
    "read_extra_address": 1.0, "read_with_fingerprint": 5.0,
})
# The commands of one complete read, in order (their deadlines add up to the read's deadline).
FULL_READ = ("find_card", "select_card", "read_text_photo", "read_extra_address")


@dataclass(frozen=True)
class Timing:
    """How often to look for a card, how long each command may take, what counts as a re-tap."""

    poll_interval: float = MIN_POLL_INTERVAL
    deadlines: Mapping[str, float] = field(default_factory=lambda: DEFAULT_DEADLINES)
    retap_gap: float = 1.0      # seconds without a card before the same card is a new tap

    def deadline(self, command: tuple[int, int]) -> float:
        """Seconds the reader may take to answer ``command``."""
        for name, code in COMMANDS.items():
            if code == command:
                return self.deadlines.get(name, self.deadlines["default"])
        return self.deadlines["default"]

    @property
    def full_read(self) -> float:
        """Seconds one complete read may take (find, select, text+photo, extra address)."""
        return sum(self.deadlines.get(name, self.deadlines["default"]) for name in FULL_READ)

    def scaled(self, factor: float) -> Timing:
        """The same timing ``factor`` times faster (emulators and tests only)."""
        return Timing(self.poll_interval / factor,
                      MappingProxyType({k: v / factor for k, v in self.deadlines.items()}),
                      self.retap_gap / factor)


@dataclass(frozen=True)
class Tunnel:
    header: bytes          # CLA INS P1 P2 of the pseudo-APDU carrying a request frame
    more_data_sw1: int     # SW1 of "XX bytes waiting"
    get_response: bytes    # CLA INS P1 P2 of GET RESPONSE (Le appended)


@dataclass(frozen=True)
class BlockRead:
    """The reader returns the 30 01 data (lengths, text, photo) in numbered blocks."""

    header: bytes          # CLA INS of the read (P1 = block number, P2 and Le follow)
    p2: int
    le: int                # Le byte (00 = 256)
    blocks: int            # blocks 0 … blocks-1 hold the data
    block_size: int

    def apdu(self, block: int) -> bytes:
        return self.header + bytes([block, self.p2, self.le])


@dataclass(frozen=True)
class UsbSpec:
    vendor_id: int
    product_id: int
    interface: int
    out_endpoints: tuple[int, ...]   # host → reader: frame header, then the rest (or all on one)
    in_endpoints: tuple[int, ...]    # reader → host: the same split
    header_size: int                 # bytes of the frame on the first endpoint of a pair

    @property
    def id(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"


@dataclass(frozen=True)
class Profile:
    name: str
    transport: str
    description: str = ""
    model: str = ""
    verified: bool = False
    source: str = ""
    match: tuple[str, ...] = ()
    card_serial_apdu: bytes | None = None
    tunnel: Tunnel | None = None
    block_read: BlockRead | None = None
    usb: UsbSpec | None = None
    baudrate: int = 115200
    timing: Timing = field(default_factory=Timing)
    path: Path | None = None

    @property
    def envelope(self) -> str:
        """PC/SC envelope: ``tunnel``, ``block-read`` or ``serial-only``."""
        if self.tunnel is not None:
            return "tunnel"
        if self.block_read is not None:
            return "block-read"
        return "serial-only"

    def matches(self, reader_name: str) -> bool:
        return any(m in reader_name for m in self.match)


class _Reader:
    """Typed access to one profile file's values; every error names the file and the field."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path, self.data = path, data

    def fail(self, field_name: str, error: str) -> InputError:
        return InputError("idcard.bad_profile", Location(str(self.path), field=field_name),
                          path=str(self.path), error=f"{field_name}: {error}")

    def table(self, name: str) -> dict | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, dict):
            raise self.fail(name, "must be a table")
        return value

    def hex(self, table: dict, prefix: str, key: str, size: int | None = None,
            default: str | None = None) -> bytes:
        value = table.get(key, default)
        try:
            data = bytes.fromhex(str(value))
        except ValueError:
            data = b""
        if not data or (size is not None and len(data) != size):
            want = f"{size} bytes of hex" if size else "hex bytes"
            raise self.fail(f"{prefix}{key}", f"must be {want}, not {value!r}")
        return data

    def number(self, table: dict, prefix: str, key: str, default: float, low: float,
               high: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not low <= value <= high:
            raise self.fail(f"{prefix}{key}", f"must be a number from {low} to {high}, "
                                              f"not {value!r}")
        return float(value)

    def integer(self, table: dict, prefix: str, key: str, default: int, low: int,
                high: int) -> int:
        value = table.get(key, default)
        if isinstance(value, str):
            try:
                value = int(value, 16)
            except ValueError:
                raise self.fail(f"{prefix}{key}", f"must be a number, not {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(f"{prefix}{key}", f"must be from {low} to {high}, not {value!r}")
        return value


def _timing(r: _Reader) -> Timing:
    table = r.table("timing") or {}
    poll = r.number(table, "timing.", "poll_interval", MIN_POLL_INTERVAL, MIN_POLL_INTERVAL, 10)
    retap = r.number(table, "timing.", "retap_gap", 1.0, 0.0, 60)
    deadlines = dict(DEFAULT_DEADLINES)
    given = table.get("deadlines", {})
    if not isinstance(given, dict):
        raise r.fail("timing.deadlines", "must be a table")
    for name in given:
        if name != "default" and name not in COMMANDS:
            raise r.fail(f"timing.deadlines.{name}",
                         f"unknown command; choose from default, {', '.join(COMMANDS)}")
        deadlines[name] = r.number(given, "timing.deadlines.", name, 1.0, 0.05, 60)
    return Timing(poll, MappingProxyType(deadlines), retap)


def _usb(r: _Reader) -> UsbSpec:
    table = r.table("usb")
    if table is None:
        raise r.fail("usb", "a usb profile needs a [usb] table")

    def endpoints(key: str, direction: int) -> tuple[int, ...]:
        values = table.get(key)
        if not isinstance(values, list) or not 1 <= len(values) <= 2:
            raise r.fail(f"usb.{key}", "must list one or two endpoints, e.g. [\"02\", \"06\"]")
        eps = tuple(r.integer({"ep": v}, f"usb.{key}.", "ep", 0, 0, 0xFF) for v in values)
        if any(ep & 0x80 != direction for ep in eps):
            raise r.fail(f"usb.{key}", "IN endpoints have bit 0x80 set, OUT endpoints do not")
        return eps

    spec = UsbSpec(
        vendor_id=r.integer(table, "usb.", "vendor_id", -1, 0, 0xFFFF),
        product_id=r.integer(table, "usb.", "product_id", -1, 0, 0xFFFF),
        interface=r.integer(table, "usb.", "interface", 0, 0, 0xFF),
        out_endpoints=endpoints("out_endpoints", 0x00),
        in_endpoints=endpoints("in_endpoints", 0x80),
        header_size=r.integer(table, "usb.", "header_size", samv.HEADER_SIZE, 1, 64),
    )
    return spec


def load_profile_file(path: Path) -> Profile:
    """Read and check one profile file; errors name the file and the field."""
    try:
        data = read_toml(path, "idcard.bad_profile")
    except OSError as exc:
        raise InputError("idcard.bad_profile", Location(str(path)), path=str(path),
                         error=reasons.of_os(exc)) from None
    r = _Reader(path, data)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise r.fail("name", "is missing")
    transport = data.get("transport", "pcsc")
    if transport not in TRANSPORTS:
        raise r.fail("transport", f"must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
    match = data.get("match", [])
    if not isinstance(match, list) or not all(isinstance(m, str) for m in match):
        raise r.fail("match", "must be a list of strings")
    verified = data.get("verified", False)
    if not isinstance(verified, bool):
        raise r.fail("verified", "must be true or false")
    values: dict[str, Any] = {
        "name": name, "transport": transport, "match": tuple(match), "verified": verified,
        "description": str(data.get("description", "")), "model": str(data.get("model", "")),
        "source": str(data.get("source", "")), "timing": _timing(r), "path": path,
    }
    if "card_serial_apdu" in data:
        values["card_serial_apdu"] = r.hex(data, "", "card_serial_apdu")
    tunnel, block = r.table("tunnel"), r.table("block_read")
    if transport == "pcsc":
        if tunnel is not None and block is not None:
            raise r.fail("tunnel", "a profile has one envelope: [tunnel] or [block_read]")
        if tunnel is not None:
            values["tunnel"] = Tunnel(
                header=r.hex(tunnel, "tunnel.", "header", 4),
                more_data_sw1=r.hex(tunnel, "tunnel.", "more_data_sw1", 1, "61")[0],
                get_response=r.hex(tunnel, "tunnel.", "get_response", 4, "00 C0 00 00"))
        if block is not None:
            values["block_read"] = BlockRead(
                header=r.hex(block, "block_read.", "header", 2),
                p2=r.hex(block, "block_read.", "p2", 1, "00")[0],
                le=r.hex(block, "block_read.", "le", 1, "00")[0],
                blocks=r.integer(block, "block_read.", "blocks", 6, 1, 64),
                block_size=r.integer(block, "block_read.", "block_size", 256, 1, 256))
    elif tunnel is not None or block is not None:
        raise r.fail("tunnel" if tunnel is not None else "block_read",
                     "PC/SC envelopes belong to transport = \"pcsc\" profiles")
    if transport == "usb":
        values["usb"] = _usb(r)
    if transport == "serial":
        values["baudrate"] = r.integer(data, "", "baudrate", 115200, 1200, 4_000_000)
    return Profile(**values)


def load_profiles(directory: Path | None = None, transport: str | None = None
                  ) -> dict[str, Profile]:
    """Every profile in ``directory`` (default drivers/readers), optionally of one transport."""
    directory = directory or DRIVERS_DIR / "readers"
    profiles = {}
    for path in sorted(directory.glob("*.toml")):
        profile = load_profile_file(path)
        if transport is None or profile.transport == transport:
            profiles[profile.name] = profile
    return profiles


def choose_profile(reader_name: str, wanted: str | None = None,
                   directory: Path | None = None, transport: str = "pcsc") -> Profile:
    """The profile called ``wanted``, else the first whose ``match`` fits, else the default."""
    profiles = load_profiles(directory, transport)
    if wanted:
        if wanted not in profiles:
            raise InputError("idcard.unknown_profile", name=wanted,
                             available=", ".join(sorted(profiles)) or "-")
        return profiles[wanted]
    for profile in profiles.values():
        if profile.matches(reader_name):
            return profile
    default = DEFAULT_PROFILES[transport]
    if default in profiles:
        return profiles[default]
    raise InputError("idcard.unknown_profile", name=default,
                     available=", ".join(sorted(profiles)) or "-")
