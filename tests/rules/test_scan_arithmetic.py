"""The set-based scan reads money as the Python predicates do, on SQLite's binary-float decimals too."""

from __future__ import annotations

import pytest

from apps.exceptions.models import ACTIVE_STATUSES, OrderException
from apps.rules.services import scan
from tests.rules.test_builtin_rules import clean_order, pay_order, post

pytestmark = pytest.mark.django_db


def active_after_scan(order_id: int) -> set[str]:
    scan()
    return set(
        OrderException.objects.filter(order_id=order_id, status__in=ACTIVE_STATUSES).values_list(
            "rule__code", flat=True
        )
    )


def test_payments_that_add_up_exactly_are_no_mismatch_in_the_scan(api):
    """458.33 + 214.26 is 672.5899… in floats; rounded to the cent it is the total."""
    lines = [
        {"sku": "SKU-1", "quantity": 1, "unit_price": "129.50"},
        {"sku": "SKU-9", "quantity": 1, "unit_price": "543.09"},
    ]
    order_id = post(api, clean_order(total_amount="672.59", lines=lines), pay=None)
    pay_order(api, order_id, "458.33")
    pay_order(api, order_id, "214.26")
    assert active_after_scan(order_id) == set()


def test_a_price_ratio_is_a_decimal_ratio_in_the_scan(api):
    """165.00 / 188.00 is 0.8777, not the integer 0 that SQLite would divide it into."""
    api.put("/api/v1/products/SKU-7/", {"name": "水杯", "list_price": "188.00"}, format="json")
    lines = [{"sku": "SKU-7", "quantity": 1, "unit_price": "165.00"}]
    order_id = post(api, clean_order(total_amount="165.00", lines=lines))
    assert active_after_scan(order_id) == set()


def test_a_one_cent_difference_is_within_the_tolerance_in_the_scan(api):
    """Lines of 3,681.88 plus a 10.00 fee: a total of 3,691.89 is one cent off (0.0100000000002 in
    floats, which would exceed the 0.01 tolerance), 3,691.90 two cents."""
    lines = [
        {"sku": "SKU-9", "quantity": 1, "unit_price": "85.88"},
        {"sku": "SKU-9", "quantity": 2, "unit_price": "1299.00"},
        {"sku": "SKU-9", "quantity": 2, "unit_price": "499.00"},
    ]
    one_cent = post(api, clean_order(total_amount="3691.89", shipping_fee="10.00", lines=lines))
    two_cents = post(api, clean_order(total_amount="3691.90", shipping_fee="10.00", lines=lines))
    assert active_after_scan(one_cent) == set()
    assert active_after_scan(two_cents) == {"AMOUNT_MISMATCH"}
