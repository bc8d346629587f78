"""The demo shop's order form: the two custom fields its orders carry (see apps/orders/demo.py)."""

from __future__ import annotations

from apps.formdesigner import services
from apps.formdesigner.builtin import ORDER_FORM_KEY
from apps.formdesigner.models import FormDefinition

DEMO_ORDER_FIELDS = [
    {
        "key": "invoice_title",
        "type": "text",
        "label": {"zh-hans": "发票抬头", "en": "Invoice title"},
        "help": {"zh-hans": "开具发票的公司或个人名称", "en": "The company or person the invoice is made out to"},
        "max_length": 128,
    },
    {
        "key": "buyer_note",
        "type": "textarea",
        "label": {"zh-hans": "买家留言", "en": "Buyer's note"},
        "max_length": 500,
    },
]


def demo_order_form_publish(*, actor=None) -> int | None:
    """Publish the demo order form unless an order form is published already; its version, or None."""
    form = FormDefinition.objects.get(key=ORDER_FORM_KEY)
    if form.published_id is not None:
        return None
    services.form_save_draft(key=ORDER_FORM_KEY, document={**form.draft, "fields": DEMO_ORDER_FIELDS}, actor=actor)
    return services.form_publish(key=ORDER_FORM_KEY, actor=actor, note="Demo").number
