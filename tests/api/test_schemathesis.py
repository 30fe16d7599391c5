"""Malformed input of any kind gets a 4xx in the canonical shape, never a 5xx: schemathesis generates
requests from the app's own OpenAPI document and sends them through the real app, in process.

(The schemathesis pytest plugin does not work with pytest 9 yet, so the operations' hypothesis
strategies are driven directly.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import Api, build


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    api = build(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'f.db'}")
    yield api
    api.platform.close()


def _operations(api: Api) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    return [result.ok() for result in schema.get_all_operations()]


def test_the_schema_lists_every_route(fuzz_api: Api) -> None:
    paths = {op.path for op in _operations(fuzz_api)}
    assert {"/api/v1/events", "/api/v1/batteries/{code}", "/api/v1/public/batteries/{code}",
            "/api/v1/techinfo/{model}", "/api/v1/audit", "/api/v1/stats"} <= paths


@pytest.mark.parametrize("role", ["anonymous", "maker", "admin"])
def test_no_input_makes_the_server_fail(fuzz_api: Api, role: str) -> None:
    failures: list[str] = []
    for operation in _operations(fuzz_api):

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            headers = dict(case.headers or {})
            headers.update(fuzz_api.headers(role))
            response = case.call(headers=headers)
            assert response.status_code < 500, (role, case.method, case.path, response.text[:300])
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"ok", "error", "code", "status", "context"}, body
                assert body["ok"] is False and body["status"] == response.status_code

        try:
            check()
        except AssertionError as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n".join(failures)
