"""Signing key lifecycle: create or import, rotate, retire, withdraw, and the published JWKS.

Private keys exist in the database only as encrypted PKCS#8 PEM; the decrypted key lives in
this process's memory only. States:

    active     signs new credentials and status lists (exactly one, or none after a withdrawal)
    retired    signs nothing; published while credentials it signed are still live
    withdrawn  compromised: never published again, so its signatures stop verifying at once
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from issuer import linkkey
from issuer.errors import InvalidState, NoActiveKey
from issuer.storage import queries
from issuer.storage.engine import Session
from issuer.storage.models import SigningKey
from shared.errors import KeyError_
from shared.keys import (ALGORITHMS, PrivateKey, algorithm_for_key, generate_private_key,
                         kid_for, load_private_key_pem, private_key_to_pem, public_jwk)

ENCRYPTED_PEM_HEADER = "-----BEGIN ENCRYPTED PRIVATE KEY-----"
_ACTIVE_KEY = "socpass_active_key"


def check_algorithm(alg: str) -> str:
    if alg not in ALGORITHMS:
        raise KeyError_(f"алгоритм {alg!r} не поддерживается / unsupported algorithm; "
                        f"use {' or '.join(ALGORITHMS)}", code="unsupported_algorithm")
    return alg


def load_import_pem(pem: bytes, passphrase: bytes) -> PrivateKey:
    """A PKCS#8 PEM brought with `init --key`: clear, or encrypted with our passphrase."""
    try:
        return load_private_key_pem(pem, None)
    except KeyError_:
        return load_private_key_pem(pem, passphrase)


