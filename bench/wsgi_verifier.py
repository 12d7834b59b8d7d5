"""The verifier app as gunicorn serves it, plus a trivial JSON endpoint as the baseline.

The baseline lives in the same app and server, so the ratio isolates the cost of verifying.
"""
from verifier.app import create_app

app = create_app()


@app.get("/bench/ping")
def ping() -> dict:
    return {"ok": True}
