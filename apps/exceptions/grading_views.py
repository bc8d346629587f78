"""The grading table editor in the console (SPEC §10.4): the page, and the endpoints its script calls.

``GradingRuleAdmin`` (``admin.py``) serves the page as the grading table's list and wires the
endpoints under its URLs, behind the admin site's sign-in, CSRF and permission checks. Each view
parses the request, calls one service or selector and answers what the script shows: the rows as
stored (with what each matches in words), a refusal with its problems by field (the names of the
configuration API: ``max_amount``, ``name.en``), or the tester's verdict in words. The script
(``static/orderguard/grading-editor.js``) only holds what is being edited.

A row's cells are saved through ``grading_rule_save``, the service of the configuration API, after
the API's own input serializer has read them; so the editor refuses exactly what the API refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST
from rest_framework import serializers

from apps.accounts.models import Department, User
from apps.common.errors import DomainError, ErrorCode
from apps.common.i18n import localized
from apps.console import designers
from apps.console.components import when
from apps.exceptions import grading, presentation, selectors
from apps.exceptions.config_api import ClockTimeField, GradingRuleInput, GradingRuleOutput
from apps.exceptions.evidence import duration_text
from apps.exceptions.models import GradingRule, GradingRuleVersion, Handling, NotifyChannel
from apps.exceptions.selectors import GradingCheck, GradingCondition, GradingTrial, GradingVerdict
from apps.exceptions.services import FALLBACK_FIRST_RESPONSE_MINUTES, RESOLUTION_FACTOR, high_value_amount
from apps.orders.models import Channel
from apps.rules.models import Category, ExceptionRule, Severity

# What a new row starts as: switched off, so that it grades nothing until it is filled in.
NEW_ROW = {
    "is_active": False,
    "handling": Handling.TRIAGE.value,
    "first_response_minutes": FALLBACK_FIRST_RESPONSE_MINUTES,
    "notify_channels": [NotifyChannel.IN_APP.value],
}
# A new row goes this far below the last one, leaving room to slot rows in by position.
POSITION_STEP = 10
# The tester offers at most this many exceptions for what was searched.
EXCEPTIONS_SHOWN = 8


# --- The rows as the script reads them ----------------------------------------------------------


def _table() -> list[GradingRule]:
    return list(GradingRule.objects.select_related("rule", "department").order_by("position", "id"))


def _sets_no_condition(row: GradingRule) -> bool:
    # Asked of the one definition of a match: a row with no checks to make takes every exception.
    now = timezone.now()
    checks = selectors.grading_row_checks(
        row, category="", rule_id=None, channel="", amount=None, customer_tags=(), at=now
    )
    return next(checks, None) is None


def _deadlines(row: GradingRule) -> str:
    resolution = row.resolution_minutes or row.first_response_minutes * RESOLUTION_FACTOR
    return _("First response within %(first)s, resolution within %(resolution)s") % {
        "first": duration_text(row.first_response_minutes),
        "resolution": duration_text(resolution),
    }


def rows_data(rows: Iterable[GradingRule]) -> list[dict[str, Any]]:
    """The table as the script shows it: each row's stored values (as the configuration API gives
    them), what it matches and its deadlines in words, and a note when grading never reaches it."""
    result = []
    takes_all: int | None = None  # the place of the first active row that takes every exception
    for number, row in enumerate(rows, start=1):
        note = ""
        if takes_all is not None and row.is_active:
            note = _("Never reached: row %(number)s above takes every exception.") % {"number": takes_all}
        elif takes_all is None and row.is_active and _sets_no_condition(row):
            takes_all = number
        result.append(
            {
                **GradingRuleOutput(row).data,
                "phrase": presentation.grading_conditions(row),
                "deadlines": _deadlines(row),
                "note": note,
            }
        )
    return result


def _answer(*, status: int = 200, **extra) -> JsonResponse:
    """The table as stored now, plus ``extra``."""
    return JsonResponse({"rows": rows_data(_table()), **extra}, status=status)


def _refusal(error: DomainError) -> JsonResponse:
    """A refused write: the summary, and the problems by field; the table as it is now for a conflict."""
    body = {"code": str(error.code), "message": str(error.message), "errors": error.as_fields()}
    if error.status_code == 409:
        body["rows"] = rows_data(_table())
    return JsonResponse(body, status=error.status_code)


def _gone() -> JsonResponse:
    return JsonResponse(
        {
            "code": ErrorCode.NOT_FOUND.value,
            "message": _("This row was deleted meanwhile: the table is shown again as it is now."),
            "errors": {},
            "rows": rows_data(_table()),
        },
        status=404,
    )


# The words of the refusals the serializer says in its own terms.
_PLAIN_WORDS = {
    "null": lambda: _("Fill this in."),
    "required": lambda: _("Fill this in."),
}


def _flat_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """A serializer's errors as ``{"name.en": [...], "notify_channels.1": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat.update(_flat_errors(value, prefix=f"{prefix}{key}."))
        return flat
    field = prefix.rstrip(".") or "non_field_errors"
    messages = []
    for message in errors if isinstance(errors, list) else [errors]:
        if isinstance(message, (dict, list)):
            flat.update(_flat_errors(message, prefix=prefix))
            continue
        plain = _PLAIN_WORDS.get(getattr(message, "code", ""))
        messages.append(plain() if plain else str(message))
    if messages:
        flat[field] = messages
    return flat


