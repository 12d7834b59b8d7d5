"""Figure 1: full offline verification of one QR text against raw ECDSA verify, one core.

"Full" is the verifier's own decision, `Verifier.verify_text`: decode the QR digits, parse,
check the signature, the claims, the clock, the status list entry, the venue policy (the scan
log is off: it is the venue's bookkeeping, not the decision). The clerk's view of the
credential is built on demand; a second figure adds it and the JSON the page receives
(`Result.to_json`), for what a scan costs end to end short of HTTP. The baseline is `cryptography`'s
ES256 verify of the same signing input. Both are timed in interleaved rounds and reported as a
ratio of medians, so the noise of a shared 2-core machine cancels out as far as it can.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from shared import qrtext
from shared.b64 import b64url_decode
from tests.vectors.build import issuers, publish, vectors
from verifier import cache, sync
from verifier.config import Settings
from verifier.service import Verifier


def _per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main(quick: bool = False) -> dict[str, float]:
    now = int(time.time())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sync.sync([str(s) for s in publish(root / "pub", now)], root / "cache", now)
        settings = Settings.from_env({"SOCPASS_VERIFIER_CACHE": str(root / "cache")})
        verifier = Verifier(cache.load(root / "cache"), settings)
    text = next(v for v in vectors(now) if v.name == "valid_large_family_qr").text
    assert verifier.verify_text(text, now).code == "valid"

    signing_input, sig_b64 = qrtext.decode(text).rsplit(".", 1)
    raw_sig = b64url_decode(sig_b64)
    der = encode_dss_signature(int.from_bytes(raw_sig[:32], "big"), int.from_bytes(raw_sig[32:], "big"))
    pub = issuers()[0].key.public_key()
    msg = signing_input.encode()

    def raw() -> None:
        pub.verify(der, msg, ec.ECDSA(hashes.SHA256()))

    def full() -> None:
        verifier.verify_text(text, now)

    def shown() -> None:
        verifier.verify_text(text, now).to_json()

    rounds, n = (3, 200) if quick else (21, 1000)
    raws, fulls, showns = [], [], []
    for _ in range(rounds):
        raws.append(_per_call(raw, n))
        fulls.append(_per_call(full, n))
        showns.append(_per_call(shown, n))
    r, f, j = statistics.median(raws), statistics.median(fulls), statistics.median(showns)
    print(f"raw ES256 verify (cryptography):      {r * 1e6:8.1f} us/op  {1 / r:8.0f} op/s")
    print(f"full offline verification (QR text): {f * 1e6:8.1f} us/op  {1 / f:8.0f} op/s")
    print(f"  + the clerk's view as JSON:         {j * 1e6:8.1f} us/op  {1 / j:8.0f} op/s")
    print(f"ratio full/raw: {f / r:.2f}  (target <= 1.5); with the view: {j / r:.2f}")
    return {"raw_us": r * 1e6, "full_us": f * 1e6, "ratio": f / r, "shown_ratio": j / r}
