"""The station's Ed25519 key pair: it signs every export batch so the pipeline can tell it is ours.

The private key lives in ``<data-dir>/keys/station.key`` (PEM, PKCS#8, mode 0600, folder 0700); the
public key beside it in ``station.pub``. ``ensure_station_key`` is called by ``station init`` and by
the first export; it never replaces an existing key (batches signed earlier must stay verifiable).
Ed25519 signatures are deterministic, so rebuilding a batch gives the same signature bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from station.errors import IntegrityError
from station.fsio import atomic_write
from station.paths import ensure_private_dir

KEY_DIR = "keys"
PRIVATE_NAME = "station.key"
PUBLIC_NAME = "station.pub"


@dataclass(frozen=True)
class StationKey:
    private_path: Path
    public_path: Path

    def _private(self):
        from cryptography.hazmat.primitives import serialization

        try:
            key = serialization.load_pem_private_key(self.private_path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise IntegrityError("exports.key_unreadable", path=str(self.private_path), error=str(exc)) from None
        return key

    def public_pem(self) -> bytes:
        return self.public_path.read_bytes()

    def fingerprint(self) -> str:
        return fingerprint(self.public_pem())

    def sign(self, data: bytes) -> bytes:
        return self._private().sign(data)


def ensure_station_key(data_dir: Path) -> StationKey:
    """The station's key pair, created on first use; an existing key is never replaced."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = ensure_private_dir(Path(data_dir) / KEY_DIR)
    key = StationKey(folder / PRIVATE_NAME, folder / PUBLIC_NAME)
    if not key.private_path.exists():
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        atomic_write(key.private_path, pem)
    os.chmod(key.private_path, 0o600)
    if not key.public_path.exists():
        public = key._private().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        atomic_write(key.public_path, public)
        os.chmod(key.public_path, 0o644)
    return key


def existing_station_key(data_dir: Path) -> StationKey | None:
    folder = Path(data_dir) / KEY_DIR
    key = StationKey(folder / PRIVATE_NAME, folder / PUBLIC_NAME)
    return key if key.public_path.exists() else None


def fingerprint(public_pem: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, hex, grouped for reading aloud over the phone."""
    raw = _load_public(public_pem).public_bytes_raw()
    digest = hashlib.sha256(raw).hexdigest()
    return ":".join(digest[i:i + 4] for i in range(0, 32, 4))


def _load_public(public_pem: bytes):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(public_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify_signature(public_pem: bytes, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` (raw 64 bytes or base64 of them) signs ``data`` under the key."""
    from cryptography.exceptions import InvalidSignature

    try:
        key = _load_public(public_pem)
    except (ValueError, TypeError):
        return False
    raw = signature
    if len(signature) != 64:
        try:
            raw = base64.b64decode(signature.strip(), validate=True)
        except ValueError:
            return False
    try:
        key.verify(raw, data)
    except InvalidSignature:
        return False
    return True


def encode_signature(signature: bytes) -> bytes:
    """Signatures are stored as one base64 line: easy to mail, diff and paste."""
    return base64.b64encode(signature) + b"\n"


# -- the key file a station hands to its supervisor: station id + public key ----------------------
KEYFILE_MAX_BYTES = 16 * 1024
_PEM_BEGIN = "-----BEGIN PUBLIC KEY-----"
_PEM_END = "-----END PUBLIC KEY-----"


@dataclass(frozen=True)
class KeyFile:
    """What ``station key export`` writes and ``station trust add`` reads."""

    station_id: str
    public_pem: bytes
    fingerprint: str
    campaign: str | None = None     # the station's current campaign (None: an older version's file)


def render_keyfile(station_id: str, public_pem: bytes, campaign: str | None = None) -> bytes:
    """The public key with the station id (and its current campaign) above it; PEM readers skip
    the lines before BEGIN."""
    head = (f"# Capture Station 工作站公钥 / station public key\n"
            f"# 登记 / enrol: station trust add FILE\n"
            f"station-id: {station_id}\n"
            + (f"campaign: {campaign}\n" if campaign else "")
            + f"fingerprint: {fingerprint(public_pem)}\n")
    return head.encode("utf-8") + public_pem


def parse_keyfile(data: bytes, source: str) -> KeyFile:
    """Read a key file; every problem is an InputError naming the file and what is wrong."""
    from station.errors import InputError, Location

    def bad(reason: str, line: int | None = None, **params: object) -> InputError:
        return InputError(f"keys.keyfile_{reason}", Location(source, line), **params)

    if len(data) > KEYFILE_MAX_BYTES:
        raise bad("too_large", limit=KEYFILE_MAX_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("not_text") from None
    lines = text.splitlines()
    begin = next((i for i, line in enumerate(lines) if line.strip() == _PEM_BEGIN), None)
    end = next((i for i, line in enumerate(lines) if line.strip() == _PEM_END), None)
    if begin is None or end is None or end < begin:
        raise bad("no_key")
    trailing = next((i for i, line in enumerate(lines[end + 1:], start=end + 2) if line.strip()), None)
    if trailing is not None:          # a second key or a field after the key: not one we wrote
        raise bad("trailing", trailing)
    station_id, declared, campaign = None, None, None
    for number, line in enumerate(lines[:begin], start=1):
        name, sep, value = line.partition(":")
        if line.startswith("#") or not line.strip():
            continue
        if not sep or name.strip() not in _FIELDS:
            # "Campaign: …", "campaign = …", "campain: …": a field misspelt is not a field
            # missing — an enrolment would silently not be pinned to the campaign it meant
            raise bad("unknown_line", number, text=line.strip()[:80])
        if name.strip() == "station-id":
            if station_id is not None:
                raise bad("two_ids", number)
            station_id = value.strip()
            if not valid_station_id(station_id):
                raise bad("bad_id", number, value=station_id)
        elif name.strip() == "fingerprint":
            if declared is not None:
                raise bad("two_fingerprints", number)
            declared = value.strip()
        elif name.strip() == "campaign":
            if campaign is not None:
                raise bad("two_campaigns", number)
            campaign = value.strip()
            if not valid_campaign(campaign):
                raise bad("bad_campaign", number, value=campaign[:80])
    if station_id is None:
        raise bad("no_id")
    pem = ("\n".join(line.strip() for line in lines[begin:end + 1]) + "\n").encode("ascii", "replace")
    try:
        actual = fingerprint(pem)
    except (ValueError, TypeError):
        raise bad("not_ed25519", begin + 1) from None
    if declared is not None and declared != actual:
        raise bad("fingerprint_mismatch", declared=declared, actual=actual)
    return KeyFile(station_id, pem, actual, campaign)


_FIELDS = frozenset({"station-id", "campaign", "fingerprint"})     # a key file's fields, as written


def valid_campaign(value: str) -> bool:
    """A campaign id: 1–64 lower-case letters, digits and ``-`` (stores make 32 hex digits)."""
    return bool(_CAMPAIGN.fullmatch(value))


_CAMPAIGN = re.compile(r"[0-9a-z][0-9a-z-]{0,63}")


def valid_station_id(value: str) -> bool:
    """A station id as a key file may carry it: one printable line of at most 64 characters."""
    return 0 < len(value) <= 64 and value.isprintable() and value == value.strip()
