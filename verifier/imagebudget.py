"""How much memory this process spends on images at once: their bodies (counted from the
Content-Length before they are read) and their decoding (its peak estimated from the header
before a pixel is decoded, verifier.imaging.decoding_bytes). Photos in flight wait for each other
rather than add up. Camera frames (about 3 MB each) pass side by side; large
photos take turns. Process-wide on purpose: memory is the process's, whichever app or Verifier
decodes. With the server's own ~50 MB this keeps a verifier worker under its 150 MB figure
(docs/benchmarks.md, figure 8)."""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from collections.abc import Callable, Iterator

# One decoding at the largest size SOCPASS_MAX_IMAGE_PIXELS allows by default (4 Mpx: ~32 MB
# estimated, up to ~25 MB measured on noise), or two camera frames (~18 MB estimated each).
BYTES_AT_ONCE = 40 * 1024 * 1024
# Image bodies read at once: each costs about its size, and sixteen server threads with 10 MB
# bodies would be 160 MB before any pixel. A larger body (up to SOCPASS_MAX_BODY) is read alone.
BODY_BYTES_AT_ONCE = 8 * 1024 * 1024
# Buffers from this size up get their own mapping, given back to the system when freed.
MMAP_THRESHOLD = 128 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


class MemoryBudget:
    def __init__(self, limit: int, *, on_release: Callable[[], object] | None = None) -> None:
        self.limit = limit
        self._on_release = on_release
        self.in_use = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, amount: int) -> Iterator[None]:
        amount = max(1, min(amount, self.limit))  # a larger one waits for an empty budget
        with self._cond:
            self._cond.wait_for(lambda: self.in_use + amount <= self.limit)
            self.in_use += amount
        try:
            yield
        finally:
            if self._on_release is not None:
                self._on_release()
            with self._cond:
                self.in_use -= amount
                self._cond.notify_all()



def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None  # glibc only


_LIBC = _libc()


def give_freed_buffers_back() -> bool:
    """Make glibc map every large buffer on its own, at a fixed threshold. By default glibc raises
    the threshold after each large free (up to 32 MB), so decoders' arrays end up in per-thread
    arenas that keep their peak: nine images in flight left a server at 237 MB peak and 200 MB
    after, against 158 and 104 with this (docs/benchmarks.md, figure 8). False off glibc."""
    return bool(_LIBC is not None and _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def trim_heap() -> None:
    """Give back the heap's free pages after a decoding: OpenCV's detectors leave many small
    blocks that glibc would otherwise keep (a server grew 14 MB per noisy photo)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


give_freed_buffers_back()  # process-wide, like DECODING: whichever thread decodes


DECODING = MemoryBudget(BYTES_AT_ONCE, on_release=trim_heap)
BODIES = MemoryBudget(BODY_BYTES_AT_ONCE)
