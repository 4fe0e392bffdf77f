"""Conflicts decided, not just counted (issue 11 item 2, issue 13 item 11): the merge report names
every item in words with masked ID numbers, one count; each can be decided (CLI and service);
decisions are facts that merge to other stores and reach the derived state (exports)."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def merged(tmp_path, make_station, idn, master_and_bundles, cli):
    """st-a and st-b both accepted 张一 (st-b read the name as 张壹); both merged at the master."""
    make_station(tmp_path / "a", "st-a", [(idn(1), "张一"), (idn(2), "张二")], seed=1)
    make_station(tmp_path / "b", "st-b", [(idn(1), "张壹")], seed=2)
    master_and_bundles(tmp_path)
    r = cli(tmp_path / "m", "merge", tmp_path / "a.zip", tmp_path / "b.zip", op="sup")
    assert r.returncode == 0, r.stderr
    r.tmp = tmp_path
    return r


def test_merge_report_names_every_item_once_counted(merged, idn):
    out = merged.stdout
    assert "冲突" not in out                                   # no second, different count
    count = int(re.search(r"需要主管处理：(\d+) 项", out).group(1))
    items = re.findall(r"^  \[([0-9a-f]{12})\] (.+)$", out, re.M)
    assert count == len(items) == 2
    texts = " ".join(text for _, text in items)
    assert re.search(r"张[一壹]（530\*+\d{4}）在工作站 st-a、st-b 都有已通过的照片", texts)
    assert "读到的信息不一致（姓名）" in texts
    assert "1) 保留工作站 st-a" in out and "2) 保留工作站 st-b" in out
    assert "张壹，男，出生 2000-01-01（st-b 读到 1 次）" in out
    assert idn(1) not in out and idn(1) not in merged.stderr   # masked everywhere
    assert "station conflicts decide" in out


def test_each_item_is_decided_and_the_decision_is_a_fact(merged, cli, idn, make_station, enrol):
    from station.store import open_store
    from station.sync.bundle import create_bundle
    from station.sync.conflicts import ConflictService

    m = merged.tmp / "m"
    listed = cli(m, "conflicts", "list", "--json", op="tech")
    assert listed.returncode == 0 and listed.json()["open"] == 2
    items = {i["kind"]: i for i in listed.json()["items"]}
    assert idn(1) not in listed.stdout
    photo = items["accepted_at_two_stations"]
    keep_b = next(o for o in photo["options"] if o["station_id"] == "st-b")
    assert keep_b["image_sha256"]                              # the review screen can show both

    assert cli(m, "conflicts", "decide", photo["id"][:6], keep_b["key"], op="tech").returncode == 2
    bad = cli(m, "--lang", "en", "conflicts", "decide", photo["id"][:6], "7", op="sup")
    assert bad.returncode == 2 and "has no option '7'" in bad.stderr
    r = cli(m, "conflicts", "decide", photo["id"][:6], keep_b["key"], "--reason", "st-a 的照片偏暗",
            "--json", op="sup")
    assert r.returncode == 0, r.stderr
    assert r.json()["open"] == 1 and len(r.json()["decision"]["effects"]) == 1
    again = cli(m, "--lang", "en", "conflicts", "decide", photo["id"], keep_b["key"], op="sup")
    assert again.returncode == 2 and "already decided" in again.stderr

    with open_store(m) as store:
        accepted = [c for c in store.facts.accepted_captures() if c["id_number"] == idn(1)]
        assert [c["station_id"] for c in accepted] == ["st-b"]          # exports follow the decision
        service = ConflictService(store)
        name_item = service.items()[0]
        assert name_item.kind == "same_id_different_identity"
        right = next(o for o in name_item.options if "张一" in o.text("zh"))
        service.decide(name_item.id, right.key, "sup")              # the service the TUI calls
        assert service.items() == []
        decided = service.items(include_decided=True)
        assert {i.kind for i in decided} == {"accepted_at_two_stations", "same_id_different_identity"}
        assert all(i.decision is not None and not i.open for i in decided)
        create_bundle(store, merged.tmp / "m.zip")

    # carried to another master: the same items, already decided there
    make_station(merged.tmp / "m2", "master2", [])
    enrol(merged.tmp / "m2", merged.tmp / "a", merged.tmp / "b", m)
    r2 = cli(merged.tmp / "m2", "merge", merged.tmp / "m.zip", merged.tmp / "b.zip", merged.tmp / "a.zip",
             "--json", op="sup")
    assert r2.returncode == 0, r2.stderr
    assert r2.json()["review_count"] == 0 and "需要主管处理：0 项" in cli(
        merged.tmp / "m2", "conflicts", "list", op="sup").stdout
    assert r2.json()["bundles"][0]["pending"] >= 1          # the master's reject waited for st-a's photo
    assert sum(b["released"].get("acceptances", 0) for b in r2.json()["bundles"]) >= 1, r2.json()["bundles"]
    with open_store(merged.tmp / "m2") as store:
        accepted = [c for c in store.facts.accepted_captures() if c["id_number"] == idn(1)]
        assert [c["station_id"] for c in accepted] == ["st-b"]
        assert store.conn.execute("SELECT COUNT(*) FROM sync_pending").fetchone()[0] == 0

    # and to station st-a itself: its own photo is rejected there too; what refers to st-b's
    # photo waits until st-b's records arrive
    enrol(merged.tmp / "a", m)
    ra = cli(merged.tmp / "a", "merge", merged.tmp / "m.zip", "--json", op="sup")
    assert ra.returncode == 0, ra.stderr
    with open_store(merged.tmp / "a") as store:
        assert not [c for c in store.facts.accepted_captures() if c["id_number"] == idn(1)]
        waiting = store.conn.execute("SELECT COUNT(*) FROM sync_pending").fetchone()[0]
    assert waiting == 0                  # the master rejected only st-a's photo, which st-a holds
    from station.store.fsck import fsck

    with open_store(merged.tmp / "a") as store:
        assert [f.code for f in fsck(store) if f.severity == "error"] == []


def test_two_corrections_of_one_field(tmp_path, make_station, idn, enrol):
    """The master's roster reaches two stations; each corrects the same name differently."""
    from station.store import open_store
    from station.store.people import load_snapshot
    from station.sync.bundle import create_bundle
    from station.sync.conflicts import ConflictService
    from station.sync.merge import merge_bundle

    make_station(tmp_path / "m", "master", [])
    for name in ("a", "b"):
        make_station(tmp_path / name, f"st-{name}", [])
        enrol(tmp_path / name, tmp_path / "m")
    enrol(tmp_path / "m", tmp_path / "a", tmp_path / "b")
    with open_store(tmp_path / "m") as store:
        entry = store.insert("roster_entries", {"id_number": idn(1), "name": "张一", "eligible": 1,
                                                "department": "物理"})
        create_bundle(store, tmp_path / "m.zip")
    for name, value in (("a", "张益"), ("b", "章一")):
        with open_store(tmp_path / name) as store:
            merge_bundle(store, tmp_path / "m.zip")
            store.facts.record_correction("roster_entries", entry, "name", "张一", value, operator="sup")
            create_bundle(store, tmp_path / f"{name}.zip")
    with open_store(tmp_path / "m") as store:
        for name in ("a", "b"):
            merge_bundle(store, tmp_path / f"{name}.zip")
        service = ConflictService(store)
        [item] = service.items()
        assert item.kind == "two_corrections"
        assert "姓名" in item.text("zh") and "st-a、st-b" in item.text("zh") and "530***" in item.text("zh")
        assert [o.text("zh").split("”")[0] for o in item.options] == ["“张益", "“章一"]
        service.decide(item.id[:5], "1", "sup", reason="学生本人确认")
        assert service.items() == []
        assert load_snapshot(store).persons[idn(1)].name == "张益"
        # a third correction elsewhere later reopens it
        store.conn.execute("BEGIN")
        store.conn.execute("UPDATE meta SET value = 'st-c' WHERE key = 'station_id'")
        store.conn.execute("COMMIT")
        store.facts.record_correction("roster_entries", entry, "name", "张益", "张亦", operator="sup")
        assert [i.id for i in service.items()] == [item.id]


