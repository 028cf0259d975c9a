"""HTTPS: ``server.tls`` makes casewatch serve TLS with the given certificate; cookies are then
Secure and HSTS is sent. A throwaway CA, made here, signs the server's certificate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import ADMIN, ADMIN_PASSWORD, Server
from tls import make_ca_and_certificate


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
