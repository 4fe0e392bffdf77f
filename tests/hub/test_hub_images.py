"""Images at the hub: the hub itself hashes every image a station sends, whichever way it comes
(whole in one statement, or streamed in chunks), so no station can store wrong bytes under a name
that other stations' pushes would then skip."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest

from tests.hub.conftest import Campaign, folder_files


def _refusal(exc: psycopg.Error) -> str:
    from station.hub.schema import REFUSED

    assert exc.sqlstate == REFUSED, exc
    return str(exc.diag.message_primary)


def test_wrong_bytes_under_an_image_name_are_refused_by_the_hub(campaign: Campaign) -> None:
    campaign.add_station("yd-1", people=1, seed=1)
    campaign.init()
    campaign.push("yd-1")
    before = campaign.counts()
    good = b"\xff\xd8 a photo \xff\xd9"
    name = hashlib.sha256(good).hexdigest()
    with psycopg.connect(campaign.dsn("yd-1"), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as whole:                  # whole, in one statement
            conn.execute("SELECT hub.put_image(%s, %b)", (name, b"other bytes"))
        assert _refusal(whole.value) == "image_hash"
        with pytest.raises(psycopg.Error) as streamed, conn.transaction():   # streamed in chunks
            conn.execute("INSERT INTO hub.image_chunks (sha256, n, data) VALUES (%s, 0, %b)",
                         (name, b"other bytes"))
            conn.execute("SELECT hub.commit_image(%s, %s)", (name, len(b"other bytes")))
        assert _refusal(streamed.value) == "image_hash"
        with pytest.raises(psycopg.Error) as named:
            conn.execute("SELECT hub.put_image(%s, %b)", ("../etc/passwd", good))
        assert _refusal(named.value) == "image_name"
        assert conn.execute("SELECT hub.put_image(%s, %b)", (name, good)).fetchone() == (True,)
        assert conn.execute("SELECT hub.put_image(%s, %b)", (name, good)).fetchone() == (False,)
        stored = conn.execute("SELECT string_agg(data, ''::bytea ORDER BY n) FROM hub.image_chunks "
                              "WHERE sha256 = %s", (name,)).fetchone()
    assert stored is not None and bytes(stored[0]) == good
    after = campaign.counts()
    assert (after["images"], after["image_chunks"]) == (before["images"] + 1, before["image_chunks"] + 1)


def test_large_images_are_streamed_in_chunks_and_arrive_whole(
        campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Images above the one-statement size go in chunks (the hub hashes them once all are in);
    a master pulls them byte for byte, the same as the small ones."""
    import station.hub.schema as schema
    from station.store import open_store

    monkeypatch.setattr(schema, "WHOLE_IMAGE", 4096)        # every photo here is larger
    monkeypatch.setattr(schema, "IMAGE_CHUNK", 1500)
    folder = campaign.add_station("yd-1", people=2, seed=1)
    campaign.init()
    pushed = campaign.push("yd-1")
    assert pushed.images_sent == 4
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        chunks = dict(conn.execute("SELECT sha256, chunks FROM hub.images").fetchall())
    assert len(chunks) == 4 and min(chunks.values()) > 1
    pulled = campaign.pull()
    assert not pulled.refused and pulled.images_added == 4
    with open_store(folder) as station, open_store(campaign.master) as master:
        for sha in chunks:
            assert master.images.path(sha).read_bytes() == station.images.path(sha).read_bytes()


def test_a_photo_altered_on_the_station_stops_the_push_in_the_stores_words(
        any_campaign: Campaign) -> None:
    """On both image stores a photo whose bytes no longer hash to its name stops the push in the
    store's words (as fsck would say it) and the hub is unchanged. A database hub hashes a photo
    sent whole and refuses it, and the station tells its own damaged file from one damaged on the
    way; on a folder hub the writer hashes the copy, so the wrong bytes never get the name and
    nothing is left in the folder."""
    from station.errors import IntegrityError
    from station.store import open_store

    campaign = any_campaign
    folder = campaign.add_station("yd-1", people=1, seed=1)
    campaign.init()
    with open_store(folder) as store:
        sha = next(iter(store.images))
        path = store.images.path(sha)
    path.chmod(0o600)
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    before = campaign.counts()
    with pytest.raises(IntegrityError) as said:
        campaign.push("yd-1")
    assert said.value.key == "store.image_altered" and said.value.params["sha"] == sha
    assert campaign.counts() == before
    if campaign.images is not None:
        assert sha not in folder_files(campaign.images)
        assert list((campaign.images / "tmp").iterdir()) == []


def test_a_photo_altered_at_the_hub_is_refused_by_the_pull(campaign: Campaign) -> None:
    """Whoever owns the hub's server may change bytes there; the master hashes every image it
    pulls and refuses that push whole (the others are taken)."""
    from station.store import open_store
    from tests.sync.conftest import canonical

    campaign.add_station("yd-1", people=1, seed=1)
    campaign.add_station("yd-2", people=1, seed=2)
    campaign.init()
    campaign.push("yd-1")
    campaign.push("yd-2")
    with psycopg.connect(campaign.admin_dsn, autocommit=True) as conn:
        conn.execute("UPDATE hub.image_chunks SET data = data || '\\x00'::bytea WHERE sha256 = "
                     "(SELECT min(sha256) FROM hub.images WHERE stored_by LIKE '%yd-1')")
    pulled = campaign.pull()
    assert [r.reason for r in pulled.refused] == ["image_hash"]
    assert "yd-1" in pulled.refused[0].source and [r.station_id for r in pulled.merged] == ["yd-2"]
    assert not any(canonical(campaign.master, {"yd-1"}).values())   # nothing of yd-1 taken
    with open_store(campaign.master) as master:
        assert sum(1 for _ in master.images) == 2                  # yd-2's photos only


def test_a_push_whose_images_are_not_at_the_hub_is_refused_whole(
        any_campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    """``hub.commit_push`` finds every image the signed manifest lists (by its key, whatever the
    hub already holds); a station that signs rows referring to images it never stored — on
    either store — is refused whole and the hub is unchanged; an honest push then goes in."""
    from station.hub.connect import HubRefused
    from station.hub.images import DatabaseImages, FolderImages

    campaign = any_campaign
    campaign.add_station("yd-1", people=1, seed=1)
    campaign.add_station("yd-2", people=2, seed=2)
    campaign.init()
    campaign.push("yd-1")                                   # the hub holds other images already
    before = campaign.counts()
    with monkeypatch.context() as patched:
        for store in (DatabaseImages, FolderImages):
            patched.setattr(store, "in_push", lambda self, conn, station, shas: 0)
        with pytest.raises(HubRefused) as said:
            campaign.push("yd-2")
    assert said.value.reason == "missing_image"
    assert str(said.value.params["member"]).startswith("images/")
    assert campaign.counts() == before
    assert campaign.push("yd-2").images_sent == 4
