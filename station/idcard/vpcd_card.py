"""A SAM reader with a card on it, plugged into pcscd through the vpcd driver (vsmartcard).

vpcd listens on TCP (default 35963); while this emulator is connected, pcscd sees a card on the
"Virtual PCD" reader. Messages both ways are a 2-byte big-endian length and a payload: from vpcd
one byte ``00`` power off, ``01`` power on, ``02`` reset, ``04`` get ATR, or an APDU to answer.

APDUs are answered in the envelope of a reader profile (drivers/readers): ``00 36 00 00 08``
gives the card serial; a ``tunnel`` profile (``samv-tunnel``) carries SAM_V requests in
``<header> Lc <frame>`` with long answers as ``61 XX`` + GET RESPONSE chunks; a ``block-read``
profile (``pcsc-block-read``) answers ``FF B0 <block> 00 00`` with that block of the SAM's read
answer (lengths, text, photo). ``insert`` connects, ``remove`` disconnects.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

from station.idcard.emulator import CardPulled, VirtualCard, VirtualSam
from station.idcard.profiles import Profile, choose_profile
from station.idcard.samv import checksum

DEFAULT_PORT = 35963
# ISO 14443-B card behind a PC/SC reader (PC/SC part 3 form): 3B 88 80 01, 8 historical bytes, TCK.
_ATR_BODY = bytes.fromhex("8880010000000000000000")
ATR = b"\x3b" + _ATR_BODY + bytes([checksum(_ATR_BODY)])
SW_OK = b"\x90\x00"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_NO_DATA = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6b\x00"
SW_NO_PRECISE_DIAGNOSIS = b"\x6f\x00"


class VpcdCard:
    """Connects to vpcd as the card (and SAM) of a virtual reader; answers in a thread."""

    def __init__(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1",
                 profile: Profile | None = None, mute_seconds: float = 8.0) -> None:
        self.host, self.port = host, port
        self.profile = profile or choose_profile("", None)
        self.sam = VirtualSam()
        self.mute_seconds = mute_seconds
        self.apdus: list[bytes] = []        # every APDU received, for tests
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._pending = b""
        self._lock = threading.Lock()

    # -- card on / card off ------------------------------------------------------------------
    def insert(self, card: VirtualCard, timeout: float = 5.0) -> None:
        """Put ``card`` on the reader (connects to vpcd; pcscd notices within its poll interval)."""
        self.remove()
        self.sam.card = card
        self._pending = b""
        end = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,), name="vpcd-card",
                                        daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Take the card off the reader (disconnects from vpcd)."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    close = remove

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    # -- protocol ------------------------------------------------------------------------------
    @staticmethod
    def _recv_exact(sock: socket.socket, size: int) -> bytes:
        buf = bytearray()
        while len(buf) < size:
            # vpcd writes the length and the message separately; without an immediate ACK,
            # Nagle (its side) and delayed ACK (ours) add 40 ms to every APDU.
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = sock.recv(size - len(buf))
            if not chunk:
                raise ConnectionError("vpcd closed the connection")
            buf.extend(chunk)
        return bytes(buf)

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                (size,) = struct.unpack(">H", self._recv_exact(sock, 2))
                message = self._recv_exact(sock, size)
                if size == 1:
                    if message[0] == 0x04:
                        sock.sendall(struct.pack(">H", len(ATR)) + ATR)
                    continue    # power off / on / reset need no answer
                answer = self.answer(message)
                if answer is None:
                    break       # the card is pulled: drop the connection mid-command
                sock.sendall(struct.pack(">H", len(answer)) + answer)
        except (OSError, ConnectionError):
            pass
        finally:
            with self._lock:
                if self._sock is sock:
                    self._sock = None
            with contextlib.suppress(OSError):
                sock.close()

    def answer(self, apdu: bytes) -> bytes | None:
        """The reader's answer to one APDU; None means "the card left the field"."""
        self.apdus.append(apdu)
        profile, tunnel = self.profile, self.profile.tunnel
        card = self.sam.card
        if profile.card_serial_apdu and apdu == profile.card_serial_apdu:
            return ((card.serial or b"") if card else b"") + SW_OK
        if tunnel and apdu[:4] == tunnel.header:
            if len(apdu) < 5 or len(apdu) != 5 + apdu[4]:
                return SW_WRONG_LENGTH
            frame = apdu[5:]
            if card is not None and card.fault == "mute" and frame[7:9] == b"\x30\x01":
                time.sleep(self.mute_seconds)
                return None
            try:
                response = self.sam.handle(frame)
            except CardPulled:
                return None
            if len(response) <= 256:
                return response + SW_OK
            self._pending = response
            return bytes([tunnel.more_data_sw1, len(response) & 0xFF if len(response) < 256 else 0])
        if tunnel and apdu[:4] == tunnel.get_response and len(apdu) == 5:
            if not self._pending:
                return SW_NO_DATA
            want = apdu[4] or 256
            part, self._pending = self._pending[:want], self._pending[want:]
            rest = len(self._pending)
            if rest:
                return part + bytes([tunnel.more_data_sw1, rest if rest < 256 else 0])
            return part + SW_OK
        block_read = profile.block_read
        if block_read and apdu[:2] == block_read.header and len(apdu) == 5:
            return self._block(apdu, block_read.block_size)
        return SW_INS_NOT_SUPPORTED

    def _block(self, apdu: bytes, block_size: int) -> bytes | None:
        """One block of the read answer's data, as a block-read reader hands it out."""
        card = self.sam.card
        if card is None:
            return SW_NO_DATA
        if card.fault == "mute":
            time.sleep(self.mute_seconds)
            return None
        if card.fault == "pull":
            return None
        if card.fault == "read_failed":
            return SW_NO_PRECISE_DIAGNOSIS
        photo = card.photo
        data = (len(card.text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
                + card.text + photo)
        start = apdu[2] * block_size
        if start >= len(data):
            return SW_WRONG_P1P2
        return data[start:start + min(apdu[4] or 256, block_size)] + SW_OK


def main(argv: list[str] | None = None) -> int:
    """`python -m station.idcard.vpcd_card [--identity FILE] [--layout I|Y|J] [--fault F]`:
    put a virtual card on pcscd's vpcd reader until Ctrl-C (or for --seconds)."""
    import argparse
    from pathlib import Path

    from station.domain.identity import Identity
    from station.idcard.emulator import FAULTS
    from station.sim.identities import demo_identity

    parser = argparse.ArgumentParser(prog="python -m station.idcard.vpcd_card")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="vpcd port (35963)")
    parser.add_argument("--identity", type=Path, help="identity JSON (default: a demo student)")
    parser.add_argument("--layout", choices=("", "I", "Y", "J"), default=None)
    parser.add_argument("--fault", choices=FAULTS)
    parser.add_argument("--extra-address")
    parser.add_argument("--seconds", type=float, help="remove the card after this long")
    parser.add_argument("--profile", default="samv-tunnel",
                        help="envelope to answer: a PC/SC profile in drivers/readers")
    args = parser.parse_args(argv)
    identity = Identity.load(args.identity) if args.identity else demo_identity()
    card = VpcdCard(port=args.port, profile=choose_profile("", args.profile))
    card.insert(VirtualCard(identity, layout=args.layout, fault=args.fault,
                            extra_address=args.extra_address))
    print(f"card on the reader (vpcd port {args.port}); Ctrl-C removes it", flush=True)
    try:
        time.sleep(args.seconds if args.seconds is not None else 1e9)
    except KeyboardInterrupt:
        pass
    finally:
        card.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
