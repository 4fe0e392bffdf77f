from typing_extensions import Buffer

def decode(data: Buffer, params: Buffer, out: Buffer, progress: Buffer, index_pos: Buffer,
           index_pred: Buffer, /) -> int:
    """The scan from ``data`` decoded into ``out`` (RGBX), its row starts into the index; the
    MCU from which the second thread's decode was used, the MCU count when it was not, -1 when
    the data is not as the header said."""

def decode_window(data: Buffer, params: Buffer, index_pos: Buffer, index_pred: Buffer, x: int,
                  y: int, width: int, height: int, out: Buffer, /) -> int:
    """The window's pixels (RGBX) into ``out`` from the index's row starts; 0, or -1."""
