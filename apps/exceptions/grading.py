"""The grading table's writes (SPEC §3, §10.4): a row created or replaced as a whole, checked by
the model, and removed; each write kept as a version (who, when, what changed), with restore.
The configuration API, the console and the configuration bundle call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as ModelValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.accounts.models import Department
from apps.common.documents import MAX_NOTE, stored_actor
from apps.common.errors import DomainError, ErrorCode
from apps.common.i18n import localized
from apps.exceptions import selectors
from apps.exceptions.evidence import duration_text
from apps.exceptions.models import GradingRule, GradingRuleVersion, Handling, NotifyChannel
from apps.orders.models import Channel
from apps.rules.models import Category, ExceptionRule, Severity

# The model's own field names, as the API names them.
_ROW_FIELDS = {"name": "name.zh-hans", "name_en": "name.en", "rule_id": "rule", "department_id": "department"}


class GradingRowError(DomainError):
    """A grading row the model refuses: ``errors`` names each bad field as the API names it."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(code=ErrorCode.INVALID, message=_("The grading row has problems."))
        self.errors = {
            _ROW_FIELDS.get(name, "non_field_errors" if name == "__all__" else name): messages
            for name, messages in errors.items()
        }

    def as_fields(self) -> dict[str, list[str]]:
        return self.errors


def _refuse(field: str, message: str) -> None:
    raise DomainError(code=ErrorCode.INVALID, field=field, message=message)


@transaction.atomic
def grading_rule_save(*, rule_id: int | None, values: dict[str, Any], actor=None, note: str = "") -> GradingRule:
    """Create a grading row (``rule_id`` None) or replace one with ``values`` (the input's fields).

    ``rule`` and ``department`` are codes; ``name`` is ``{"zh-hans", "en"}``. The row is checked
    with ``full_clean`` (its ``clean()`` and constraints) before it is stored. A save that
    changes the row writes its next version (``GradingRuleVersion``), with ``actor`` and ``note``.
    """
    if rule_id is None:
        return _row_save(GradingRule(), values, actor=actor, note=note, action=GradingRuleVersion.Action.CREATED)
    row = GradingRule.objects.select_for_update().get(pk=rule_id)
    return _row_save(row, values, actor=actor, note=note, action=GradingRuleVersion.Action.CHANGED)


def _row_save(
    row: GradingRule, values: dict[str, Any], *, actor, note: str, action: str, restored_from: int | None = None
) -> GradingRule:
    values = dict(values)
    rule_code = values.pop("rule", None) or None
    department_code = values.pop("department")
    names = values.pop("name", None) or {}
    row.rule_id = None
    if rule_code is not None:
        row.rule_id = selectors.rule_ids_by_code(codes=[rule_code]).get(rule_code)
        if row.rule_id is None:
            _refuse("rule", _("No rule has the code %(code)s.") % {"code": rule_code})
    department = Department.objects.filter(code=department_code).first()
    if department is None:
        _refuse("department", _("No department has the code %(code)s.") % {"code": department_code})
    row.department = department
    row.name, row.name_en = names.get("zh-hans", ""), names.get("en", "")
    for name, value in values.items():
        setattr(row, name, value)
    try:
        row.full_clean()
    except ModelValidationError as error:
        raise GradingRowError(error.message_dict) from None
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # The rule or department went away between the check and the write.
        raise DomainError(
            code=ErrorCode.CONFLICT, message=_("The row names something that is gone; try again."), status_code=409
        ) from None
    _version_write(
        row_id=row.pk,
        document=grading_row_document(row),
        action=action,
        actor=actor,
        note=note,
        restored_from=restored_from,
    )
    return row


@transaction.atomic
def grading_rule_delete(*, rule_id: int, actor=None, note: str = "") -> None:
    """Remove a grading row (nothing refers to one: the audit trail keeps the id it matched).

    Its history stays, with a last version saying who removed it; it can be restored from there.
    """
    # of=("self",): PostgreSQL cannot lock the nullable side of the join to the rule.
    row = (
        GradingRule.objects.select_for_update(of=("self",))
        .select_related("rule", "department")
        .filter(pk=rule_id)
        .first()
    )
    if row is None:
        return
    document = grading_row_document(row)
    row.delete()
    _version_write(row_id=rule_id, document=document, action=GradingRuleVersion.Action.DELETED, actor=actor, note=note)


