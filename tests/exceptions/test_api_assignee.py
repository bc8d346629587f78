"""The ``assignee`` filter of GET /api/v1/exceptions/ tells no one which usernames exist."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.services import user_create
from apps.exceptions.models import ExceptionStatus, OrderException
from apps.exceptions.services import exceptions_sync
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/exceptions/"


def _raise(rule) -> OrderException:
    order = OrderFactory()
    result = exceptions_sync(rule=rule, scope_order_ids=[order.pk], matched={order.pk: {}})
    return OrderException.objects.get(pk=result.created_ids[0])


def _answer(client, assignee: str) -> tuple[int, dict, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"assignee": assignee})
    return response.status_code, response.json(), len(queries.captured_queries)


@pytest.mark.parametrize("client_fixture", ["api", "staff_api"])
def test_an_unknown_assignee_answers_exactly_like_a_user_with_no_exceptions(
    request, client_fixture, stock_rule, manager_user
):
    """200 with an empty page, the same body and the same number of queries as for a real username."""
    client = request.getfixturevalue(client_fixture)
    _raise(stock_rule)

    known = _answer(client, manager_user.username)
    unknown = _answer(client, "no-such-user")
    unknown_id = _answer(client, "987654321")

    assert known == unknown == unknown_id
    assert known[:2] == (200, {"count": 0, "next": None, "previous": None, "results": []})


def test_the_filter_still_finds_a_users_exceptions_by_username_or_id(api, stock_rule, staff_user):
    assigned, _other = _raise(stock_rule), _raise(stock_rule)
    OrderException.objects.filter(pk=assigned.pk).update(assignee=staff_user, status=ExceptionStatus.ASSIGNED)

    for ref in (staff_user.username, str(staff_user.pk), f"  {staff_user.username} "):
        response = api.get(URL, {"assignee": ref})
        assert response.status_code == 200
        assert [item["id"] for item in response.json()["results"]] == [assigned.pk], ref


def test_a_username_that_is_another_users_id_means_the_named_user(api, stock_rule, staff_user):
    """``?assignee=N`` is the user called "N" when one exists, else the user whose id is N."""
    named = user_create(username=str(staff_user.pk), password=None, role="staff", department_code="warehouse")
    for_staff, for_named = _raise(stock_rule), _raise(stock_rule)
    OrderException.objects.filter(pk=for_staff.pk).update(assignee=staff_user)
    OrderException.objects.filter(pk=for_named.pk).update(assignee=named)

    response = api.get(URL, {"assignee": str(staff_user.pk)})
    assert [item["id"] for item in response.json()["results"]] == [for_named.pk]
    response = api.get(URL, {"assignee": str(named.pk)})
    assert [item["id"] for item in response.json()["results"]] == [for_named.pk]
