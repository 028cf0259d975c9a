"""A bounded property-based fuzz of the whole API (Schemathesis, from the server's own
``/openapi.json``), as an admin and as a user scoped to one station: no answer is a 5xx, and
every answer matches what the description declares (status code and body schema)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from servers import AUTH, Server, auth_for

EXAMPLES = 20
"""Generated requests per operation and user (bounded: the suite's budget, not a soak)."""
SKIPPED = {
    ("GET", "/api/v1/events"),  # an endless event stream
    ("GET", "/api/v1/playback/{camera_id}"),  # a long media stream
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password"),  # would revoke the fuzzer's own token
    ("PATCH", "/api/v1/users/{name}"),  # idem (a password reset revokes tokens)
    ("DELETE", "/api/v1/auth/tokens/{token_id}"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("fuzz"),
        [],
        more_sites=[{"id": "other", "name": "其他派出所", "cameras": []}],
        users=[("scoped", "inspector,operator", ["other"])],
    ).start()
    yield running
    running.stop()


def operations(server: Server) -> list[Any]:
    spec = httpx.get(f"{server.url}/openapi.json", headers=AUTH, timeout=10).json()
    schema = schemathesis.openapi.from_dict(spec)
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in SKIPPED:
            found.append(operation)
    return found


@pytest.mark.parametrize("who", ["admin", "scoped"])
def test_no_request_gets_a_server_error_or_an_undeclared_answer(server: Server, who: str) -> None:
    headers = AUTH if who == "admin" else auth_for(who)
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    failures: list[str] = []
    sent = 0
    for operation in operations(server):

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal sent
            sent += 1
            response = case.call(base_url=server.url, headers=headers, timeout=20)
            try:
                case.validate_response(response, checks=checks)
            except Exception as error:  # collect every operation's first failure, then report
                failures.append(f"{case.method} {case.formatted_path}: {str(error)[:400]}")
                raise

        try:
            run()
        except Exception:
            continue
    print(f"fuzz as {who}: {sent} requests over {len(operations(server))} operations")
    assert failures == [], "\n\n".join(failures)
