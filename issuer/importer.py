"""Registry import: a registry file (issuer.registrycsv) streamed, committed in batches,
idempotent on registry_id.

Per registry_id: no live credential -> "issued"; same data as the live one -> "unchanged";
changed data -> the old one is revoked (reason "replaced") and a new one issued -> "updated".
A broken row is reported with its physical line number (the header is line 1); the others land.

Each batch is written in bulk (issuer.issuance: a constant number of statements per batch);
when that fails, the batch is rolled back and redone row by row in SAVEPOINTs, so the row at
fault is reported and the others still land. Its tokens are signed in a second process
(issuer.signpool) while this one writes the rest of the batch and reads the next one; the
batch's transaction stays open meanwhile, and a batch's outcomes and errors are counted when it
commits, so the summary and progress are what batch-after-batch writing gives.
"""
from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from issuer import issuance, registrycsv
from issuer.context import Context
from issuer.issuance import Outcomes
from issuer.signpool import TokenSigner
from issuer.storage import queries
from issuer.storage.engine import Session, savepoint
from issuer.storage.errors import Conflict
from shared.credential import HolderData
from shared.errors import SocpassError

# Rows per transaction. Every commit writes out each index page its random keys (credential ids,
# status indexes) landed on, so fewer, larger batches write less: a 435,000-row import on SQLite
# took 49 s in batches of 5,000 against 65 s in batches of 1,000 (PostgreSQL: 45 s against 51 s),
# holding the write lock ~0.6 s at a time.
BATCH_SIZE = 5000
MAX_ERRORS_LISTED = 1000


def import_registry(ctx: Context, source: str | Path | BinaryIO, *,
                    progress: Callable[[int], None] | None = None,
                    file_name: str | None = None) -> dict[str, Any]:
    """Import a registry file; each credential gets its own event, the run one more."""
    if file_name is None and isinstance(source, (str, Path)):
        file_name = Path(source).name
    try:
        summary = import_csv(ctx, source, progress=progress)
    except SocpassError as err:
        record_failed_import(ctx, file_name, err.code, err.description)
        raise
    with ctx.store.write() as session:
        queries.add_event(session, at=ctx.now(), actor=ctx.actor, action="import",
                        detail={"file": file_name, "rows": summary["rows"],
                                "issued": summary["issued"], "updated": summary["updated"],
                                "unchanged": summary["unchanged"],
                                "rejected": summary["errors_total"]})
    return summary


def record_failed_import(ctx: Context, file_name: str | None, code: str, message: str) -> None:
    """A registry file refused as a whole (not a CSV, no header...) or an import that broke
    off is an audit event too: the log shows every attempt, not only the ones that ran."""
    with ctx.store.write() as session:
        queries.add_event(session, at=ctx.now(), actor=ctx.actor, action="import_failed",
                        reason=message, detail={"file": file_name, "error": code})


def import_csv(ctx: Context, source: str | Path | BinaryIO, *,
               progress: Callable[[int], None] | None = None,
               batch_size: int | None = None) -> dict[str, Any]:
    """The rows of a registry file issued, updated or found unchanged: the summary (no audit
    event of the run: `import_registry` adds it)."""
    batch_size = batch_size or BATCH_SIZE
    summary: dict[str, Any] = {"issued": 0, "updated": 0, "unchanged": 0, "errors": [],
                               "errors_total": 0, "rows": 0}
    with ExitStack() as stack:
        if isinstance(source, (str, Path)):
            stream: BinaryIO = stack.enter_context(open(source, "rb"))
        else:
            stream = source
        connection = stack.enter_context(ctx.store.bulk_connection())
        signer = stack.enter_context(TokenSigner())
        chunks = _chunks(ctx, stream, batch_size)
        writing: _Batch | None = None  # a batch whose tokens are signed while the next is read
        while True:
            try:
                chunk = next(chunks, None)
            except BaseException:
                if writing is not None:  # what was read before the failure lands, as it would have
                    _count(summary, _finish(writing))
                raise
            if writing is not None:
                _count(summary, _finish(writing))
                writing = None
                if progress and chunk is not None:  # the last batch's is the final report
                    progress(summary["rows"])
            if chunk is None:
                break
            summary["rows"] += chunk.read
            for line, message in chunk.errors:
                _error(summary, line, message)
            if chunk.rows:
                writing = _start(ctx, chunk.rows, signer, connection)
    if progress:
        progress(summary["rows"])
    return summary


