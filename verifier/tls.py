"""HTTPS for `socpass-verifier serve`: a tablet's browser gives the camera to secure pages only.

Either the venue's own certificate (`--tls-cert`, `--tls-key`), or a self-signed one made here
(`--tls-self-signed`) and kept in `<cache dir>/tls/` (key 0600): it names localhost, the
machine's host name and addresses, and is made again when it nears its end or the addresses
change. The operator compares its SHA-256 fingerprint, printed at start, with what the tablet's
browser shows before accepting it once.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.errors import ConfigError
from shared.files import PRIVATE, write_atomically

TLS_DIR = "tls"
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
VALID_DAYS = 397      # browsers refuse longer lifetimes for some certificates; stay below
RENEW_BEFORE_DAYS = 30
_WILDCARD = ("", "0.0.0.0", "::")


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the DER certificate, as browsers show it (AB:CD:...)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _local_addresses() -> set[str]:
    found: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(str(info[4][0]))
    except OSError:
        pass
    # The address a LAN route would use (a UDP "connect" sends nothing).
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            found.add(probe.getsockname()[0])
        except OSError:
            pass
    return found


def names_for(host: str) -> tuple[set[str], set[str]]:
    """(DNS names, IP addresses) a certificate for `serve --host host` should name."""
    dns = {"localhost"}
    ips = {"127.0.0.1", "::1"}
    try:
        dns.add(socket.gethostname())
    except OSError:
        pass
    if host in _WILDCARD:
        ips |= _local_addresses()
    else:
        try:
            ips.add(str(ipaddress.ip_address(host)))
        except ValueError:
            dns.add(host)
    ips = {a.split("%")[0] for a in ips}  # no IPv6 zone ids in a certificate
    return {d for d in dns if d}, ips


def _covers(cert: x509.Certificate, dns: set[str], ips: Iterable[str], now: dt.datetime) -> bool:
    if cert.not_valid_after_utc - now < dt.timedelta(days=RENEW_BEFORE_DAYS):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_dns = set(san.get_values_for_type(x509.DNSName))
    have_ips = {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    return dns <= have_dns and set(ips) <= have_ips


def self_signed(directory: Path, host: str, *, now: dt.datetime | None = None) -> tuple[Path, Path, bool]:
    """The self-signed certificate and key for `host` in `directory`; (cert, key, made_now)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    dns, ips = names_for(host)
    if cert_path.exists() and key_path.exists():
        try:
            if _covers(x509.load_pem_x509_certificate(cert_path.read_bytes()), dns, ips, now):
                return cert_path, key_path, False
        except ValueError:
            pass  # damaged: make a new one
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "socpass verifier"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "socpass")])
    alt = [x509.DNSName(d) for d in sorted(dns)] + \
          [x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(ips)]
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    write_atomically(key_path, key_pem, mode=PRIVATE)
    write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path, True


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context; a missing or mismatched file is a ConfigError."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except FileNotFoundError as err:
        raise ConfigError(f"TLS: {err.filename}: no such file") from err
    except (ssl.SSLError, OSError) as err:
        raise ConfigError(f"TLS: cannot use {cert} with {key}: {err}") from err
    return context
