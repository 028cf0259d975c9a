"""HTTPS: ``server.tls`` makes casewatch serve TLS with the given certificate; cookies are then
Secure and HSTS is sent. A throwaway CA, made here, signs the server's certificate."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from servers import ADMIN, ADMIN_PASSWORD, Server


def make_ca_and_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for localhost and 127.0.0.1."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "casewatch test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths[2].chmod(0o600)
    return paths


def test_https_with_secure_cookies_and_hsts(tmp_path: Path, make_server: Any) -> None:
    ca, cert, key = make_ca_and_certificate(tmp_path)
    server: Server = make_server([], server={"tls": {"cert": str(cert), "key": str(key)}})
    server.tls_ca = ca
    server.start()
    with httpx.Client(base_url=server.url, verify=server.verify, timeout=10) as browser:
        health = browser.get("/api/v1/health")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"].startswith("max-age=")
        signed = browser.post(
            "/api/v1/auth/login", json={"name": ADMIN, "password": ADMIN_PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        cookies = signed.headers.get_list("set-cookie")
        assert all("Secure" in c for c in cookies) and len(cookies) == 2
        assert browser.get("/wall/").status_code == 200
    with pytest.raises(httpx.HTTPError):  # plain HTTP is not served
        httpx.get(f"http://127.0.0.1:{server.port}/api/v1/health", timeout=5)
