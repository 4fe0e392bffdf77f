"""``station hub purge --hub DSN`` (and ``station purge --hub DSN``): the hub's copies of what a
purge here removed go too.

A purge (``station.store.purge``) masks a person's rows in place and deletes their photos, and
records the keys of the rows it masked (``purged_rows``). The hub keeps every pushed row as the
line its station signed, and the photos by hash: after the purge here those copies are the last
unmasked ones. Run with the hub owner's DSN (station roles may never update or delete), this
replaces each such line at the hub by the row as this store holds it now — masked, column by
column of the push that brought it — and deletes the purged photos from the hub (their bytes in
the database, or their files in the hub's image folder). It is one transaction at the hub (the
folder's files are removed after it commits), and doing it again changes nothing, so a run cut
short, or a hub out of reach during the purge, is simply run again.

A push whose lines were purged no longer matches its station's signature: a store that had not
pulled it yet is refused it — its people were purged; what it held of others was pulled before or
travels in their bundles. The hub records which pushes each run masked (``hub.purges``: when, the
store and operator that ran it), so that refusal says so in its own words, not "changed after
signing".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from station.errors import RefusedError
from station.hub import queries
from station.hub.connect import connect, lost, require_schema, shown
from station.hub.images import FolderImages, hub_images
from station.hub.pull import decode_line
from station.store.purge import purged_images, purged_rows
from station.sync.digest import row_line

if TYPE_CHECKING:
    from station.store.core import Store


@dataclass
class HubPurgeResult:
    hub: str
    rows: dict[str, int] = field(default_factory=dict)   # table → lines masked at the hub
    images: int = 0                                       # photos removed from the hub
    files: int = 0                                        # of those, files in its image folder

    def to_json(self) -> dict[str, Any]:
        return {"hub": self.hub, "rows": self.rows, "images": self.images, "files": self.files}


def purge_hub(store: Store, dsn: str, operator: str | None = None, *,
              images_dir: Path | None = None) -> HubPurgeResult:
    """Make the hub's copies of every row and photo purged here what this store holds now."""
    result = HubPurgeResult(shown(dsn))
    try:
        with connect(dsn) as conn:
            require_schema(conn, dsn)
            if not queries.is_hub_owner(conn):
                raise RefusedError("hub.purge_not_owner", hub=shown(dsn),
                                   role=queries.current_role(conn))
            images = hub_images(conn, dsn, images_dir)
            with conn.transaction():
                by_push: dict[Any, int] = {}
                for table, rows in purged_rows(store):
                    masked = {str(r["id"]): r for r in rows}
                    lines = []
                    for station, row_id, line, columns in queries.held_lines(conn, table, list(masked)):
                        row = masked[row_id]
                        if str(row.get("station_id")) != station:
                            continue                       # another station's row under this key
                        values = decode_line(line)
                        new = [row.get(c, v) for c, v in zip(columns, values, strict=False)]
                        if new != values:
                            lines.append((station, row_id, row_line(new)))
                    changed = queries.replace_lines(conn, table, lines)
                    for push_id, n in changed.items():
                        by_push[push_id] = by_push.get(push_id, 0) + n
                    if changed:
                        result.rows[table] = result.rows.get(table, 0) + sum(changed.values())
                # which pushes no longer match their signature, when and by whom: a store that
                # pulls one later is told it was purged (``station.hub.pull``), not "changed"
                queries.record_purges(conn, by_push, store.station_id, operator)
                shas = sorted(purged_images(store))
                dropped = queries.drop_images(conn, shas)
                result.images = len(dropped)
    except psycopg.OperationalError as exc:
        raise lost(exc, dsn) from None
    if isinstance(images, FolderImages):     # files outlive their records: removed after the commit
        for sha in shas:
            path = images.folder.path(sha)
            if path.exists():
                path.unlink()
                result.files += 1
    store.audit.append(operator, "hub.purge", result.hub,
                       {"rows": result.rows, "images": result.images, "files": result.files})
    return result
