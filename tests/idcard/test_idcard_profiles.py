"""Reader profiles: the shipped ones hold the vendor's timing, bad files are named precisely,
and the reader table in drivers/README.md agrees with the profiles' `verified` flags."""

from __future__ import annotations

import re

import pytest

from station.errors import InputError
from station.idcard import samv
from station.idcard.profiles import MIN_POLL_INTERVAL, load_profile_file, load_profiles
from station.paths import DRIVERS_DIR


def test_every_shipped_profile_loads_with_the_vendors_timing():
    profiles = load_profiles()
    assert {"routon-idr200", "samv-serial", "samv-tunnel", "pcsc-block-read",
            "iso14443b-serial"} <= set(profiles)
    for profile in profiles.values():
        timing = profile.timing
        assert timing.poll_interval >= MIN_POLL_INTERVAL, profile.name
        if profile.envelope != "serial-only" or profile.transport != "pcsc":
            assert timing.deadline(samv.READ_TEXT_PHOTO) == 3.5, profile.name
        assert timing.full_read >= 3.5 + timing.deadline(samv.FIND_CARD)
        assert profile.source, f"{profile.name}: say where the facts come from"


GOOD_USB = '''name = "x"
transport = "usb"
[usb]
vendor_id = "0400"
product_id = "c35a"
out_endpoints = ["02", "06"]
in_endpoints = ["81", "85"]
'''


@pytest.mark.parametrize("text, field", [
    (GOOD_USB + "[timing]\npoll_interval = 0.1\n", "timing.poll_interval"),
    (GOOD_USB + "[timing.deadlines]\nread_everything = 2\n", "timing.deadlines.read_everything"),
    (GOOD_USB + "[timing.deadlines]\nfind_card = \"fast\"\n", "timing.deadlines.find_card"),
    (GOOD_USB.replace('in_endpoints = ["81", "85"]', 'in_endpoints = ["01"]'),
     "usb.in_endpoints"),
    (GOOD_USB.replace('vendor_id = "0400"', 'vendor_id = "zz"'), "usb.vendor_id"),
    (GOOD_USB.replace('transport = "usb"', 'transport = "bluetooth"'), "transport"),
    (GOOD_USB + '[tunnel]\nheader = "FF 00 00 00"\n', "tunnel"),
    ('name = "y"\n[tunnel]\nheader = "FF 00"\n', "tunnel.header"),
    ('name = "y"\n[block_read]\nheader = "FF B0"\n[tunnel]\nheader = "FF 00 00 00"\n', "tunnel"),
    ('transport = "pcsc"\n', "name"),
    ("verified = \"maybe\"\n" + GOOD_USB, "verified"),
])
def test_a_bad_profile_names_the_file_and_the_field(tmp_path, text, field):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_profile_file(path)
    assert info.value.location.file == str(path)
    assert info.value.location.field == field
    assert str(path) in info.value.messages[1] and field in info.value.messages[1]


def test_the_reader_table_agrees_with_the_profiles():
    text = (DRIVERS_DIR / "README.md").read_text()
    table = text[text.index("### Reader table"):text.index("### Which reader setting")]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found = re.fullmatch(r"`([a-z0-9-]+)`", cells[2]) if len(cells) == 4 else None
        if found:
            rows[found.group(1)] = cells
    profiles = load_profiles()
    assert set(rows) == set(profiles), "one row per profile in drivers/readers"
    for name, cells in rows.items():
        assert cells[3] == ("yes" if profiles[name].verified else "no"), name
        transport = cells[1].lower().replace("pc/sc", "pcsc")
        assert profiles[name].transport in transport, name
