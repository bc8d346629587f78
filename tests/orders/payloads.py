"""Valid API bodies to start from; tests change one thing at a time."""

from __future__ import annotations

import copy
import itertools
from typing import Any

_seq = itertools.count(1)


def order_body(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    body = {
        "external_id": f"TB-20261124-{n:05d}",
        "channel": "taobao",
        "status": "paid",
        "placed_at": "2026-11-24T10:00:00+08:00",
        "paid_at": "2026-11-24T10:02:00+08:00",
        "promised_ship_by": None,
        "currency": "CNY",
        "total_amount": "259.00",
        "shipping_fee": "0.00",
        "discount": "0.00",
        "customer": {"external_id": f"C{n}", "name": "张三", "phone": "13800138000", "email": "zs@example.com"},
        "shipping_address": {
            "recipient": "张三",
            "phone": "13800138000",
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "detail": "文三路100号",
            "postcode": "310000",
        },
        "lines": [{"sku": "SKU-1", "name": "保温杯", "quantity": 2, "unit_price": "129.50"}],
        "data": {"invoice_title": "某某公司"},
    }
    body.update(copy.deepcopy(overrides))
    return body