@transaction.atomic
def grading_rule_restore(*, rule_id: int, version: int, actor=None, note: str = "") -> GradingRule:
    """Bring row ``rule_id`` back to its version ``version`` as a new version; a removed row is
    stored again under its id. The version's rule or department must still exist."""
    stored = GradingRuleVersion.objects.filter(row_id=rule_id, number=version).first()
    if stored is None or stored.action == GradingRuleVersion.Action.DELETED:
        raise DomainError(
            code="no_such_version",
            field="version",
            message=_("The grading row has no such version to restore (a removal is no state to go back to)."),
        )
    row = GradingRule.objects.select_for_update().filter(pk=rule_id).first() or GradingRule(pk=rule_id)
    return _row_save(
        row,
        _values_of(stored.document),
        actor=actor,
        note=note,
        action=GradingRuleVersion.Action.RESTORED,
        restored_from=version,
    )


# --- Versions -----------------------------------------------------------------------------------


def grading_row_document(row: GradingRule) -> dict[str, Any]:
    """The row as the configuration API answers it, without its id (what a version keeps)."""
    return {
        "position": row.position,
        "name": {"zh-hans": row.name, "en": row.name_en},
        "is_active": row.is_active,
        "category": row.category,
        "rule": row.rule.code if row.rule_id else None,
        "channel": row.channel,
        "min_amount": None if row.min_amount is None else f"{Decimal(row.min_amount):.2f}",
        "max_amount": None if row.max_amount is None else f"{Decimal(row.max_amount):.2f}",
        "customer_tag": row.customer_tag,
        "time_from": None if row.time_from is None else f"{row.time_from:%H:%M}",
        "time_to": None if row.time_to is None else f"{row.time_to:%H:%M}",
        "severity": row.severity,
        "department": row.department.code,
        "handling": row.handling,
        "first_response_minutes": row.first_response_minutes,
        "resolution_minutes": row.resolution_minutes,
        "notify_channels": list(row.notify_channels or []),
    }


def _values_of(document: dict[str, Any]) -> dict[str, Any]:
    """A version's document as the values ``grading_rule_save`` takes."""
    values = dict(document)
    for name in ("min_amount", "max_amount"):
        values[name] = None if values.get(name) is None else Decimal(values[name])
    for name in ("time_from", "time_to"):
        values[name] = None if values.get(name) is None else time.fromisoformat(values[name])
    return values


# The attributes a version compares, in the order of the row's document.
ROW_ATTRIBUTES = (
    "position",
    "name",
    "is_active",
    "category",
    "rule",
    "channel",
    "min_amount",
    "max_amount",
    "customer_tag",
    "time_from",
    "time_to",
    "severity",
    "department",
    "handling",
    "first_response_minutes",
    "resolution_minutes",
    "notify_channels",
)


def row_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed from ``old`` to ``new`` as JSON rows: ``{"attribute", "old", "new"}`` each."""
    return [
        {"change": "changed", "attribute": name, "old": old.get(name), "new": new.get(name)}
        for name in ROW_ATTRIBUTES
        if old is not None and old.get(name) != new.get(name)
    ]


def _version_write(
    *, row_id: int, document: dict[str, Any], action: str, actor, note: str, restored_from: int | None = None
) -> GradingRuleVersion | None:
    """Write the row's next version; a save that changes nothing writes none."""
    Action = GradingRuleVersion.Action
    last = GradingRuleVersion.objects.filter(row_id=row_id).order_by("-number").first()
    previous = None if last is None or last.action == Action.DELETED else last.document
    if action == Action.CHANGED and previous == document:
        return None
    if action == Action.DELETED:
        changes: list[dict[str, Any]] = [{"change": "deleted"}]
    elif previous is None:
        changes = [{"change": "created"}]
    else:
        changes = row_changes(previous, document)
    return GradingRuleVersion.objects.create(
        row_id=row_id,
        number=(last.number if last is not None else 0) + 1,
        action=action,
        document=document,
        changes=changes,
        note=(note or "").strip()[:MAX_NOTE],
        restored_from=restored_from,
        actor=stored_actor(actor),
        created_at=timezone.now(),
    )


@dataclass(frozen=True)
class RowChange:
    """One change of a grading row in words: what changed, from what to what."""

    what: str
    old: str
    new: str


