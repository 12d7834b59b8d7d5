"""The scan log: every verdict without personal data, repeated use, statistics and retention."""
from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
import stat
import threading

import pytest

from shared.statuslist import REVOKED
from tests.verifier.fakeissuer import DAY, NOW, FakeIssuer
from verifier.scanlog import LOG_FILE, SECRET_FILE, Entry, ScanLog
from verifier.service import Verifier

# NOW is 2025-06-16 01:06:40 in Vladivostok (UTC+10)
MIDNIGHT = 1_750_082_400  # 2025-06-17 00:00:00 Asia/Vladivostok


@pytest.fixture
def make_log(settings):
    def _make(**changes) -> ScanLog:
        s = dataclasses.replace(settings, **changes)
        return ScanLog(s.cache_dir, timezone=s.timezone, window=s.recent_window,
                       keep_days=s.scanlog_days)
    return _make


@pytest.fixture
def logged(synced, settings, make_log):
    """verify(text, now, **settings changes) -> Result, through a Verifier with a scan log."""
    def _verify(text: str, now: int = NOW, **changes):
        s = dataclasses.replace(settings, **changes)
        log = make_log(**changes)
        return Verifier(synced, s, scanlog=log).verify_text(text, now)
    return _verify


def rows(settings) -> list[dict]:
    with sqlite3.connect(settings.cache_dir / LOG_FILE) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM scans ORDER BY id")]


def test_every_verdict_is_logged_without_personal_data(logged, issuer, settings):
    cred = issuer.credential()
    token = issuer.sign(cred)
    assert logged(issuer.qr(cred)).code == "valid"
    assert logged("garbage").code == "malformed"
    [accepted, refused] = rows(settings)
    assert accepted["verdict"] == "accept" and accepted["code"] == "valid"
    assert accepted["type"] == "large_family" and accepted["persons"] == 6
    assert accepted["profile"] == "museum" and accepted["via"] == "text"
    assert accepted["day"] == "2025-06-16" and accepted["at"] == NOW
    assert len(accepted["credential_hash"]) == 32
    assert refused["code"] == "malformed" and refused["type"] is None
    assert refused["credential_hash"] is None
    raw = b"".join(p.read_bytes() for p in settings.cache_dir.iterdir() if p.name.startswith("scanlog"))
    for secret in ("Иванова", "Мария", "1988-04-12", cred.jti, token.split(".")[2]):
        assert secret.encode() not in raw, secret


