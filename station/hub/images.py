"""Where a hub keeps image bytes: one interface (``HubImages``), two stores.

- ``DatabaseImages`` (the default): bytes in PostgreSQL (``hub.image_chunks``), sent inside the
  push's transaction; the hub hashes every image itself, so no station can store wrong bytes
  under a name.
- ``FolderImages`` (a hub set up with ``station hub init --images DIR``): bytes in the hub's
  content-addressed folder (``station.hub.folder``), written and hashed by the pushing station
  *before* its push transaction, made durable with one flush, then recorded by that transaction.
  PostgreSQL stores and logs only the facts, which is what makes a push cost about a copy.
  The server cannot hash what it never sees: the writer hashes what it writes, an existing file
  counts only once its hash is checked, every puller hashes every image it takes, and a file a
  puller finds damaged or missing is reported at the hub (``hub.image_reports``) and rewritten by
  the next push of a station that holds the right bytes.

Both stores give the same answers to a puller (the images of a push, each hashed against its
name, or the push refused whole), so ``station.hub.push``/``pull`` do not know which one they use.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import psycopg

from station import faults
from station.errors import InputError, IntegrityError, Location, RefusedError
from station.hub import queries, schema
from station.hub.connect import HubRefused, shown
from station.hub.folder import BLOCK, ImageFolder
from station.sync.verify import verify_image

if TYPE_CHECKING:
    from station.store.core import Store
    from station.sync.manifest import Manifest

WORKERS = 2                      # files copied and hashed at once (hashlib and file I/O free the GIL)
WRITERS = 2                      # images a push writes into the folder at once


class Pending(Protocol):
    def wait(self) -> None:
        """Block until the images are durable; raise what went wrong."""


class _Done:
    def wait(self) -> None:
        return None


class HubImages(Protocol):
    """What ``push`` and ``pull`` need of the hub's image store."""

    push_bytes: int              # images per push (a cut loses at most this much work)

    def repair(self, conn: psycopg.Connection[Any], store: Store) -> int:
        """Rewrite images pullers reported broken that this station holds; how many."""

    def writing(self, store: Store, images: Mapping[str, int]) -> AbstractContextManager[Pending]:
        """For every image a push's rows refer to (sha → size), whatever must be durable before the push's
        transaction commits, started now and running while the rows go to the hub;
        ``Pending.wait`` returns once it is done (and raises what went wrong)."""

    def in_push(self, conn: psycopg.Connection[Any], store: Store, shas: list[str]) -> int:
        """Inside the push's transaction: store or record ``shas`` (those the hub lacks); bytes."""

    def fetch(self, conn: psycopg.Connection[Any], manifest: Manifest, shas: list[str],
              into: Path, source: str) -> None:
        """Bring ``shas`` into ``into`` (0600 files named by hash), each hashed against its name;
        ``BundleRefused`` for a missing or wrong one."""

    def after_pull(self, conn: psycopg.Connection[Any]) -> None:
        """Outside any pulled push's transaction: report what ``fetch`` found broken."""


def hub_images(conn: psycopg.Connection[Any], dsn: str, folder: Path | None) -> HubImages:
    """The image store of the hub at ``conn``, as this station reaches it (``folder``: its path
    to the hub's image folder, from ``--images`` or the ``hub.images_dir`` setting)."""
    folder_id = queries.image_folder(conn)
    if folder_id is None:
        if folder is not None:
            raise InputError("hub.images_not_a_folder_hub", Location("--images"), hub=shown(dsn))
        return DatabaseImages(dsn)
    if folder is None:
        raise RefusedError("hub.images_folder_needed", hub=shown(dsn), id=str(folder_id))
    return FolderImages(dsn, ImageFolder.open(folder, folder_id, shown(dsn)))


def _size(store: Store, sha: str) -> int:
    from station.errors import NotFoundError

    try:
        return store.images.path(sha).stat().st_size
    except FileNotFoundError:
        raise NotFoundError("store.image_missing", sha=sha) from None


