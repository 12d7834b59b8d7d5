"""The verifier app as gunicorn serves it, plus two baselines in the same app and server:

- GET /bench/ping, a trivial JSON endpoint: the ratio to it isolates the cost of verifying;
- POST /bench/signature, the same body as /api/verify, read, parsed and its signature checked,
  and nothing else (no claims, status, policy, scan log, no view of the credential): the most
  any verifying endpoint could reach on this machine, whatever its Python did.

With BENCH_CPU_SPLIT=1 the worker also times its parts (bench/cpusplit.py).
"""
import os

from shared import qrtext
from shared.jsonstrict import loads_strict
from shared.token import CREDENTIAL_TYP, verify
from verifier.app import create_app
from verifier.views import request_body

app = create_app()


@app.get("/bench/ping")
def ping() -> dict:
    return {"ok": True}


@app.post("/bench/signature")
def signature_only() -> dict:
    body = loads_strict(request_body())  # read as /api/verify reads it
    cache = app.extensions["socpass_verifier"].caches.current()
    verified = verify(qrtext.parse(body["qr"]), cache, typ=CREDENTIAL_TYP)
    return {"ok": True, "iss": verified.claims["iss"]}


if os.environ.get("BENCH_CPU_SPLIT") == "1":
    from bench.cpusplit import install

    install(app)
