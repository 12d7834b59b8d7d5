"""The scan log's pseudonyms: a credential's id as a hash that links scans on one day at this
device only.

The hash is HMAC-SHA256(day salt, iss NUL jti), the day salt HMAC-SHA256(device secret, day),
the device secret 32 random bytes in `scanlog.secret` (0600) made on first use. Nobody without
the device's secret can test a known credential against the log.
"""
from __future__ import annotations

import hmac
import os
from pathlib import Path

from shared.files import create_private
from verifier.scanentry import ScanLogError

SECRET_FILE = "scanlog.secret"
SECRET_BYTES = 32


class Pseudonyms:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._secret: bytes | None = None
        self._salts: dict[str, bytes] = {}  # day -> salt, for the days a scan now touches
        self._last_hash: tuple[tuple[str, str, str], str] | None = None

    def _device_secret(self) -> bytes:
        if self._secret is None:
            path = self.directory / SECRET_FILE
            try:
                secret = path.read_bytes()
            except FileNotFoundError:
                self.directory.mkdir(parents=True, exist_ok=True)
                try:
                    create_private(path, os.urandom(SECRET_BYTES))
                except FileExistsError:  # another process made it first: use theirs
                    pass
                secret = path.read_bytes()
            if len(secret) != SECRET_BYTES:
                raise ScanLogError(f"{path}: damaged (expected {SECRET_BYTES} bytes)")
            self._secret = secret
        return self._secret

    def day_salt(self, day: str) -> bytes:
        salts = self._salts
        salt = salts.get(day)
        if salt is None:
            salt = hmac.digest(self._device_secret(), b"socpass-scanlog-day:" + day.encode(),
                               "sha256")
            if len(salts) >= 4:  # today, yesterday, and a day either side across midnight
                salts.clear()
            salts[day] = salt
        return salt

    def credential_hash(self, iss: str, jti: str, day: str) -> str:
        key = (iss, jti, day)
        last = self._last_hash
        if last is not None and last[0] == key:  # looked up, then recorded: one HMAC
            return last[1]
        message = iss.encode("utf-8") + b"\0" + jti.encode("utf-8")
        digest = hmac.digest(self.day_salt(day), message, "sha256").hex()[:32]
        self._last_hash = (key, digest)
        return digest
