"""Several processes writing the same store at once: nothing lost, nothing corrupted."""

import multiprocessing as mp

from station.domain.identity import Identity
from station.store import open_store
from station.store.fsck import fsck

WRITES = 60


def _writer(data_dir: str, worker: int) -> None:
    store = open_store(data_dir)
    for i in range(WRITES):
        idn = "53010219920101123X"
        store.facts.record_card_read(Identity("resident", f"w{worker}-{i}", "male", "1992-01-01", idn))
        sha = store.images.put(f"image {worker} {i}".encode())
        store.facts.record_capture(idn, sha, operator=f"w{worker}")
    store.close()


def test_processes_writing_at_once(store):
    data_dir = str(store.data_dir)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(data_dir, w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    conn = store.conn
    assert conn.execute("SELECT COUNT(*) FROM card_reads").fetchone()[0] == 3 * WRITES
    assert conn.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 3 * WRITES
    seqs = [r[0] for r in conn.execute(
        "SELECT seq FROM card_reads UNION ALL SELECT seq FROM captures UNION ALL SELECT seq FROM audit "
        "UNION ALL SELECT seq FROM operators")]
    assert len(seqs) == len(set(seqs))  # the per-station sequence was never issued twice
    assert fsck(store) == []
