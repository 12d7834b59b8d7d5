"""How much memory this process spends decoding images at once: each decoding's peak is estimated
from the header before a pixel is decoded (shared.qrimage.decoding_bytes), and photos in flight
wait for each other rather than add up. Camera frames (about 3 MB each) pass side by side; large
photos take turns. Process-wide on purpose: memory is the process's, whichever app or Verifier
decodes. With the server's own ~50 MB this keeps a verifier worker under its 150 MB figure
(docs/benchmarks.md, figure 8)."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

# One decoding at the largest size SOCPASS_MAX_IMAGE_PIXELS allows by default (12 Mpx: ~63 MB
# estimated, ~48 MB measured); a larger SOCPASS_MAX_IMAGE_PIXELS makes the largest run alone.
BYTES_AT_ONCE = 64 * 1024 * 1024


class MemoryBudget:
    def __init__(self, limit: int) -> None:
        self.limit = limit
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
            with self._cond:
                self.in_use -= amount
                self._cond.notify_all()


DECODING = MemoryBudget(BYTES_AT_ONCE)
