"""The rule builder in the console (SPEC §10.3): the page, and the endpoints its script calls.

``ExceptionRuleAdmin`` (``apps/rules/admin.py``) wires these under the rule's admin URLs behind
the admin site's sign-in, CSRF and its permission checks, as the form and workflow designers
are wired (``apps/console/designers.py``). Each view parses the request, calls one service or
selector and renders; the builder's script (``static/orderguard/rule-builder.js``) holds only
the tree being edited and shows what these answer: the problems by path (``condition.all.1.field``)
in the page's language, the condition read back as a sentence, the orders that match now, a
back-test's progress and result.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext, pgettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from apps.common.documents import LANGUAGES
from apps.common.errors import DomainError
from apps.console import designers
from apps.console.components import when, when_short
from apps.orders.models import Channel, Order
from apps.rules import backtest, selectors, services
from apps.rules.builder import builder_catalogue
from apps.rules.diff import change_rows, rule_document
from apps.rules.errors import RuleDefinitionError
from apps.rules.models import BacktestRun, Category, ExceptionRule, Severity
from apps.rules.sentence import condition_sentence

# The longest names and description the rule's columns hold.
MAX_NAME = ExceptionRule._meta.get_field("name").max_length
# A rule's properties as the builder names them; a problem's place says the same words.
PROPERTY_WORDS = {
    "code": pgettext_lazy("rule property", "code"),
    "name": pgettext_lazy("rule property", "name"),
    "name.zh-hans": gettext_lazy("Name in Chinese"),
    "name.en": gettext_lazy("Name in English"),
    "description": pgettext_lazy("rule property", "description"),
    "category": pgettext_lazy("rule property", "category"),
    "severity": pgettext_lazy("rule property", "default severity"),
    "is_active": pgettext_lazy("rule property", "active"),
    "condition": pgettext_lazy("rule property", "condition"),
    "params": gettext_lazy("Parameters"),
    "field": pgettext_lazy("rule builder", "Field"),
    "op": pgettext_lazy("rule builder", "Comparison"),
    "value": pgettext_lazy("rule builder", "Value"),
}
NOT_SAVED = gettext_noop("The rule was not saved: fix the problems marked in red.")
# How many orders "Test now" lists.
SAMPLE_SIZE = 10


def _rule_or_404(object_id: int) -> ExceptionRule:
    return get_object_or_404(ExceptionRule, pk=object_id)


def _urls(rule: ExceptionRule) -> dict[str, str]:
    return {name: designers.designer_url(rule, name) for name in ("check", "save", "test", "backtest", "versions")}


def _strings() -> dict[str, str]:
    """The script's words (Django's catalogue is the server's: every word goes through it)."""
    return {
        "problemsOne": ngettext("%(count)s problem to fix before saving", "%(count)s problems to fix before saving", 1),
        "problemsMany": ngettext(
            "%(count)s problem to fix before saving", "%(count)s problems to fix before saving", 2
        ),
        "saved": _("Saved: the rule applies from now on."),
        "saving": _("Saving…"),
        "unsaved": _("Changes not saved yet."),
        "notSaved": _(NOT_SAVED),
        "offline": _("The server could not be reached. Try again."),
        "publishing": _("Saving…"),
        "leave": _("The rule has changes that are not saved."),
        "removeConfirm": _("Remove “%(name)s” from the condition?"),
        "condition": pgettext("rule builder", "Condition %(number)s"),
        "group": pgettext("rule builder", "Group %(number)s"),
        "parameter": pgettext("rule builder", "Parameter “%(name)s”"),
        "all": pgettext("rule builder", "All of these are true"),
        "any": pgettext("rule builder", "At least one of these is true"),
        "and": pgettext("rule builder", "and"),
        "or": pgettext("rule builder", "or"),
        "not": pgettext("rule builder", "This is not the case:"),
        "chooseField": pgettext("rule builder", "Choose a field"),
        "aValue": pgettext("rule builder", "a value"),
        "anotherField": pgettext("rule builder", "another field"),
        "aParameter": pgettext("rule builder", "a parameter"),
        "yes": pgettext("answer", "Yes"),
        "no": pgettext("answer", "No"),
        "and_between": pgettext("rule builder", "and"),
        "version": pgettext("rule builder", "Version %(number)s"),
        "moveUp": pgettext("rule builder", "Move up"),
        "moveDown": pgettext("rule builder", "Move down"),
        "negate": pgettext("rule builder", "Turn into “not”"),
        "remove": pgettext("rule builder", "Remove"),
        "addItem": pgettext("rule builder", "Add"),
        "removeItem": pgettext("rule builder", "Remove %(value)s"),
        "noItems": pgettext("rule builder", "No values yet: type one and press Enter."),
        "testing": _("Looking for matching orders…"),
        "testFailed": _("The orders could not be searched. Try again."),
        "backtestQueued": _("Waiting for a worker…"),
        "backtestRunning": _("Replaying %(progress)s%%…"),
        "backtestFailed": _("The back-test failed: %(error)s"),
        "backtestStartFailed": _("The back-test could not be started. Try again."),
        "seriesCount": _("Would have been raised"),
        "seriesDismissed": _("Of those, on orders dismissed before"),
        "seriesCurrent": _("Raised by the saved rule"),
        "unused": _("Not used by the condition."),
        "paramTaken": _("A parameter of this name exists already."),
        "paramBadName": _("A name is lower-case letters, digits and _, starting with a letter."),
        "paramKinds": {
            "duration": pgettext("rule parameter kind", "A duration"),
            "decimal": pgettext("rule parameter kind", "A number"),
            "text": pgettext("rule parameter kind", "A text"),
            "list": pgettext("rule parameter kind", "A list of values"),
        },
    }