def _invalid(errors: dict[str, list[str]], message: str | None = None) -> JsonResponse:
    return JsonResponse(
        {"code": ErrorCode.INVALID.value, "message": message or _("Some values need fixing."), "errors": errors},
        status=400,
    )


# --- The page -----------------------------------------------------------------------------------


def _endpoint(name: str, *args) -> str:
    return reverse(f"admin:exceptions_gradingrule_editor_{name}", args=args)


def _options() -> dict[str, Any]:
    """What the cells' selects offer, labelled in the page's language."""
    rules = sorted(ExceptionRule.objects.all(), key=lambda rule: rule.display_name)
    used = set(GradingRule.objects.values_list("department_id", flat=True))
    departments = [
        department
        for department in Department.objects.order_by("code")
        if department.is_active or department.pk in used
    ]
    return {
        "categories": Category.choices,
        "rules": [(rule.code, rule.display_name) for rule in rules],
        "rule_categories": {rule.code: rule.category for rule in rules},
        "channels": Channel.choices,
        "severities": Severity.choices,
        "departments": [(department.code, department.display_name) for department in departments],
        "handlings": Handling.choices,
        "notify_channels": NotifyChannel.choices,
    }


def _script_config(*, rows: list[dict[str, Any]], options: dict, can_edit: bool, can_add: bool, can_delete: bool):
    return {
        "rows": rows,
        "canEdit": can_edit,
        "canAdd": can_add,
        "canDelete": can_delete,
        "language": translation.get_language(),
        "ruleCategories": options["rule_categories"],
        "resolutionFactor": RESOLUTION_FACTOR,
        "urls": {
            "save": _endpoint("save"),
            "add": _endpoint("add"),
            "delete": _endpoint("delete", 0),
            "reorder": _endpoint("reorder"),
            "test": _endpoint("test"),
            "exceptions": _endpoint("exceptions"),
        },
        "strings": {
            "saving": _("Saving…"),
            "saved": _("Saved."),
            "notSaved": _("Row %(number)s is not saved: fix the cells marked in red."),
            "offline": _("The server could not be reached. Try again."),
            "moved": _("Row moved to place %(number)s."),
            "deleteConfirm": _("Delete row %(number)s, “%(name)s”? Exceptions graded by it keep their grading."),
            "deleted": _("Row deleted."),
            "added": _("A new row is added at the end, switched off: fill it in, then switch it on."),
            "unnamed": _("Row %(number)s"),
            "leave": _("Some rows have changes that are not saved."),
            "searching": _("Searching…"),
            "noneFound": _("No exception has that number or an order ID starting with it."),
            "filledFrom": _("Filled in from exception %(label)s"),
            "moveUp": _("Move row %(number)s up"),
            "moveDown": _("Move row %(number)s down"),
            "deleteRow": _("Delete row %(number)s"),
            "whenOf": _("Row %(number)s: when"),
            "thenOf": _("Row %(number)s: then"),
            # The placeholder of an empty resolution time: the first response time times the factor.
            "resolutionHint": _("%(minutes)s by default"),
        },
    }


