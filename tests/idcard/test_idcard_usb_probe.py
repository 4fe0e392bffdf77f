"""`station idcard probe --reader usb`: which endpoint layout an attached USB SAM reader answers.

Public sources disagree on the iDR200's framing (the vendor manual splits each frame over two
pipe pairs; other write-ups name one pair), and no profile here is verified on real hardware.
The probe settles it on the reader in hand with "SAM status" alone (no card, nothing written),
through the same pyusb path as a real reader (``SamUsbBackend`` behind ``usb.core``).
"""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from station.idcard import open_reader, samv
from station.idcard.emulator import VirtualCard, VirtualSam
from station.idcard.profiles import choose_profile
from station.idcard.readers import usb_reader
from station.idcard.readers.usb_probe import probe_usb
from station.idcard.usb_emulator import SamUsbBackend


@pytest.fixture
def idr200():
    return choose_profile("", "routon-idr200", transport="usb")


def test_the_profile_as_written_answers_and_nothing_else_is_sent(idr200, samples, fake_clock):
    card = VirtualCard(samples["resident"][0])
    backend = SamUsbBackend(idr200, VirtualSam(card))
    probe = probe_usb(backend=backend, clock=fake_clock)
    assert probe.use == "routon-idr200" and probe.layout is None
    [result] = probe.results
    assert result.answers and result.as_written and result.verified is False
    assert result.envelope == "OUT 02+06 / IN 81+85"
    assert result.detail == "SAM status SW3 90"
    assert backend.sam.commands == [samv.SAM_STATUS]     # the card on the reader is not touched
    assert backend.protocol_errors == []
    assert backend.device.claimed == set()                # the device is given back


def test_a_reader_with_whole_frames_on_one_pair_is_found_and_the_layout_works(
        idr200, samples, fake_clock, tmp_path):
    """The other public claim (frames whole on OUT 02 / IN 81): the profile as written gets no
    proper answer, the probe names the layout that does, and a profile with it reads cards."""
    backend = SamUsbBackend(idr200, VirtualSam(), whole_frames=True)
    probe = probe_usb(backend=backend, clock=fake_clock)
    assert probe.use is None
    assert [(r.envelope, r.answers, r.as_written) for r in probe.results] == [
        ("OUT 02+06 / IN 81+85", False, True), ("OUT 02 / IN 81", True, False)]
    assert probe.results[0].detail in ("no frame came back", "SAM status SW3 11")
    assert probe.layout == {"out_endpoints": ["02"], "in_endpoints": ["81"]}
    assert set(backend.sam.commands) <= {samv.SAM_STATUS}
    assert backend.device.claimed == set()

    text = idr200.path.read_text() \
        .replace('name = "routon-idr200"', 'name = "idr200-whole"') \
        .replace('out_endpoints = ["02", "06"]', f'out_endpoints = {probe.layout["out_endpoints"]}') \
        .replace('in_endpoints = ["81", "85"]', f'in_endpoints = {probe.layout["in_endpoints"]}')
    (tmp_path / "idr200-whole.toml").write_text(text.replace("'", '"'))
    backend.sam.card = VirtualCard(samples["hmt_residence"][0], layout="J")
    with open_reader("usb:idr200-whole", backend=backend, clock=fake_clock,
                     profiles_dir=tmp_path) as reader:
        assert reader.read(timeout=5).identity.card_type == "hmt_residence"


def test_a_reader_that_answers_no_layout(idr200, fake_clock):
    """A device framing in a way no known layout matches: every layout tried, none answers."""
    odd = dataclasses.replace(idr200, usb=dataclasses.replace(idr200.usb, header_size=5))
    backend = SamUsbBackend(odd, VirtualSam())
    probe = probe_usb(backend=backend, clock=fake_clock)
    assert probe.use is None and probe.layout is None
    assert [r.envelope for r in probe.results] == ["OUT 02+06 / IN 81+85", "OUT 02 / IN 81"]
    assert not any(r.answers for r in probe.results)
    assert backend.sam.commands == [] and backend.protocol_errors


def _cli(monkeypatch, capsys, tmp_path, backend, *args: str) -> tuple[int, str, str]:
    """`station idcard probe …` in this process, its libusb replaced by the emulated bus. The
    command sets up the process's logging and language as a real run does: both are put back
    afterwards, so later tests in this process do not log into a deleted data folder."""
    from station import i18n
    from station.cli.main import main

    root = logging.getLogger()
    handlers, level, lang = list(root.handlers), root.level, i18n.get_language()
    monkeypatch.setattr(usb_reader, "libusb_backend", lambda: backend)
    try:
        code = main(["--data-dir", str(tmp_path / "data"), *args])
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
        i18n.set_language(lang)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_probe_usb_in_words_and_json(idr200, monkeypatch, capsys, tmp_path):
    backend = SamUsbBackend(idr200, VirtualSam(), whole_frames=True)
    code, out, err = _cli(monkeypatch, capsys, tmp_path, backend,
                          "--lang", "en", "idcard", "probe", "--reader", "usb")
    assert code == 0, err
    assert "routon-idr200 (OUT 02 / IN 81): answers — SAM status SW3 90" in out
    assert 'out_endpoints = ["02"]' in out and 'in_endpoints = ["81"]' in out
    code, out, err = _cli(monkeypatch, capsys, tmp_path, SamUsbBackend(idr200, VirtualSam()),
                          "idcard", "probe", "--reader", "usb:routon-idr200", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["use"] == "routon-idr200" and report["layout"] is None
    assert report["reader"] == "usb 0400:c35a (Routon iDR200)"
    assert report["profiles"][0]["envelope"] == "OUT 02+06 / IN 81+85"


def test_cli_probe_usb_no_answer_and_no_permission(idr200, monkeypatch, capsys, tmp_path):
    odd = dataclasses.replace(idr200, usb=dataclasses.replace(idr200.usb, header_size=5))
    code, out, err = _cli(monkeypatch, capsys, tmp_path, SamUsbBackend(odd, VirtualSam()),
                          "--lang", "zh", "idcard", "probe", "--reader", "usb")
    assert code == 1, err                        # "no": nothing answers
    assert "无应答" in out and "安全模块" in out
    code, out, err = _cli(monkeypatch, capsys, tmp_path,
                          SamUsbBackend(idr200, VirtualSam(), fault="permission"),
                          "--lang", "en", "idcard", "probe", "--reader", "usb")
    assert code == 3 and "99-station-idcard.rules" in err


def test_cli_probe_usb_through_the_real_libusb(run_station):
    """No USB reader on this machine: the probe goes through libusb and says so (exit 3)."""
    out = run_station("--lang", "en", "idcard", "probe", "--reader", "usb")
    assert out.returncode == 3, out.stderr
    assert "No USB card reader found" in out.stderr and "0400:c35a" in out.stderr