class DatabaseImages:
    """Images as bytea in ``hub.image_chunks``, hashed by the hub as they arrive."""

    push_bytes = 256 << 20       # each push also costs an Ed25519 check in PL/pgSQL and a commit

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def repair(self, conn: psycopg.Connection[Any], store: Store) -> int:
        return 0                 # the hub hashed every image it holds

    @contextmanager
    def writing(self, store: Store, images: Mapping[str, int]) -> Iterator[Pending]:
        yield _Done()                # the bytes travel inside the transaction (in_push)

    def in_push(self, conn: psycopg.Connection[Any], store: Store, shas: list[str]) -> int:
        sent = 0
        with conn.pipeline():
            for sha in shas:
                sent += self._send(conn, store, sha)
                faults.point("hub.push.image")
        return sent

    def _send(self, conn: psycopg.Connection[Any], store: Store, sha: str) -> int:
        """Whole when small enough (the hub hashes it as it arrives; a mismatch refuses the push
        and ``check_own_image`` says whose fault), else streamed in chunks, hashed here on the
        way and by the hub once all are in. Its size."""
        path = store.images.path(sha)
        size = _size(store, sha)
        if size > schema.MAX_IMAGE_BYTES:
            raise HubRefused("image_too_large", shown(self.dsn), sha=sha, size=size)
        if size <= schema.WHOLE_IMAGE:
            data = path.read_bytes()
            queries.put_image(conn, sha, data)
            return len(data)
        h = hashlib.sha256()

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as src:
                for block in iter(lambda: src.read(schema.IMAGE_CHUNK), b""):
                    h.update(block)
                    yield block
            if h.hexdigest() != sha:              # rolls the image's transaction back
                raise IntegrityError("store.image_altered", sha=sha)

        queries.store_image(conn, sha, size, chunks())
        return size

    def fetch(self, conn: psycopg.Connection[Any], manifest: Manifest, shas: list[str],
              into: Path, source: str) -> None:
        """Streamed from the hub in one query, one chunk in memory at a time. Not synced here:
        the merge's apply step makes every adopted image durable at once."""
        from station.hub.pull import PullRefused

        received: set[str] = set()
        current: tuple[str, Any, Any] | None = None      # (sha, hash, open file)

        def finish() -> None:
            if current is not None:
                sha, h, out = current
                out.close()
                verify_image(manifest, sha, h.hexdigest(), source)
        try:
            for sha, n, block in queries.images_chunks(conn, shas, schema.MAX_IMAGE_BYTES):
                if current is None or current[0] != sha:
                    finish()
                    if sha in received or n != 0:
                        raise ValueError(sha)
                    received.add(sha)
                    fd = os.open(into / sha, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    current = (sha, hashlib.sha256(), os.fdopen(fd, "wb"))
                current[1].update(block)
                current[2].write(block)
            finish()
            current = None
        except LookupError as exc:
            raise PullRefused("missing_image", source, sha=str(exc)[:64], count=1) from None
        except ValueError as exc:
            raise PullRefused("image_hash", source, sha=str(exc)[:64], actual="?") from None
        finally:
            if current is not None:
                current[2].close()
        missing = sorted(set(shas) - received)
        if missing:
            raise PullRefused("missing_image", source, sha=missing[0], count=len(missing))

    def after_pull(self, conn: psycopg.Connection[Any]) -> None:
        return None


class FolderImages:
    """Images in the hub's image folder, recorded at the hub by the push that wrote them."""

    push_bytes = 1 << 30         # written files outlive a cut push: the retry checks, not rewrites

    def __init__(self, dsn: str, folder: ImageFolder) -> None:
        self.dsn = dsn
        self.folder = folder
        self._sizes: dict[str, int] = {}
        self._broken: dict[str, str] = {}            # found by fetch: sha → damaged | missing

    def repair(self, conn: psycopg.Connection[Any], store: Store) -> int:
        self.folder.collect_stale_tmp()
        reported = [sha for sha in queries.own_image_reports(conn) if store.images.verify(sha)]
        if not reported:
            return 0
        _parallel(lambda sha: self.folder.put(store.images.path(sha), sha), reported)
        self.folder.flush()
        with conn.transaction():
            for sha in reported:
                queries.report_image(conn, sha, None)
        return len(reported)

    @contextmanager
    def writing(self, store: Store, images: Mapping[str, int]) -> Iterator[Pending]:
        """Write (or find, hashed) every image the push's rows refer to, then one flush, on a
        thread of its own while the rows go to the hub. All of them, not only those the hub
        lacks: a station could have recorded a name without its bytes (the pushes skipping it
        would then be refused by every puller until a repair); checking costs nothing in the
        usual case, where every new row's images are new."""
        shas = sorted(images)
        for sha in shas:
            size = images[sha]
            if size > schema.MAX_IMAGE_BYTES:
                raise HubRefused("image_too_large", shown(self.dsn), sha=sha, size=size)
            self._sizes[sha] = size

        stop = threading.Event()                   # the push failed: stop writing

        def write_all() -> None:
            with self._medium():
                with self.folder.write_behind() as wrote:
                    self._put_all(store, shas, wrote, stop)
                if not stop.is_set():              # (stopped: the push failed, nothing to wait for)
                    self.folder.flush()

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-images") as pool:
            try:
                yield _Written(pool.submit(write_all))
            finally:
                stop.set()                         # (after a wait() it has nothing left to do)

    def _put_all(self, store: Store, shas: list[str], wrote: Callable[[int], None],
                 stop: threading.Event) -> None:
        """``folder.put`` every image on ``WRITERS`` threads (this one and helpers), until done or
        ``stop``; the first error stops the others and is raised."""
        todo = iter(shas)
        lock = threading.Lock()

        def work() -> None:
            buffer = memoryview(bytearray(BLOCK))
            try:
                while not stop.is_set():
                    with lock:
                        sha = next(todo, None)
                    if sha is None:
                        return
                    size = self.folder.put(store.images.path(sha), sha, buffer)
                    with lock:
                        wrote(size)
            except BaseException:
                stop.set()
                raise

        helpers = min(WRITERS, len(shas)) - 1
        if helpers <= 0:
            work()
            return
        with ThreadPoolExecutor(max_workers=helpers, thread_name_prefix="hub-images") as pool:
            others = [pool.submit(work) for _ in range(helpers)]
            try:
                work()
            finally:
                errors = [f.exception() for f in others]
        for error in errors:
            if error is not None:
                raise error

    def in_push(self, conn: psycopg.Connection[Any], store: Store, shas: list[str]) -> int:
        images = [(sha, self._sizes[sha]) for sha in shas]
        queries.record_folder_images(conn, images)
        return sum(size for _, size in images)

    def fetch(self, conn: psycopg.Connection[Any], manifest: Manifest, shas: list[str],
              into: Path, source: str) -> None:
        from station.hub.pull import PullRefused

        places = queries.image_places(conn, shas)
        absent = sorted(set(shas) - set(places))
        if absent:
            raise PullRefused("missing_image", source, sha=absent[0], count=len(absent))
        in_db = [sha for sha in shas if places[sha] == schema.IN_DATABASE]
        if in_db:                                    # stored before the hub had a folder
            DatabaseImages(self.dsn).fetch(conn, manifest, in_db, into, source)
        broken: dict[str, str] = {}

        buffers = threading.local()

        def take(sha: str) -> None:
            if not hasattr(buffers, "view"):
                buffers.view = memoryview(bytearray(BLOCK))
            try:
                with self._medium():
                    actual = self.folder.copy_out(sha, into / sha, buffers.view)
            except FileNotFoundError:
                broken[sha] = "missing"
                return
            if actual != sha:
                broken[sha] = "damaged"
                return
            verify_image(manifest, sha, actual, source)
        _parallel(take, [sha for sha in shas if places[sha] == schema.IN_FOLDER])
        if broken:
            self._broken.update(broken)
            first = sorted(broken)[0]
            raise PullRefused("folder_image", source, sha=first, count=len(broken),
                              folder=str(self.folder.root))

    @contextmanager
    def _medium(self) -> Iterator[None]:
        """A full, read-only or unreachable share (or scratch folder) in words, naming it."""
        try:
            yield
        except FileNotFoundError:
            raise
        except OSError as exc:
            from station.media import media_error

            raise media_error(exc, self.folder.root, (self.folder.root,)) or exc from None

    def after_pull(self, conn: psycopg.Connection[Any]) -> None:
        for sha, problem in sorted(self._broken.items()):
            queries.report_image(conn, sha, problem)
        self._broken.clear()


class _Written:
    def __init__(self, future: Future[None]) -> None:
        self.future = future

    def wait(self) -> None:
        self.future.result()
        faults.point("hub.push.image")


def _parallel(work: Callable[[str], object], items: list[str]) -> None:
    """``work(item)`` for every item on a few threads; the first error is raised (after all ran)."""
    if len(items) <= 1:
        for item in items:
            work(item)
        return
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for future in [pool.submit(work, item) for item in items]:
            future.result()


def check_own_image(store: Store, sha: str, sent: Collection[str]) -> None:
    """The hub found that an image we sent whole does not hash to its name: if our own file no
    longer does either, say that (the store's words, as ``station fsck`` would), else it was
    damaged on the way and the hub's refusal stands. Hashing only then keeps a push to one hash
    of every image, the hub's."""
    if sha in sent and store.images.path(sha).is_file() and not store.images.verify(sha):
        raise IntegrityError("store.image_altered", sha=sha)