def editor(
    request: HttpRequest, *, context: dict[str, Any], can_edit: bool, can_add: bool, can_delete: bool
) -> TemplateResponse:
    """The grading table editor; ``context`` is the admin site's (sidebar, title, user links)."""
    table = _table()
    rows = rows_data(table)
    options = _options()
    context = {
        **context,
        "title": _("Grading table"),
        "rows": list(zip(table, rows, strict=True)),
        "options": options,
        "can_edit": can_edit,
        "can_add": can_add,
        "can_delete": can_delete,
        "time_zone": timezone.get_default_timezone_name(),
        **history_context(row_id=None, can_edit=can_edit, table=table),
        "editor_config": _script_config(
            rows=rows, options=options, can_edit=can_edit, can_add=can_add, can_delete=can_delete
        ),
    }
    return TemplateResponse(request, "exceptions/grading/editor.html", context)


# --- Writes -------------------------------------------------------------------------------------


def _row_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 2**63 - 1 else None


@require_POST
def row_save(request: HttpRequest) -> JsonResponse:
    """Replace one row with the cells as edited (``{"id": …, "row": {…}}``); answer the table as stored.

    The row keeps its place: the order is changed by ``rows_reorder`` only.
    """
    payload = designers.posted_json(request)
    row_id = _row_id(payload.get("id"))
    stored = GradingRule.objects.filter(pk=row_id).first() if row_id is not None else None
    if stored is None:
        return _gone()
    body = payload.get("row")
    if not isinstance(body, dict):
        return _invalid({}, _("Send the row's cells as an object."))
    serializer = GradingRuleInput(data=body, context={"request": request})
    if not serializer.is_valid():
        return _invalid(_flat_errors(serializer.errors))
    values = {**serializer.validated_data, "position": stored.position}
    try:
        grading.grading_rule_save(rule_id=stored.pk, values=values, actor=request.user)
    except GradingRule.DoesNotExist:
        return _gone()
    except DomainError as error:
        return _refusal(error)
    return _answer(saved=stored.pk)


@require_POST
def row_add(request: HttpRequest) -> JsonResponse:
    """Add a row at the end of the table, switched off, routed like the last row; answer the table."""
    table = _table()
    last = table[-1] if table else None
    department = last.department if last is not None else Department.objects.filter(is_active=True).first()
    if department is None:
        return _invalid({}, _("Add a department first: every row sends exceptions to one."))
    values = {
        **NEW_ROW,
        "position": (last.position + POSITION_STEP) if last is not None else POSITION_STEP,
        "department": department.code,
    }
    try:
        row = grading.grading_rule_save(rule_id=None, values=values, actor=request.user)
    except DomainError as error:
        return _refusal(error)
    return _answer(added=row.pk)


@require_POST
def row_delete(request: HttpRequest, *, row_id: int) -> JsonResponse:
    """Delete one row; answer the table as it is without it."""
    if not GradingRule.objects.filter(pk=row_id).exists():
        return _gone()
    grading.grading_rule_delete(rule_id=row_id, actor=request.user)
    return _answer(deleted=row_id)


@require_POST
def rows_reorder(request: HttpRequest) -> JsonResponse:
    """Try the rows in the order posted (``{"order": [id, …]}``, every row once); answer the table."""
    order = designers.posted_json(request).get("order")
    if not isinstance(order, list) or not all(_row_id(item) is not None for item in order):
        return _invalid({}, _("Send the rows' order as a list of their ids."))
    try:
        grading.grading_rows_reorder(row_ids=order, actor=request.user)
    except DomainError as error:
        return _refusal(error)
    return _answer()


# --- The tester ---------------------------------------------------------------------------------


class TesterInput(serializers.Serializer):
    """An exception as the tester describes it: a rule or a category, and what grading reads."""

    category = serializers.ChoiceField(choices=Category.choices, allow_blank=True, default="")
    rule = serializers.CharField(max_length=64, allow_blank=True, default="")
    channel = serializers.ChoiceField(choices=Channel.choices, allow_blank=True, default="")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, allow_null=True, default=None)
    tags = serializers.CharField(max_length=500, allow_blank=True, default="")
    time = ClockTimeField(allow_null=True, default=None)

    def validate_rule(self, value: str) -> ExceptionRule | None:
        if not value:
            return None
        rule = ExceptionRule.objects.filter(code=value).first()
        if rule is None:
            raise serializers.ValidationError(_("No rule has the code %(code)s.") % {"code": value})
        return rule

    def validate(self, attrs):
        if attrs["rule"] is None and not attrs["category"]:
            raise serializers.ValidationError({"category": _("Choose a rule or a category.")})
        return attrs


