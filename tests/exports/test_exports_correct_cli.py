"""`station correct` and `station history` (audit D2): any person with a record can be corrected,
not only review-queue items; the old value is recorded for every field; the ID number itself can
be corrected by a supervisor (the person's captures, payments, acceptance and 图像采集码 follow);
the trail is shown masked; a correction after upload reaches the next batch's corrections.csv."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("station.roster.importer")

CODE_MODE = {"STATION__SESSION__MODE": "code"}


def _correct(station, op, idn, field, value, *extra, reason="学生本人核对", env=None):
    return station.as_op(op, "--lang", "en", "correct", idn, "--field", field, "--value", value,
                         "--reason", reason, *extra, env=env or {})


def _new_id(i: int) -> str:
    import datetime as dt

    from station.domain import idnumber

    return idnumber.make("530102", dt.date(1999, 9, 9), 40 + i, male=True)


def test_any_person_is_corrected_with_old_values_and_a_trail(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(0), person(1)])
    idn = person(0)["id_number"]
    from station.store import open_store
    from station.store.review import review_queue
    with open_store(station.data_dir) as store:
        assert review_queue(store) == []                 # accepted, passed: not in the queue
    assert _correct(station, "photo", idn, "name", "新名").returncode == 2      # photographers may not
    r = _correct(station, "tech", idn, "name", "新名", "--json")
    assert r.returncode == 0, r.stderr
    assert r.json()["old_value"] == person(0)["name"] and r.json()["new_value"] == "新名"
    for field, value, old in (("department", "化学学院", "物理学院"), ("student_no", "2099000001", "2020000000"),
                              ("gender", "男", "female"), ("birth_date", "2000-02-03", "")):
        r = _correct(station, "tech", idn, field, value, "--json")
        assert r.returncode == 0, r.stderr
        assert r.json()["old_value"] == old, field
    r = _correct(station, "tech", idn, "name", "新名")
    assert r.returncode == 2 and "nothing to correct" in r.stderr
    r = _correct(station, "tech", idn, "name", "x", reason=" ")
    # named by the option typed, once (was "correction, field name: …")
    assert r.returncode == 2 and r.stderr.startswith("--reason: "), r.stderr
    r = _correct(station, "tech", idn, "name", " ")
    assert r.returncode == 2 and r.stderr.startswith("--value: "), r.stderr
    with open_store(station.data_dir) as store:
        rows = store.conn.execute("SELECT field, old_value, new_value, operator FROM corrections ORDER BY hlc").fetchall()
        assert [tuple(r) for r in rows][0] == ("name", person(0)["name"], "新名", "tech")
        assert store.conn.execute("SELECT COUNT(*) FROM audit WHERE action = 'correct'").fetchone()[0] == 5

    r = station.as_op("tech", "history", idn, "--json")
    assert r.returncode == 0, r.stderr
    kinds = [e["kind"] for e in r.json()["events"]]
    assert {"roster", "card_read", "payment", "capture", "decision", "correction"} <= set(kinds)
    fix = next(e for e in r.json()["events"] if e["kind"] == "correction")
    assert (fix["field"], fix["old_value"], fix["new_value"], fix["operator"], fix["reason"]) == (
        "name", person(0)["name"], "新名", "tech", "学生本人核对")
    human = station.as_op("tech", "--lang", "en", "history", idn)
    assert human.returncode == 0, human.stderr
    assert idn not in human.stdout and idn[-4:] in human.stdout                     # masked
    assert f"name: {person(0)['name']} → 新名" in human.stdout                       # the subject in full
    assert person(1)["name"] not in human.stdout
    assert station.as_op("photo", "history", idn).returncode == 2
    assert station.as_op("tech", "history", person(5)["id_number"]).returncode == 2   # no record


def test_a_correction_after_upload_is_listed_once(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(0), person(1)])
    out = tmp_path / "o"
    first = station.as_op("tech", "export", "build", "--out", str(out), "--json").json()
    assert first["photos"] == 2
    assert _correct(station, "tech", person(1)["id_number"], "student_no", "2099000001").returncode == 0
    second = station.as_op("tech", "export", "build", "--out", str(out), "--json").json()
    assert second["corrections"] == 1
    csv_text = (Path(second["path"]) / "corrections.csv").read_bytes().decode("gbk")
    assert f"学号：{person(1)['student_no']}→2099000001" in csv_text and first["batch_id"] in csv_text
    r = station.as_op("tech", "history", person(1)["id_number"], "--json").json()
    assert [(e["kind"], e["batch_id"]) for e in r["events"] if e["kind"] in ("export", "listed")] == [
        ("export", first["batch_id"]), ("listed", second["batch_id"])]
    third = station.as_op("tech", "export", "build", "--out", str(out), "--json").json()
    assert third["path"] is None


def test_id_number_correction_moves_the_person_and_is_exported(station, add_people, person, tmp_path):
    add_people(station.data_dir, [person(0, on_roster=False), person(1)])
    old, new = person(0)["id_number"], _new_id(0)
    out = tmp_path / "o"
    first = station.as_op("tech", "export", "build", "--out", str(out), "--json").json()
    assert first["photos"] == 2
    r = _correct(station, "tech", old, "id_number", new)
    assert r.returncode == 2 and "may not correct an ID number" in r.stderr
    bad = new[:17] + ("0" if new[17] != "0" else "1")
    r = _correct(station, "sup", old, "id_number", bad)
    assert r.returncode == 2 and "check digit" in r.stderr
    r = _correct(station, "sup", old, "id_number", person(1)["id_number"])
    assert r.returncode == 2 and "already has a record of its own" in r.stderr and "--merge" in r.stderr
    r = _correct(station, "sup", old, "id_number", new, "--json")
    assert r.returncode == 0, r.stderr
    assert (r.json()["old_value"], r.json()["new_value"], r.json()["merged"]) == (old, new, False)
    from station.store import open_store
    with open_store(station.data_dir) as store:
        moved = store.person_state(new)
        assert moved.accepted_capture_id and moved.paid_cents == 3000 and moved.exported
        assert store.person_state(old).captures == []
        assert store.conn.execute("SELECT COUNT(*) FROM captures WHERE id_number = ?", (old,)).fetchone()[0] == 1
    r = _correct(station, "tech", old, "name", "x")
    assert r.returncode == 2 and "was corrected to" in r.stderr
    second = station.as_op("tech", "export", "build", "--out", str(out), "--json").json()
    assert second["photos"] == 0 and second["corrections"] == 1
    doc = json.loads((Path(second["path"]) / "manifest.json").read_text("utf-8"))
    [fix] = doc["corrections"]
    assert fix["id_number"] == new and fix["replaces_batch"] == first["batch_id"]
    assert fix["changes"] == [{"field": "id_number", "old": old, "new": new}]
    hist = station.as_op("tech", "history", old, "--json").json()
    assert hist["current_id_number"] == new and old in hist["id_numbers"]


def test_merge_into_an_existing_record_only_when_asked(station, add_people, person, tmp_path):
    """A capture typed under a wrong number; the roster holds the student's right number."""
    add_people(station.data_dir, [person(0, on_roster=False, verified=True)])
    from station.store import open_store
    right = _new_id(1)
    with open_store(station.data_dir) as store:
        store.insert("roster_entries", {"id_number": right, "student_no": "2020777777", "name": "学生正",
                                        "gender": "female", "department": "物理学院", "eligible": 1})
    wrong = person(0)["id_number"]
    assert _correct(station, "sup", wrong, "id_number", right).returncode == 2
    r = _correct(station, "sup", wrong, "id_number", right, "--merge")
    assert r.returncode == 0, r.stderr
    assert "now belongs to" in r.stdout
    out = tmp_path / "o"
    doc = station.as_op("tech", "export", "build", "--out", str(out), "--json").json()
    assert doc["photos"] == 1
    manifest = json.loads((Path(doc["path"]) / "manifest.json").read_text("utf-8"))
    assert [(i["id_number"], i["name"]) for i in manifest["items"]] == [(right, "学生正")]


