"""Schemathesis against the service's OpenAPI schema (issue 18): requests generated from the
schema, authenticated and not, never get a server error (5xx) from the API."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine

from assessment.service import register
from assessment.service.app import create_app
from assessment.service.migrations import upgrade

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis comes with the test extras")
from schemathesis.checks import not_a_server_error  # noqa: E402

pytestmark = pytest.mark.slow  # hundreds of generated requests

# The app exists when the tests are collected (the schema is read from it); its database is
# made only when the tests run (an engine connects on first use).
FOLDER = Path(tempfile.mkdtemp(prefix="assess-schema-"))
ENGINE = create_engine(f"sqlite:///{FOLDER / 'register.sqlite'}")
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(ENGINE))


@pytest.fixture(scope="module")
def token():
    upgrade(ENGINE)
    yield register.add_user(ENGINE, "fuzz", "reviewer").token
    ENGINE.dispose()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_a_server_error(case, token):
    for headers in ({"Authorization": f"Bearer {token}"}, {}):
        case.call_and_validate(headers=headers, checks=[not_a_server_error])
