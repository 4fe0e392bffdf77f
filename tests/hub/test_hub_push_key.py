"""A station row already at the hub, moved to a new number with other content (audit defect 5):
the push is refused in words naming the table and the row — never a raw library error, and
never retried into the same unique-key failure — and the hub is unchanged."""

from __future__ import annotations

import sqlite3

import pytest

from tests.hub.conftest import Campaign


def test_a_moved_row_is_refused_naming_table_and_row(campaign: Campaign) -> None:
    from station.errors import IntegrityError, RefusedError

    folder = campaign.add_station("yd-1", people=2, seed=1)
    campaign.init()
    campaign.push("yd-1")
    before = campaign.counts(), campaign.fact_lines()
    conn = sqlite3.connect(folder / "station.sqlite3")
    with conn:
        first = conn.execute("SELECT id FROM card_reads ORDER BY seq LIMIT 1").fetchone()[0]
        top = conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]
        conn.execute("UPDATE card_reads SET seq = ?, name = '改名' WHERE id = ?", (int(top) + 1, first))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (str(int(top) + 1),))
    conn.close()
    # the station's own seals catch the edit first: nothing leaves signed, the row is named
    with pytest.raises(IntegrityError) as sealed:
        campaign.push("yd-1")
    assert sealed.value.key == "sync.unsound" and first in sealed.value.messages[1]
    assert (campaign.counts(), campaign.fact_lines()) == before
    # one who also holds the seal key (or an older version's bug) re-seals it: the hub refuses
    from station.store import open_store

    with open_store(folder) as store:
        store.seals.reseal([("card_reads", first)])
    for _ in range(2):                                   # the same answer every time
        with pytest.raises(RefusedError) as said:
            campaign.push("yd-1")
        assert said.value.key == "hub.push_key_taken" and said.value.exit_code == 2
        zh, en = said.value.messages
        assert first in zh and first in en and "card_reads" in en and "yd-1" in en
        assert "UniqueViolation" not in zh + en
    assert (campaign.counts(), campaign.fact_lines()) == before
