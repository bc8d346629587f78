"""The rules section of the bundle: each rule as its document, and a document applied by code."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.common.errors import DomainError, ErrorCode
from apps.rules import services
from apps.rules.models import Category, ExceptionRule, Severity

KEYS = ("code", "name", "description", "category", "severity", "source", "condition", "params", "is_active")


def rule_document(rule: ExceptionRule) -> dict[str, Any]:
    return {
        "code": rule.code,
        "name": {"zh-hans": rule.name, "en": rule.name_en},
        "description": rule.description,
        "category": rule.category,
        "severity": rule.default_severity,
        "source": rule.source,
        "condition": rule.condition,
        "params": rule.params,
        "is_active": rule.is_active,
    }


def rule_documents() -> list[dict[str, Any]]:
    return [rule_document(rule) for rule in ExceptionRule.objects.order_by("code")]


def _refuse(field: str, message: str) -> None:
    raise DomainError(code=ErrorCode.INVALID, field=field, message=message)


def rule_apply(*, document: dict[str, Any], actor: User | None) -> ExceptionRule:
    """Create the rule of ``document["code"]`` or bring it to the document."""
    unknown = sorted(set(document) - set(KEYS))
    if unknown:
        _refuse(unknown[0], _("Not a part of a rule."))
    code = document.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        _refuse("code", _("A rule code of at most 64 characters is required."))
    names = document.get("name")
    if (
        not isinstance(names, dict)
        or not isinstance(names.get("zh-hans", ""), str)
        or not isinstance(names.get("en", ""), str)
    ):
        _refuse("name", _('Expected the names in both languages: {"zh-hans": …, "en": …}.'))
    if not (names.get("zh-hans") or names.get("en")):
        _refuse("name", _("A rule needs a name."))
    if document.get("category") not in Category.values:
        _refuse("category", _("One of: %(choices)s.") % {"choices": ", ".join(Category.values)})
    if document.get("severity") not in Severity.values:
        _refuse("severity", _("One of: %(choices)s.") % {"choices": ", ".join(Severity.values)})
    source = document.get("source", ExceptionRule.Source.CONDITION)
    if source not in ExceptionRule.Source.values:
        _refuse("source", _("One of: %(choices)s.") % {"choices": ", ".join(ExceptionRule.Source.values)})
    active = document.get("is_active", True)
    if not isinstance(active, bool):
        _refuse("is_active", _("Expected true or false."))
    description = document.get("description", "")
    if not isinstance(description, str):
        _refuse("description", _("Expected a text."))
    rule = ExceptionRule.objects.filter(code=code).first() or ExceptionRule(code=code)
    if rule.pk is not None and rule.source != source:
        _refuse("source", _("A rule's source cannot change."))
    return services.rule_update(
        rule=rule,
        actor=actor,
        name=names.get("zh-hans") or names.get("en"),
        name_en=names.get("en", ""),
        description=description,
        category=document["category"],
        default_severity=document["severity"],
        source=source,
        condition=document.get("condition", {}),
        params=document.get("params", {}),
        is_active=active,
    )
