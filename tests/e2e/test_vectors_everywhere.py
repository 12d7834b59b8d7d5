"""The shared vectors through every entry point of the verifier: Python API, CLI, HTTP.

One venue syncs from the two published test issuers; each vector must give the same code
whichever way it comes in.
"""
from __future__ import annotations

import io
import json
import sys
import time

import pytest

from tests.e2e.conftest import Env, free_port, post_json
from tests.vectors.build import publish, vectors
from verifier import cache, cli, sync
from verifier.config import Settings
from verifier.service import Verifier

NOW = int(time.time())
VECTORS = vectors(NOW)
IDS = [v.name for v in VECTORS]


@pytest.fixture(scope="module")
def venue(tmp_path_factory):
    root = tmp_path_factory.mktemp("venue")
    sources = publish(root / "published", NOW)
    cache_dir = root / "cache"
    sync.sync([str(s) for s in sources], cache_dir, NOW)
    return root, cache_dir


@pytest.fixture(scope="module")
def api(venue):
    _, cache_dir = venue
    settings = Settings.from_env({"SOCPASS_VERIFIER_CACHE": str(cache_dir)})
    return Verifier(cache.load(cache_dir), settings)


@pytest.fixture(scope="module")
def http(venue):
    root, cache_dir = venue
    env = Env(root)
    env.env["SOCPASS_VERIFIER_CACHE"] = str(cache_dir)
    url = env.serve("verifier", free_port())
    yield url
    env.stop()


def _expected(vector, result_json):
    assert result_json["code"] == vector.code, (vector.name, result_json)
    assert result_json["verdict"] == vector.verdict
    if vector.holder_name:
        h = result_json["credential"]["holder"]
        assert " ".join(filter(None, (h["family_name"], h["given_name"], h.get("patronymic")))) == vector.holder_name
    if vector.code != "valid" and vector.code not in ("expired", "not_yet_valid", "revoked", "suspended"):
        # Nothing unverified is shown: a rejected forgery carries no holder data.
        assert not result_json.get("credential"), vector.name


@pytest.mark.parametrize("name", IDS)
def test_python_api(api, name):
    vector = next(v for v in VECTORS if v.name == name)
    _expected(vector, api.verify_text(vector.text, NOW).to_json())


@pytest.mark.parametrize("name", IDS)
def test_cli_check_stdin(venue, monkeypatch, capsys, name):
    vector = next(v for v in VECTORS if v.name == name)
    monkeypatch.setenv("SOCPASS_VERIFIER_CACHE", str(venue[1]))
    monkeypatch.setattr(sys, "stdin", io.StringIO(vector.text + "\r\n"))
    status = cli.main(["check", "-"])
    out = json.loads(capsys.readouterr().out)
    assert status == (0 if vector.verdict == "accept" else 1)
    _expected(vector, out)


@pytest.mark.parametrize("name", IDS)
def test_http_verify(http, name):
    vector = next(v for v in VECTORS if v.name == name)
    status, body = post_json(http + "/api/verify", {"qr": vector.text})
    assert status == 200
    _expected(vector, body)


@pytest.mark.parametrize("name", ["valid_large_family_qr", "revoked", "alg_none", "tampered_payload"])
def test_cli_real_process(venue, name):
    vector = next(v for v in VECTORS if v.name == name)
    env = Env(venue[0])
    env.env["SOCPASS_VERIFIER_CACHE"] = str(venue[1])
    proc = env.run("verifier", "check", vector.text, check=False)
    assert proc.returncode == (0 if vector.verdict == "accept" else 1)
    _expected(vector, json.loads(proc.stdout))


def _degraded_photos():
    """A real credential's QR as a clerk's tablet sees it: blurred, at an angle, JPEG, small, inverted."""
    import numpy as np

    from tests import imaging as im

    rng = np.random.default_rng(20261123)
    text = next(v for v in VECTORS if v.name == "valid_large_family_qr").text
    code = im.make_qr(text, box_size=6)
    frame = im.background(1280, 720, rng)
    return {
        "rendered_png": im.encode_bytes(code, ".png"),
        "blur": im.encode_bytes(im.gaussian_blur(im.place(code, frame, width=420, x=400, y=150), 2.0), ".png"),
        "perspective": im.encode_bytes(im.perspective(code, frame, ((420, 120), (860, 170), (830, 620), (380, 580))),
                                       ".jpg", quality=85),
        "jpeg_q25": im.encode_bytes(im.place(code, frame, width=400, x=420, y=160), ".jpg", quality=25),
        "small": im.encode_bytes(im.place(code, frame, width=200, x=540, y=260), ".jpg", quality=90),
        "inverted": im.encode_bytes(im.invert(im.place(code, frame, width=420, x=400, y=150)), ".png"),
    }


PHOTOS = _degraded_photos()


@pytest.mark.parametrize("kind", sorted(PHOTOS))
def test_degraded_photo_of_real_credential(api, kind):
    assert api.verify_image(PHOTOS[kind], NOW).to_json()["code"] == "valid"


def test_http_scan_photo(http):
    import urllib.request

    req = urllib.request.Request(http + "/api/scan", data=PHOTOS["perspective"], headers={"Content-Type": "image/jpeg"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert json.loads(resp.read())["code"] == "valid"
