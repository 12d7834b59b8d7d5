"""The import's second process for signing (issuer.signpool): the same tokens, claims and outcomes
as signing in-process, through failing batches, a signer that dies or cannot start, and a
process with threads (where the child is a fresh interpreter, not a fork)."""
from __future__ import annotations

import io
import json
import logging
import os
import signal
import sys
import threading

import pytest
from sqlalchemy import select, text

import issuer.signpool as signpool
from issuer.importer import import_csv
from issuer.service import IssuerService
from issuer.storage import queries
from issuer.storage.models import CredentialRow
from shared.credential import Credential, StatusRef
from shared.keys import StaticKeyResolver, VerificationKey, generate_private_key, kid_for
from shared.token import CREDENTIAL_TYP, verify

from tests.issuer.helpers import resolver_for
from tests.issuer.test_importer import counts, csv_bytes
from tests.issuer.test_importer_batch import assert_consistent, family, refuse_writing


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every batch big enough for the child signer; the kids it was started with."""
    monkeypatch.setattr(signpool, "MIN_PARALLEL", 1)
    started: list[str] = []
    real = signpool._Child.start

    def start(cls, key, kid):
        started.append(kid)
        return real(key, kid)

    monkeypatch.setattr(signpool._Child, "start", classmethod(start))
    return started


def do_import(service: IssuerService, rows: list[str], batch_size: int = 4) -> dict:
    return import_csv(service.ctx, io.BytesIO(csv_bytes(rows)), batch_size=batch_size)


def assert_tokens_match_rows(service: IssuerService) -> None:
    """Each stored token verifies with the issuer's published key and says exactly what its own
    row says, as a token signed in this process would: a token paired with the wrong row fails."""
    resolver = resolver_for(service)
    with service.store.read() as session:
        rows = list(session.scalars(select(CredentialRow)))
        uris = {sl.id: sl.uri for sl in queries.status_lists(session)}
        iss = queries.require_issuer(session).iss
    assert rows
    for row in rows:
        hd = service.validate(row.type, json.loads(row.data))
        expected = Credential(type=hd.type, holder=hd.holder, region=hd.region, issuer=iss,
                              issued_at=int(row.issued_at.timestamp()),
                              expires_at=int(row.expires_at.timestamp()), jti=row.id,
                              status=StatusRef(idx=row.status_idx, uri=uris[row.status_list_id]),
                              children=hd.children, category=hd.category).to_claims()
        verified = verify(row.token, resolver, typ=CREDENTIAL_TYP)
        assert verified.claims == expected
        assert verified.header["kid"] == row.kid


def _resolver(*keys) -> StaticKeyResolver:
    return StaticKeyResolver({"RU-27": [VerificationKey(iss="RU-27", kid=kid_for(k), alg="ES256",
                                                        key=k.public_key()) for k in keys]})


def test_tokens_signed_in_the_child_verify_and_match_their_rows(service: IssuerService,
                                                                starts: list[str]) -> None:
    rows = [family(f"LF-{i:03d}") for i in range(10)]
    summary = do_import(service, rows)
    assert counts(summary) == (10, 0, 0) and summary["errors"] == []
    assert len(starts) == 1  # one child for the whole import
    assert_tokens_match_rows(service)
    again = do_import(service, rows)
    assert counts(again) == (0, 0, 10) and again["errors"] == []
    changed = do_import(service, [family(f"LF-{i:03d}", children=5) for i in range(10)])
    assert counts(changed) == (0, 10, 0)
    assert_tokens_match_rows(service)
    assert_consistent(service)


def test_the_child_and_this_process_sign_the_same_claims() -> None:
    key = generate_private_key()
    claims = [{"iss": "RU-27", "iat": 1, "exp": 2, "jti": f"jti-{i:04d}", "h": {"f": "Иванова"}}
              for i in range(5)]
    with signpool.TokenSigner(min_parallel=1) as signer:
        in_child = signer.submit(claims, key, kid_for(key))()
        assert signer.parallel
    here = signpool.TokenSigner(min_parallel=10).submit(claims, key, kid_for(key))()
    resolver = _resolver(key)
    for a, b, c in zip(in_child, here, claims, strict=True):
        assert verify(a, resolver, typ=CREDENTIAL_TYP).claims == c
        assert verify(b, resolver, typ=CREDENTIAL_TYP).claims == c
        assert a.split(".")[:2] == b.split(".")[:2]  # header and payload: the same bytes


def test_tokens_left_uncollected_are_dropped_and_a_new_key_gets_a_new_child(starts: list[str]) -> None:
    first, second = generate_private_key(), generate_private_key()
    claims = [{"iss": "RU-27", "iat": 1, "exp": 2, "jti": f"jti-{i:04d}"} for i in range(3)]
    other = [dict(c, jti=c["jti"] + "-b") for c in claims]
    with signpool.TokenSigner() as signer:
        signer.submit(claims, first, kid_for(first))  # its batch failed: never collected
        tokens = signer.submit(other, first, kid_for(first))()
        assert [verify(t, _resolver(first), typ=CREDENTIAL_TYP).claims for t in tokens] == other
        rotated = signer.submit(claims, second, kid_for(second))()
        assert [verify(t, _resolver(second), typ=CREDENTIAL_TYP).claims for t in rotated] == claims
    assert starts == [kid_for(first), kid_for(second)]


def test_a_batch_failing_after_its_tokens_were_sent_is_redone_and_the_next_gets_its_own(
        service: IssuerService, starts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The failing batch's tokens are left in the pipe: the next batch must not get them."""
    refuse_writing(monkeypatch)
    rows = [family(f"LF-{i}") for i in range(12)]
    rows[5] = family("LF-5", name="Сломанова")  # line 7, in the second batch of four
    summary = do_import(service, rows)
    assert counts(summary) == (11, 0, 0)
    assert summary["errors"] == [{"line": 7, "message": "строка не записана / the row could not be written"}]
    assert len(starts) == 1
    assert_tokens_match_rows(service)
    assert_consistent(service)


