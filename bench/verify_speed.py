"""Figure 1: full offline verification of one QR text against raw ECDSA verify, one core.

Both are timed in the same run, interleaved in rounds, and reported as a ratio of medians, so
the noise of a shared 2-core machine cancels out as far as it can.
"""
from __future__ import annotations

import statistics
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from shared import keys, qrtext, token
from shared.b64 import b64url_decode
from shared.credential import Credential
from shared.statuslist import StatusList
from tests.vectors.reference import REFERENCE_LARGE_FAMILY


def _per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main(quick: bool = False) -> dict[str, float]:
    key = keys.generate_private_key("ES256")
    kid = keys.kid_for(key)
    resolver = keys.StaticKeyResolver({"RU-27": [keys.VerificationKey("RU-27", kid, "ES256", key.public_key())]})
    tok = token.sign(REFERENCE_LARGE_FAMILY.to_claims(), key, kid, token.CREDENTIAL_TYP)
    text = qrtext.encode(tok)
    status = StatusList(1 << 20, 2)
    now = REFERENCE_LARGE_FAMILY.issued_at + 1000

    signing_input, sig_b64 = tok.rsplit(".", 1)
    raw_sig = b64url_decode(sig_b64)
    der = encode_dss_signature(int.from_bytes(raw_sig[:32], "big"), int.from_bytes(raw_sig[32:], "big"))
    pub = key.public_key()
    msg = signing_input.encode()

    def raw() -> None:
        pub.verify(der, msg, ec.ECDSA(hashes.SHA256()))

    def full() -> None:
        v = token.verify(qrtext.parse(text), resolver, typ=token.CREDENTIAL_TYP)
        cred = Credential.from_claims(v.claims)
        token.check_times(v.claims, now, 60)
        assert status.get(cred.status.idx) == 0

    rounds, n = (3, 200) if quick else (15, 2000)
    raws, fulls = [], []
    for _ in range(rounds):
        raws.append(_per_call(raw, n))
        fulls.append(_per_call(full, n))
    r, f = statistics.median(raws), statistics.median(fulls)
    print(f"raw ES256 verify (cryptography):      {r * 1e6:8.1f} us/op  {1 / r:8.0f} op/s")
    print(f"full offline verification (QR text): {f * 1e6:8.1f} us/op  {1 / f:8.0f} op/s")
    print(f"ratio full/raw: {f / r:.2f}  (target <= 1.5)")
    return {"raw_us": r * 1e6, "full_us": f * 1e6, "ratio": f / r}
