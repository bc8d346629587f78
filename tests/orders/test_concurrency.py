"""Concurrent duplicate submissions, on real database connections from several threads."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.accounts.services import api_token_issue
from apps.orders.models import Order, Payment
from tests.orders.payloads import order_body

# serialized_rollback restores the departments the data migration seeded, which a flush removes.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

THREADS = 8


def _run_concurrently(make_request) -> list:
    """Start THREADS requests at the same instant; each thread uses its own DB connection."""
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = make_request()
        except Exception as exc:  # a failure must show up in the assertions, not vanish in a thread
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + api_token_issue(username=user.username).key)
    return client


def test_concurrent_duplicate_orders_create_one_and_all_get_its_id(admin_user):
    body = order_body()
    responses = _run_concurrently(lambda: _client(admin_user).post("/api/v1/orders/", body, format="json"))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (THREADS - 1) + [201], responses
    assert len({r.json()["id"] for r in responses}) == 1
    assert Order.objects.filter(external_id=body["external_id"]).count() == 1


def test_concurrent_overlapping_bulk_batches_store_each_order_once(admin_user):
    shared = [order_body() for _ in range(20)]

    def request():
        own = [order_body() for _ in range(5)]
        return _client(admin_user).post("/api/v1/orders/bulk/", {"orders": shared + own}, format="json")

    responses = _run_concurrently(request)
    assert all(getattr(r, "status_code", None) == 200 for r in responses), responses
    assert Order.objects.count() == 20 + 5 * THREADS
    ids_per_response = [[item["id"] for item in r.json()["results"][:20]] for r in responses]
    assert all(ids == ids_per_response[0] for ids in ids_per_response)
    assert sum(r.json()["created"] for r in responses) == 20 + 5 * THREADS


def test_concurrent_repeats_of_a_payment_record_it_once(admin_user):
    order_id = _client(admin_user).post("/api/v1/orders/", order_body(), format="json").json()["id"]
    payment = {"order": order_id, "transaction_id": "WX-RACE-1", "amount": "259.00", "status": "succeeded"}
    responses = _run_concurrently(lambda: _client(admin_user).post("/api/v1/payments/", payment, format="json"))
    assert sorted(r.status_code for r in responses) == [200] * (THREADS - 1) + [201], responses
    assert Payment.objects.filter(transaction_id="WX-RACE-1").count() == 1
