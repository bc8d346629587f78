"""Schemathesis over every operation of /api/v1/schema/: never a 500, every answer as documented.

The requests go in-process to the WSGI application, inside the test's transaction, as an admin
(the role integration accounts have). The run is bounded and derandomized, so it takes the
same cases every time: per operation the schema's examples, boundary values (schemathesis's
coverage phase) and generated ones, valid and invalid.

The list caps are lowered for the run (the schema reads them when it is served, so it and the
server agree): the boundary cases then send 25 orders in bulk, not 1,000.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.services import api_token_issue
from apps.exceptions.models import GradingRule
from config.wsgi import application
from tests.orders.payloads import order_body

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Per operation and generation mode; with the examples and boundary cases, ~2 minutes in all
# on SQLite and on PostgreSQL on the 2-core machine (README "Tests").
MAX_EXAMPLES = 12
SEED = 20261124

# Most generated times fall in the range the API accepts (2000-2100, with an offset), so that
# the valid cases reach the services; a few lie at and past its ends.
_IN_RANGE = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.sampled_from([UTC])
)
_OFFSETS = st.sampled_from([timedelta(0), timedelta(hours=8), timedelta(hours=-5, minutes=-30)])
_EDGES = st.sampled_from(
    ["2000-01-01T00:00:00Z", "2100-12-31T23:59:59Z", "1999-12-31T23:59:59Z", "0001-01-01T00:00:00+08:00"]
)


def _rfc3339(moment: datetime, offset: timedelta) -> str:
    return moment.astimezone(timezone(offset)).isoformat().replace("+00:00", "Z")


schemathesis.openapi.format("date-time", st.one_of(st.builds(_rfc3339, _IN_RANGE, _OFFSETS), _EDGES))


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True},
            "phases": {"stateful": {"enabled": False}},
            # The order bodies' invalid shapes (a few hundred boundary cases each) are fuzzed by
            # tests/orders/test_api_never_500.py; here their boundaries are sent valid only.
            "operations": [
                {
                    "include-path-regex": "^/api/v1/orders/",
                    "include-method": ["POST", "PATCH"],
                    "phases": {"coverage": {"generation": {"mode": "positive"}}},
                }
            ],
        }
    )


@pytest.fixture
def token(admin_user) -> str:
    return api_token_issue(username=admin_user.username).key


@pytest.fixture
def records(api) -> dict[str, list]:
    """One record of each kind, by path parameter: generated paths name one of them now and then."""

    def created(response) -> dict:
        assert response.status_code in (200, 201), response.content
        return response.json()

    order = created(api.post("/api/v1/orders/", order_body(), format="json"))
    payment = {"order": order["id"], "transaction_id": "ST-1", "amount": "259.00", "status": "succeeded"}
    payment = created(api.post("/api/v1/payments/", payment, format="json"))
    shipment = {"order": order["id"], "carrier": "SF", "tracking_number": "SF123456789012"}
    shipment |= {"shipped_at": "2026-11-25T09:00:00+08:00", "lines": [{"sku": "SKU-1", "quantity": 2}]}
    shipment = created(api.post("/api/v1/shipments/", shipment, format="json"))
    created(api.put("/api/v1/inventory/SKU-1/", {"on_hand": 1}, format="json"))
    created(api.put("/api/v1/products/SKU-1/", {"name": "保温杯", "list_price": "129.50"}, format="json"))
    listed = [{"external_id": "ST-MISSING", "total_amount": "10.00", "placed_at": "2026-11-24T10:00:00+08:00"}]
    created(api.post("/api/v1/reconciliations/", {"channel": "jd", "orders": listed}, format="json"))
    exception_id = created(api.get("/api/v1/exceptions/"))["results"][0]["id"]
    return {
        "order_id": [order["id"]],
        "payment_id": [payment["id"]],
        "shipment_id": [shipment["id"]],
        "exception_id": [exception_id],
        "sku": ["SKU-1"],
        # A built-in step form: its draft, publish, restore and schema are fuzzed on a real form.
        "key": ["payment-check"],
        # A built-in rule: its changes, versions, restore, test and back-test run on a real rule;
        # and a seeded grading row.
        "code": ["AMOUNT_MISMATCH"],
        "rule_id": [GradingRule.objects.order_by("pk").values_list("pk", flat=True).first()],
    }


@pytest.fixture
def small_caps(settings):
    settings.ORDERGUARD_BULK_MAX_ORDERS = 25
    settings.ORDERGUARD_MAX_LINES_PER_ORDER = 25
    settings.ORDERGUARD_RECONCILIATION_MAX_ORDERS = 25


@pytest.fixture
def api_schema(db, small_caps, records):
    """The served schema, its operations called in-process.

    Django's test client keeps the test's transaction open by not closing connections when a
    request ends; requests through the WSGI application directly need the same.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        loaded = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application, config=_config())

        @loaded.hook
        def map_path_parameters(context, path_parameters):
            # The smallest id (the coverage phase's valid value) and a third of the generated
            # paths (by checksum, so every run picks the same) name a stored record instead, so
            # that reads and changes of real records run too.
            if not path_parameters:
                return path_parameters
            checksum = zlib.crc32(repr(sorted(path_parameters.items())).encode())
            if 1 in path_parameters.values() or checksum % 3 == 0:
                return {name: records.get(name, [value])[0] for name, value in path_parameters.items()}
            return path_parameters

        yield loaded
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case, token):
    response = case.call(headers={"Authorization": f"Token {token}"})
    case.validate_response(response, checks=CHECKS)
