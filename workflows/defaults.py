"""The workflows every database starts with (SPEC §3's handling column, issue 9): installed and
published as version 1 by migration 0002; admins change them in the workflow designer."""


def _text(zh: str, en: str) -> dict[str, str]:
    return {"zh-hans": zh, "en": en}


def _outcome(key: str, zh: str, en: str, to: str) -> dict:
    return {"key": key, "name": _text(zh, en), "to": to}


DEFAULT_WORKFLOWS = [
    {
        "key": "inventory-replenishment",
        "name": _text("库存异常：自动补货", "Stock shortage: automatic replenishment"),
        "priority": 10,
        "applies_to": {"categories": ["inventory"], "rules": []},
        "steps": [
            {
                "key": "replenish",
                "kind": "action",
                "name": _text("生成补货申请", "Raise a purchase request"),
                "action": "replenishment_request",
                "outcomes": [_outcome("done", "已申请", "Requested", "confirm")],
            },
            {
                "key": "confirm",
                "kind": "task",
                "name": _text("仓库确认数量与到货日期", "Warehouse confirms quantity and date"),
                "form": "replenishment",
                "deadline": "4h",
                "assign": {"strategy": "queue", "department": "warehouse"},
                "outcomes": [
                    _outcome("confirmed", "已确认", "Confirmed", "resolve"),
                    _outcome("cannot_supply", "无法供货，提交经理", "Cannot supply: raise to a manager", "escalate"),
                ],
            },
        ],
    },
    {
        "key": "payment-check",
        "name": _text("支付异常：财务人工核实", "Payment: finance checks by hand"),
        "priority": 10,
        "applies_to": {"categories": ["payment"], "rules": []},
        "steps": [
            {
                "key": "check",
                "kind": "task",
                "name": _text("核实付款", "Check the payment"),
                "form": "payment-check",
                "deadline": "30m",
                "assign": {"strategy": "queue", "department": "finance"},
                "outcomes": [
                    _outcome("found", "已找到付款", "Payment found", "resolve"),
                    _outcome("not_found", "未找到，提交经理", "Not found: raise to a manager", "escalate"),
                ],
            },
        ],
    },
    {
        "key": "customer-callback",
        "name": _text("信息异常：客服回访", "Information: customer-service call-back"),
        "priority": 10,
        "applies_to": {"categories": ["information"], "rules": []},
        "steps": [
            {
                "key": "call",
                "kind": "task",
                "name": _text("回访客户", "Call the customer back"),
                "form": "customer-callback",
                "deadline": "2h",
                "assign": {"strategy": "queue", "department": "customer_service"},
                "outcomes": [
                    _outcome("corrected", "已更正信息", "Details corrected", "apply"),
                    _outcome("not_reached", "未联系上，稍后再试", "Not reached: try again", "call"),
                    _outcome("not_real", "信息无误（误报）", "Details were right (not real)", "dismiss"),
                ],
            },
            {
                "key": "apply",
                "kind": "action",
                "name": _text("更正订单并重新检测", "Correct the order and re-check"),
                "action": "apply_corrections",
                "outcomes": [
                    _outcome("cleared", "异常已消除", "Cleared", "resolve"),
                    _outcome("still_open", "仍有异常", "Still there", "call"),
                ],
            },
        ],
    },
    {
        "key": "carrier-liaison",
        "name": _text("物流异常：承运商对接", "Logistics: carrier liaison"),
        "priority": 10,
        "applies_to": {"categories": ["logistics"], "rules": []},
        "steps": [
            {
                "key": "liaise",
                "kind": "task",
                "name": _text("联系承运商", "Contact the carrier"),
                "form": "carrier-liaison",
                "deadline": "1h",
                "assign": {"strategy": "queue", "department": "logistics"},
                "outcomes": [
                    _outcome("resolved", "已解决", "Resolved", "resolve"),
                    _outcome("escalate", "提交经理", "Raise to a manager", "escalate"),
                ],
            },
        ],
    },
    {
        "key": "price-review",
        "name": _text("价格异常：经理复核", "Pricing: manager review"),
        "priority": 10,
        "applies_to": {"categories": ["pricing"], "rules": []},
        "steps": [
            {
                "key": "review",
                "kind": "approval",
                "name": _text("价格复核", "Price review"),
                "deadline": "1h",
                "assign": {"strategy": "manager"},
                "outcomes": [
                    _outcome("correct", "批准更正价格", "Approve the price correction", "resolve"),
                    _outcome("price_ok", "价格无误（误报）", "The price is right (not real)", "dismiss"),
                ],
            },
        ],
    },
    {
        "key": "triage",
        "name": _text("其他：分诊处理", "Other: triage"),
        "priority": 0,
        "applies_to": {"categories": [], "rules": []},
        "steps": [
            {
                "key": "handle",
                "kind": "task",
                "name": _text("处理异常", "Handle the exception"),
                "deadline": "1h",
                "assign": {"strategy": "queue"},
                "outcomes": [
                    _outcome("resolved", "已处理", "Handled", "resolve"),
                    _outcome("not_real", "误报", "Not real", "dismiss"),
                    _outcome("escalate", "提交经理", "Raise to a manager", "escalate"),
                ],
            },
        ],
    },
]
