"""Background jobs: a registry import runs outside the request that uploaded it.

The upload is saved under SOCPASS_HOME/uploads (mode 0600) and a `jobs` row is queued; a
`JobRunner` thread in every serving process (or `socpass-issuer worker`) claims queued jobs with
an atomic UPDATE, so two workers never run the same one. Progress (bytes read of the file, rows
done) is written to the row as the import goes, and the console polls it. A job whose process
died is noticed by its stale heartbeat and queued again (imports are idempotent). The uploaded
file is deleted when the job ends.
"""
from __future__ import annotations

import io
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from issuer import importer
from issuer.context import Context
from issuer.errors import NotFound
from issuer.storage import jobs as job_queries
from issuer.storage.models import Job
from shared.errors import InputError, SocpassError
from shared.files import create_private

log = logging.getLogger("socpass.issuer.jobs")
STALE_AFTER = timedelta(minutes=2)
PROGRESS_EVERY = 0.5  # seconds between progress writes


class CountingReader(io.RawIOBase):
    """Counts the bytes read from a binary file (the import's progress by file size)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


class Jobs:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def upload_dir(self) -> Path:
        return self.ctx.settings.home / "uploads"

    def submit_import(self, stream: BinaryIO, file_name: str) -> str:
        """Save the upload and queue its import; returns the job id."""
        job_id = secrets.token_hex(12)
        self.upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.upload_dir / f"{job_id}.csv"
        limit = self.ctx.settings.max_upload
        size = 0

        def chunks() -> Iterator[bytes]:
            nonlocal size
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise InputError(f"файл больше {limit} байт / the file exceeds {limit} bytes",
                                     code="too_large")
                yield chunk

        # Personal data: the owner's only. Outside the try: were the name taken, the file would
        # be another job's, not ours to remove.
        create_private(path, chunks())
        try:
            if size == 0:
                raise InputError("файл пуст / the file is empty", code="invalid_csv")
            now = self.ctx.now()
            with self.ctx.store.write() as session:
                session.add(Job(id=job_id, kind="import", state="queued",
                                file_name=Path(file_name or "registry.csv").name[:256],
                                path=str(path), size=size, bytes_done=0, rows_done=0,
                                created_by=self.ctx.actor, created_at=now))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return job_id

    def get(self, job_id: str) -> dict[str, Any]:
        with self.ctx.store.read() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise NotFound("задание не найдено / job not found", code="job_not_found")
            return self._describe(job)

    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        with self.ctx.store.read() as session:
            return [self._describe(j) for j in job_queries.recent(session, limit)]

    def _describe(self, job: Job) -> dict[str, Any]:
        done = job.state == "done"
        percent = 100.0 if done else (100.0 * job.bytes_done / job.size if job.size else 0.0)
        estimate = None
        if done:
            estimate = job.rows_done
        elif job.bytes_done > 0 and job.rows_done > 0:
            estimate = max(job.rows_done, round(job.rows_done * job.size / job.bytes_done))
        return {"id": job.id, "state": job.state,
                "file_name": job.file_name, "size": job.size,
                "percent": round(min(percent, 100.0), 1), "rows_done": job.rows_done,
                "rows_estimate": estimate, "created_by": job.created_by,
                "created_at": job.created_at.astimezone(self.ctx.tz).isoformat(),
                "finished": job.state in ("done", "failed"),
                "result": json.loads(job.result) if job.result else None, "error": job.error}

    # --- running ---------------------------------------------------------------------------------

    def requeue_stale(self) -> int:
        """Jobs whose worker stopped beating (a killed process) go back to the queue."""
        cutoff = self.ctx.now() - STALE_AFTER
        with self.ctx.store.write() as session:
            return job_queries.requeue_stale(session, cutoff)

    def claim_next(self) -> str | None:
        with self.ctx.store.write() as session:
            job_id = job_queries.oldest_queued(session)
            if job_id is None:
                return None
            return job_id if job_queries.claim(session, job_id, self.ctx.now()) else None

    def run_pending(self) -> int:
        """Run queued jobs until none is left (tests, `worker --once`); returns how many ran."""
        ran = 0
        while (job_id := self.claim_next()) is not None:
            self.run(job_id)
            ran += 1
        return ran

    def run(self, job_id: str) -> None:
        with self.ctx.store.read() as session:
            job = session.get(Job, job_id)
            if job is None:
                return
            path, size, actor, file_name = Path(job.path), job.size, job.created_by, job.file_name
        last = [0.0]

        def beat(reader: CountingReader, rows: int, force: bool = False) -> None:
            now_mono = time.monotonic()
            if not force and now_mono - last[0] < PROGRESS_EVERY:
                return
            last[0] = now_mono
            with self.ctx.store.write() as session:
                job_queries.set_values(session, job_id, bytes_done=min(reader.count, size),
                                       rows_done=rows, heartbeat_at=self.ctx.now())

        state, result, error = "failed", None, None
        try:
            with open(path, "rb") as raw:
                reader = CountingReader(raw)
                summary = importer.import_registry(
                    self.ctx.acting_as(actor), reader, progress=lambda rows: beat(reader, rows),
                    file_name=file_name)
            state, result = "done", summary
        except SocpassError as err:  # the import has put it in the audit log
            error = err.description
        except OSError as err:
            error = f"файл загрузки недоступен / the uploaded file is gone: {err.strerror}"
            importer.record_failed_import(self.ctx.acting_as(actor), file_name, "file_gone", error)
        except Exception as err:  # noqa: BLE001 - a job must end in a state, never hang "running"
            log.error("import job %s failed: %s", job_id, type(err).__name__)
            log.debug("import job failed", exc_info=err)
            error = "внутренняя ошибка / internal error"
            importer.record_failed_import(self.ctx.acting_as(actor), file_name, "internal_error",
                                          error)
        finally:
            path.unlink(missing_ok=True)
        with self.ctx.store.write() as session:
            values: dict[str, Any] = {"state": state, "finished_at": self.ctx.now(),
                                      "heartbeat_at": self.ctx.now(), "error": error}
            if result is not None:
                values.update(result=json.dumps(result, ensure_ascii=False), rows_done=result["rows"],
                              bytes_done=size)
            job_queries.set_values(session, job_id, **values)


class HasJobs(Protocol):
    """What a runner is given (the IssuerService): where the jobs' use cases come from."""

    @property
    def jobs(self) -> Jobs: ...


class JobRunner(threading.Thread):
    """Runs queued jobs in the background of a serving process."""

    def __init__(self, owner: HasJobs, poll: float = 1.0) -> None:
        super().__init__(name="socpass-jobs", daemon=True)
        self.jobs = owner.jobs
        self.poll = poll
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        last_sweep = 0.0
        while not self.stopping.is_set():
            try:
                if time.monotonic() - last_sweep > 30:
                    self.jobs.requeue_stale()
                    last_sweep = time.monotonic()
                while not self.stopping.is_set() and (job_id := self.jobs.claim_next()) is not None:
                    self.jobs.run(job_id)
            except Exception as err:  # noqa: BLE001 - the database may be down for a moment
                log.error("job runner: %s", type(err).__name__)
            self.wake.wait(self.poll)
            self.wake.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
