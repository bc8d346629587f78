"""Definitions written as a JSON document: the forms (``apps.formdesigner``) and the workflows.

Each is a row holding its draft document plus immutable published versions numbered from 1;
their services lock the row, check the document and write. What they share lives here.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Max

from apps.common.errors import DomainError

# The languages of a document's texts (names, labels): {"zh-hans": "…", "en": "…"}.
LANGUAGES = ("zh-hans", "en")
# The longest note a published version keeps.
MAX_NOTE = 500


class InvalidDocument(DomainError):
    """A definition's document with problems: ``errors`` names each bad part by its path (``fields.1.key``)."""

    def __init__(self, *, code: str, message: str, errors: dict[str, list[str]]):
        super().__init__(code=code, message=message)
        self.errors = errors

    def as_fields(self) -> dict[str, list[str]]:
        return self.errors


def nul_path(value: Any) -> str | None:
    """The dotted path of the first string or key holding a NUL character, walked without recursion.

    PostgreSQL stores no NUL in ``jsonb`` and refuses one in a query, so a document holding one
    is refused before it is read or stored.
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return ".".join(path)
        elif isinstance(item, dict):
            for name, child in item.items():
                if "\x00" in str(name):
                    return ".".join(path)
                stack.append((child, (*path, str(name))))
        elif isinstance(item, list):
            stack.extend((child, (*path, str(index))) for index, child in enumerate(item))
    return None


def definition_locked(model: type[models.Model], *, key: str) -> Any:
    """The definition ``key`` of ``model``, locked for the rest of the transaction, with its published version."""
    # of=("self",): PostgreSQL cannot lock the nullable side of the join to the published
    # version; the definition's row is the lock.
    return model.objects.select_for_update(of=("self",)).select_related("published").get(key=key)


def definition_next_number(definition: models.Model) -> int:
    """The number the definition's next published version takes: one more than the last, from 1."""
    return (definition.versions.aggregate(last=Max("number"))["last"] or 0) + 1


def stored_actor(user) -> Any:
    """The user to record as the actor: ``None`` for no user or one not stored (an anonymous one)."""
    return user if user is not None and getattr(user, "pk", None) else None