def _choice(choices: type, value: Any) -> str:
    if not value:
        return pgettext("grading row value", "any")
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _row_words(attribute: str, value: Any, names: dict[str, dict[str, str]]) -> str:
    if attribute == "name":
        value = value or {}
        return localized(value.get("zh-hans", ""), value.get("en", "")) or "—"
    if attribute == "is_active":
        return pgettext("answer", "Yes") if value else pgettext("answer", "No")
    if attribute == "category":
        return _choice(Category, value)
    if attribute == "channel":
        return _choice(Channel, value)
    if attribute == "severity":
        return _choice(Severity, value) if value else _("the rule's own")
    if attribute == "handling":
        return _choice(Handling, value)
    if attribute == "notify_channels":
        return _(", ").join(_choice(NotifyChannel, item) for item in value or []) or "—"
    if attribute in ("first_response_minutes", "resolution_minutes"):
        if value is None:
            return _("four times the first response")
        return duration_text(value)
    if attribute in ("rule", "department"):
        return names[attribute].get(value, value) if value else pgettext("grading row value", "any")
    return "—" if value in (None, "") else str(value)


def row_change_names(changes: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The names of the rules and departments ``changes`` name, by code (two queries at most)."""
    rule_codes = {c.get(side) for c in changes if c.get("attribute") == "rule" for side in ("old", "new")} - {None}
    department_codes = {
        c.get(side) for c in changes if c.get("attribute") == "department" for side in ("old", "new")
    } - {None}
    names: dict[str, dict[str, str]] = {"rule": {}, "department": {}}
    if rule_codes:
        for rule in ExceptionRule.objects.filter(code__in=rule_codes).only("code", "name", "name_en"):
            names["rule"][rule.code] = rule.display_name
    if department_codes:
        for department in Department.objects.filter(code__in=department_codes).only("code", "name", "name_en"):
            names["department"][department.code] = localized(department.name, department.name_en)
    return names


def row_change_rows(
    changes: list[dict[str, Any]], *, names: dict[str, dict[str, str]] | None = None
) -> list[RowChange]:
    """Stored changes of a grading row as rows in the page's language; ``names`` as
    ``row_change_names`` gives them (read here when not given: two queries at most)."""
    names = row_change_names(changes) if names is None else names
    rows = []
    for change in changes:
        kind = change.get("change")
        if kind == "created":
            rows.append(RowChange(_("Row added"), "", ""))
        elif kind == "deleted":
            rows.append(RowChange(_("Row removed"), "", ""))
        else:
            attribute = change.get("attribute", "")
            try:
                label = str(GradingRule._meta.get_field(attribute).verbose_name)
            except FieldDoesNotExist:
                label = attribute
            rows.append(
                RowChange(
                    _("Changed %(property)s") % {"property": label},
                    _row_words(attribute, change.get("old"), names),
                    _row_words(attribute, change.get("new"), names),
                )
            )
    return rows


# --- Order (the grading table editor) -----------------------------------------------------------


@transaction.atomic
def grading_rows_reorder(*, row_ids: list[int], actor=None, note: str = "") -> list[GradingRule]:
    """Have grading try the rows in the order of ``row_ids``, which lists every row of the table once.

    The positions in use are dealt out again in the new order (raised where needed so that they
    strictly increase), so a row that keeps its place keeps its number. Each row whose position
    changes is saved through ``grading_rule_save`` (a version each, with ``actor`` and ``note``).
    A list that is not the table as it is now (a row added or removed meanwhile) is refused as a
    conflict. Returns the rows in their new order.
    """
    rows = list(
        GradingRule.objects.select_for_update(of=("self",))
        .select_related("rule", "department")
        .order_by("position", "id")
    )
    by_id = {row.pk: row for row in rows}
    if len(row_ids) != len(rows) or set(row_ids) != set(by_id):
        raise DomainError(
            code=ErrorCode.CONFLICT,
            message=_("The grading table changed meanwhile: it is shown again as it is now. Move the row again."),
            status_code=409,
        )
    positions: list[int] = []
    for row in rows:
        positions.append(max(row.position, positions[-1] + 1) if positions else row.position)
    ordered = []
    for row_id, position in zip(row_ids, positions, strict=True):
        row = by_id[row_id]
        if row.position != position:
            values = {**_values_of(grading_row_document(row)), "position": position}
            row = grading_rule_save(rule_id=row.pk, values=values, actor=actor, note=note)
        ordered.append(row)
    return ordered
