"""Campaigns: a bundle signed last season by a station key that is still enrolled is not this
season's data. Each store has a campaign id; the key file carries it and enrolment pins it; the
manifest carries it under the signature; merge refuses another campaign's bundle (exit 2, the
master unchanged), naming the bundle file and both campaign ids in both languages."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def season(tmp_path, make_station, idn, cli):
    """Station st-a enrolled at the master through its key file (as `station key export` writes
    it), and a bundle it made this season: ``old.zip``."""
    from station.store import open_store
    from station.sync.bundle import create_bundle

    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    make_station(tmp_path / "m", "master", [(idn(4), "王四")], seed=3)
    r = cli(tmp_path / "a", "key", "export", "--out", tmp_path / "a.pub", "--json")
    assert r.returncode == 0, r.stderr
    assert f"campaign: {r.json()['campaign']}" in (tmp_path / "a.pub").read_text("utf-8")
    r = cli(tmp_path / "m", "trust", "add", tmp_path / "a.pub", "--json", op="sup")
    assert r.returncode == 0, r.stderr
    assert r.json()["campaign"] == cli(tmp_path / "a", "campaign", "show", "--json").json()["campaign"]
    with open_store(tmp_path / "a") as store:
        create_bundle(store, tmp_path / "old.zip")
    return tmp_path


def test_a_bundle_of_an_earlier_campaign_is_refused_after_the_station_began_a_new_one(season, cli, kit,
                                                                                        idn):
    from station.domain.identity import Identity
    from station.store import open_store
    from station.sync.bundle import create_bundle

    a, m = season / "a", season / "m"
    old = json.loads(kit.read_bundle(season / "old.zip")["bundle.json"])["campaign"]
    # the next season: the station begins a new campaign and is enrolled again with its key file
    assert cli(a, "campaign", "new", op="tech").returncode == 2          # supervisors only
    r = cli(a, "campaign", "new", "--json", op="sup")
    assert r.returncode == 0, r.stderr
    new = r.json()["campaign"]
    assert r.json()["previous"] == old and new != old
    assert cli(a, "key", "export", "--out", season / "a2.pub").returncode == 0
    r = cli(m, "--lang", "en", "trust", "add", season / "a2.pub", op="sup")
    assert r.returncode == 0 and f"moved to campaign {new} (was {old})" in r.stdout, r.stdout
    listed = cli(m, "trust", "list", "--json", op="tech").json()["stations"]
    assert [(s["station_id"], s["campaign"]) for s in listed] == [("st-a", new)]
    # last season's key file enrolled again: refused, the enrolment does not go back
    r = cli(m, "--lang", "en", "trust", "add", season / "a.pub", op="sup")
    assert r.returncode == 2 and f"earlier campaign {old}" in r.stderr, r.stderr
    listed = cli(m, "trust", "list", "--json", op="tech").json()["stations"]
    assert [(s["station_id"], s["campaign"]) for s in listed] == [("st-a", new)]

    # last season's bundle, still signed by the enrolled key: refused whole, nothing changes
    before = kit.master_state(m)
    r = cli(m, "merge", season / "old.zip", "--json", op="sup")
    assert r.returncode == 2, r.stderr
    refused = r.json()["refused"][0]
    assert refused["reason"] == "other_campaign"
    for text in (refused["message_zh"], refused["message_en"]):
        assert "old.zip" in text and old in text and new in text
    assert "campaign" in refused["message_en"] and "采集季" in refused["message_zh"]
    r = cli(m, "--lang", "en", "merge", season / "old.zip", op="sup")
    assert r.returncode == 2 and "old.zip" in r.stderr and f"campaign {old}" in r.stderr, r.stderr
    assert kit.master_state(m) == before

    # this season's bundle goes in
    with open_store(a) as store:
        ident = Identity(card_type="resident", name="张二", gender="male", birth_date="2000-01-01",
                         id_number=idn(2))
        store.facts.record_card_read(ident, reader="sim", operator="sup")
        create_bundle(store, season / "new.zip")
    r = cli(m, "merge", season / "new.zip", "--json", op="sup")
    assert r.returncode == 0, r.stderr
    assert r.json()["bundles"][0]["added"]


def test_a_bundle_without_a_campaign_is_refused_once_the_enrolment_is_pinned(season, cli, kit):
    """A manifest without the field was made by a version before campaigns (the form of every
    bundle of an earlier season): the station's key signed it, but it is refused, in words."""
    parts = kit.read_bundle(season / "old.zip")
    doc = json.loads(parts.pop("bundle.json"))
    enrolled = doc.pop("campaign")
    parts.pop("bundle.json.sig")
    kit.pack(season / "legacy.zip", doc, parts, season / "a")
    before = kit.master_state(season / "m")
    r = cli(season / "m", "merge", season / "legacy.zip", "--json", op="sup")
    assert r.returncode == 2, r.stderr
    refused = r.json()["refused"][0]
    assert refused["reason"] == "no_campaign"
    for text in (refused["message_zh"], refused["message_en"]):
        assert "legacy.zip" in text and enrolled in text
    assert kit.master_state(season / "m") == before


