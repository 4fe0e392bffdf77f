"""The row digest is a wire format: stations sign it, masters and the hub recompute it from their
own copies of the rows. Its bytes are spelled out here, so a change of encoding fails loudly."""

from __future__ import annotations

import hashlib


def test_row_digest_is_canonical_json_lines_with_blobs_in_base64():
    from station.sync.digest import table_digest

    columns = ["id", "station_id", "seq", "name", "photo", "amount", "note"]
    rows = [
        ("01A", "呈贡-1", 1, "张三", b"\x00\x01\xff", 30.5, None),
        ("01B", "呈贡-1", 2, 'a "quoted"\\ line\n', b"", -7, "\u2028"),
    ]
    expected = hashlib.sha256(
        '["payments",["id","station_id","seq","name","photo","amount","note"]]\n'
        '["01A","呈贡-1",1,"张三",{"$b64":"AAH/"},30.5,null]\n'
        '["01B","呈贡-1",2,"a \\"quoted\\"\\\\ line\\n",{"$b64":""},-7,"\u2028"]\n'.encode()
    ).hexdigest()
    assert table_digest("payments", columns, rows) == (expected, 2)
    assert table_digest("payments", columns, [rows[0], (*rows[1][:6], "x")])[0] != expected
    # rows from another road (the hub) may hand BLOBs over as memoryview: the same digest
    as_views = [tuple(memoryview(v) if isinstance(v, bytes) else v for v in r) for r in rows]
    assert table_digest("payments", columns, as_views) == (expected, 2)
