"""A JPEG's reduced decode handed over row by row while it is being decoded.

The analysis decode of a capture (1/4 of a 24 MP frame) is the longest single step of the
capture tier, and the next one, the block-mean reduction the faces are found on, needs only its
rows. Pillow's libjpeg decoder is incremental (``ImageFile.Parser`` feeds it the same way) and
writes whole rows, in order; here it writes them into memory shared with a numpy array, on
another thread, while the caller converts and reduces the rows already written. The pixels are
libjpeg-turbo's DCT-scaled decode, as ``cv2.IMREAD_REDUCED_COLOR_*`` gives them (same library,
same settings: checked by the tests), so only the timing changes.

Only plain cases stream: a baseline or progressive RGB JPEG without EXIF rotation; anything
else (or any decoder complaint) is left to the ordinary decode, which also reports errors.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    # (the reduction, how many of its rows are final, the decode, how many of its rows are final)
    Feed = Callable[[np.ndarray, int, np.ndarray, int], None]

CHUNK = 1 << 18  # bytes handed to the decoder at a time: ~1/25 of a 24 MP camera JPEG


class Rows(Protocol):
    """A decode handed over row by row: one ``RowStream``, or the bands of one (``bands``)."""

    width: int
    height: int
    rgbx: np.ndarray  # the RGBX rows (the 4th byte 0 until a row is written)

    @property
    def rows(self) -> int: ...

    def stop_at(self, rows: int) -> None: ...

    def run(self) -> None: ...

    def wait(self, rows: int) -> int: ...


class NotStreamed(Exception):
    """The stream cannot give this decode (its caller decodes the ordinary way)."""


class RowStream:
    """The decode at 1/``reduction`` of ``data`` (a JPEG of ``size`` pixels, as stored):
    ``run`` decodes it (on any thread), ``wait`` tells how many rows are written so far."""

    def __init__(self, data: bytes, reduction: int, size: tuple[int, int],
                 into: np.ndarray | None = None) -> None:
        """``into``: zeroed rows (height, width, 4) of a larger array to write the pixels to (a
        band of a restart-marked JPEG: ``bands``); by default an array of its own."""
        import numpy as np
        from PIL import Image

        try:
            im = Image.open(io.BytesIO(data))
            if im.format != "JPEG" or im.mode != "RGB" or len(im.tile) != 1 or im.size != size:
                raise NotStreamed
            im.draft("RGB", (size[0] // reduction, size[1] // reduction))
            want = (-(-size[0] // reduction), -(-size[1] // reduction))  # libjpeg rounds up
            if im.size != want or im.decoderconfig[:1] != (reduction,):
                raise NotStreamed
            codec, _, offset, args = im.tile[0]
            w, h = im.size
            # Pillow's RGB pixels are 4 bytes; the decoder sets the 4th to 255 as it writes a row
            self.rgbx = np.zeros((h, w, 4), np.uint8) if into is None else into
            if self.rgbx.shape != (h, w, 4) or not self.rgbx.flags.c_contiguous:
                raise NotStreamed
            self._target = Image.frombuffer("RGBX", (w, h), self.rgbx, "raw", "RGBX", 0, 1)
            self._decoder = Image._getdecoder("RGBX", codec, args, im.decoderconfig)
            self._decoder.setimage(self._target.im, (0, 0, w, h))
        except (OSError, ValueError, AttributeError, TypeError, IndexError) as exc:
            raise NotStreamed from exc
        self._data = memoryview(data)[offset:]
        self.width, self.height = w, h
        self._rows = 0
        self._ended = False
        self._failed = False
        self._enough = h  # the decode stops once this many rows are written (``stop_at``)
        self._cond = threading.Condition()

    @property
    def rows(self) -> int:
        """How many rows are written so far (final, in order)."""
        return self._rows

    def stop_at(self, rows: int) -> None:
        """Decode no further than the piece that writes ``rows`` rows: a caller that needs
        only the top of the image (a crop window) frees the core for other work. A later wait
        for more rows than were written raises NotStreamed."""
        self._enough = max(1, min(self.height, rows))

    def run(self) -> None:
        """Feed the decoder; publish the rows written after each piece (Pillow releases the GIL
        while libjpeg works)."""
        import numpy as np

        last = self.rgbx[:, -1, 3]  # a row's last pixel is written last
        data, start, end = self._data, 0, 0
        failed, complete = True, False
        try:
            while self._rows < self._enough:
                end = min(len(data), end + CHUNK)
                n, err = self._decoder.decode(data[start:end])  # it keeps what it needs
                if n < 0:  # the end of the image, or an error (err < 0)
                    failed = err < 0 or not bool(last[-1])
                    complete = not failed
                    break
                start += n
                if end == len(data) and n == 0:  # all of it handed over: a truncated file
                    break
                rows = self.height if last[-1] else int(np.argmin(last))
                with self._cond:
                    self._rows = rows
                    self._cond.notify_all()
            else:  # stopped where asked: the rows written are final, the rest never will be
                failed = False
        except Exception:  # a broken file: the ordinary decode says what is wrong with it
            failed = True
        finally:
            self._decoder.cleanup()
            with self._cond:
                self._failed = failed
                self._ended = True
                if complete:
                    self._rows = self.height
                self._cond.notify_all()

    def wait(self, rows: int) -> int:
        """Block until at least ``rows`` rows are written; the rows written. NotStreamed when the
        decode failed (or ended short)."""
        with self._cond:
            while self._rows < rows and not self._ended:
                self._cond.wait()
            if self._failed or self._rows < rows:  # failed, or stopped short of them
                raise NotStreamed
            return self._rows


def follow(stream: Rows, width: int,
           feed: Feed | None = None) -> tuple[np.ndarray, np.ndarray]:
    """BGR pixels of the stream and their reduction to about ``width`` (``imageio._area``: means
    of whole blocks, as the whole image would be reduced), made row strip by row strip as the
    decode goes on; ``feed`` is handed both each time more of their rows are final (the rows not
    yet made are zeros: black). Each reduced row reads only its own block of rows, so strips
    cut on block boundaries give the whole reduction's rows."""
    import cv2
    import numpy as np

    from station.checks.imageio import detection_step

    h, w = stream.height, stream.width
    base = np.zeros((h, w, 3), np.uint8)
    k = detection_step(w, width)
    w2, h2 = w // k, h // k
    shrink = k > 1 and h2 > 0
    small = np.zeros((h2, w2, 3), np.uint8) if shrink else base
    done = out = 0
    while done < h:
        rows = stream.wait(done + 1)
        cv2.cvtColor(stream.rgbx[done:rows], cv2.COLOR_RGBA2BGR, dst=base[done:rows])
        done = rows
        if not shrink:
            out = done
        else:  # its last row waits for every row of the decode: all of small means all decoded
            end = h2 if done >= h else min(h2 - 1, done // k)
            if end > out:
                cv2.resize(base[out * k:end * k, : w2 * k], (w2, end - out), dst=small[out:end],
                           interpolation=cv2.INTER_AREA)
                out = end
        if feed is not None:
            feed(small, out, base, done)
    return base, small