class Keyring:
    """Key operations inside the caller's session; decrypted keys are cached by kid."""

    def __init__(self, passphrase: Callable[[], bytes]) -> None:
        # Asked for only when a private key is written or read: listing keys needs no secret.
        self._passphrase = passphrase
        self._cache: dict[str, PrivateKey] = {}
        self._link_keys: dict[str, bytes] = {}  # sealed text -> opened link key
        self._lock = threading.Lock()

    def add(self, session: Session, *, now: datetime, alg: str | None = None,
            private_key: PrivateKey | None = None) -> SigningKey:
        """Store a new key as the active one (the caller retires the previous one first)."""
        key = private_key if private_key is not None else generate_private_key(check_algorithm(alg or "ES256"))
        alg = algorithm_for_key(key)
        kid = kid_for(key)
        if session.get(SigningKey, kid) is not None:
            raise KeyError_(f"ключ {kid} уже есть у издателя / this key is already in the keyring",
                            code="duplicate_key")
        pem = private_key_to_pem(key, self._passphrase()).decode("ascii")
        if not pem.startswith(ENCRYPTED_PEM_HEADER):  # refuse to ever store a clear key
            raise KeyError_("закрытый ключ не зашифрован / private key not encrypted")
        jwk = {**public_jwk(key), "kid": kid, "alg": alg, "use": "sig"}
        row = SigningKey(kid=kid, alg=alg, public_jwk=json.dumps(jwk, sort_keys=True),
                         private_pem_encrypted=pem, state="active", created_at=now)
        session.add(row)
        session.flush()
        session.info.pop(_ACTIVE_KEY, None)
        with self._lock:
            self._cache[kid] = key
        return row

    def rotate(self, session: Session, *, now: datetime, alg: str | None = None) -> tuple[SigningKey, SigningKey | None]:
        """A new active key; the previous active key becomes retired. Returns (new, old)."""
        old = queries.active_key(session)
        if old is not None:
            old = queries.get_key(session, old.kid, for_update=True)
            old.state, old.retired_at = "retired", now
            session.info.pop(_ACTIVE_KEY, None)
            session.flush()  # the one-active index must see the old key retired first
        new = self.add(session, now=now, alg=alg or (old.alg if old is not None else None))
        return new, old

    def retire(self, session: Session, kid: str, *, now: datetime) -> SigningKey:
        row = queries.get_key(session, kid, for_update=True)
        if row.state == "active":
            raise InvalidState(f"ключ {kid} активен: сначала выполните `keys rotate` "
                               "/ the key is active: run `keys rotate` first")
        if row.state == "withdrawn":
            raise InvalidState(f"ключ {kid} отозван как скомпрометированный / the key is withdrawn")
        if row.retired_at is None:
            row.retired_at = now
        return row

    def withdraw(self, session: Session, kid: str, *, now: datetime) -> SigningKey:
        row = queries.get_key(session, kid, for_update=True)
        if row.state != "withdrawn":
            row.state, row.withdrawn_at = "withdrawn", now
        session.info.pop(_ACTIVE_KEY, None)
        with self._lock:
            self._cache.pop(kid, None)
        return row

    def active(self, session: Session) -> tuple[SigningKey, PrivateKey]:
        """The signing key, looked up once per session (an import batch signs many rows)."""
        row = session.info.get(_ACTIVE_KEY)
        if row is None:
            row = queries.active_key(session)
            if row is None:
                raise NoActiveKey()
            session.info[_ACTIVE_KEY] = row
        return row, self.private_key(row)

    def private_key(self, row: SigningKey) -> PrivateKey:
        with self._lock:
            key = self._cache.get(row.kid)
        if key is None:
            try:
                key = load_private_key_pem(row.private_pem_encrypted.encode("ascii"), self._passphrase())
            except KeyError_ as err:
                raise KeyError_("не удалось расшифровать ключ подписи: неверный SOCPASS_KEY_PASSPHRASE? "
                                "/ cannot decrypt the signing key: wrong SOCPASS_KEY_PASSPHRASE?",
                                code="bad_passphrase") from err
            with self._lock:
                self._cache[row.kid] = key
        return key

    def link_key(self, session: Session, *, create: bool = True) -> bytes | None:
        """The citizens' link key (issuer.linkkey), made and sealed on first use.

        Cached by its sealed text, never by itself: a key made in a transaction that then rolls
        back is never used again, as the next session finds no sealed key and makes another.
        `create=False` (read transactions): None while no key exists, so no link exists either.
        """
        issuer = queries.require_issuer(session)
        sealed = issuer.link_key_sealed
        if sealed is None:
            if not create:
                return None
            key = linkkey.new_key()
            issuer.link_key_sealed = sealed = linkkey.seal(key, self._passphrase())
            session.flush()
        else:
            with self._lock:
                cached = self._link_keys.get(sealed)
            if cached is not None:
                return cached
            key = linkkey.unseal(sealed, self._passphrase())
        with self._lock:
            self._link_keys[sealed] = key
        return key

    @staticmethod
    def jwks(session: Session, *, now: datetime) -> dict[str, Any]:
        """Active key, plus retired keys that still have live (unexpired, unrevoked) credentials."""
        keys = [json.loads(row.public_jwk) for row in queries.signing_keys(session)
                if row.state == "active"
                or (row.state == "retired" and queries.has_live_credentials(session, row.kid, now))]
        return {"keys": keys}

    @staticmethod
    def describe(session: Session, *, now: datetime) -> list[dict[str, Any]]:
        live = queries.live_counts_by_kid(session, now)
        return [describe_key(row, live.get(row.kid, 0)) for row in queries.signing_keys(session)]


def describe_key(row: SigningKey, live_credentials: int) -> dict[str, Any]:
    published = row.state == "active" or (row.state == "retired" and live_credentials > 0)
    return {"kid": row.kid, "alg": row.alg, "state": row.state,
            "created_at": row.created_at.isoformat(),
            "retired_at": row.retired_at.isoformat() if row.retired_at else None,
            "withdrawn_at": row.withdrawn_at.isoformat() if row.withdrawn_at else None,
            "live_credentials": live_credentials, "published": published}
