"""The workflow designer in the console (SPEC §10.2): the page, and the endpoints its script calls.

``WorkflowDefinitionAdmin`` (``workflows/admin.py``) wires these under the workflow's admin URLs
behind the admin site's sign-in, CSRF and its permission checks. Each view parses the request,
calls one service of ``workflows.definitions`` or a selector, and renders; the designer's
script (``static/orderguard/workflow-designer.js``) only holds what is being edited and shows
what these answer: the problems of the document by path, the draft as stored.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import Department, Role, User
from apps.common.documents import LANGUAGES
from apps.console import designers
from apps.formdesigner import selectors as form_selectors
from apps.formdesigner.document import FormKind
from apps.orders.models import Channel
from apps.rules.models import Category, ExceptionRule
from workflows import definitions, selectors
from workflows.diagram import diagram
from workflows.document import (
    ACTION_LABELS,
    ACTION_OUTCOMES,
    APPROVERS,
    BACK,
    BY_FIELD_LABELS,
    DEFAULT_NAMES,
    KIND_LABELS,
    STRATEGY_KEYS,
    STRATEGY_LABELS,
    TERMINAL_LABELS,
    TERMINALS,
    Action,
    StepKind,
    Strategy,
    Text,
)
from workflows.models import WorkflowChange, WorkflowDefinition, WorkflowVersion

# The designer offers at most this many people to assign to; the API takes any username.
USERS_SHOWN = 500
# The outcome names an action's results get unless the admin writes their own.
RESULT_NAMES = {
    **DEFAULT_NAMES,
    "cleared": Text(zh="异常已消除", en="Cleared"),
    "still_open": Text(zh="仍有异常", en="Still there"),
}
# A step's properties as the property panel names them; a problem's place says the same words.
PROPERTY_WORDS = {
    "key": pgettext_lazy("workflow designer", "Key"),
    "kind": pgettext_lazy("workflow designer", "Kind of step"),
    "name": pgettext_lazy("workflow designer", "Name"),
    "form": pgettext_lazy("workflow designer", "Form"),
    "deadline": pgettext_lazy("workflow designer", "Deadline"),
    "assign": pgettext_lazy("workflow designer", "Who handles it"),
    "strategy": pgettext_lazy("workflow designer", "Assignment"),
    "department": pgettext_lazy("workflow designer", "Department"),
    "user": pgettext_lazy("workflow designer", "User"),
    "field": pgettext_lazy("workflow designer", "Order field"),
    "map": pgettext_lazy("workflow designer", "Values and who gets them"),
    "action": pgettext_lazy("workflow designer", "Action"),
    "wait": pgettext_lazy("workflow designer", "Waiting time"),
    "outcomes": pgettext_lazy("workflow designer", "Outcomes"),
    "to": pgettext_lazy("workflow designer", "Leads to"),
    "priority": pgettext_lazy("workflow designer", "Priority"),
    "applies_to": pgettext_lazy("workflow designer", "When it applies"),
    "categories": pgettext_lazy("workflow designer", "Categories"),
    "rules": pgettext_lazy("workflow designer", "Rules"),
    "description": pgettext_lazy("workflow designer", "Description"),
    "steps": pgettext_lazy("workflow designer", "Steps"),
}
CHANGE_WORDS = {
    WorkflowChange.Kind.CREATED: WorkflowChange.Kind.CREATED.label,
    WorkflowChange.Kind.DRAFT_SAVED: WorkflowChange.Kind.DRAFT_SAVED.label,
    WorkflowChange.Kind.PUBLISHED: WorkflowChange.Kind.PUBLISHED.label,
    WorkflowChange.Kind.RESTORED: WorkflowChange.Kind.RESTORED.label,
    definitions.ACTIVATED: pgettext_lazy("workflow change", "Switched on"),
    definitions.DEACTIVATED: pgettext_lazy("workflow change", "Switched off"),
}
KIND_ICONS = {
    StepKind.TASK: "assignment_ind",
    StepKind.APPROVAL: "approval",
    StepKind.ACTION: "bolt",
    StepKind.WAIT: "hourglass_top",
}
UNITS = {
    "m": pgettext_lazy("duration unit", "minutes"),
    "h": pgettext_lazy("duration unit", "hours"),
    "d": pgettext_lazy("duration unit", "business days"),
}


def _definition_or_404(object_id: int) -> WorkflowDefinition:
    return get_object_or_404(selectors.workflow_list(), pk=object_id)


def _choices() -> dict[str, Any]:
    """What the document may name, in the page's language: departments, people, forms, rules."""
    is_manager = Exists(Group.objects.filter(user=OuterRef("pk"), name=Role.MANAGER))
    users = (
        User.objects.filter(is_active=True)
        .annotate(is_manager=is_manager)
        .select_related("department")
        .order_by("username")[:USERS_SHOWN]
    )
    forms = form_selectors.form_list().filter(kind=FormKind.STEP, published__isnull=False).order_by("key")
    rules = ExceptionRule.objects.order_by("category", "code").only("code", "name", "name_en", "category")
    categories = dict(Category.choices)
    return {
        "departments": [
            {"code": department.code, "name": department.display_name}
            for department in Department.objects.filter(is_active=True).order_by("code")
        ],
        "users": [
            {
                "username": user.username,
                "name": user.get_full_name() or user.username,
                "department": user.department.display_name if user.department else "",
                "isManager": user.is_manager,
            }
            for user in users
        ],
        "forms": [{"key": form.key, "name": form.display_name} for form in forms],
        "categories": [{"value": value, "label": str(label)} for value, label in Category.choices],
        "rules": [
            {
                "code": rule.code,
                "name": rule.name_en if translation.get_language().startswith("en") and rule.name_en else rule.name,
                "category": str(categories.get(rule.category, rule.category)),
            }
            for rule in rules
        ],
        "channels": [{"value": value, "label": str(label)} for value, label in Channel.choices],
    }


