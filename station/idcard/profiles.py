"""PC/SC reader profiles: how a reader model carries SAM_V frames, as TOML in drivers/readers/.

Vendors wrap SAM_V frames in different pseudo-APDUs; the envelope is data, so supporting another
reader model is a new TOML file, not new code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from station.config import read_toml
from station.errors import InputError, Location
from station.paths import DRIVERS_DIR

DEFAULT_PROFILE = "samv-tunnel"


@dataclass(frozen=True)
class Tunnel:
    header: bytes          # CLA INS P1 P2 of the pseudo-APDU carrying a request frame
    more_data_sw1: int     # SW1 of "XX bytes waiting"
    get_response: bytes    # CLA INS P1 P2 of GET RESPONSE (Le appended)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    match: tuple[str, ...]
    card_serial_apdu: bytes | None
    tunnel: Tunnel | None
    path: Path | None = None

    def matches(self, reader_name: str) -> bool:
        return any(m in reader_name for m in self.match)


def _hex(path: Path, field: str, value: object, size: int | None = None) -> bytes:
    try:
        data = bytes.fromhex(str(value))
    except ValueError:
        data = b""
    if not data or (size is not None and len(data) != size):
        want = f"{size} bytes of hex" if size else "hex bytes"
        raise InputError("idcard.bad_profile", Location(str(path), field=field), path=str(path),
                         error=f"{field} must be {want}, not {value!r}")
    return data


def load_profile_file(path: Path) -> Profile:
    """Read and check one profile file; errors name the file and the field."""
    try:
        data = read_toml(path, "idcard.bad_profile")
    except OSError as exc:
        raise InputError("idcard.bad_profile", Location(str(path)), path=str(path),
                         error=str(exc)) from None
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise InputError("idcard.bad_profile", Location(str(path), field="name"), path=str(path),
                         error="name is missing")
    match = data.get("match", [])
    if not isinstance(match, list) or not all(isinstance(m, str) for m in match):
        raise InputError("idcard.bad_profile", Location(str(path), field="match"), path=str(path),
                         error="match must be a list of strings")
    serial = data.get("card_serial_apdu")
    tunnel = None
    if "tunnel" in data:
        t = data["tunnel"]
        if not isinstance(t, dict):
            raise InputError("idcard.bad_profile", Location(str(path), field="tunnel"),
                             path=str(path), error="tunnel must be a table")
        tunnel = Tunnel(
            header=_hex(path, "tunnel.header", t.get("header"), 4),
            more_data_sw1=_hex(path, "tunnel.more_data_sw1", t.get("more_data_sw1", "61"), 1)[0],
            get_response=_hex(path, "tunnel.get_response", t.get("get_response", "00 C0 00 00"), 4),
        )
    return Profile(
        name=name, description=str(data.get("description", "")), match=tuple(match),
        card_serial_apdu=_hex(path, "card_serial_apdu", serial) if serial else None,
        tunnel=tunnel, path=path)


def load_profiles(directory: Path | None = None) -> dict[str, Profile]:
    directory = directory or DRIVERS_DIR / "readers"
    profiles = {}
    for path in sorted(directory.glob("*.toml")):
        profile = load_profile_file(path)
        profiles[profile.name] = profile
    return profiles


def choose_profile(reader_name: str, wanted: str | None = None,
                   directory: Path | None = None) -> Profile:
    """The profile called ``wanted``, else the first whose ``match`` fits, else the default."""
    profiles = load_profiles(directory)
    if wanted:
        if wanted not in profiles:
            raise InputError("idcard.unknown_profile", name=wanted,
                             available=", ".join(sorted(profiles)) or "-")
        return profiles[wanted]
    for profile in profiles.values():
        if profile.matches(reader_name):
            return profile
    if DEFAULT_PROFILE in profiles:
        return profiles[DEFAULT_PROFILE]
    raise InputError("idcard.unknown_profile", name=DEFAULT_PROFILE,
                     available=", ".join(sorted(profiles)) or "-")
