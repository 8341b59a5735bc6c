"""The camera app's OpenAPI schema fuzzed with schemathesis (issue 13): every operation, a
few seeded examples each, sent in-process to the ASGI app (no network). No answer is a 5xx,
and every answer with a declared schema conforms to it.

The app serves no ``/openapi.json`` (``openapi_url=None``), so the schema is taken from the
FastAPI object inside the access gate and the calls go through the whole gated app.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from redframe.app import create_app  # noqa: E402

CHECKS = [not_a_server_error, response_schema_conformance]


def _schema(data_dir):
    gate = create_app(data_dir, start_workers=False)  # uploads stay pending: no develops
    schema = schemathesis.openapi.from_dict(gate.app.openapi())
    schema.app = gate  # requests go to the in-process ASGI app, through the gate
    return schema


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("schema_data")


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(data_dir):
    return _schema(data_dir)


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_without_5xx_and_to_its_schema(case):
    case.call_and_validate(checks=CHECKS)


def test_operations_with_the_apps_own_names_answer_to_their_schema(api_schema):
    """Random names mostly meet 404; the real looks, frames and sounds reach the handlers."""
    from fastapi.testclient import TestClient

    with TestClient(api_schema.app) as client:
        looks = [lk["name"] for lk in client.get("/api/looks").json()]
        frames = client.get("/api/config").json()["frames"]
        sounds = client.get("/api/sounds").json()["sounds"]
    names = {"/api/looks/{name}/lut.cube": looks[:2],
             "/api/frames/{name}/preview.jpg": [f for f in frames if f != "none"][:2],
             "/api/sounds/{name}.wav": sounds[:2]}
    calls = 0
    for path, values in names.items():
        operation = api_schema[path]["GET"]
        for value in values:
            case = operation.Case(path_parameters={"name": value})
            response = case.call_and_validate(checks=CHECKS)
            assert response.status_code == 200, (path, value, response.status_code)
            calls += 1
    assert calls >= 3, names
