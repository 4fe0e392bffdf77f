"""`station purge` on a master: what merges keep besides the fact tables is personal data too — a
version of a roster row set aside as a clash (``merge_clashes``), the supervisor's decision on it
(``conflict_decisions``) and a row waiting for its parent (``sync_pending``). A purged person's
values go there as they go from the facts."""

from __future__ import annotations

from pathlib import Path


def _blob(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())


def test_purge_on_a_master_masks_clashes_decisions_and_waiting_rows(tmp_path, make_station, idn,
                                                                    enrol, cli, kit):
    from station.domain.identity import Identity
    from station.store import open_store
    from station.sync.bundle import create_bundle
    from station.sync.conflicts import ConflictService
    from station.sync.merge import merge_bundle

    number = idn(1)
    for name, sid in (("m", "master"), ("a", "st-a"), ("b", "st-b")):
        make_station(tmp_path / name, sid, [])
    with open_store(tmp_path / "a") as store:
        store.insert("roster_entries", {"id_number": number, "name": "钱一", "eligible": 1,
                                        "student_no": "XS-A-0001", "birth_date": "2001-01-02",
                                        "department": "物理", "extra": '{"手机": "13800000000"}'})
        create_bundle(store, tmp_path / "a1.zip")
    # the same roster row with other content, re-signed by st-a: a clash at the master
    kit.forge(tmp_path / "a1.zip", tmp_path / "a1x.zip", tmp_path / "a", tmp_path, db_sql=[
        "UPDATE roster_entries SET student_no = 'XS-CLASH-01', name = '钱壹', birth_date = '2001-09-09'"])
    with open_store(tmp_path / "a") as store:
        ident = Identity(card_type="resident", name="钱一", gender="male", birth_date="2001-01-02",
                         id_number=number)
        read = store.facts.record_card_read(ident, reader="sim", operator="sup")
        raw = store.images.put(kit.jpeg(1))
        capture = store.facts.record_capture(number, raw, "IMG_0001.JPG", {}, card_read_id=read,
                                             operator="sup")
        create_bundle(store, tmp_path / "a2.zip")
    enrol(tmp_path / "b", tmp_path / "a")
    with open_store(tmp_path / "b") as store:     # st-b decides on st-a's photo
        merge_bundle(store, tmp_path / "a2.zip")
        store.facts.record_acceptance(capture, "reject", reason="闭眼", operator="sup")
        create_bundle(store, tmp_path / "b1.zip")
    enrol(tmp_path / "m", tmp_path / "a", tmp_path / "b")
    with open_store(tmp_path / "m") as store:
        for bundle in ("a1", "a1x", "b1"):        # b1's decision waits for st-a's photo
            merge_bundle(store, tmp_path / f"{bundle}.zip")
        assert store.conn.execute("SELECT COUNT(*) FROM sync_pending").fetchone()[0] == 1
        assert store.conn.execute("SELECT COUNT(*) FROM merge_clashes").fetchone()[0] == 1
        service = ConflictService(store)
        [item] = [i for i in service.items() if i.kind == "key_clash"]
        service.decide(item.id, item.options[0].key, "sup", f"钱壹即钱一本人（{number}）")   # typed
    secrets = [number.encode(), b"XS-A-0001", b"XS-CLASH-01", "钱壹".encode(), "钱一".encode(),
               b"2001-09-09", b"2001-01-02", b"13800000000"]
    blob = _blob(tmp_path / "m")
    assert [s for s in secrets if s not in blob] == []       # all there, to be purged
    r = cli(tmp_path / "m", "purge", "--json", op="sup")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.json()["result"]["people"] == 1
    blob = _blob(tmp_path / "m")
    assert [s for s in secrets if s in blob] == []
    with open_store(tmp_path / "m") as store:     # the waiting decision still arrives, masked
        merge_bundle(store, tmp_path / "a2.zip")
        assert store.conn.execute("SELECT COUNT(*) FROM sync_pending").fetchone()[0] == 0
        [(idn_after, reason)] = store.conn.execute("SELECT id_number, reason FROM acceptances").fetchall()
        assert "#" in idn_after and reason == "闭眼"
        [(why,)] = store.conn.execute("SELECT reason FROM conflict_decisions").fetchall()
        assert why.startswith("钱*即钱*本人（") and "#" in why        # the why stays, masked


def test_a_kept_photo_delivered_in_a_corrections_list_unblocks_the_purge(tmp_path, make_station, idn,
                                                                         master_and_bundles, cli):
    """Two stations accepted a photo of one person; the master exported and confirmed st-a's,
    then merged st-b's and the supervisor kept st-b's (never exported). CHSI takes no second
    photo, so the next batch lists it in its corrections list (photo correction) and it is never
    in an upload folder: once that batch is confirmed, the purge counts the photo as delivered."""
    from station.store import open_store

    number = idn(1)
    make_station(tmp_path / "a", "st-a", [(number, "张一")], seed=1)
    make_station(tmp_path / "b", "st-b", [(number, "张一")], seed=2)
    master_and_bundles(tmp_path)
    m = tmp_path / "m"

    def ok(*args, op="sup"):
        r = cli(m, "--lang", "en", *args, op=op)
        assert r.returncode == 0, r.stdout + r.stderr
        return r

    ok("merge", tmp_path / "a.zip")
    first = ok("export", "build", "--out", tmp_path / "o1", "--json").json()
    assert first["photos"] == 1
    ok("export", "confirm", first["batch_id"])
    ok("merge", tmp_path / "b.zip")
    [item] = ok("conflicts", "list", "--json").json()["items"]
    assert item["kind"] == "accepted_at_two_stations"
    keep = next(o for o in item["options"] if o["station_id"] == "st-b")       # the one never exported
    ok("conflicts", "decide", item["id"], keep["key"], "--reason", "better photo")

    blocked = cli(m, "--lang", "en", "purge", "--dry-run", "--json", op="sup")
    assert blocked.returncode == 1                                  # not delivered yet: blocked
    [why] = blocked.json()["plan"]["blocked"]
    assert why["reason"] == "not_exported" and number not in blocked.stdout
    assert (why["name"], why["station_id"]) == ("张*", "st-b")       # the kept photo, named masked
    for lang, words in (("en", ("张* (530***********0130)", "station st-b", "station export build")),
                        ("zh", ("张*（530***********0130）", "工作站 st-b", "station export build"))):
        text = cli(m, "--lang", lang, "purge", op="sup")
        assert text.returncode == 1 and number not in text.stdout + text.stderr and "张一" not in text.stdout
        assert all(w in text.stdout for w in words), text.stdout

    second = ok("export", "build", "--out", tmp_path / "o2", "--json").json()
    assert second["photos"] == 0 and second["corrections"] == 1      # listed, not uploaded again
    with open_store(m) as store:             # the exports screen no longer counts it as pending
        assert store.facts.accepted_captures(exported=False) == []
        assert [c["station_id"] for c in store.facts.accepted_captures(exported=True)] == ["st-b"]
    still = cli(m, "--lang", "en", "purge", "--dry-run", "--json", op="sup")
    assert still.returncode == 1
    [why] = still.json()["plan"]["blocked"]
    assert (why["reason"], why["batch"]) == ("not_confirmed", second["batch_id"])
    assert f"station export confirm {second['batch_id']}" in cli(m, "--lang", "en", "purge", op="sup").stdout

    ok("export", "confirm", second["batch_id"])
    r = ok("purge", "--json")
    assert r.json()["result"]["people"] == 1
    assert not [p for p in (m / "images").rglob("*") if p.is_file()]  # both photos gone
