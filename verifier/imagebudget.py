"""How many pixels this process decodes at once: the decoders' memory grows with the pixels
(about 3 MB per megapixel, docs/benchmarks.md), so photos in flight wait for each other rather
than add up. Camera frames (about a megapixel) pass side by side; two 40 Mpx photos take turns.
Process-wide on purpose: memory is the process's, whichever app or Verifier decodes."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

PIXELS_AT_ONCE = 40_000_000  # one photo at the largest size SOCPASS_MAX_IMAGE_PIXELS allows


class PixelBudget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        pixels = max(1, min(pixels, self.limit))  # a larger image waits for an empty budget
        with self._cond:
            self._cond.wait_for(lambda: self.in_use + pixels <= self.limit)
            self.in_use += pixels
        try:
            yield
        finally:
            with self._cond:
                self.in_use -= pixels
                self._cond.notify_all()


DECODING = PixelBudget(PIXELS_AT_ONCE)