def _designer_config(definition: WorkflowDefinition, *, can_edit: bool) -> dict[str, Any]:
    """What the designer's script starts from: the draft, its endpoints, what it may name, its words."""
    strategies = {
        str(strategy): {
            "label": str(STRATEGY_LABELS[strategy]),
            # The engine gives a manager's step to any available manager: a department changes nothing.
            "department": "department" in STRATEGY_KEYS[strategy] and strategy is not Strategy.MANAGER,
            "approver": strategy in APPROVERS,
        }
        for strategy in Strategy
    }
    config = designers.script_config(
        definition,
        can_edit=can_edit,
        has_unpublished_changes=definitions.has_unpublished_changes(definition),
        properties=PROPERTY_WORDS,
        strings={
            "step": pgettext("workflow designer", "Step %(number)s"),
            "outcome": pgettext("workflow designer", "Outcome %(number)s"),
            "mapRow": pgettext("workflow designer", "Value %(number)s"),
            "workflow": pgettext("workflow designer", "The workflow"),
            "workflowName": pgettext("workflow designer", "Workflow name"),
            "nowhere": pgettext("workflow designer", "leads nowhere yet"),
            "chooseTarget": pgettext("workflow designer", "Choose where it leads"),
            "tryAgain": pgettext("workflow designer", "this step again"),
            "exceptionDepartment": _("the exception's department"),
            "everyException": _("Every exception that no workflow of higher priority takes"),
            "noDeadline": _("No deadline of its own"),
            "queueOf": _("Queue of %(department)s"),
            "someone": _("someone in %(department)s"),
            "managers": _("A manager"),
            "leadOf": _("Lead of %(department)s"),
            "byField": _("By %(field)s"),
            "within": _("within %(amount)s %(unit)s"),
            "waitFor": _("waits %(amount)s %(unit)s"),
            "formNamed": _("Form: %(name)s"),
            "removeConfirm": _("Remove the step “%(name)s” from the draft?"),
        },
    )
    return {
        **config,
        "kinds": {str(kind): str(KIND_LABELS[kind]) for kind in StepKind},
        "strategies": strategies,
        "actions": {
            str(action): {"label": str(ACTION_LABELS[action]), "outcomes": list(ACTION_OUTCOMES[action])}
            for action in Action
        },
        "ends": {to: str(TERMINAL_LABELS[to]) for to in (*TERMINALS, BACK)},
        "byFields": {field: str(label) for field, label in BY_FIELD_LABELS.items()},
        "units": {unit: str(words) for unit, words in UNITS.items()},
        "resultNames": {key: text.as_json() for key, text in RESULT_NAMES.items()},
        "stepName": designers.in_both_languages(pgettext_lazy("workflow designer", "Step %(number)s")),
        "outcomeName": designers.in_both_languages(pgettext_lazy("workflow designer", "Outcome %(number)s")),
        **_choices(),
    }


def designer(request: HttpRequest, *, object_id: int, context: dict[str, Any], can_edit: bool) -> TemplateResponse:
    """The designer page of one workflow; ``context`` is the admin site's (sidebar, title, user links)."""
    definition = _definition_or_404(object_id)
    published = definition.published
    context = {
        **context,
        "title": definition.display_name,
        "original": definition,
        "definition": definition,
        "can_edit": can_edit,
        "published": published,
        "chart": diagram(published.document) if published is not None else None,
        "designer_config": _designer_config(definition, can_edit=can_edit),
        "kinds": [(str(kind), KIND_LABELS[kind], KIND_ICONS[kind]) for kind in StepKind],
        "languages": LANGUAGES,
        **_versions_context(definition),
        **_history_context(definition),
    }
    return TemplateResponse(request, "workflows/designer.html", context)