def test_code_mode_capture_code_follows_the_corrected_id(station, roster_people, tmp_path):
    """A capture stored under a mistyped ID keeps the student's 图像采集码: after the correction the
    code belongs to the right number (re-ingesting under it is no longer 'another student's code')."""
    [(identity, id_file, image)] = roster_people(1)
    code = "Xq7mA2kP9zR4tB1c"
    wrong_identity = {**identity, "id_number": _new_id(2), "card_type": "manual", "source": "typed"}
    wrong_file = tmp_path / "wrong.json"
    wrong_file.write_text(json.dumps(wrong_identity, ensure_ascii=False), "utf-8")
    r = station.as_op("sup", "ingest", "--identity", str(wrong_file), "--image", str(image), "--vouch",
                      "--paid", "--capture-code", code, "--force", "--reason", "not on the roster", "--json",
                      env=CODE_MODE)
    assert r.returncode == 0, r.stdout + r.stderr
    r = station.as_op("sup", "--lang", "en", "ingest", "--identity", str(id_file), "--image", str(image),
                      "--vouch", "--paid", "--capture-code", code, env=CODE_MODE)
    assert r.returncode == 2 and "another student" in r.stderr
    r = _correct(station, "sup", _new_id(2), "id_number", identity["id_number"], "--merge", env=CODE_MODE)
    assert r.returncode == 0, r.stderr
    r = station.as_op("sup", "ingest", "--identity", str(id_file), "--image", str(image), "--vouch",
                      "--paid", "--capture-code", code, "--json", env=CODE_MODE)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = station.as_op("tech", "export", "build", "--out", str(tmp_path / "o"), "--json", env=CODE_MODE).json()
    assert doc["photos"] == 1
    assert [p.name for p in (Path(doc["path"]) / "upload").iterdir()] == [f"{code}.jpg"]



