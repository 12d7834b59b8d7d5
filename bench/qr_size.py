"""Figure 6: QR version at ECC M of the reference credentials, against a naive PyJWT token."""
from __future__ import annotations

import statistics
import time

import jwt
import qrcode

from issuer import qrrender
from shared import keys, qrtext, token
from tests.vectors.reference import REFERENCE_BENEFICIARY, REFERENCE_LARGE_FAMILY


def _naive_version(cred, key) -> int:
    claims = {"iss": "https://szn.khabkrai.ru", "iat": cred.issued_at, "exp": cred.expires_at, "jti": cred.jti,
              "type": cred.type, "holder": cred.holder.to_dict(), "region": cred.region,
              "status": {"status_list": {"idx": cred.status.idx, "uri": cred.status.uri}}}
    claims.update({"children": cred.children} if cred.children else {"category": cred.category})
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    q.add_data(jwt.encode(claims, key, algorithm="ES256", headers={"kid": keys.kid_for(key)}))
    q.make(fit=True)
    return q.version


def main(quick: bool = False) -> dict[str, int]:
    out = {}
    for alg in keys.ALGORITHMS:
        key = keys.generate_private_key(alg)
        for name, cred, target in (("large_family", REFERENCE_LARGE_FAMILY, 10),
                                   ("beneficiary_40_letters", REFERENCE_BENEFICIARY, 12)):
            text = qrtext.encode(token.sign(cred.to_claims(), key, keys.kid_for(key), token.CREDENTIAL_TYP))
            version = qrrender.qr_version(text)
            naive = _naive_version(cred, keys.generate_private_key("ES256"))
            times = []
            for _ in range(3 if quick else 20):
                t0 = time.perf_counter()
                qrrender.render_png(text)
                times.append(time.perf_counter() - t0)
            print(f"{alg:6} {name:24} digits {len(text):4}  QR v{version:<2} (target <= {target})  "
                  f"naive PyJWT v{naive}  render {statistics.median(times) * 1e3:.1f} ms")
            out[f"{alg}_{name}"] = version
    return out
