"""HTTPS for the scanner page: a self-signed certificate made and kept, or the venue's own."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import ssl
import stat
import threading
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from shared.errors import ConfigError
from tests.e2e.conftest import Env, free_port
from tests.verifier.fakeissuer import NOW
from verifier import cli, tls
from verifier.app import create_app


def _san(cert_path):
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {str(a) for a in san.get_values_for_type(x509.IPAddress)}


def test_self_signed_is_made_once_and_kept_private(tmp_path):
    directory = tmp_path / "tls"
    cert, key, made = tls.self_signed(directory, "127.0.0.1")
    assert made and cert.exists() and key.exists()
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    dns, ips = _san(cert)
    assert "localhost" in dns and {"127.0.0.1", "::1"} <= ips
    before = cert.read_bytes()
    assert tls.self_signed(directory, "127.0.0.1")[2] is False
    assert cert.read_bytes() == before


def test_self_signed_is_renewed_for_new_names_and_before_its_end(tmp_path):
    directory = tmp_path / "tls"
    cert, _, _ = tls.self_signed(directory, "127.0.0.1")
    first = cert.read_bytes()
    assert tls.self_signed(directory, "192.0.2.10")[2] is True  # another address to name
    assert "192.0.2.10" in _san(cert)[1] and cert.read_bytes() != first
    assert tls.self_signed(directory, "scanner.museum.lan")[2] is True
    assert "scanner.museum.lan" in _san(cert)[0]
    late = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=tls.VALID_DAYS - 10)
    assert tls.self_signed(directory, "scanner.museum.lan", now=late)[2] is True


def test_wildcard_host_names_this_machine(tmp_path):
    cert, _, _ = tls.self_signed(tmp_path / "tls", "0.0.0.0")
    dns, ips = _san(cert)
    assert "127.0.0.1" in ips and "0.0.0.0" not in ips and len(dns) >= 1


def test_damaged_certificate_is_replaced(tmp_path):
    cert, _, _ = tls.self_signed(tmp_path / "tls", "127.0.0.1")
    cert.write_text("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    assert tls.self_signed(tmp_path / "tls", "127.0.0.1")[2] is True


def test_fingerprint_is_sha256_of_the_der(tmp_path):
    cert, _, _ = tls.self_signed(tmp_path / "tls", "127.0.0.1")
    der = x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(serialization.Encoding.DER)
    printed = tls.fingerprint(cert.read_bytes())
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", printed)
    assert printed.replace(":", "").lower() == hashlib.sha256(der).hexdigest()


def test_server_context_refuses_bad_files(tmp_path):
    cert, key, _ = tls.self_signed(tmp_path / "a", "127.0.0.1")
    _, other_key, _ = tls.self_signed(tmp_path / "b", "127.0.0.1")
    assert isinstance(tls.server_context(cert, key), ssl.SSLContext)
    with pytest.raises(ConfigError, match="no such file"):
        tls.server_context(tmp_path / "none.pem", key)
    with pytest.raises(ConfigError, match="cannot use"):
        tls.server_context(cert, other_key)


@pytest.mark.parametrize("args", [["--tls-cert", "c.pem"], ["--tls-key", "k.pem"],
                                  ["--tls-self-signed", "--tls-cert", "c.pem", "--tls-key", "k.pem"]])
def test_serve_tls_options_must_fit_together(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", *args])
    assert exit_.value.code == 2 and "--tls-cert with --tls-key" in capsys.readouterr().err


def test_serve_with_missing_certificate_files_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SOCPASS_HOME", str(tmp_path))
    status = cli.main(["serve", "--tls-cert", str(tmp_path / "c.pem"), "--tls-key",
                       str(tmp_path / "k.pem")])
    assert status == 2 and "no such file" in capsys.readouterr().err


def _get(url: str, context: ssl.SSLContext | None = None) -> dict:
    with urllib.request.urlopen(url, timeout=10, context=context) as resp:
        return json.loads(resp.read())


def test_real_https_with_a_self_signed_certificate(tmp_path):
    env = Env(tmp_path)
    port = free_port()
    try:
        base = env.serve("verifier", port, "--tls-self-signed").replace("http://", "https://")
        cert = tmp_path / "verifier" / "tls" / "cert.pem"
        key = cert.with_name("key.pem")
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
        log = (tmp_path / f"verifier-{port}.log").read_text()
        assert f"SHA-256 fingerprint {tls.fingerprint(cert.read_bytes())}" in log
        assert f"https://127.0.0.1:{port}/" in log
        trusting = ssl.create_default_context(cafile=str(cert))
        assert "level" in _get(base + "/api/status", trusting)
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            _get(base + "/api/status", ssl.create_default_context())
    finally:
        env.stop()


def test_https_with_the_venues_own_certificate(tmp_path, settings):
    from werkzeug.serving import make_server

    cert, key, _ = tls.self_signed(tmp_path / "own", "127.0.0.1")
    server = make_server("127.0.0.1", 0, create_app(settings, clock=lambda: NOW),
                         ssl_context=tls.server_context(cert, key))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_port}/api/status"
        assert _get(url, ssl.create_default_context(cafile=str(cert)))["synced_at"] is None
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