class _Chunk(NamedTuple):
    rows: list[tuple[int, HolderData]]  # a batch to write; empty: only rows refused while reading
    errors: list[tuple[int, str]]
    read: int  # rows read for this chunk, valid or not


def _chunks(ctx: Context, stream: BinaryIO, batch_size: int) -> Iterator[_Chunk]:
    """Batches of valid rows with the rows refused while reading them. Refused rows alone are
    handed over every `batch_size`, so that a file of broken rows is not held in memory."""
    rows: list[tuple[int, HolderData]] = []
    errors: list[tuple[int, str]] = []
    read = 0
    for line, item in registrycsv.parsed_rows(stream, ctx.today):
        read += 1
        if isinstance(item, str):
            errors.append((line, item))
            if len(errors) >= batch_size:
                yield _Chunk([], errors, read)
                errors, read = [], 0
        else:
            rows.append((line, item))
            if len(rows) >= batch_size:
                yield _Chunk(rows, errors, read)
                rows, errors, read = [], [], 0
    if rows or errors or read:
        yield _Chunk(rows, errors, read)


def _count(summary: dict[str, Any], result: Outcomes) -> None:
    """Counted only once the batch is committed."""
    outcomes, failures = result
    for outcome in outcomes:
        summary[outcome] += 1
    for line, message in failures:
        _error(summary, line, message)


def _error(summary: dict[str, Any], line: int, message: str) -> None:
    summary["errors_total"] += 1
    if len(summary["errors"]) < MAX_ERRORS_LISTED:
        summary["errors"].append({"line": line, "message": message})


_Batch = Generator[None, None, Outcomes]


def _start(ctx: Context, batch: list[tuple[int, HolderData]], signer: TokenSigner,
           connection: Any) -> _Batch:
    """Begin writing a batch; `_finish` ends it. In between, its transaction stays open while
    the caller reads the next rows and the signer signs this batch's tokens."""
    writing = _write(ctx, batch, signer, connection)
    next(writing)
    return writing


def _finish(writing: _Batch) -> Outcomes:
    try:
        next(writing)
    except StopIteration as done:
        return done.value
    raise RuntimeError("a batch's writer yielded twice")


def _write(ctx: Context, batch: list[tuple[int, HolderData]], signer: TokenSigner,
           connection: Any) -> _Batch:
    """One transaction per batch, written in bulk; should that fail, the batch is redone row by
    row, each row in a SAVEPOINT, so a row that fails rolls back alone and is reported.
    Yields once: when all but the new credentials are written (their tokens being signed), or,
    redone row by row before getting there, once committed."""
    now = ctx.now()
    suspended = False
    with ctx.store.write(connection=connection) as session:
        try:
            with savepoint(session):
                pending = issuance.start_batch(ctx, session, batch, now=now, signer=signer)
                suspended = True
                yield
                result = pending.finish()
        except (SocpassError, Conflict):
            result = _commit_rows(ctx, session, batch, now)
    if not suspended:
        yield
    return result


def _commit_rows(ctx: Context, session: Session, batch: list[tuple[int, HolderData]],
                 now: datetime) -> Outcomes:
    outcomes: list[str] = []
    failures: list[tuple[int, str]] = []
    for line, hd in batch:
        try:
            with savepoint(session):
                outcomes.append(issuance.reconcile_one(ctx, session, hd, now=now))
        except SocpassError as err:
            failures.append((line, err.description))
    return outcomes, failures
