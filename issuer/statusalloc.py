"""Status list index allocation: random, unique, and safe when several processes allocate at once.

Indexes are random (draft-ietf-oauth-status-list, privacy considerations): a sequential index
would tell a venue roughly when, and in which order, people got their credentials, and would let
two venues link visits of the same holder by the index alone. Uniqueness is the database's job
(UNIQUE (status_list_id, status_idx)): a pick that collides fails inside a SAVEPOINT and is
retried with another random index, so the caller's batch survives. A list is filled to half its
size at most, so a pick succeeds at the first or second try; then the next list is opened.

An import batch allocates many at once (`reserve_many` then `draw`): it counts the entries in one
UPDATE per list, draws random candidates, drops those already taken with one query per round
(in the order drawn, so index order says nothing about row order) and lets the caller insert
them all. Should the insert still collide, the caller falls back to `place`, one row at a time.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TypeVar

from issuer.storage import allocation
from issuer.storage.engine import Session, savepoint
from issuer.storage.errors import Conflict
from issuer.storage.models import StatusListRow
from shared.errors import SocpassError

STATUS_BITS = 2
FILL_DIVISOR = 2  # a list takes new entries until it is 1/FILL_DIVISOR full
_CURRENT_LIST = "socpass_status_list"
MAX_ATTEMPTS = 64
_DRAWS_PER_READ = 1024

T = TypeVar("T")


class AllocationError(SocpassError):
    """Не удалось выделить номер в списке статусов / could not allocate a status list index."""

    code = "status_allocation"


class StatusAllocator:
    def __init__(self, *, list_size: int, uri_for: Callable[[str], str],
                 randbelow: Callable[[int], int] = secrets.randbelow) -> None:
        self.list_size = list_size
        self.uri_for = uri_for
        self.randbelow = randbelow

    def place(self, session: Session, insert: Callable[[StatusListRow, int], T], *, now: datetime,
              on_conflict: Callable[[], None] | None = None) -> T:
        """Reserve room in a list, then run `insert(list, idx)` in a SAVEPOINT at a random idx.

        `insert` adds and flushes the row that holds the index; when a constraint refuses it
        (Conflict) the SAVEPOINT is rolled back, `on_conflict()` is called to raise if the
        conflict was about something else (another unique key of the row), and another
        random index of the same list is tried.
        """
        status_list = self._reserve(session, now)
        for _ in range(MAX_ATTEMPTS):
            idx = self.randbelow(status_list.size)
            try:
                with savepoint(session):
                    return insert(status_list, idx)
            except Conflict:
                if on_conflict is not None:
                    on_conflict()
        raise AllocationError()

    def reserve_many(self, session: Session, count: int, *, now: datetime) -> list[tuple[str, str, int, int]]:
        """Count `count` more entries: the rest of the newest list, then new lists as needed.

        Returns (list id, list uri, list size, entries counted in it) per list used. The row is
        locked (PostgreSQL: FOR UPDATE; SQLite serialises writers) before it is counted.
        """
        placed: list[tuple[str, str, int, int]] = []
        list_id = session.info.get(_CURRENT_LIST)
        while count > 0:
            list_id = list_id or self._newest_id(session, now)
            found = allocation.lock_for_counting(session, list_id)
            room = 0 if found is None else _capacity(found.size) - found.allocated
            if room > 0:
                take = min(room, count)
                allocation.count_allocated(session, list_id, take)
                session.info[_CURRENT_LIST] = list_id
                placed.append((list_id, found.uri, found.size, take))
                count -= take
                if count == 0:
                    break
            self._full(session, list_id, now)
            list_id = None
        return placed

    def draw(self, session: Session, list_id: str, size: int, count: int) -> list[int]:
        """`count` distinct random indexes of a list that no credential holds yet, in draw order."""
        chosen: list[int] = []
        seen: set[int] = set()
        draws = _draws(self.randbelow, size)
        for _ in range(MAX_ATTEMPTS):
            need = count - len(chosen)
            if need == 0:
                return chosen
            candidates: list[int] = []
            for _ in range(need * MAX_ATTEMPTS):
                idx = next(draws)
                if idx not in seen:
                    seen.add(idx)
                    candidates.append(idx)
                    if len(candidates) == need:
                        break
            if not candidates:
                break
            taken = allocation.status_indexes_taken(session, list_id, candidates)
            chosen.extend(idx for idx in candidates if idx not in taken)
        if len(chosen) < count:
            raise AllocationError()
        return chosen

    def ensure_list(self, session: Session, *, now: datetime) -> None:
        """Open list 1 if there is none yet (at init, so that publishing has a list)."""
        if allocation.newest_list(session) is None:
            self._open_list(session, 1, now)

    def _reserve(self, session: Session, now: datetime) -> StatusListRow:
        """Count one more entry in the newest list that is less than half full.

        The counting UPDATE also row-locks the list until commit, *before* the credential
        insert: in PostgreSQL this orders concurrent writers of one list, so two transactions
        never wait on each other's uncommitted index (SQLite serialises writers anyway).
        The list in use is remembered for the session, so a batch costs one statement a row.
        """
        list_id = session.info.get(_CURRENT_LIST)
        while True:
            list_id = list_id or self._newest_id(session, now)
            if allocation.reserve_one(session, list_id, FILL_DIVISOR):
                session.info[_CURRENT_LIST] = list_id
                row = session.get(StatusListRow, list_id)
                assert row is not None
                return row
            self._full(session, list_id, now)
            list_id = None

    def _newest_id(self, session: Session, now: datetime) -> str:
        """The newest list, opening list 1 when there is none."""
        latest = allocation.newest_list(session)
        if latest is None:
            self._open_list(session, 1, now)
            latest = allocation.newest_list(session)
            assert latest is not None
        return latest.id

    def _full(self, session: Session, list_id: str, now: datetime) -> None:
        """`list_id` has no room left: if it is the newest, open the next one."""
        latest = allocation.newest_list(session)
        if latest is not None and latest.id == list_id:
            self._open_list(session, latest.seq + 1, now)

    def _open_list(self, session: Session, seq: int, now: datetime) -> None:
        list_id = str(seq)
        try:
            with savepoint(session):
                session.add(StatusListRow(id=list_id, seq=seq, uri=self.uri_for(list_id),
                                          size=self.list_size, bits=STATUS_BITS, allocated=0,
                                          version=0, created_at=now))
                session.flush()
        except Conflict:
            pass  # another process opened it first: use theirs


def _draws(randbelow: Callable[[int], int], size: int) -> Iterator[int]:
    """Endless `randbelow(size)`. For the system's own (`secrets.randbelow`), the same uniform
    draws (`size`'s bit width, values not below `size` dropped) taken from the random source a
    few thousand at a time: a read of the source per index cost an import more than the rest of
    drawing it. Any other `randbelow` (tests script theirs) is called once per draw."""
    if randbelow is not secrets.randbelow:
        while True:
            yield randbelow(size)
    bits = max(1, (size - 1).bit_length())
    width, mask = (bits + 7) // 8, (1 << bits) - 1
    while True:
        pool = secrets.token_bytes(width * _DRAWS_PER_READ)
        for start in range(0, len(pool), width):
            idx = int.from_bytes(pool[start:start + width], "big") & mask
            if idx < size:
                yield idx


def _capacity(size: int) -> int:
    """Entries a list takes: while allocated * FILL_DIVISOR < size, as `_reserve` counts."""
    return -(-size // FILL_DIVISOR)