def _config(rule: ExceptionRule, *, can_edit: bool) -> dict[str, Any]:
    """What the builder's script starts from: the rule as a document, its endpoints, the catalogue, the words."""
    return {
        "document": rule_document(rule),
        "urls": _urls(rule),
        "language": translation.get_language(),
        "canEdit": can_edit,
        "hasUnpublished": False,
        "hasCondition": rule.source == ExceptionRule.Source.CONDITION,
        "isBuiltin": rule.is_builtin,
        "version": _current_version(rule),
        "properties": {name: str(words) for name, words in PROPERTY_WORDS.items()},
        "catalogue": builder_catalogue(),
        "strings": _strings(),
    }


def builder(request: HttpRequest, *, object_id: int, context: dict[str, Any], can_edit: bool) -> TemplateResponse:
    """The builder page of one rule; ``context`` is the admin site's (sidebar, title, user links)."""
    rule = _rule_or_404(object_id)
    config = _config(rule, can_edit=can_edit)
    context = {
        **context,
        "title": rule.display_name,
        "original": rule,
        "rule": rule,
        "can_edit": can_edit,
        "has_condition": config["hasCondition"],
        "sentence": condition_sentence(rule.condition, rule.params),
        "builder_config": config,
        "categories": Category.choices,
        "severities": Severity.choices,
        "sample_size": SAMPLE_SIZE,
        "max_days": 90,
        **_versions_context(rule, can_edit=can_edit),
    }
    return TemplateResponse(request, "rules/builder.html", context)


# --- Reading what the script posts -------------------------------------------------------------


