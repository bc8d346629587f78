"""What a person reads about an order's custom fields: labelled values, never JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class FieldRow:
    label: str
    value: str


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


def custom_field_rows(data: Mapping[str, Any] | None) -> list[FieldRow]:
    """The order's ``data`` as rows. Labels are the keys until the order form names them (form designer)."""
    return [FieldRow(label=str(key), value=display_value(value)) for key, value in (data or {}).items()]
