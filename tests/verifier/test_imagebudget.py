"""The process-wide memory budget for images: holds wait for room, never add up past the limit,
and one larger than the whole budget runs alone rather than never."""
from __future__ import annotations

import platform
import threading

from verifier.imagebudget import BODIES, DECODING, MemoryBudget, give_freed_buffers_back


def test_a_hold_waits_until_there_is_room() -> None:
    budget = MemoryBudget(10)
    entered, release = threading.Event(), threading.Event()
    with budget.hold(7):
        def second() -> None:
            with budget.hold(7):
                entered.set()
                release.wait(10)
        worker = threading.Thread(target=second)
        worker.start()
        assert not entered.wait(0.2)  # 7 + 7 > 10: it waits
        assert budget.in_use == 7
    assert entered.wait(10)  # the first let go
    assert budget.in_use == 7
    release.set()
    worker.join(10)
    assert budget.in_use == 0


def test_more_than_the_budget_runs_alone_and_small_ones_side_by_side() -> None:
    budget = MemoryBudget(10)
    with budget.hold(1_000):
        assert budget.in_use == 10
    with budget.hold(3), budget.hold(3), budget.hold(4):
        assert budget.in_use == 10
    assert budget.in_use == 0


def test_release_runs_the_hook_and_frees_on_error() -> None:
    calls = []
    budget = MemoryBudget(10, on_release=lambda: calls.append(1))
    try:
        with budget.hold(5):
            raise ValueError
    except ValueError:
        pass
    assert calls == [1] and budget.in_use == 0


def test_the_process_budgets_fit_the_largest_image() -> None:
    from verifier.imaging import MAX_IMAGE_PIXELS, gray_decoding_bytes
    assert DECODING.limit >= gray_decoding_bytes(MAX_IMAGE_PIXELS) * 0.9  # one runs at a time
    assert BODIES.limit >= 8 * 1024 * 1024


def test_glibc_is_told_to_give_freed_buffers_back() -> None:
    assert give_freed_buffers_back() is (platform.libc_ver()[0] == "glibc")