def _sentences(condition: Any, params: Any) -> dict[str, str]:
    params = params if isinstance(params, dict) else {}
    result = {}
    for language in LANGUAGES:
        with translation.override(language):
            result[language] = condition_sentence(condition, params)
    return result


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _document_changes(rule: ExceptionRule, document: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The model values of a posted rule document, and its problems of shape by path.

    The rule language's problems are the service's to find; here only what a form would check:
    names, category, severity, that the condition and parameters are JSON objects.
    """
    if not isinstance(document, dict):
        return {}, {"document": [_("Expected the rule as a JSON object.")]}
    errors: dict[str, list[str]] = {}
    names = document.get("name") if isinstance(document.get("name"), dict) else {}
    name_zh, name_en = _text(names.get("zh-hans")), _text(names.get("en"))
    if not name_zh:
        errors["name.zh-hans"] = [_("Give the rule a Chinese name.")]
    for path, value in (("name.zh-hans", name_zh), ("name.en", name_en)):
        if len(value) > MAX_NAME:
            errors[path] = [_("At most %(count)d characters.") % {"count": MAX_NAME}]
    category, severity = document.get("category"), document.get("severity")
    if category not in Category.values:
        errors["category"] = [_("Choose a category.")]
    if severity not in Severity.values:
        errors["severity"] = [_("Choose a default severity.")]
    is_active = document.get("is_active")
    if not isinstance(is_active, bool):
        errors["is_active"] = [_("Expected true or false.")]
    changes: dict[str, Any] = {
        "name": name_zh,
        "name_en": name_en,
        "description": _text(document.get("description")),
        "category": category,
        "default_severity": severity,
        "is_active": is_active,
    }
    if rule.source == ExceptionRule.Source.CONDITION:
        condition, params = document.get("condition"), document.get("params", {})
        if not isinstance(condition, dict):
            errors["condition"] = [_("Expected a condition object.")]
        if not isinstance(params, dict):
            errors["params"] = [_("Parameters are a JSON object.")]
        changes |= {"condition": condition, "params": params}
    return changes, errors


# --- The endpoints -----------------------------------------------------------------------------


@require_POST
def rule_check_view(request: HttpRequest, *, object_id: int) -> JsonResponse:
    """Check the rule as edited: its problems by path (in the page's language) and its sentence in
    both languages. Nothing is stored."""
    rule = _rule_or_404(object_id)
    document = designers.posted_json(request).get("document")
    changes, errors = _document_changes(rule, document)
    condition, params = changes.get("condition"), changes.get("params")
    if rule.source == ExceptionRule.Source.CONDITION and not errors:
        try:
            services.rule_validate(condition=condition, params=params, source=rule.source)
        except DomainError as error:
            errors = error.as_fields()
    answer = {"errors": errors, "sentences": _sentences(condition, params) if condition is not None else {}}
    return JsonResponse(answer, status=400 if errors else 200)


@require_POST
def rule_save_view(request: HttpRequest, *, object_id: int) -> JsonResponse:
    """Save the rule as edited through the rules service (the one the API uses); answer it as stored."""
    rule = _rule_or_404(object_id)
    payload = designers.posted_json(request)
    changes, errors = _document_changes(rule, payload.get("document"))
    if errors:
        return JsonResponse({"code": "invalid_rule", "message": _(NOT_SAVED), "errors": errors}, status=400)
    note = payload.get("note") if isinstance(payload.get("note"), str) else ""
    try:
        rule = services.rule_update(rule=rule, actor=request.user, note=note, **changes)
    except RuleDefinitionError as error:
        # The problem is shown at its node; the message the API gives names its path.
        return JsonResponse({"code": str(error.code), "message": _(NOT_SAVED), "errors": error.as_fields()}, status=400)
    except DomainError as error:
        return designers.refusal(error)
    return JsonResponse(
        {
            "document": rule_document(rule),
            "has_unpublished_changes": False,
            "saved_at": when(rule.updated_at),
            "sentences": _sentences(rule.condition, rule.params),
            "version": _current_version(rule),
        }
    )


def _current_version(rule: ExceptionRule) -> int | None:
    """The number of the version the rule is now, if it has versions."""
    latest = selectors.rule_versions(rule=rule).first()
    return latest.number if latest is not None else None


@require_POST
def rule_test_view(request: HttpRequest, *, object_id: int) -> JsonResponse:
    """How many current orders the condition as edited matches, and the first of them (rendered)."""
    rule = _rule_or_404(object_id)
    payload = designers.posted_json(request)
    condition, params = payload.get("condition"), payload.get("params", {})
    try:
        result = backtest.rule_test(condition=condition, params=params, limit=SAMPLE_SIZE)
    except DomainError as error:
        return designers.refusal(error)
    channels, statuses = dict(Channel.choices), dict(Order.Status.choices)
    sample = [
        {
            **order,
            "channel_label": channels.get(order["channel"], order["channel"]),
            "status_label": statuses.get(order["status"], order["status"]),
            "placed_short": when_short(order["placed_at"]),
            "placed_full": when(order["placed_at"]),
        }
        for order in result["sample"]
    ]
    html = render_to_string(
        "rules/builder.html#test_result", {"result": {**result, "sample": sample}, "rule": rule}, request
    )
    return JsonResponse({"count": result["count"], "html": html})


@require_POST
def backtest_start(request: HttpRequest, *, object_id: int) -> JsonResponse:
    """Queue a back-test of the condition as edited over the last ``days`` days; answer where to follow it."""
    rule = _rule_or_404(object_id)
    payload = designers.posted_json(request)
    condition, params, days = payload.get("condition"), payload.get("params", {}), payload.get("days")
    try:
        run = services.backtest_run_start(rule=rule, days=days, condition=condition, params=params, actor=request.user)
    except DomainError as error:
        return designers.refusal(error)
    url = reverse("admin:rules_exceptionrule_designer_backtest_run", args=[rule.pk, run.pk])
    return JsonResponse({"id": run.pk, "url": url, **_run_state(run)}, status=202)


def _run_state(run: BacktestRun) -> dict[str, Any]:
    return {"status": run.status, "progress": run.progress, "error": run.error}


@require_GET
def backtest_status(request: HttpRequest, *, object_id: int, run_id: int) -> JsonResponse:
    """How far a back-test is; once done, its days (for the chart) and its table (rendered)."""
    rule = _rule_or_404(object_id)
    try:
        run = selectors.backtest_run_get(run_id=run_id)
    except BacktestRun.DoesNotExist:
        raise Http404 from None
    if run.rule_id != rule.pk:
        raise Http404
    answer: dict[str, Any] = _run_state(run)
    if run.status == BacktestRun.Status.DONE and run.result:
        result = run.result
        answer["days"] = result.get("days", [])
        answer["html"] = render_to_string(
            "rules/builder.html#backtest_result",
            {"result": result, "run": run, "has_current": "current_total" in result},
            request,
        )
    return JsonResponse(answer)


@require_GET
def versions(request: HttpRequest, *, object_id: int) -> TemplateResponse:
    """The rule's saved versions (the builder re-fetches this after each save)."""
    rule = _rule_or_404(object_id)
    can_edit = request.user.has_perm("rules.change_exceptionrule")
    return TemplateResponse(request, "rules/builder.html#versions", _versions_context(rule, can_edit=can_edit))


def _versions_context(rule: ExceptionRule, *, can_edit: bool) -> dict[str, Any]:
    entries = list(selectors.rule_versions(rule=rule)[: designers.HISTORY_SHOWN])
    return {
        "rule": rule,
        "can_edit": can_edit,
        "versions": [{"version": entry, "rows": change_rows(entry.changes)} for entry in entries],
        "current_number": entries[0].number if entries else None,
        "versions_url": designers.designer_url(rule, "versions"),
        "restore_url": designers.designer_url(rule, "restore"),
    }


@require_POST
def version_restore(request: HttpRequest, *, object_id: int) -> HttpResponse:
    """Make the rule what one of its versions was (a plain form post), then show the builder again."""
    rule = _rule_or_404(object_id)
    number = request.POST.get("version", "")
    try:
        services.rule_restore(code=rule.code, version=int(number) if number.isdigit() else 0, actor=request.user)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request, _("Version %(number)s is back: the rule applies as it was then.") % {"number": number}
        )
    return redirect(reverse("admin:rules_exceptionrule_change", args=[rule.pk]))
