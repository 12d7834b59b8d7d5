"""Registry import as a background job: upload, poll, report; the file is deleted afterwards."""
from __future__ import annotations

import io
import time
from datetime import timedelta

from issuer.jobs import CountingReader, JobRunner
from issuer.service import IssuerService
from tests.issuer.web import csrf_from, text

HEADER = "type;registry_id;family_name;given_name;patronymic;birth_date;children;category;region;valid_until\n"
GOOD = "large_family;KHV-LF-{n:06d};Иванова;Мария;Петровна;12.04.1988;4;;27;31.05.2030\n"
BROKEN = ("large_family;KHV-LF-BAD1;Иванова;Мария;;12.04.1988;2;;27;31.05.2030\n"
          "beneficiary;KHV-B-BAD2;Петров;Сергей;;01.02.1956;;nobody;27;31.12.2030\n")


def registry_csv(rows: int = 3, broken: bool = True, encoding: str = "utf-8") -> bytes:
    body = HEADER + "".join(GOOD.format(n=n) for n in range(rows)) + (BROKEN if broken else "")
    return body.encode(encoding)


def upload(client, content: bytes, name: str = "реестр.csv"):
    token = csrf_from(text(client.get("/admin/import")))
    return client.post("/admin/import", data={"csrf_token": token, "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def test_upload_queues_a_job_and_the_report_lists_broken_rows(login, service: IssuerService) -> None:
    client = login("olga")
    response = upload(client, registry_csv(encoding="cp1251"))
    assert response.status_code == 302
    job_url = response.headers["Location"]
    queued = client.get(job_url, headers={"Accept": "application/json"}).get_json()
    assert queued["state"] == "queued" and queued["finished"] is False and queued["percent"] == 0
    assert list((service.settings.home / "uploads").iterdir())  # saved until the job runs
    page = text(client.get(job_url))
    assert "<progress" in page and "job.js" in page
    assert service.jobs.run_pending() == 1
    done = client.get(job_url + "?format=json").get_json()
    assert done["state"] == "done" and done["percent"] == 100
    assert done["result"]["issued"] == 3 and done["result"]["errors_total"] == 2
    assert [e["line"] for e in done["result"]["errors"]] == [5, 6]
    report = text(client.get(job_url))
    assert "отклонено" in report and "число детей" in report and "категория" in report
    assert not list((service.settings.home / "uploads").iterdir())  # deleted after the job
    imports = [e for e in service.audit.events() if e["action"] == "import"]
    assert imports[0]["actor"] == "user:olga" and imports[0]["detail"]["rejected"] == 2
    issues = [e for e in service.audit.events() if e["action"] == "issue"]
    assert {e["actor"] for e in issues} == {"user:olga"}


def test_second_import_is_unchanged(login, service: IssuerService, clock) -> None:
    client = login("olga")
    for _ in range(2):
        upload(client, registry_csv(broken=False))
        service.jobs.run_pending()
        clock.advance(seconds=1)
    result = service.jobs.recent()[0]["result"]
    assert (result["issued"], result["unchanged"], result["errors_total"]) == (0, 3, 0)


def test_a_file_without_the_right_header_fails_the_job(login, service: IssuerService) -> None:
    client = login("olga")
    upload(client, b"name;age\n1;2\n")
    service.jobs.run_pending()
    job = service.jobs.recent()[0]
    assert job["state"] == "failed" and "это не CSV-файл реестра" in job["error"]


def test_auditor_sees_reports_but_cannot_upload(login, service: IssuerService) -> None:
    client = login("anna")
    page = text(client.get("/admin/import"))
    assert 'type="file"' not in page
    assert upload(client, registry_csv()).status_code == 403


def test_a_job_left_running_by_a_dead_process_is_queued_again(service: IssuerService, clock) -> None:
    job_id = service.acting_as("user:olga").jobs.submit_import(io.BytesIO(registry_csv(broken=False)), "r.csv")
    assert service.jobs.claim_next() == job_id  # then the process "dies"
    assert service.jobs.claim_next() is None
    clock.advance(minutes=3)
    assert service.jobs.requeue_stale() == 1
    assert service.jobs.run_pending() == 1
    assert service.jobs.get(job_id)["result"]["issued"] == 3


def test_the_runner_thread_runs_jobs(service: IssuerService) -> None:
    runner = JobRunner(service, poll=0.05)
    runner.start()
    try:
        job_id = service.jobs.submit_import(io.BytesIO(registry_csv(rows=1, broken=False)), "r.csv")
        runner.wake.set()
        deadline = time.monotonic() + 20
        while not service.jobs.get(job_id)["finished"]:
            assert time.monotonic() < deadline, "the runner did not finish the job"
            time.sleep(0.05)
    finally:
        runner.stop()
        runner.join(10)
    assert service.jobs.get(job_id)["state"] == "done"


def test_progress_is_estimated_from_the_bytes_read(service: IssuerService, monkeypatch) -> None:
    import issuer.importer
    import issuer.jobs

    monkeypatch.setattr(issuer.importer, "BATCH_SIZE", 10)
    monkeypatch.setattr(issuer.jobs, "PROGRESS_EVERY", 0)
    seen: list[dict] = []
    original = issuer.importer._finish  # returns once a batch is committed

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        seen.append(service.jobs.recent()[0])
        return result

    monkeypatch.setattr(issuer.importer, "_finish", spy)
    content = registry_csv(rows=40, broken=False)
    service.jobs.submit_import(io.BytesIO(content), "r.csv")
    service.jobs.run_pending()
    running = [s for s in seen if s["state"] == "running" and s["rows_done"]]
    assert running, "no progress was written while the job ran"
    assert all(0 < s["percent"] <= 100 and s["rows_estimate"] >= s["rows_done"] for s in running)


def test_counting_reader_counts() -> None:
    reader = CountingReader(io.BytesIO(b"x" * 1000))
    buffered = io.BufferedReader(reader, buffer_size=100)
    assert len(buffered.read()) == 1000 and reader.count == 1000


def test_timedelta_sanity() -> None:
    from issuer.jobs import STALE_AFTER

    assert STALE_AFTER >= timedelta(minutes=1)