def test_history_shows_each_photos_capture_code_masked_and_its_change(station, add_people, person):
    """The trail answers "which 图像采集码 went with my photo": each capture line names its code by
    its tail only (as the desk does; never the whole code, which names the photo at the pipeline),
    and a retake under another code (a mistyped or another student's code put right) says so.
    ``--json`` keeps the full code, as it keeps full names."""
    first, second = "Xq7mA2kP9zR4tB1c", "Lw3nE8vH5yU6oI0d"
    add_people(station.data_dir, [person(0, capture_code=first, decisions=["reject"])])
    add_people(station.data_dir, [person(0, capture_code=second, on_roster=False, seed=7)])
    idn = person(0)["id_number"]
    for lang, words in (("en", "capture code"), ("zh", "采集码")):
        r = station.as_op("tech", "--lang", lang, "history", idn)
        assert r.returncode == 0, r.stderr
        photos = [line for line in r.stdout.splitlines() if f"{words} " in line]
        assert len(photos) == 2, r.stdout
        assert "…R4tB1c" in photos[0] and "→" not in photos[0]
        assert "…R4tB1c → …U6oI0d" in photos[1]
        assert first not in r.stdout and second not in r.stdout                       # masked
    events = station.as_op("tech", "history", idn, "--json").json()["events"]
    assert [e["capture_code"] for e in events if e["kind"] == "capture"] == [first, second]


def test_a_student_number_that_would_name_a_file_badly_is_refused(station, add_people, person):
    """`station correct --field student_no` holds the number to the roster's form: the same
    refusal as at import (it names exported photos and prints), and nothing is recorded."""
    add_people(station.data_dir, [person(0)])
    idn = person(0)["id_number"]
    for value in ("../../etc/passwd", "a\\b", "..", ".x", "_x", "2020\x1b[2J", "LPT1", "2020 0001"):
        r = _correct(station, "tech", idn, "student_no", value)
        assert r.returncode == 2, (value, r.stdout)
        assert "--value" in r.stderr and "student number" in r.stderr, (value, r.stderr)
        assert "letters, digits" in r.stderr or "device name" in r.stderr, (value, r.stderr)
    r = station.as_op("tech", "--lang", "en", "correct", idn, "--field", "student_no", "--value=-rf",
                      "--reason", "r", "--json")
    assert r.returncode == 2 and json.loads(r.stdout or r.stderr)["error"] == "student_no.bad_form"
    from station.store import open_store
    with open_store(station.data_dir) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] == 0
    ok = _correct(station, "tech", idn, "student_no", "ＭＢＡ-2019_07", "--json")
    assert ok.returncode == 0, ok.stderr
    assert ok.json()["new_value"] == "MBA-2019_07"


def test_a_reason_is_shown_with_id_numbers_and_the_persons_name_masked(station, add_people, person):
    """A reason is typed freely and can hold the student's name and ID number: `correct` and
    `history` show it with those masked (the JSON for scripts keeps what was typed)."""
    from station.privacy import mask_id, mask_name

    p0, p1 = person(0), person(1)
    add_people(station.data_dir, [p0, p1])
    reason = f"{p0['name']}本人({p0['id_number']})要求，另见{p1['id_number']}"
    r = _correct(station, "tech", p0["id_number"], "department", "化学学院", reason=reason)
    assert r.returncode == 0, r.stderr
    h = station.as_op("tech", "--lang", "en", "history", p0["id_number"])
    assert h.returncode == 0, h.stderr
    for shown in (r.stdout, h.stdout):
        assert p0["id_number"] not in shown and p1["id_number"] not in shown and p0["name"] not in shown
        assert f"{mask_name(p0['name'])}本人({mask_id(p0['id_number'])})要求" in shown
    j = station.as_op("tech", "history", p0["id_number"], "--json")
    assert reason in j.stdout


