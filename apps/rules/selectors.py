"""Reads of the rules domain for other apps: the field registry's labels and types."""

from __future__ import annotations

from apps.rules.fields import COLLECTIONS, SCOPES, FieldDef


def rule_field(*, scope: str, name: str) -> FieldDef | None:
    """The declaration of field ``name`` of ``scope`` (order, line, shipment, shipment_line, payment), if any."""
    return SCOPES.get(scope, {}).get(name)


def collection_scope(*, collection: str) -> str | None:
    """The scope of a collection's rows (``lines`` → ``line``), if it is one."""
    definition = COLLECTIONS.get(collection)
    return None if definition is None else definition.scope