def test_identity_decision_reaches_what_is_exported_and_merges(merged, cli, idn, make_station, enrol):
    """Choosing the later reading of a name must change the person's record (exports, sheets),
    not only close the item; the choice travels to another master as a correction."""
    from station.store import open_store
    from station.store.people import load_snapshot
    from station.sync.bundle import create_bundle
    from station.sync.conflicts import ConflictService

    m = merged.tmp / "m"
    with open_store(m) as store:
        assert load_snapshot(store).persons[idn(1)].name == "张一"          # the first reading
        service = ConflictService(store)
        item = next(i for i in service.items() if i.kind == "same_id_different_identity")
        later = next(o for o in item.options if "张壹" in o.text("zh"))
        decision = service.decide(item.id, later.key, "sup", reason="核对了身份证原件")
        assert len(decision.effects) == 1                                  # the name; gender agreed
        assert load_snapshot(store).persons[idn(1)].name == "张壹"
        assert not [i for i in service.items() if i.kind != "accepted_at_two_stations"]
        create_bundle(store, merged.tmp / "m.zip")
    make_station(merged.tmp / "m2", "master2", [])
    enrol(merged.tmp / "m2", merged.tmp / "a", merged.tmp / "b", m)
    r = cli(merged.tmp / "m2", "merge", merged.tmp / "a.zip", merged.tmp / "b.zip", merged.tmp / "m.zip",
            op="sup")
    assert r.returncode == 0, r.stderr
    with open_store(merged.tmp / "m2") as store:
        assert load_snapshot(store).persons[idn(1)].name == "张壹"
        assert [i.kind for i in ConflictService(store).items()] == ["accepted_at_two_stations"]