def test_history_in_chinese_says_its_code_words_in_chinese(station, add_people, person):
    """The zh trail printed the stored code words as they are: "(resident)", "检测：pass",
    "accept", "wechat"; each is now said in the reader's language, the English trail unchanged."""
    from station.store import open_store

    first, _second = add_people(station.data_dir, [person(0, decisions=["reject", "accept"])])
    idn = person(0)["id_number"]
    with open_store(station.data_dir) as store:       # the first photo's checks, as the desk's
        store.facts.record_check(first, {}, True, operator="photo")
    zh = station.as_op("tech", "history", idn)
    assert zh.returncode == 0, zh.stderr
    for english in ("(resident)", "pass", "accept", "reject", "wechat"):
        assert english not in zh.stdout, (english, zh.stdout)
    for chinese in ("(居民身份证)", "检测：合格", "通过 ", "退回 ", "30.00 微信"):
        assert chinese in zh.stdout, (chinese, zh.stdout)
    en = station.as_op("tech", "--lang", "en", "history", idn)
    for english in ("(resident)", "checks: pass", "accept ", "reject ", "30.00 wechat"):
        assert english in en.stdout, (english, en.stdout)


def test_history_says_the_corrections_list_kind_in_the_readers_language(station, add_people, person, tmp_path):
    """A photo retaken and a name corrected after upload are listed in the next batch's
    corrections; the zh trail then printed the stored words "photo" and "record" as they are."""
    add_people(station.data_dir, [person(0), person(1)])
    out = tmp_path / "out"
    assert station.as_op("tech", "export", "build", "--out", str(out)).returncode == 0
    add_people(station.data_dir, [person(0, seed=40, on_roster=False)])           # a newer photo
    assert _correct(station, "tech", person(1)["id_number"], "name", "新名").returncode == 0
    second = station.as_op("tech", "export", "build", "--out", str(out), "--json")
    assert second.returncode == 0 and second.json()["corrections"] == 2, second.stdout + second.stderr
    for i, zh_word, en_word in ((0, "更正照片", "photo"), (1, "更正信息", "record")):
        zh = station.as_op("tech", "history", person(i)["id_number"])
        listed = [line for line in zh.stdout.splitlines() if "更正清单" in line]
        assert len(listed) == 1 and f"（{zh_word}，原批次" in listed[0], zh.stdout
        en = station.as_op("tech", "--lang", "en", "history", person(i)["id_number"])
        assert f"({en_word}, earlier batch" in en.stdout, en.stdout


def test_roster_show_gives_the_corrected_name_as_the_batch_does(station, add_people, person, tmp_path):
    """A name corrected after the roster was imported: `roster show` printed the roster's name
    while the batch's manifest carried the corrected one. It now shows what the export uses and
    says which fields were corrected (and what the roster says)."""
    add_people(station.data_dir, [person(0), person(1)])
    idn, roster_name = person(0)["id_number"], person(0)["name"]
    assert _correct(station, "tech", idn, "name", "新名").returncode == 0
    assert _correct(station, "tech", idn, "department", "化学学院").returncode == 0
    r = station.as_op("tech", "roster", "show", idn, "--json")
    assert r.returncode in (0, 1), r.stderr
    doc = r.json()
    assert doc["entry"]["name"] == "新名" and doc["entry"]["department"] == "化学学院", doc["entry"]
    assert doc["corrected"] == [{"field": "name", "roster_value": roster_name, "value": "新名"},
                                {"field": "department", "roster_value": "物理学院", "value": "化学学院"}]
    zh = station.as_op("tech", "roster", "show", idn)
    first = zh.stdout.splitlines()[0]
    assert "新名" in first and "化学学院" in first and roster_name not in first, zh.stdout
    assert f"已更正：姓名（名单：{roster_name}）、院系（名单：物理学院）" in zh.stdout, zh.stdout
    en = station.as_op("tech", "--lang", "en", "roster", "show", idn)
    assert f"corrected: name (roster: {roster_name}), department (roster: 物理学院)" in en.stdout, en.stdout
    other = station.as_op("tech", "roster", "show", person(1)["id_number"], "--json")
    assert other.json()["corrected"] == [] and other.json()["entry"]["name"] == person(1)["name"]
    built = station.as_op("tech", "export", "build", "--out", str(tmp_path / "out"), "--json")
    assert built.returncode == 0, built.stderr
    manifest = json.loads((Path(built.json()["path"]) / "manifest.json").read_text("utf-8"))
    names = {i["id_number"]: i["name"] for i in manifest["items"]}
    assert names[idn] == doc["entry"]["name"]