def test_files_are_private(logged, issuer, settings):
    logged(issuer.qr())
    for name in (LOG_FILE, SECRET_FILE):
        mode = stat.S_IMODE(os.stat(settings.cache_dir / name).st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert len((settings.cache_dir / SECRET_FILE).read_bytes()) == 32


def test_second_use_within_the_window_warns(logged, issuer):
    text = issuer.qr()
    first = logged(text)
    assert first.code == "valid" and first.warnings == ()
    second = logged(text, NOW + 180).to_json()
    assert second["verdict"] == "accept" and second["code"] == "valid"
    assert second["warnings"] == ["recently_used"]
    [note] = second["warning_messages"]
    assert note["code"] == "recently_used"
    assert "3 мин назад" in note["message"] and "(в 01:06)" in note["message"]
    assert "3 min ago" in note["message_en"]
    assert second["entitlement"]["persons"] == 6
    # another credential of the same family is not a repeated use
    assert logged(issuer.qr(), NOW + 200).warnings == ()


def test_second_use_after_the_window_is_clean(logged, issuer):
    text = issuer.qr()
    logged(text)
    assert logged(text, NOW + 601).warnings == ()


def test_window_counts_from_the_last_accepted_use(logged, issuer):
    text = issuer.qr()
    logged(text)
    logged(text, NOW + 500)
    assert logged(text, NOW + 1000).warnings == ("recently_used",)


def test_reject_policy_turns_a_second_use_into_not_entitled(logged, issuer):
    text = issuer.qr()
    assert logged(text, recent_policy="reject").accepted
    out = logged(text, NOW + 60, recent_policy="reject").to_json()
    assert out["verdict"] == "reject" and out["code"] == "not_entitled"
    assert out["warnings"] == ["recently_used"] and out["entitlement"] is None
    assert out["credential"]["holder"]["family_name"] == "Иванова"
    assert "уже использовано на этом устройстве 1 мин назад" in out["message"]
    assert "already used at this device 1 min ago" in out["message_en"]
    # A rejected attempt is no use: after the window from the accepted one, it admits again.
    assert logged(text, NOW + 601, recent_policy="reject").accepted


def test_rejected_scans_are_not_uses(build, issuer, settings, make_log):
    cred = issuer.credential()
    issuer.set_status(cred, REVOKED)
    v = build(issuer)
    v.scanlog = make_log()
    assert v.verify_text(issuer.qr(cred), NOW).code == "revoked"
    assert v.verify_text(issuer.qr(cred), NOW + 10).warnings == ()


def test_window_zero_keeps_no_hashes(logged, issuer, settings):
    text = issuer.qr()
    logged(text, recent_window=0)
    assert logged(text, NOW + 1, recent_window=0).warnings == ()
    assert all(r["credential_hash"] is None for r in rows(settings))


def test_the_salt_rotates_daily(make_log):
    log = make_log()
    today, tomorrow = log.day_of(MIDNIGHT - 1), log.day_of(MIDNIGHT)
    assert (today, tomorrow) == ("2025-06-16", "2025-06-17")
    assert log.credential_hash("RU-27", "jti1", today) != log.credential_hash("RU-27", "jti1", tomorrow)
    assert log.credential_hash("RU-27", "jti1", today) == log.credential_hash("RU-27", "jti1", today)
    assert log.credential_hash("RU-27", "jti1", today) != log.credential_hash("RU-25", "jti1", today)
    # another device (another secret) gives other hashes for the same credential and day
    other = ScanLog(log.directory.parent / "other", timezone="Asia/Vladivostok", window=600,
                    keep_days=10)
    assert other.credential_hash("RU-27", "jti1", today) != log.credential_hash("RU-27", "jti1", today)


def test_repeated_use_is_seen_across_midnight(logged, issuer):
    text = issuer.qr()
    logged(text, MIDNIGHT - 120)
    assert logged(text, MIDNIGHT + 120).warnings == ("recently_used",)


def test_hashes_are_forgotten_after_the_window(logged, issuer, settings):
    text = issuer.qr()
    logged(text)
    logged(issuer.qr(), NOW + 700)
    first, second = rows(settings)
    assert first["credential_hash"] is None and second["credential_hash"] is not None
    assert first["code"] == "valid"  # the count stays


def test_old_rows_are_deleted(logged, issuer, settings):
    logged(issuer.qr(), NOW - 5 * DAY, scanlog_days=3)
    logged(issuer.qr(), NOW, scanlog_days=3)
    assert [r["day"] for r in rows(settings)] == ["2025-06-16"]


def test_summary_and_report(logged, issuer, settings, make_log, build):
    logged(issuer.qr())
    logged(issuer.qr(category="disability_1"))
    logged(issuer.qr(category="disability_1"))
    text = issuer.qr(category="pensioner")
    logged(text)
    logged(text, NOW + 5)
    logged("garbage")
    summary = make_log().summary("2025-06-16")
    assert summary["totals"] == {"scans": 6, "accepted": 5, "accepted_with_warning": 1,
                                 "rejected": 1, "with_warning": 1, "persons": 6 + 2 + 2 + 1 + 1}
    assert summary["by_code"] == {"malformed": 1, "valid": 5}
    assert summary["by_warning"] == {"recently_used": 1}
    groups = {(g["type"], g["category"]): g for g in summary["by_category"]}
    assert groups[("beneficiary", "pensioner")]["accepted"] == 2  # the warned one included
    assert groups[("beneficiary", "pensioner")]["accepted_with_warning"] == 1
    assert groups[("beneficiary", "disability_1")]["persons"] == 4
    assert groups[(None, None)]["rejected"] == 1
    assert make_log().summary("2025-06-15")["totals"]["scans"] == 0
    report = make_log().report("2025-06-01", "2025-06-30")
    assert sum(r["scans"] for r in report) == 6
    pension = [r for r in report if r["category"] == "pensioner"]
    assert {r["warnings"] for r in pension} == {"", "recently_used"}


def test_a_broken_log_does_not_stop_verification(synced, settings, issuer, caplog):
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    (settings.cache_dir / LOG_FILE).write_bytes(b"this is not a database" * 100)
    log = ScanLog(settings.cache_dir, timezone="UTC", window=600, keep_days=10)
    with caplog.at_level(logging.ERROR, logger="socpass.verifier"):
        assert Verifier(synced, settings, scanlog=log).verify_text(issuer.qr(), NOW).code == "valid"
    assert "scan log unavailable" in caplog.text


def test_a_damaged_secret_is_refused_not_replaced(synced, settings, issuer, caplog):
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    (settings.cache_dir / SECRET_FILE).write_bytes(b"short")
    log = ScanLog(settings.cache_dir, timezone="UTC", window=600, keep_days=10)
    with caplog.at_level(logging.ERROR, logger="socpass.verifier"):
        assert Verifier(synced, settings, scanlog=log).verify_text(issuer.qr(), NOW).accepted
    assert "damaged" in caplog.text
    assert (settings.cache_dir / SECRET_FILE).read_bytes() == b"short"


@pytest.mark.parametrize("flush_every", [0.0, 3600.0], ids=["direct", "behind"])
def test_concurrent_uses_are_seen_once(synced, settings, issuer, flush_every):
    log = ScanLog(settings.cache_dir, timezone="UTC", window=600, keep_days=10,
                  flush_every=flush_every)
    rejecting = dataclasses.replace(settings, recent_policy="reject")
    text = issuer.qr()
    results = []

    def scan() -> None:
        results.append(Verifier(synced, rejecting, scanlog=log).verify_text(text, NOW).verdict)

    threads = [threading.Thread(target=scan) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["accept"] + ["reject"] * 5


def test_entry_is_plain_data():
    fields = {f.name for f in dataclasses.fields(Entry)}
    assert fields == {"at", "verdict", "code", "warnings", "type", "category", "persons",
                      "profile", "via"}


def test_other_issuer_same_jti_is_another_credential(build, settings, make_log):
    a = FakeIssuer()
    b = FakeIssuer(iss="RU-25-MSZN", url="https://szn.primorsky.example", region="25")
    v = build(a, b)
    v.scanlog = make_log()
    assert v.verify_text(a.qr(jti="same-jti-000001"), NOW).warnings == ()
    assert v.verify_text(b.qr(jti="same-jti-000001"), NOW + 1).warnings == ()
    assert v.verify_text(a.qr(jti="same-jti-000001"), NOW + 2).warnings == ("recently_used",)


# --- writing behind (the server's mode, SOCPASS_SCANLOG_FLUSH_MS) --------------------------------

@pytest.fixture
def behind(settings):
    """A scan log that writes behind; a long interval, so only flush() or a full queue writes."""
    def _make(flush_every: float = 3600.0) -> ScanLog:
        return ScanLog(settings.cache_dir, timezone="UTC", window=600, keep_days=10,
                       flush_every=flush_every)
    return _make


def test_behind_rows_are_written_by_flush_not_before(synced, settings, issuer, behind):
    log = behind()
    v = Verifier(synced, settings, scanlog=log)
    assert v.verify_text(issuer.qr(), NOW).code == "valid"
    assert v.verify_text("garbage", NOW).code == "malformed"
    assert rows(settings) == []  # queued, not yet in the file
    log.flush()
    assert [r["code"] for r in rows(settings)] == ["valid", "malformed"]
    log.flush()  # nothing queued: nothing written twice
    assert len(rows(settings)) == 2


def test_behind_the_writer_thread_writes_on_its_own(synced, settings, issuer, behind):
    import time as _time
    v = Verifier(synced, settings, scanlog=behind(0.02))
    v.verify_text(issuer.qr(), NOW)
    deadline = _time.monotonic() + 5
    while not rows(settings) and _time.monotonic() < deadline:
        _time.sleep(0.02)
    assert [r["code"] for r in rows(settings)] == ["valid"]


def test_behind_a_repeated_use_is_seen_before_it_is_written(synced, settings, issuer, behind):
    v = Verifier(synced, settings, scanlog=behind())
    text = issuer.qr()
    assert v.verify_text(text, NOW).warnings == ()
    assert v.verify_text(text, NOW + 5).warnings == ("recently_used",)
    v.scanlog.flush()
    # and after it is written, by another process's log (another worker of the same device)
    other = Verifier(synced, settings, scanlog=behind())
    assert other.verify_text(text, NOW + 10).warnings == ("recently_used",)


def test_behind_statistics_include_queued_rows(synced, settings, issuer, behind):
    log = behind()
    Verifier(synced, settings, scanlog=log).verify_text(issuer.qr(), NOW)
    assert log.summary(log.day_of(NOW))["totals"]["accepted"] == 1


def test_behind_a_failed_write_keeps_the_rows_for_a_retry(synced, settings, issuer, behind,
                                                          monkeypatch):
    from verifier.scanlog import ScanLogError
    log = behind()
    v = Verifier(synced, settings, scanlog=log)
    v.verify_text(issuer.qr(), NOW)
    real_write = ScanLog._write

    def full_disk(self, batch):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ScanLog, "_write", full_disk)
    with pytest.raises(ScanLogError):
        log.flush()
    v.verify_text("garbage", NOW + 1)
    monkeypatch.setattr(ScanLog, "_write", real_write)
    log.flush()
    assert [r["code"] for r in rows(settings)] == ["valid", "malformed"]


def test_behind_a_forked_worker_does_not_write_its_parents_queue(synced, settings, issuer, behind):
    log = behind()
    v = Verifier(synced, settings, scanlog=log)
    v.verify_text(issuer.qr(), NOW)  # queued in the parent
    pid = os.fork()
    if pid == 0:  # the child: its own queue, its own connection and writer thread
        code = 1
        try:
            v.verify_text("garbage", NOW + 1)
            log.flush()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert [r["code"] for r in rows(settings)] == ["malformed"]
    log.flush()
    assert sorted(r["code"] for r in rows(settings)) == ["malformed", "valid"]


def test_behind_old_hashes_are_still_forgotten(synced, settings, issuer, behind):
    log = behind()
    v = Verifier(synced, settings, scanlog=log)
    v.verify_text(issuer.qr(), NOW)
    log.flush()
    v.verify_text(issuer.qr(), NOW + 700)
    log.flush()
    first, second = rows(settings)
    assert first["credential_hash"] is None and second["credential_hash"] is not None


@pytest.mark.parametrize("zone", ["Asia/Vladivostok", "Europe/Berlin", "America/Havana",
                                  "America/Sao_Paulo"])
def test_days_and_clock_times_match_the_zone_across_clock_changes(tmp_path, zone):
    """The remembered day spans give what datetime gives, also on days that start at 01:00
    (Havana, Sao Paulo: clocks moved at midnight) or have 23 or 25 hours."""
    from datetime import datetime
    from zoneinfo import ZoneInfo
    log = ScanLog(tmp_path, timezone=zone, window=600, keep_days=10)
    tz = ZoneInfo(zone)
    for at in range(1_514_764_800, 1_577_836_800, 1800):  # 2018 and 2019, every 30 min
        local = datetime.fromtimestamp(at, tz)
        assert log.day_of(at) == local.date().isoformat()
        assert log.clock_time(at) == local.strftime("%H:%M")
