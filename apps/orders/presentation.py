"""What a person reads about an order's custom fields: labelled values, never JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from apps.formdesigner.build import display_value as field_display_value
from apps.formdesigner.selectors import PublishedForm, order_form


@dataclass(frozen=True)
class FieldRow:
    label: str
    value: str
    # A value stored under a key that is no field of the published order form (a field since
    # removed, or data from before the form): shown, marked as archived.
    is_archived: bool = False


def display_value(value: Any) -> str:
    """A stored JSON value as words: yes/no, comma lists, nested objects as ``key: value`` pairs."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(display_value(item) for item in value) or "—"
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {display_value(item)}" for key, item in value.items()) or "—"
    return str(value)


def custom_field_rows(data: Mapping[str, Any] | None, form: PublishedForm | None = None) -> list[FieldRow]:
    """The order's ``data`` as rows: every field of the order form in its order, labelled in the
    page's language ("—" when empty), then values under other keys, marked archived.

    Without a published order form the labels are the keys. ``form`` defaults to the published one.
    """
    data = data or {}
    if form is None:
        form = order_form()
    if form is None:
        return [FieldRow(label=str(key), value=display_value(value)) for key, value in data.items()]
    rows = [
        FieldRow(label=str(spec.label), value=field_display_value(spec, data.get(spec.key)))
        for spec in form.spec.fields
    ]
    for key, value in data.items():
        if form.spec.field(key) is None:
            label = _("%(key)s (archived)") % {"key": key}
            rows.append(FieldRow(label=label, value=display_value(value), is_archived=True))
    return rows
