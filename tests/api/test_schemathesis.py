"""Malformed input of any kind gets a 4xx in the canonical shape, never a 5xx: schemathesis generates
requests from the app's own OpenAPI document and sends them through the real app, in process.

(The schemathesis pytest plugin does not work with pytest 9 yet, so the operations' hypothesis
strategies are driven directly.)
"""

from __future__ import annotations

import json
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


@pytest.mark.parametrize(("role", "examples"), [
    *((role, 6) for role in ("anonymous", "maker", "admin")),
    *(pytest.param(role, 40, marks=pytest.mark.slow) for role in ("anonymous", "maker", "admin")),
])
def test_no_input_makes_the_server_fail(fuzz_api: Api, role: str, examples: int) -> None:
    """Generated requests to every operation, as each kind of caller: never a 5xx, always the
    canonical error shape. The default run draws a few examples per operation; ``-m slow`` many."""
    failures: list[str] = []
    for operation in _operations(fuzz_api):

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
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


#: Every code an event may be rejected with; ``unprocessable_event`` (a failure) is not among them.
REFUSALS = {"invalid_event", "invalid_code", "invalid_vin", "invalid_credit_code", "implausible_time",
            "nesting_too_deep", "event_too_large", "number_out_of_range", "non_finite_number", "forbidden_character",
            "lone_surrogate", "not_nfc", "invalid_utf8", "unknown_org", "unknown_battery", "unknown_vehicle",
            "unknown_manufacturer", "forbidden_event", "not_custodian", "invalid_transition", "duplicate_code",
            "already_assembled", "event_id_conflict", "forbidden"}


def test_post_events_holds_the_limits_for_any_generated_body(fuzz_api: Api) -> None:
    """POST /events with schema-generated events (the schema states the limits), and with the same
    bodies made hostile (deep, huge numbers, NaN, control characters): never a 5xx, never a failure
    of the platform reported as a rejection, and the log still verifies."""
    from hypothesis import strategies as st

    from battrace.services.verify import verify

    operation = next(op for op in _operations(fuzz_api) if op.path == "/api/v1/events" and op.method == "post")
    poison = st.sampled_from(['{"x": NaN}', '{"x": 1e400}', '{"x": ' + "9" * 5000 + "}", '{"x": "\\u0000"}',
                              '{"x": "\\ud800"}', '{"x": "e\\u0301"}', '{"x": "\\u200b"}',
                              '{"a":' * 50 + "1" + "}" * 50])

    @given(case=operation.as_strategy(), extra=poison)
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case, extra: str) -> None:
        headers = dict(case.headers or {})
        headers.update(fuzz_api.headers("maker"))
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.body, response.text[:300])
        if response.status_code == 200:
            codes = {r["code"] for r in response.json()["rejections"]}
            assert codes <= REFUSALS, codes
        if isinstance(case.body, dict):  # the same event with poisoned data, as raw JSON text
            text = json.dumps({k: v for k, v in case.body.items() if k != "data"})[:-1]
            raw = (text + (", " if len(text) > 1 else "") + f'"data": {extra}}}').encode()
            r = fuzz_api.client.post("/api/v1/events", content=raw, headers={
                **fuzz_api.headers("maker"), "Content-Type": "application/json"})
            assert r.status_code < 500, r.text[:300]
            if r.status_code == 200:
                assert r.json()["accepted"] == 0 and {x["code"] for x in r.json()["rejections"]} <= REFUSALS

    check()
    assert verify(fuzz_api.platform.store).ok