def test_a_station_enrolled_before_campaigns_is_pinned_by_its_first_bundle_with_one(
        tmp_path, make_station, idn, kit, cli):
    """Stores made before campaigns keep working: their enrolments have no campaign, and their
    older bundles (no campaign) are taken as before — until the first bundle that carries one,
    which pins the enrolment to it; from then on the rule holds."""
    from station.keys import parse_keyfile, render_keyfile
    from station.store import campaign, open_store
    from station.sync.bundle import create_bundle
    from station.sync.errors import BundleRefused
    from station.sync.merge import merge_bundle
    from station.sync.trust import TrustService

    make_station(tmp_path / "a", "st-a", [(idn(1), "张一")], seed=1)
    make_station(tmp_path / "m", "master", [], seed=3)
    with open_store(tmp_path / "a") as store:
        ours = campaign.current(store)
        create_bundle(store, tmp_path / "a1.zip")
    older = tmp_path / "a.pub"                        # an older version's key file: no campaign
    older.write_bytes(render_keyfile("st-a", (tmp_path / "a" / "keys" / "station.pub").read_bytes()))
    with open_store(tmp_path / "m") as store:
        TrustService(store).add(parse_keyfile(older.read_bytes(), str(older)), "sup")
        assert TrustService(store).key_for("st-a").campaign is None

    def without_campaign(src, out):
        parts = kit.read_bundle(src)
        doc = json.loads(parts.pop("bundle.json"))
        doc.pop("campaign")
        parts.pop("bundle.json.sig")
        return kit.pack(out, doc, parts, tmp_path / "a")

    with open_store(tmp_path / "m") as store:
        assert merge_bundle(store, without_campaign(tmp_path / "a1.zip", tmp_path / "legacy1.zip"),
                            "sup").added                 # as before campaigns
        assert TrustService(store).key_for("st-a").campaign is None
        merge_bundle(store, tmp_path / "a1.zip", "sup")
        assert TrustService(store).key_for("st-a").campaign == ours
    with open_store(tmp_path / "a") as store:
        store.facts.record_payment(idn(1), 100, "cash", operator="sup")
        create_bundle(store, tmp_path / "a2.zip")
    with open_store(tmp_path / "m") as store:
        with pytest.raises(BundleRefused) as exc:
            merge_bundle(store, without_campaign(tmp_path / "a2.zip", tmp_path / "legacy2.zip"), "sup")
        assert exc.value.reason == "no_campaign"
        assert not store.seals.verify()              # the pinned enrolment is sealed again
    r = cli(tmp_path / "m", "fsck", "--json", op="sup")
    assert r.returncode == 0, r.stdout + r.stderr


def test_enrolments_of_a_store_from_before_campaigns_read_where_it_lies(tmp_path):
    """A store read without migrating it (read-only media) may be older than campaigns: its
    enrolments are listed, not pinned, instead of failing on the missing column."""
    import sqlite3

    from station.store import migrations, open_store, trust

    conn = sqlite3.connect(tmp_path / "station.sqlite3", isolation_level=None)
    migrations.migrate(conn, 12)
    conn.execute("INSERT INTO station_keys (id, station_id, seq, hlc, enrolled_station, fingerprint, "
                 "public_key, operator) VALUES ('k1', 'm', 1, 'h', 'st-a', 'fp', 'PEM', 'sup')")
    conn.close()
    with open_store(tmp_path, access="read") as store:
        assert [(k.station_id, k.campaign) for k in trust.enrolled(store)] == [("st-a", None)]


