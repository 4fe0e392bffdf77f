"""The desk's card-reader loop outlives a defect in reading one card: said once, then it reads on."""

from __future__ import annotations

from types import SimpleNamespace


def test_a_defect_reading_one_card_is_said_and_the_loop_reads_on(monkeypatch):
    from station.tui import workers

    reads: list[float] = []

    class Devices:
        reader = object()

        def read_card(self, poll: float):
            reads.append(poll)
            if len(reads) == 1:
                raise TypeError("a defect in decoding this card")
            return None

    posted: list = []
    app = SimpleNamespace(devices=Devices(), post_message=posted.append, runner=None,
                          settings=SimpleNamespace(session=SimpleNamespace(card_poll_seconds=0.0)))
    monkeypatch.setattr(workers, "_cancelled", lambda: len(reads) >= 3)
    monkeypatch.setattr(workers.time, "sleep", lambda seconds: None)
    workers.reader_loop(app)
    assert len(reads) == 3
    assert [m.key for m in posted] == ["idcard.read_defect"]
    zh, en = posted[0].words
    assert "日志" in zh and "log" in en