def _tags(text: str) -> tuple[str, ...]:
    # Tags are written the way people list them: "vip, wholesale" or "vip，批发".
    return tuple(tag.strip() for tag in text.replace("，", ",").split(",") if tag.strip())


def _moment(value) -> datetime:
    """Today at the time of day given, in the site's time zone (the zone of the rows' windows)."""
    zone = timezone.get_default_timezone()
    now = timezone.localtime(timezone.now(), zone)
    if value is None:
        return now
    return now.replace(hour=value.hour, minute=value.minute, second=0, microsecond=0)


def _amount_text(value: Decimal | None) -> str:
    return f"{value:.2f}" if value is not None else ""


def _choice(choices, value: str) -> str:
    return str(dict(choices).get(value, value))


def check_text(check: GradingCheck, *, rule_names: dict[int, str]) -> str:
    """One condition of a row tried on the exception, in words: what held, or what did not and why."""
    wanted, found = check.wanted, check.found
    if check.condition == GradingCondition.CATEGORY:
        values = {"wanted": _choice(Category.choices, wanted), "found": _choice(Category.choices, found)}
        if check.held:
            return _("the category is %(wanted)s") % values
        if not found:
            return _("no category given; the row needs %(wanted)s") % values
        return _("the category is %(found)s; the row needs %(wanted)s") % values
    if check.condition == GradingCondition.RULE:
        values = {"wanted": rule_names.get(wanted, str(wanted)), "found": rule_names.get(found, "")}
        if check.held:
            return _("the rule is %(wanted)s") % values
        if found is None:
            return _("no rule given; the row needs %(wanted)s") % values
        return _("the rule is %(found)s; the row needs %(wanted)s") % values
    if check.condition == GradingCondition.CHANNEL:
        values = {"wanted": _choice(Channel.choices, wanted), "found": _choice(Channel.choices, found)}
        if check.held:
            return _("the channel is %(wanted)s") % values
        if not found:
            return _("no channel given; the row needs %(wanted)s") % values
        return _("the channel is %(found)s; the row needs %(wanted)s") % values
    if check.condition in (GradingCondition.MIN_AMOUNT, GradingCondition.MAX_AMOUNT):
        values = {"wanted": _amount_text(wanted), "found": _amount_text(found)}
        lower = check.condition == GradingCondition.MIN_AMOUNT
        if found is None:
            if lower:
                return _("no order amount; the row needs at least %(wanted)s") % values
            return _("no order amount; the row needs at most %(wanted)s") % values
        if check.held:
            if lower:
                return _("the amount %(found)s is at least %(wanted)s") % values
            return _("the amount %(found)s is at most %(wanted)s") % values
        if lower:
            return _("the amount %(found)s is below the row's minimum of %(wanted)s") % values
        return _("the amount %(found)s is above the row's maximum of %(wanted)s") % values
    if check.condition == GradingCondition.CUSTOMER_TAG:
        if check.held:
            return _("the customer is tagged %(tag)s") % {"tag": wanted}
        return _("the customer is not tagged %(tag)s") % {"tag": wanted}
    start, end = wanted
    values = {"time": f"{found:%H:%M}", "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
    if check.held:
        return _("%(time)s is within %(start)s–%(end)s") % values
    return _("%(time)s is outside %(start)s–%(end)s") % values


def _trial_words(trial: GradingTrial, *, rule_names: dict[int, str]) -> tuple[str, list[str]]:
    """A row's verdict in a few words, and its reasons: the conditions that held for the matching
    row, the ones that did not for a row that missed."""
    if trial.verdict == GradingVerdict.MATCHED:
        if not trial.checks:
            return _("Matches:"), [_("the row sets no conditions: it takes every exception that reaches it")]
        return _("Matches:"), [check_text(check, rule_names=rule_names) for check in trial.checks]
    if trial.verdict == GradingVerdict.MISSED:
        return _("No match:"), [check_text(check, rule_names=rule_names) for check in trial.missed]
    if trial.verdict == GradingVerdict.OFF:
        return _("Skipped:"), [_("the row is switched off")]
    return _("Not tried:"), [_("an earlier row matched")]


def _grade_context(row: GradingRule, *, rule: ExceptionRule | None, amount: Decimal | None) -> dict[str, Any]:
    """What the matching row decides, as the exception would get it."""
    if row.severity:
        severity = row.severity
    elif rule is not None:
        severity = rule.default_severity
    else:
        severity = ""
    threshold = high_value_amount()
    raised = bool(severity) and amount is not None and amount > threshold
    resolution = row.resolution_minutes or row.first_response_minutes * RESOLUTION_FACTOR
    names = dict(NotifyChannel.choices)
    return {
        "severity": Severity.raised(severity) if raised else severity,
        "severity_label": _choice(Severity.choices, Severity.raised(severity) if raised else severity),
        "severity_note": (
            _("one level up from %(severity)s: the amount is above %(threshold)s")
            % {"severity": _choice(Severity.choices, severity), "threshold": _amount_text(threshold)}
            if raised
            else ("" if row.severity or not severity else _("the rule's own"))
        ),
        "department": row.department.display_name,
        "handling": row.get_handling_display(),
        "first_response": duration_text(row.first_response_minutes),
        "resolution": duration_text(resolution),
        "channels": [str(names.get(code, code)) for code in row.notify_channels or []],
    }


def _tested_words(
    *, rule: ExceptionRule | None, category: str, channel: str, amount, tags, moment: datetime
) -> list[str]:
    words = [rule.display_name if rule is not None else _choice(Category.choices, category)]
    if channel:
        words.append(_choice(Channel.choices, channel))
    words.append(_("amount %(amount)s") % {"amount": _amount_text(amount)} if amount is not None else _("no amount"))
    if tags:
        words.append(_("tagged %(tags)s") % {"tags": _(", ").join(tags)})
    words.append(_("at %(time)s") % {"time": f"{moment:%H:%M}"})
    return words


@require_POST
def tester(request: HttpRequest) -> JsonResponse:
    """Which row grades the exception posted, and why: every row's verdict and reasons, in words.

    Answers ``matched`` (the row's id or null), ``rows`` (per id: verdict, words, reasons) and
    ``html``: the verdict as the page shows it.
    """
    serializer = TesterInput(data=designers.posted_json(request))
    if not serializer.is_valid():
        return _invalid(_flat_errors(serializer.errors))
    data = serializer.validated_data
    rule: ExceptionRule | None = data["rule"]
    category = rule.category if rule is not None else data["category"]
    tags = _tags(data["tags"])
    moment = _moment(data["time"])
    trials = selectors.grading_explain(
        category=category,
        rule_id=rule.pk if rule is not None else None,
        channel=data["channel"],
        amount=data["amount"],
        customer_tags=tags,
        at=moment,
    )
    rule_names = {trial.row.rule_id: trial.row.rule.display_name for trial in trials if trial.row.rule_id}
    if rule is not None:
        rule_names[rule.pk] = rule.display_name
    verdicts = {}
    steps = []
    matched = None
    for number, trial in enumerate(trials, start=1):
        words, reasons = _trial_words(trial, rule_names=rule_names)
        # "; " between reasons, "；" in Chinese.
        text = pgettext("between reasons", "; ").join(reasons)
        verdicts[str(trial.row.pk)] = {"verdict": trial.verdict, "words": words, "reasons": text}
        if trial.verdict == GradingVerdict.MATCHED:
            matched = (number, trial.row)
        if matched is None or trial.verdict == GradingVerdict.MATCHED:
            steps.append(
                {
                    "number": number,
                    "name": trial.row.display_name,
                    "verdict": trial.verdict,
                    "words": words,
                    "reasons": text,
                }
            )
    html = render_to_string(
        "exceptions/grading/editor.html#verdict",
        {
            "matched": matched[1] if matched else None,
            "matched_number": matched[0] if matched else None,
            "matched_name": (matched[1].display_name or presentation.grading_conditions(matched[1])) if matched else "",
            "grade": _grade_context(matched[1], rule=rule, amount=data["amount"]) if matched else None,
            "steps": steps,
            "tested": _tested_words(
                rule=rule, category=category, channel=data["channel"], amount=data["amount"], tags=tags, moment=moment
            ),
            "fallback_minutes": duration_text(FALLBACK_FIRST_RESPONSE_MINUTES),
            "rule": rule,
        },
        request=request,
    )
    return JsonResponse({"matched": matched[1].pk if matched else None, "rows": verdicts, "html": html})


@require_GET
def exception_search(request: HttpRequest) -> JsonResponse:
    """The exceptions whose number is ``q`` or whose order ID starts with it, each with what grading
    reads of it (the tester's inputs), newest first."""
    user: User = request.user
    zone = timezone.get_default_timezone()
    results = []
    for facts in selectors.grading_test_exceptions(
        user=user, query=request.GET.get("q", "")[:64], limit=EXCEPTIONS_SHOWN
    ):
        exception = facts.exception
        local = timezone.localtime(facts.at, zone)
        label = _("#%(number)s %(rule)s · %(channel)s %(order)s · %(detected)s") % {
            "number": exception.pk,
            "rule": facts.rule.display_name,
            "channel": exception.get_channel_display(),
            "order": exception.external_id,
            "detected": when(exception.detected_at),
        }
        results.append(
            {
                "id": exception.pk,
                "label": label,
                "facts": {
                    "category": facts.category,
                    "rule": facts.rule.code,
                    "channel": facts.channel,
                    "amount": _amount_text(facts.amount),
                    "tags": _(", ").join(facts.customer_tags),
                    "time": f"{local:%H:%M}",
                },
            }
        )
    return JsonResponse({"results": results})


# --- The table's history: each row's versions, with restore -------------------------------------


def _document_name(document: dict[str, Any]) -> str:
    name = document.get("name") or {}
    return localized(name.get("zh-hans", ""), name.get("en", "")) or _("(no name)")


def _history_row(value: str) -> int | None:
    return _row_id(int(value)) if value.isdigit() else None


def history_context(*, row_id: int | None, can_edit: bool, table: list[GradingRule] | None = None) -> dict[str, Any]:
    """What the page's "Changes" section shows: the last versions (of row ``row_id`` only, if
    given), each in words with whether it can be restored, and the rows the section can be
    narrowed to (the table's rows by place, then the removed ones). Five queries at most."""
    table = _table() if table is None else table
    history = selectors.grading_history(row_id=row_id, limit=designers.HISTORY_SHOWN)
    places = {row.pk: number for number, row in enumerate(table, start=1)}
    Action = GradingRuleVersion.Action
    names = grading.row_change_names([change for version in history.versions for change in version.changes])
    entries = []
    for version in history.versions:
        place = places.get(version.row_id)
        entries.append(
            {
                "version": version,
                "name": _document_name(version.document),
                "place": place,
                "removed": version.row_id in history.removed,
                "rows": grading.row_change_rows(version.changes, names=names),
                "latest": history.latest.get(version.row_id) == version.number,
                "restorable": can_edit
                and version.action != Action.DELETED
                and history.latest.get(version.row_id) != version.number,
            }
        )
    choices = [
        (row.pk, _("Row %(number)s · %(name)s") % {"number": number, "name": row.display_name or _("(no name)")})
        for number, row in enumerate(table, start=1)
    ]
    choices += [
        (pk, _("%(name)s (removed)") % {"name": _document_name(document)}) for pk, document in history.removed.items()
    ]
    return {
        "history": entries,
        "history_row": row_id,
        "history_rows": choices,
        "history_url": _endpoint("history"),
        "restore_url": _endpoint("restore"),
        "can_edit": can_edit,
    }


@require_GET
def history(request: HttpRequest) -> TemplateResponse:
    """The "Changes" section alone: re-fetched after each write, and when narrowed to one row."""
    row_id = _history_row(request.GET.get("row", ""))
    can_edit = request.user.has_perm("exceptions.change_gradingrule")
    return TemplateResponse(
        request, "exceptions/grading/editor.html#history", history_context(row_id=row_id, can_edit=can_edit)
    )


@require_POST
def version_restore(request: HttpRequest) -> HttpResponse:
    """Make a row what one of its versions was (a plain form post; a removed row comes back), then
    show the editor again with what happened."""
    row_id = _history_row(request.POST.get("row", ""))
    number = request.POST.get("version", "")
    try:
        # An unreadable row or version is a version the row does not have: the service says so.
        row = grading.grading_rule_restore(
            rule_id=row_id or 0, version=int(number) if number.isdigit() else 0, actor=request.user
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(
            request,
            _("Row “%(name)s” is as version %(number)s left it, and grades new exceptions so at once.")
            % {"name": row.display_name or _("(no name)"), "number": number},
        )
    return redirect(reverse("admin:exceptions_gradingrule_changelist"))