def test_a_key_file_whose_campaign_field_is_malformed_or_hidden_is_refused(season, cli, make_station):
    """A key file carries the campaign its enrolment is pinned to: a campaign line misspelt
    (``Campaign:``, ``campaign =``), a second key or field after the key, two fingerprints or a
    bad campaign id are refused in words, naming the line — never read as "no campaign" (an
    enrolment silently not pinned) — and nothing is enrolled. The file as written still goes in."""
    make_station(season / "m2", "master-2", [], seed=5)
    m2 = season / "m2"
    text = (season / "a.pub").read_text("utf-8")
    campaign = next(line for line in text.splitlines() if line.startswith("campaign: "))
    fp = next(line for line in text.splitlines() if line.startswith("fingerprint: "))
    at = f"line {text.splitlines().index(campaign) + 1}:"
    cases = {
        "case.pub": (text.replace(campaign, campaign.replace("campaign:", "Campaign:")), at),
        "equals.pub": (text.replace(campaign, campaign.replace("campaign:", "campaign =")), at),
        "typo.pub": (text.replace(campaign, campaign.replace("campaign:", "campain:")), at),
        "after.pub": (text + "campaign: 0123456789abcdef\n", "more after the public key"),
        "twokeys.pub": (text + text, "more after the public key"),
        "twofp.pub": (text.replace(fp, f"{fp}\n{fp}"), "two fingerprint lines"),
        "badid.pub": (text.replace(campaign, "campaign: ABC\x1b[2J"), "is invalid"),
        "empty.pub": (text.replace(campaign, "campaign:"), "is invalid"),
    }
    for name, (body, words) in cases.items():
        (season / name).write_text(body, "utf-8")
        r = cli(m2, "--lang", "en", "trust", "add", season / name, op="sup")
        assert r.returncode == 2, (name, r.stdout, r.stderr)
        assert words in r.stderr and name in r.stderr, (name, r.stderr)
        assert "\x1b" not in r.stderr and "Unexpected" not in r.stderr
        zh = cli(m2, "trust", "add", season / name, "--json", op="sup")
        assert zh.returncode == 2 and zh.json()["error"].startswith("keys.keyfile_"), (name, zh.stdout)
        assert cli(m2, "trust", "list", "--json", op="sup").json()["stations"] == [], name
    r = cli(m2, "trust", "add", season / "a.pub", "--json", op="sup")
    assert r.returncode == 0, r.stderr
    assert f"campaign: {r.json()['campaign']}" == campaign


def test_a_store_whose_campaign_id_was_edited_into_garbage_says_so_and_sends_nothing(season, cli):
    """The store's own campaign id, hand-edited into something that is not one: `campaign show`,
    `key export`, `bundle create` refuse in words and write nothing (a key file or bundle would
    carry it under the signature and every master would refuse it); `campaign new` mends it."""
    import sqlite3

    a = season / "a"
    with sqlite3.connect(a / "station.sqlite3") as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'campaign'", ("Season 2 \x1b[2J",))
    for args, out in ((("campaign", "show"), None), (("key", "export", "--out"), season / "bad.pub"),
                      (("bundle", "create", "--out"), season / "bad.zip")):
        r = cli(a, "--lang", "en", *args, *([out] if out else []), op="tech")
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert "campaign id 'Season 2" in r.stderr and "station campaign new" in r.stderr, r.stderr
        assert "\x1b" not in r.stderr
        assert out is None or not out.exists()
    r = cli(a, "campaign", "new", "--json", op="sup")
    assert r.returncode == 0, r.stderr
    assert r.json()["previous"].startswith("Season 2 ")
    shown = cli(a, "campaign", "show", "--json")
    assert shown.returncode == 0 and shown.json()["campaign"] == r.json()["campaign"]