@require_POST
def draft_check(request: HttpRequest, *, object_id: int) -> JsonResponse:
    """Check a document as edited; answer its problems by path (in the page's language). Nothing is stored."""
    definition = _definition_or_404(object_id)
    try:
        definitions.workflow_check(document=designers.posted_json(request).get("document"), key=definition.key)
    except definitions.WorkflowDocumentError as error:
        return JsonResponse({"errors": error.as_fields()}, status=400)
    return JsonResponse({"errors": {}})


@require_POST
def draft_save(request: HttpRequest, *, object_id: int) -> JsonResponse:
    """Store the document as the workflow's draft (the service checks it); answer the draft as stored."""
    definition = _definition_or_404(object_id)
    return designers.draft_save(
        request,
        save=partial(definitions.workflow_save_draft, key=definition.key, actor=request.user),
        has_unpublished_changes=definitions.has_unpublished_changes,
    )


@require_POST
def draft_publish(request: HttpRequest, *, object_id: int) -> JsonResponse:
    """Publish the stored draft as the next version, with the note given."""
    definition = _definition_or_404(object_id)
    return designers.draft_publish(
        request,
        publish=partial(definitions.workflow_publish, key=definition.key, actor=request.user),
        name=definition.display_name,
        message=_("Version %(number)d of “%(name)s” is published: the next exception it applies to follows it."),
    )


@require_POST
def version_restore(request: HttpRequest, *, object_id: int) -> HttpResponse:
    """Copy a published version into the draft (a plain form post), then show the designer again."""
    definition = _definition_or_404(object_id)
    return designers.version_restore(
        request,
        restore=partial(definitions.workflow_restore, key=definition.key, actor=request.user),
        back_to=reverse("admin:workflows_workflowdefinition_change", args=[definition.pk]),
    )


@require_POST
def set_active(request: HttpRequest, *, object_id: int) -> HttpResponse:
    """Switch the workflow on or off (a plain form post with ``active`` 1 or 0)."""
    definition = _definition_or_404(object_id)
    active = request.POST.get("active") == "1"
    definitions.workflow_set_active(key=definition.key, active=active, actor=request.user)
    if active:
        messages.success(request, _("“%(name)s” is on: it starts cases again.") % {"name": definition.display_name})
    else:
        messages.success(
            request,
            _("“%(name)s” is off: it starts no new case; running cases go on.") % {"name": definition.display_name},
        )
    return redirect("admin:workflows_workflowdefinition_change", definition.pk)


@require_GET
@cache_control(private=True, max_age=300)
def version_chart(request: HttpRequest, *, object_id: int, number: int) -> HttpResponse:
    """The diagram of published version ``number`` (viewflow's chart), as SVG in the page's language."""
    definition = _definition_or_404(object_id)
    version = get_object_or_404(WorkflowVersion, definition=definition, number=number)
    response = HttpResponse(diagram(version.document).svg, content_type="image/svg+xml; charset=utf-8")
    response["Content-Language"] = translation.get_language()
    response["Vary"] = "Accept-Language, Cookie"
    return response


@require_GET
def history(request: HttpRequest, *, object_id: int) -> TemplateResponse:
    """The latest changes to the workflow (the designer re-fetches this after each save)."""
    definition = _definition_or_404(object_id)
    return TemplateResponse(request, "workflows/designer.html#history", _history_context(definition))


def _versions_context(definition: WorkflowDefinition) -> dict[str, Any]:
    return {"versions": list(selectors.workflow_versions(definition=definition))}


def _history_context(definition: WorkflowDefinition) -> dict[str, Any]:
    entries = list(selectors.workflow_history(definition=definition)[: designers.HISTORY_SHOWN])
    return {
        "definition": definition,
        "history": [
            {"change": entry, "kind": entry.kind, "what": CHANGE_WORDS.get(entry.kind, entry.kind)} for entry in entries
        ],
        "history_url": designers.designer_url(definition, "history"),
    }


def starter_document(*, key: str, name_zh: str, name_en: str) -> dict[str, Any]:
    """A new workflow's first draft: one task in the exception's department, done resolves it.

    A workflow needs a step to be a valid document; the admin changes this one in the designer.
    """
    return {
        "key": key,
        "name": {"zh-hans": name_zh, "en": name_en},
        "priority": 0,
        "applies_to": {"categories": [], "rules": []},
        "steps": [
            {
                "key": "handle",
                "kind": "task",
                "name": {"zh-hans": "处理异常", "en": "Handle the exception"},
                "assign": {"strategy": "queue"},
                "outcomes": [{"key": "done", "name": {"zh-hans": "已处理", "en": "Handled"}, "to": "resolve"}],
            }
        ],
    }