def test_refusals_and_options_speak_without_library_english(tmp_path, make_station, enrol, cli):
    """What a supervisor reads in Chinese carries no raw library text (issue 13 item 9)."""
    make_station(tmp_path / "m", "master", [])
    (tmp_path / "x.zip").write_text("garbage")
    r = cli(tmp_path / "m", "merge", tmp_path / "x.zip", "--json", op="sup")
    assert r.returncode == 2
    assert "zip file" not in r.stderr and "不是完整的数据包文件" in r.stderr
    refused = r.json()["refused"][0]
    assert refused["reason"] == "not_a_zip" and refused["detail"]      # the library's words: JSON only
    (tmp_path / "y.zip").write_bytes(b"PK")
    bad = cli(tmp_path / "m", "--lang", "en", "merge", tmp_path / "y.zip", op="sup")
    assert bad.returncode == 2 and "not a complete bundle file" in bad.stderr, bad.stderr


def test_one_capture_code_on_two_students_is_listed_with_what_to_do(tmp_path, make_station, idn,
                                                                    master_and_bundles, cli):
    """Each station checks a 图像采集码 against its own records only: merged, one code (but for
    case) names two students and exports leave both out (``code_clash``). The conflicts list
    names it (code and ID numbers masked) with what to do; deciding whose code it is rejects the
    other's photo (who is photographed again with their own code) and the owner's goes out."""
    from station.store import open_store

    code = "Xq7mA2kP9zR4tB1c"
    make_station(tmp_path / "a", "st-a", [(idn(1), "张一"), (idn(3), "张三")], seed=1,
                 codes={idn(1): code, idn(3): "Kj2bN7xS4fG9hQ1e"})
    make_station(tmp_path / "b", "st-b", [(idn(2), "李二")], seed=2, codes={idn(2): code.swapcase()})
    master_and_bundles(tmp_path)
    m = tmp_path / "m"
    r = cli(m, "--lang", "en", "merge", tmp_path / "a.zip", tmp_path / "b.zip", op="sup")
    assert r.returncode == 0, r.stderr
    assert "For the supervisor to decide: 1" in r.stdout
    listed = cli(m, "conflicts", "list", "--json", op="tech")
    assert listed.returncode == 0 and listed.json()["open"] == 1
    [item] = listed.json()["items"]
    assert item["kind"] == "code_clash" and len(item["options"]) == 2
    assert "…R4tB1c" in item["text_en"] and "scan their own code" in item["text_en"]
    assert "…R4tB1c" in item["text_zh"] and "重新拍摄" in item["text_zh"]
    for text in (listed.stdout, cli(m, "conflicts", "list", op="tech").stdout):
        assert code.casefold() not in text.casefold()               # the code is not echoed
        assert idn(1) not in text and idn(2) not in text            # nor the ID numbers
    keep = next(o for o in item["options"] if o["station_id"] == "st-a")
    assert "张一" in keep["text_zh"] and keep["image_sha256"]

    bad = cli(m, "--lang", "en", "conflicts", "decide", item["id"][:6], "9", op="sup")
    assert bad.returncode == 2 and "has no option '9'" in bad.stderr
    with open_store(m) as store:                                    # a refused decision stores nothing
        assert store.conn.execute("SELECT COUNT(*) FROM conflict_decisions").fetchone()[0] == 0
    r = cli(m, "conflicts", "decide", item["id"][:6], keep["key"], "--json", op="sup")
    assert r.returncode == 0, r.stderr
    assert r.json()["open"] == 0 and len(r.json()["decision"]["effects"]) == 1
    doc = cli(m, "export", "build", "--out", tmp_path / "o", "--json", op="sup",
              env={"STATION__SESSION__MODE": "code"}).json()
    assert doc["photos"] == 2                                       # 张一 and 张三; 李二 is retaken
    assert {s["reason"] for s in doc["not_in_batch"]} == {"rejected"}
