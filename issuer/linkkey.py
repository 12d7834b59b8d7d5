"""The citizens' links: the server key they are derived from, sealed at rest, and the derivation.

A link's secret is HMAC-SHA256(link key, registry_id, generation) cut to 128 bits, in base64url
(22 characters). Derived, not random, so that the ministry can hand the same link out again (a
letter reprinted, the state portal's bulk export) without ever storing it: the database keeps
only SHA-256(secret), the lookup key of `/w/<secret>`. A new generation of a registry entry's
link is a new, unrelated secret; the old one stops working because its row is revoked.

The link key is 32 random bytes made once per issuer and stored sealed like the signing keys,
with SOCPASS_KEY_PASSPHRASE: scrypt(passphrase, salt) -> AES-256-GCM. Whoever reads a database
dump without the passphrase can neither derive links nor reverse the stored hashes (128 bits).
"""
from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from shared.b64 import b64url_decode, b64url_encode
from shared.errors import KeyError_

KEY_BYTES = 32
SECRET_BYTES = 16  # 128 bits
SCHEME = "scrypt-aesgcm"
# scrypt cost: about 60 ms once per process (the opened key is cached). Kept in the sealed text,
# so it can be raised later without breaking keys sealed before.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1
_MAX_N = 1 << 20  # refuse a sealed text that would make opening it cost gigabytes
_AAD = b"socpass link key v1"
_DOMAIN = b"socpass wallet link v1"


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _kek(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def seal(key: bytes, passphrase: bytes) -> str:
    """`scrypt-aesgcm$n$r$p$salt$nonce$ciphertext` (base64url parts)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    box = AESGCM(_kek(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)).encrypt(nonce, key, _AAD)
    return "$".join([SCHEME, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     b64url_encode(salt), b64url_encode(nonce), b64url_encode(box)])


def unseal(sealed: str, passphrase: bytes) -> bytes:
    try:
        scheme, n, r, p, salt, nonce, box = sealed.split("$")
        n_, r_, p_ = int(n), int(r), int(p)
        if scheme != SCHEME or not 1 < n_ <= _MAX_N or not 0 < r_ <= 32 or not 0 < p_ <= 16:
            raise ValueError(scheme)
        key = AESGCM(_kek(passphrase, b64url_decode(salt), n_, r_, p_)).decrypt(
            b64url_decode(nonce), b64url_decode(box), _AAD)
    except InvalidTag as err:
        raise KeyError_("не удалось расшифровать ключ ссылок: неверный SOCPASS_KEY_PASSPHRASE? "
                        "/ cannot decrypt the link key: wrong SOCPASS_KEY_PASSPHRASE?",
                        code="bad_passphrase") from err
    except (ValueError, TypeError) as err:
        raise KeyError_("ключ ссылок повреждён / the link key is damaged",
                        code="bad_link_key") from err
    if len(key) != KEY_BYTES:
        raise KeyError_("ключ ссылок повреждён / the link key is damaged", code="bad_link_key")
    return key


def derive_secret(key: bytes, registry_id: str, generation: int) -> str:
    """The `<secret>` of `/w/<secret>` for this registry entry's link of this generation."""
    # Length-prefixed fields: no two (registry_id, generation) pairs give the same message.
    rid = registry_id.encode("utf-8")
    message = b"%s|%d|%s|%d" % (_DOMAIN, len(rid), rid, generation)
    return b64url_encode(hmac.digest(key, message, "sha256")[:SECRET_BYTES])


def secret_hash(secret: str) -> str:
    """What the database keeps of a link: its lookup key, useless for rebuilding the link."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
