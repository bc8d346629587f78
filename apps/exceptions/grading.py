"""The grading table's writes (SPEC §3, §10.4): a row created or replaced as a whole, checked by
the model, and removed. The configuration API and the grading editor call these."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.accounts.models import Department
from apps.common.errors import DomainError, ErrorCode
from apps.exceptions import selectors
from apps.exceptions.models import GradingRule

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
def grading_rule_save(*, rule_id: int | None, values: dict[str, Any]) -> GradingRule:
    """Create a grading row (``rule_id`` None) or replace one with ``values`` (the input's fields).

    ``rule`` and ``department`` are codes; ``name`` is ``{"zh-hans", "en"}``. The row is checked
    with ``full_clean`` (its ``clean()`` and constraints) before it is stored.
    """
    row = GradingRule() if rule_id is None else GradingRule.objects.select_for_update().get(pk=rule_id)
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
    return row


def grading_rule_delete(*, rule_id: int) -> None:
    """Remove a grading row (nothing refers to one: the audit trail keeps the id it matched)."""
    GradingRule.objects.filter(pk=rule_id).delete()