def test_errors_are_listed_in_the_order_of_the_file(service: IssuerService, starts: list[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch's write failures come before the reading errors of the rows after it, though
    those rows are read while the batch is still being written."""
    refuse_writing(monkeypatch, message="не записана / not written")
    rows = [family("LF-1"), family("LF-2", name="Сломанова"),
            family("LF-3", valid_until="bad"), family("LF-4"), family("LF-5", name="Сломанова"),
            family("LF-6", valid_until="bad")]
    seen: list[int] = []
    summary = import_csv(service.ctx, io.BytesIO(csv_bytes(rows)), batch_size=2, progress=seen.append)
    assert [e["line"] for e in summary["errors"]] == [3, 4, 6, 7]
    assert counts(summary) == (2, 0, 0) and summary["errors_total"] == 4
    assert seen == [2, 5, 6]  # rows read when each full batch was committed, then the total


def test_rows_read_before_a_failing_stream_still_land(service: IssuerService, starts: list[str]) -> None:
    """The stream breaks while the next batch is read (and the one before is being signed):
    that one lands all the same, as when each batch was written before reading on."""
    class Broken(io.RawIOBase):
        def __init__(self, data: bytes, fail_after: int) -> None:
            self._buf = io.BytesIO(data)
            self._left = fail_after

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:  # type: ignore[override]
            if self._left <= 0:
                raise OSError("the upload broke off")
            chunk = self._buf.read(min(len(b), self._left, 4096))
            self._left -= len(chunk)
            b[:len(chunk)] = chunk
            return len(chunk)

    rows = [family(f"LF-{i:04d}") for i in range(2000)]
    fail_after = len(csv_bytes(rows[:1200])) - 40  # in the middle of the third batch
    with pytest.raises(OSError):
        import_csv(service.ctx, Broken(csv_bytes(rows), fail_after), batch_size=500)  # type: ignore[arg-type]
    with service.store.read() as session:
        landed = set(session.scalars(select(CredentialRow.registry_id)))
    assert landed == {f"LF-{i:04d}" for i in range(1000)}
    assert_consistent(service)


def test_a_signer_that_dies_is_replaced_by_signing_here(service: IssuerService, starts: list[str],
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    real_send = signpool._Child.send

    def send_then_die(self, claims):
        real_send(self, claims)
        os.kill(self.process.pid, signal.SIGKILL)

    monkeypatch.setattr(signpool._Child, "send", send_then_die)
    with caplog.at_level(logging.WARNING, logger="socpass.issuer"):
        summary = do_import(service, [family(f"LF-{i}") for i in range(10)])
    assert counts(summary) == (10, 0, 0) and summary["errors"] == []
    assert len(starts) == 1  # not restarted
    assert any("signing the rest of the import in this process" in r.message for r in caplog.records)
    assert_tokens_match_rows(service)
    assert_consistent(service)


def test_a_signer_that_cannot_start_leaves_signing_here(service: IssuerService,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signpool, "MIN_PARALLEL", 1)
    attempts: list[str] = []

    def cannot(cls, key, kid):
        attempts.append(kid)
        raise OSError("no fork here")

    monkeypatch.setattr(signpool._Child, "start", classmethod(cannot))
    summary = do_import(service, [family(f"LF-{i}") for i in range(10)])
    assert counts(summary) == (10, 0, 0)
    assert len(attempts) == 1  # tried once, then signed here
    assert_tokens_match_rows(service)


@pytest.fixture
def methods(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The start methods asked of multiprocessing ("fork", "spawn"), in order."""
    asked: list[str] = []
    real_context = signpool.multiprocessing.get_context

    def get_context(method):
        asked.append(method)
        return real_context(method)

    monkeypatch.setattr(signpool.multiprocessing, "get_context", get_context)
    return asked


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_without_threads_the_child_is_a_fork(service: IssuerService, starts: list[str],
                                             methods: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Other tests of this session leave idle threads behind (a scan log's writer): counted as
    # none here, as in a CLI import. The child only signs; it takes none of their locks.
    monkeypatch.setattr(signpool.threading, "active_count", lambda: 1)
    summary = do_import(service, [family(f"LF-{i}") for i in range(6)])
    assert counts(summary) == (6, 0, 0)
    assert methods == ["fork"] and len(starts) == 1
    assert_tokens_match_rows(service)


def test_with_threads_running_the_child_is_a_fresh_interpreter(service: IssuerService, starts: list[str],
                                                               methods: list[str]) -> None:
    """A fork of a process with threads may inherit their locks held: the child is spawned, and
    gets the key over its pipe."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        summary = do_import(service, [family(f"LF-{i}") for i in range(6)])
    finally:
        stop.set()
        other.join()
    assert counts(summary) == (6, 0, 0)
    assert methods == ["spawn"] and len(starts) == 1
    assert_tokens_match_rows(service)


def test_small_imports_are_signed_here(service: IssuerService, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(cls, key, kid):
        raise AssertionError("a child was started for a few rows")

    monkeypatch.setattr(signpool._Child, "start", classmethod(refuse))
    summary = do_import(service, [family(f"LF-{i}") for i in range(5)], batch_size=1000)
    assert counts(summary) == (5, 0, 0)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL has no such cache
def test_the_sqlite_page_cache_is_given_back_after_an_import(service: IssuerService,
                                                             starts: list[str]) -> None:
    with service.store.engine.connect() as conn:
        before = conn.execute(text("PRAGMA cache_size")).scalar()
    do_import(service, [family(f"LF-{i}") for i in range(6)])
    with service.store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA cache_size")).scalar() == before
