"""Which endpoint layout does an attached USB SAM reader answer? Read-only, no card needed.

Public sources disagree on how the Routon iDR200 carries frames: its vendor manual (and public
libusb code) split each frame over two pipes each way, other write-ups name one pipe pair. The
probe asks the reader's SAM for its status (``11 FF``, nothing else is sent) first in the layout
its profile gives, then, only if that stays silent, in the layouts the device's own endpoints
allow (a split over two pairs, whole frames on the first pair), and stops at the first answer:
a reader that works is never sent a frame in a layout it does not speak.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from station.idcard import samv
from station.idcard.errors import CardDataError, NoReaderError, ReaderNotAnsweringError
from station.idcard.profiles import Profile, UsbSpec
from station.idcard.readers.base import ProbeResult
from station.idcard.readers.usb_reader import UsbTransport, locate
from station.idcard.samclient import SamClient
from station.idcard.samecard import SYSTEM_CLOCK, Clock


@dataclasses.dataclass
class UsbProbe:
    """The probe's findings: the device, its profile, and how each layout tried fared."""

    profile: Profile
    tried: list[tuple[UsbSpec, ProbeResult]]

    @property
    def device_id(self) -> str:
        assert self.profile.usb is not None
        return self.profile.usb.id

    @property
    def results(self) -> list[ProbeResult]:
        return [result for _, result in self.tried]

    @property
    def use(self) -> str | None:
        """The profile to configure, when it answered as written."""
        return next((r.profile for r in self.results if r.answers and r.as_written), None)

    @property
    def layout(self) -> dict[str, list[str]] | None:
        """The endpoints a new profile needs, when only a layout beside the profile answered."""
        spec = next((s for s, r in self.tried if r.answers and not r.as_written), None)
        if spec is None:
            return None
        return {"out_endpoints": [f"{ep:02X}" for ep in spec.out_endpoints],
                "in_endpoints": [f"{ep:02X}" for ep in spec.in_endpoints]}

    def to_json(self) -> dict:
        return {"reader": f"usb {self.device_id} ({self.profile.model or self.profile.name})",
                "profiles": [r.to_json() for r in self.results], "use": self.use,
                "layout": self.layout}


def describe(spec: UsbSpec) -> str:
    """``OUT 02+06 / IN 81+85``: the endpoints of a layout, as the probe reports them."""
    return (f"OUT {'+'.join(f'{ep:02X}' for ep in spec.out_endpoints)} / "
            f"IN {'+'.join(f'{ep:02X}' for ep in spec.in_endpoints)}")


def device_endpoints(device: Any, interface: int) -> tuple[list[int], list[int]]:
    """OUT and IN bulk endpoint addresses of ``interface``, read from the descriptors."""
    try:
        found = [ep.bEndpointAddress for ep in device[0][(interface, 0)]]
    except (IndexError, KeyError, ValueError):
        return [], []
    return (sorted(ep for ep in found if not ep & 0x80),
            sorted(ep for ep in found if ep & 0x80))


def layouts(spec: UsbSpec, device: Any) -> list[UsbSpec]:
    """The profile's layout, then the ones the device's endpoints allow; no layout twice."""
    outs, ins = device_endpoints(device, spec.interface)
    candidates = [spec]
    if len(outs) >= 2 and len(ins) >= 2:
        candidates.append(dataclasses.replace(
            spec, out_endpoints=tuple(outs[:2]), in_endpoints=tuple(ins[:2]),
            header_size=samv.HEADER_SIZE))
    if outs and ins:
        candidates.append(dataclasses.replace(spec, out_endpoints=(outs[0],),
                                              in_endpoints=(ins[0],)))
    unique: list[UsbSpec] = []
    for candidate in candidates:
        if all((c.out_endpoints, c.in_endpoints) != (candidate.out_endpoints,
                                                     candidate.in_endpoints) for c in unique):
            unique.append(candidate)
    return unique


def try_layout(device: Any, profile: Profile, spec: UsbSpec,
               clock: Clock = SYSTEM_CLOCK) -> ProbeResult:
    """Claim the device with ``spec``'s endpoints and ask its SAM for its status; released after."""
    result = ProbeResult(profile.name, describe(spec), profile.verified,
                         as_written=spec == profile.usb)
    variant = dataclasses.replace(profile, usb=spec)
    try:
        transport = UsbTransport(device, variant, clock)
    except NoReaderError as exc:
        if exc.key != "idcard.usb.endpoints":
            raise                           # no permission, busy, driver: the same for all
        result.detail = exc.messages[1]
        return result
    try:
        response = SamClient(transport.transceive, profile.timing).command(samv.SAM_STATUS)
        # Only "90" proves the layout: a SAM that got half a frame answers a length error.
        result.answers = response.sw3 == samv.SW3_SUCCESS
        result.detail = f"SAM status SW3 {response.sw3:02X}"
    except ReaderNotAnsweringError:
        result.detail = "no frame came back"
    except CardDataError as exc:
        result.detail = exc.messages[1]
    finally:
        transport.close()
    return result


def probe_usb(profile: str | None = None, backend: Any = None, clock: Clock = SYSTEM_CLOCK,
              profiles_dir: Path | None = None) -> UsbProbe:
    """Find a known USB reader (or the one ``profile`` names) and try its layouts in turn."""
    chosen, device = locate(profile, backend, profiles_dir)
    assert chosen.usb is not None
    tried: list[tuple[UsbSpec, ProbeResult]] = []
    for spec in layouts(chosen.usb, device):
        result = try_layout(device, chosen, spec, clock)
        tried.append((spec, result))
        if result.answers:
            break
    return UsbProbe(chosen, tried)
