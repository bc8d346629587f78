"""Publishing forms the way an admin does: save the draft, then publish it."""

from __future__ import annotations

from typing import Any

import pytest

from apps.formdesigner import services
from apps.formdesigner.models import FormDefinition


def text(zh: str, en: str) -> dict[str, str]:
    return {"zh-hans": zh, "en": en}


INVOICE_TITLE = {"key": "invoice_title", "type": "text", "label": text("发票抬头", "Invoice title"), "required": True}
INVOICE_TYPE = {
    "key": "invoice_type",
    "type": "choice",
    "label": text("发票类型", "Invoice type"),
    "choices": [
        {"value": "company", "label": text("企业", "Company")},
        {"value": "personal", "label": text("个人", "Personal")},
    ],
}


def publish_form(key: str, fields: list[dict[str, Any]], *, actor=None, note: str = ""):
    """Replace form ``key``'s draft with ``fields`` and publish it; returns the version."""
    form = FormDefinition.objects.get(key=key)
    document = {**form.draft, "fields": fields}
    services.form_save_draft(key=key, document=document, actor=actor)
    return services.form_publish(key=key, actor=actor, note=note)


@pytest.fixture
def publish_order_form(db):
    def publish(*fields: dict[str, Any], note: str = ""):
        return publish_form("order", list(fields), note=note)

    return publish
