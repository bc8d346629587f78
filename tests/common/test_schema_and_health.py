"""The OpenAPI schema, its docs page (served from local static files) and the health check."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

SPEC_PATHS = [
    "/api/v1/orders/",
    "/api/v1/orders/bulk/",
    "/api/v1/orders/{order_id}/",
    "/api/v1/payments/",
    "/api/v1/shipments/",
    "/api/v1/shipments/{shipment_id}/events/",
    "/api/v1/products/{sku}/",
    "/api/v1/inventory/{sku}/",
]


def test_the_schema_describes_every_endpoint_of_the_contract(api):
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in SPEC_PATHS:
        assert path in schema["paths"], path
    assert "patch" in schema["paths"]["/api/v1/orders/{order_id}/"]
    assert "put" in schema["paths"]["/api/v1/inventory/{sku}/"]
    order_input = schema["components"]["schemas"]["OrderInputRequest"]
    assert {"external_id", "channel", "status", "lines", "customer"} <= set(order_input["required"])


def test_the_docs_page_loads_swagger_ui_from_local_static_files(api):
    response = api.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def test_health_is_200_when_database_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["redis"]["ok"]


def test_the_home_page_sends_anonymous_users_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_the_home_page_leads_a_signed_in_user_to_the_admin(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].endswith("/admin/")
