"""A hub that keeps its images in a content-addressed folder (``station hub init --images DIR``):
the folder is the hub's (a marker with the id the hub recorded), files are named by their hash
only, private, and trusted only once hashed — a planted or damaged file is never taken, is
reported in words, and the next push of a station holding the right bytes repairs it."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import psycopg
import pytest

from tests.hub.conftest import Campaign, folder_files
from tests.sync.conftest import canonical


def unreferenced_folder_images(campaign: Campaign) -> list[str]:
    """Images in the folder that no fact at the hub refers to; each must hash to its name."""
    assert campaign.images is not None
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        recorded = {str(r[0]) for r in conn.execute("SELECT sha256 FROM hub.images")}
    files = folder_files(campaign.images)
    for name, path in files.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == name
    return sorted(set(files) - recorded)


@pytest.fixture
def folder_campaign(campaign: Campaign) -> Campaign:
    campaign.images = campaign.root / "share" / "hub-images"
    return campaign


def test_images_go_to_the_folder_named_by_hash_private_and_durable(folder_campaign: Campaign) -> None:
    from station.hub.folder import MARKER
    from station.store import open_store

    campaign = folder_campaign
    folder = campaign.add_station("yd-1", people=2, seed=1)
    init = campaign.init()
    assert campaign.images is not None
    marker = (campaign.images / MARKER).read_text().splitlines()
    assert init.images_folder_id == marker[1] and init.to_json()["images"]["store"] == "folder"
    assert marker[2] == "fan-out 1"
    pushed = campaign.push("yd-1")
    assert pushed.images_sent == 4 and pushed.images_bytes > 0
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        places = dict(conn.execute("SELECT sha256, place FROM hub.images").fetchall())
        chunks = conn.execute("SELECT count(*) FROM hub.image_chunks").fetchone()
        folder_id = conn.execute("SELECT folder_id FROM hub.image_folder").fetchone()
    assert set(places.values()) == {"folder"} and chunks == (0,)       # no bytes in PostgreSQL
    assert folder_id is not None and str(folder_id[0]) == marker[1]
    files = folder_files(campaign.images)
    with open_store(folder) as store:
        assert set(files) == set(places) == set(store.images)
        for sha, path in files.items():
            assert path.relative_to(campaign.images).parts == (sha[:2], sha)
            assert path.read_bytes() == store.images.path(sha).read_bytes()
            assert stat.S_IMODE(path.stat().st_mode) == 0o440
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750
    names = {p.name for p in campaign.images.rglob("*")}
    assert names <= set(files) | {MARKER, "tmp"} | {s[:2] for s in files}
    pulled = campaign.pull()
    assert not pulled.refused and pulled.images_added == 4


def test_a_folder_made_before_its_marker_named_a_fan_out_keeps_two_levels(
        folder_campaign: Campaign) -> None:
    """Folders made by earlier versions have a two-line marker and images at ``ab/cd/<sha>``:
    pushes keep writing there and pulls find them; a third marker line that is not a fan-out the
    station knows is refused in words (a newer layout is never guessed)."""
    from station.errors import InputError
    from station.hub.folder import MARKER

    campaign = folder_campaign
    campaign.add_station("yd-1", people=1, seed=1)
    campaign.add_station("yd-2", people=1, seed=2)
    campaign.init()
    assert campaign.images is not None
    marker = campaign.images / MARKER
    head, folder_id, _ = marker.read_text().splitlines()
    marker.write_text(f"{head}\n{folder_id}\n")               # as an older version wrote it
    assert campaign.push("yd-1").images_sent == 2
    files = folder_files(campaign.images)
    assert len(files) == 2
    for sha, path in files.items():
        assert path.relative_to(campaign.images).parts == (sha[:2], sha[2:4], sha)
    assert campaign.pull().images_added == 2
    marker.write_text(f"{head}\n{folder_id}\nfan-out 3\n")
    with pytest.raises(InputError) as said:
        campaign.push("yd-2")
    assert said.value.key == "hub.images_marker_bad"
    assert len(folder_files(campaign.images)) == 2


def test_a_station_must_reach_the_hubs_own_folder(folder_campaign: Campaign, tmp_path: Path) -> None:
    """Each station may mount the share at its own path; a folder without the hub's marker (the
    bare mount point of a share that is not mounted), another hub's folder, or none at all is
    refused in words before anything is written, and the hub is unchanged."""
    from station.errors import InputError, RefusedError, StationError
    from station.hub.folder import ImageFolder

    campaign = folder_campaign
    campaign.add_station("yd-1", people=1, seed=1)
    campaign.add_station("yd-2", people=1, seed=2)
    campaign.init()
    assert campaign.images is not None
    assert campaign.init().applied == []                        # init again, same folder: fine
    before = campaign.counts()
    bare = tmp_path / "mnt" / "share"
    bare.mkdir(parents=True)
    other = ImageFolder.create(tmp_path / "other-hub-images")
    cases: list[tuple[Path | None, type[StationError], str]] = [
        (bare, InputError, "hub.images_no_marker"),
        (other.root, RefusedError, "hub.images_wrong_folder"),
        (tmp_path / "nowhere", InputError, "hub.images_no_folder"),
        (None, RefusedError, "hub.images_folder_needed"),
    ]
    for path, kind, key in cases:
        with pytest.raises(kind) as said:
            campaign.push("yd-1", images_dir=path)
        assert said.value.key == key
        zh, en = said.value.messages
        assert zh and en and "{" not in zh + en
    assert list(bare.iterdir()) == [] and folder_files(other.root) == {}
    with pytest.raises(RefusedError) as said:                   # the master cannot switch folders
        from station.hub.enrol import init_hub
        from station.store import open_store

        with open_store(campaign.master) as store:
            init_hub(store, campaign.admin_dsn, "sup", other.root)
    assert said.value.key == "hub.images_wrong_folder"
    assert campaign.counts() == before
    mounted = tmp_path / "mnt" / "elsewhere"                    # the same share, another path
    mounted.symlink_to(campaign.images)
    assert campaign.push("yd-2", images_dir=mounted).images_sent == 2
    assert not campaign.pull().refused


def test_a_database_hub_refuses_an_image_folder(campaign: Campaign, tmp_path: Path) -> None:
    from station.errors import InputError

    campaign.add_station("yd-1", people=1, seed=1)
    campaign.init()
    with pytest.raises(InputError) as said:
        campaign.push("yd-1", images_dir=tmp_path)
    assert said.value.key == "hub.images_not_a_folder_hub"


def test_planted_and_damaged_files_are_never_taken_and_are_repaired(folder_campaign: Campaign) -> None:
    """Wrong bytes under an image's name before the push (a second station planting them): the
    writer hashes what is there and rewrites it. A file damaged (or lost) after its push: the
    master refuses that push in words and reports the file at the hub; the next push of the
    station that holds it — even with nothing new to send — rewrites it, and the pull then takes
    it, the same store as if nothing had happened."""
    from station.hub import queries
    from station.store import open_store

    campaign = folder_campaign
    one = campaign.add_station("yd-1", people=2, seed=1)
    campaign.add_station("yd-2", people=1, seed=2)
    campaign.init()
    assert campaign.images is not None
    with open_store(one) as store:
        shas = sorted(store.images)
    planted = campaign.images / shas[0][:2] / shas[0]
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"not the photo")
    campaign.push("yd-1")
    campaign.push("yd-2")
    assert hashlib.sha256(planted.read_bytes()).hexdigest() == shas[0]      # rewritten, checked

    damaged = campaign.images / shas[1][:2] / shas[1]
    lost = campaign.images / shas[2][:2] / shas[2]
    os.chmod(damaged, 0o640)
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\x00")
    lost.unlink()
    pulled = campaign.pull()
    assert [r.reason for r in pulled.refused] == ["folder_image"]
    assert [r.station_id for r in pulled.merged] == ["yd-2"]
    zh, en = pulled.refused[0].messages
    assert "yd-1" in en and "repairs it" in en and "修复" in zh and str(campaign.images) in en
    assert not any(canonical(campaign.master, {"yd-1"}).values())           # nothing of yd-1 taken
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        assert queries.image_reports(conn) == {shas[1]: "damaged", shas[2]: "missing"}

    again = campaign.push("yd-1")                                # nothing new: repairs only
    assert again.pushes == [] and again.images_repaired == 2
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        assert queries.image_reports(conn) == {}
    pulled = campaign.pull()
    assert not pulled.refused and [r.station_id for r in pulled.merged] == ["yd-1"]
    with open_store(one) as station, open_store(campaign.master) as master:
        for sha in shas:
            assert master.images.get(sha) == station.images.get(sha)
    assert unreferenced_folder_images(campaign) == []


def test_an_interrupted_init_folder_is_taken_up_and_a_used_one_is_not(campaign: Campaign,
                                                                      tmp_path: Path) -> None:
    from station.errors import InputError, RefusedError
    from station.hub.folder import ImageFolder

    campaign.add_station("yd-1", people=1, seed=1)
    left = ImageFolder.create(tmp_path / "left")            # marked, but never recorded at a hub
    campaign.images = left.root
    assert campaign.init().images_folder_id == str(left.folder_id)
    used = ImageFolder.create(tmp_path / "used")
    (used.root / "ab").mkdir()
    untidy = tmp_path / "untidy"
    untidy.mkdir()
    (untidy / "notes.txt").write_text("x")
    from station.hub.enrol import init_hub
    from station.store import open_store

    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM hub.image_folder")         # as a hub that never had one
    with open_store(campaign.master) as store:
        with pytest.raises(RefusedError) as said:
            init_hub(store, campaign.admin_dsn, "sup", used.root)
        assert said.value.key == "hub.images_other_hub"
        with pytest.raises(InputError) as said2:
            init_hub(store, campaign.admin_dsn, "sup", untidy)
        assert said2.value.key == "hub.images_not_empty"
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM hub.image_folder").fetchone() == (0,)


def test_a_name_claimed_without_its_bytes_does_not_stop_the_real_owner(folder_campaign: Campaign) -> None:
    """A station records another station's image name at the hub without writing the file (the
    hub cannot see the folder): the owner's push still writes it — every image a push's rows
    refer to is checked in the folder, not only those the hub lacks — and the master takes it."""
    from station.store import open_store

    campaign = folder_campaign
    one = campaign.add_station("yd-1", people=1, seed=1)
    campaign.add_station("yd-2", people=1, seed=2)
    campaign.init()
    assert campaign.images is not None
    with open_store(one) as store:
        sha = sorted(store.images)[0]
        size = store.images.path(sha).stat().st_size
    with psycopg.connect(campaign.dsn("yd-2"), autocommit=True) as conn:
        assert conn.execute("SELECT hub.record_folder_images(%s, %s)", ([sha], [size])).fetchone() == (1,)
    assert sha not in folder_files(campaign.images)
    campaign.push("yd-1")
    assert sha in folder_files(campaign.images)
    pulled = campaign.pull()
    assert not pulled.refused and pulled.images_added == 2


def test_the_images_are_flushed_before_the_facts_that_refer_to_them_commit(
        folder_campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    """One flush per push, and at that moment the hub shows nothing of the push yet (another
    connection sees no push, no image record): a power cut at the folder's server can never
    leave a fact at the hub whose image was not durable."""
    from station.hub.folder import ImageFolder

    campaign = folder_campaign
    campaign.add_station("yd-1", people=2, seed=1)
    campaign.init()
    seen: list[tuple[int, int, int]] = []
    real_flush = ImageFolder.flush

    def flush(self: ImageFolder) -> None:
        files = len(folder_files(self.root))
        real_flush(self)
        with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
            row = conn.execute("SELECT (SELECT count(*) FROM hub.pushes), "
                               "(SELECT count(*) FROM hub.images)").fetchone()
        assert row is not None
        seen.append((files, int(row[0]), int(row[1])))

    monkeypatch.setattr(ImageFolder, "flush", flush)
    pushed = campaign.push("yd-1")
    assert pushed.pushes == [1] and seen == [(4, 0, 0)]
    assert campaign.counts()["pushes"] == 1 and campaign.counts()["images"] == 4


def test_a_database_hub_given_a_folder_later_serves_both(campaign: Campaign, tmp_path: Path) -> None:
    """Images pushed before the hub had a folder stay in the database; those pushed after go to
    the folder; a new master takes both, each hashed."""
    campaign.add_station("yd-1", people=1, seed=1)
    campaign.add_station("yd-2", people=1, seed=2)
    campaign.init()
    campaign.push("yd-1")
    campaign.images = tmp_path / "hub-images"
    assert campaign.init().images_folder_id is not None
    campaign.push("yd-2")
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        places = sorted(conn.execute("SELECT place, count(*) FROM hub.images GROUP BY place").fetchall())
    assert places == [("database", 2), ("folder", 2)]
    pulled = campaign.pull()
    assert not pulled.refused and pulled.images_added == 4


def test_a_full_share_is_said_in_words_and_the_hub_is_unchanged(
        folder_campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from station.errors import MediaError
    from station.hub.folder import ImageFolder

    campaign = folder_campaign
    campaign.add_station("yd-1", people=1, seed=1)
    campaign.init()
    before = campaign.counts()

    def full(self: ImageFolder, *args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ImageFolder, "put", full)
    with pytest.raises(MediaError) as said:
        campaign.push("yd-1")
    assert said.value.key == "media.full" and str(campaign.images) in said.value.messages[1]
    assert campaign.counts() == before


def test_a_share_without_kernel_copies_gets_the_same_files(folder_campaign: Campaign,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Where copy_file_range is refused (another file system, an old kernel, some shares), the
    image goes through the process instead: the same bytes under the same names."""
    import errno

    from station.store import open_store

    campaign = folder_campaign
    one = campaign.add_station("yd-1", people=1, seed=1)
    campaign.init()
    assert campaign.images is not None
    calls: list[int] = []

    def refused(*args: object) -> int:
        calls.append(1)
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refused)
    assert campaign.push("yd-1").images_sent == 2 and len(calls) == 2
    files = folder_files(campaign.images)
    with open_store(one) as store:
        assert {sha: store.images.get(sha) for sha in store.images} == {
            name: path.read_bytes() for name, path in files.items()}


def test_write_behind_starts_the_writeback_while_writing_and_leaves_no_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``step`` bytes written, the folder's file system is synced on a thread of its own
    (the writer does not wait for it); below a step nothing is; the thread ends with the block."""
    import threading

    from station.hub import folder as folder_module
    from station.hub.folder import ImageFolder

    images = ImageFolder.create(tmp_path / "hub-images")
    synced: list[tuple[Path, str]] = []
    one = threading.Event()

    def sync_filesystem(path: Path) -> None:
        synced.append((path, threading.current_thread().name))
        one.set()

    monkeypatch.setattr(folder_module, "sync_filesystem", sync_filesystem)
    with images.write_behind(step=100) as wrote:
        wrote(60)
        assert not one.wait(0.05) and synced == []
        wrote(60)                                            # a step reached: writeback starts
        assert one.wait(60)
    assert synced[0] == (images.root, "hub-write-behind")
    assert not any(t.name == "hub-write-behind" for t in threading.enumerate())
