"""Signing an import's tokens in a second process, so that one core signs while the other reads
the file and writes the database (signing was a quarter of a 435,000-row import, all on one core).

`TokenSigner.submit(claims, key, kid)` hands a batch's claims over and returns at once a function
that waits for the tokens, called once the caller has done what does not need them (links, audit
events, reading the next batch). One batch is in flight at a time. The tokens are
`shared.token.sign`'s, the same call as in-process signing.

The child gets the private key when it starts and never again: through fork, the key object
itself (nothing serialised); where fork is not used (this process runs threads, whose locks a
forked child could inherit held; a platform other than Linux), as unencrypted PKCS#8 over the
pipe to a fresh interpreter. Never through a file, never logged. A child that cannot be started,
or dies, is not retried: that batch and the rest are signed here, as without this module.
Small batches are signed here too: starting a child costs more than signing a few tokens.
"""
from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from cryptography.hazmat.primitives import serialization

from shared.keys import PrivateKey
from shared.token import CREDENTIAL_TYP, sign

log = logging.getLogger("socpass.issuer")

MIN_PARALLEL = 200  # tokens in a batch before a child is worth starting
_POLL_SECONDS = 0.5
_STOP_SECONDS = 5.0


class SignerGone(Exception):
    """The child signer exited or its pipe broke: sign here instead."""


class TokenSigner:
    """Signs batches of credential claims with the issuer's active key, in a child when it can.

    Use as a context manager (the child is stopped at exit). Not thread-safe: one import owns it.
    """

    def __init__(self, *, min_parallel: int | None = None) -> None:
        self.min_parallel = MIN_PARALLEL if min_parallel is None else min_parallel
        self._child: _Child | None = None
        self._disabled = False
        self._in_flight = False

    def __enter__(self) -> "TokenSigner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def parallel(self) -> bool:
        """A child signer is running (for tests and the benchmark)."""
        return self._child is not None

    def submit(self, claims: list[dict[str, Any]], key: PrivateKey, kid: str) -> Callable[[], list[str]]:
        """Start signing `claims`; the returned function waits for the tokens, in order."""
        self._drain()
        child = self._child_for(key, kid, len(claims))
        if child is not None:
            try:
                child.send(claims)
                self._in_flight = True
                return lambda: self._collect(child, claims, key, kid)
            except SignerGone:
                self._lost(child)
        tokens = _sign_all(claims, key, kid)
        return lambda: tokens

    def close(self) -> None:
        child, self._child = self._child, None
        self._in_flight = False
        if child is not None:
            child.stop()

    def _collect(self, child: "_Child", claims: list[dict[str, Any]], key: PrivateKey,
                 kid: str) -> list[str]:
        if not self._in_flight or child is not self._child:
            raise RuntimeError("tokens collected twice, or after the signer moved on")
        self._in_flight = False
        try:
            return child.receive(len(claims))
        except SignerGone:
            self._lost(child)
            return _sign_all(claims, key, kid)

    def _drain(self) -> None:
        """A batch that failed after submitting left its tokens in the pipe: read and drop them."""
        if self._in_flight and self._child is not None:
            self._in_flight = False
            try:
                self._child.receive(None)
            except SignerGone:
                self._lost(self._child)
            except Exception:  # noqa: BLE001 - that batch was redone without these tokens
                pass

    def _child_for(self, key: PrivateKey, kid: str, count: int) -> "_Child | None":
        if self._child is not None and self._child.kid != kid:
            self.close()  # the active key changed during the import (a rotation)
        if self._child is None and not self._disabled and count >= self.min_parallel:
            try:
                self._child = _Child.start(key, kid)
            except Exception as err:  # noqa: BLE001 - any failure to start means: sign here
                self._disabled = True
                log.warning("parallel signing unavailable, signing in this process: %s",
                            type(err).__name__)
        return self._child

    def _lost(self, child: "_Child") -> None:
        log.warning("the signing process exited; signing the rest of the import in this process")
        self._disabled = True
        self._in_flight = False
        if self._child is child:
            self._child = None
        child.stop()


def _sign_all(claims: list[dict[str, Any]], key: PrivateKey, kid: str) -> list[str]:
    return [sign(c, key, kid, CREDENTIAL_TYP) for c in claims]


class _Child:
    def __init__(self, process: Any, conn: Connection, kid: str) -> None:
        self.process = process
        self.conn = conn
        self.kid = kid

    @classmethod
    def start(cls, key: PrivateKey, kid: str) -> "_Child":
        # Fork only on Linux: macOS's system libraries are not fork-safe (Python spawns there).
        forking = (sys.platform.startswith("linux") and threading.active_count() == 1
                   and "fork" in multiprocessing.get_all_start_methods())
        ctx = multiprocessing.get_context("fork" if forking else "spawn")
        parent_end, child_end = ctx.Pipe(duplex=True)
        if forking:
            # The key object is inherited, not serialised; so is our end of the pipe, which the
            # child closes, or it would never see EOF should this process die.
            args: tuple[Any, ...] = (child_end, key, kid, parent_end)
        else:
            der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            args = (child_end, der, kid, None)
        process = ctx.Process(target=_serve, args=args, name="socpass-signer", daemon=True)
        try:
            process.start()
        finally:
            child_end.close()  # the child's end lives in the child only: EOF when it exits
        return cls(process, parent_end, kid)

    def send(self, claims: list[dict[str, Any]]) -> None:
        try:
            self.conn.send(claims)
        except (OSError, EOFError, ValueError) as err:
            raise SignerGone() from err

    def receive(self, count: int | None) -> list[str]:
        try:
            while not self.conn.poll(_POLL_SECONDS):
                if not self.process.is_alive():
                    raise SignerGone()
            status, value = self.conn.recv()
        except (OSError, EOFError, ValueError) as err:
            raise SignerGone() from err
        if status != "ok":
            raise value
        if count is not None and len(value) != count:
            raise SignerGone()
        return value

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, EOFError, ValueError):
            pass
        self.conn.close()
        self.process.join(_STOP_SECONDS)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(_STOP_SECONDS)


def _serve(conn: Connection, material: Any, kid: str, parents_end: Connection | None) -> None:
    """The child: sign each list of claims received, until None or the pipe closes."""
    # Ctrl-C at a terminal reaches the whole process group: the parent decides, and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parents_end is not None:
        parents_end.close()
    if isinstance(material, bytes):
        key = serialization.load_der_private_key(material, password=None)
        del material
    else:
        key = material
    while True:
        try:
            claims = conn.recv()
        except (EOFError, OSError):
            return
        if claims is None:
            return
        try:
            reply: tuple[str, Any] = ("ok", _sign_all(claims, key, kid))  # type: ignore[arg-type]
        except Exception as err:  # noqa: BLE001 - handed to the parent, which raises it
            reply = ("error", err)
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return
        except Exception:  # noqa: BLE001 - an error that cannot be pickled: its name, then
            conn.send(("error", RuntimeError(f"signing failed: {type(reply[1]).__name__}")))
