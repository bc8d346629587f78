"""The staff workspace (SPEC §9.3): my tasks, my department's queue, done by me, and the task page.

Views parse the request, call one service of ``workflows.services`` (or read through
``workflows.selectors``) and render. A ``DomainError`` is shown where it belongs — at the field it
names, or above the page — with its status code, never as a 500. A task the user may not see is
a 404 (``selectors.visible_tasks`` decides).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST
from viewflow.workflow.status import STATUS

from apps.accounts.models import Department
from apps.common.errors import DomainError
from apps.exceptions import presentation
from apps.exceptions.evidence import money_text
from apps.exceptions.models import OrderException, RootCause
from apps.formdesigner.build import SpecForm, display_value, django_form_class
from apps.orders.models import Carrier
from apps.orders.presentation import custom_field_rows
from workflows import engine, selectors, services
from workflows.models import HandlingCase, HandlingTask

SCOPES = ("mine", "queue", "done")
# The step form's inputs are named ``data-<field>`` so that a form field called ``note`` or
# ``outcome`` never collides with the task's own inputs.
FORM_PREFIX = "data"
# Errors of these fields are shown beside an input of the task page; any other is shown above it.
PAGE_FIELDS = ("outcome", "root_cause", "note", "reason")


def _status_labels() -> dict[str, str]:
    return {
        "queued": pgettext("task status", "In the queue"),
        "assigned": pgettext("task status", "Assigned"),
        "done": pgettext("task status", "Done"),
        "canceled": pgettext("task status", "Canceled"),
    }


def _scope_labels() -> dict[str, str]:
    return {"mine": _("My tasks"), "queue": _("My department's queue"), "done": _("Done by me")}


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def _due_at(task: HandlingTask) -> datetime | None:
    return parse_datetime((task.data or {}).get("due_at") or "")


def _outcome_label(step: dict[str, Any], key: str | None) -> str:
    if not key:
        return ""
    if key == engine.ESCALATE:
        return _("Raised to a manager")
    for outcome in step.get("outcomes") or []:
        if outcome["key"] == key:
            return selectors.name_in_language(outcome.get("name")) or key
    return key


# -- the lists -------------------------------------------------------------------------------


@dataclass
class TaskRow:
    """One task as a list row shows it."""

    id: int
    name: str
    workflow: str
    summary: str
    exception_id: int
    order: str
    channel: str
    severity: str
    severity_label: str
    department: str
    due_at: datetime | None
    overdue: bool
    status: str
    status_label: str
    assignee: str
    finished_at: datetime | None
    outcome: str

    @property
    def is_open(self) -> bool:
        return self.status in ("queued", "assigned")


def _task_rows(tasks: list[HandlingTask]) -> list[TaskRow]:
    """The rows of a list in a fixed number of queries (the cases, their exceptions and orders, the departments)."""
    cases = {
        case.pk: case
        for case in HandlingCase.objects.filter(pk__in={task.process_id for task in tasks}).select_related(
            "version__definition", "exception__rule", "exception__order"
        )
    }
    department_ids = {(task.data or {}).get("department") for task in tasks} - {None}
    departments = {department.pk: department for department in Department.objects.filter(pk__in=department_ids)}
    labels = _status_labels()
    now = timezone.now()
    rows = []
    for task in tasks:
        case = cases[task.process_id]
        exc = case.exception
        step = selectors.task_step(task, case)
        data = task.data or {}
        status = selectors.TASK_STATUS.get(task.status, "assigned")
        due_at = _due_at(task)
        department = departments.get(data.get("department"))
        rows.append(
            TaskRow(
                id=task.pk,
                name=selectors.name_in_language(step.get("name")) or data.get("step", ""),
                workflow=case.version.definition.display_name,
                summary=presentation.summary(exc),
                exception_id=exc.pk,
                order=exc.external_id,
                channel=exc.get_channel_display(),
                severity=exc.severity,
                severity_label=exc.get_severity_display(),
                department=department.display_name if department else "",
                due_at=due_at,
                overdue=status in ("queued", "assigned")
                and (bool(data.get("overdue")) or (due_at is not None and due_at < now)),
                status=status,
                status_label=labels[status],
                assignee=_person(task.owner),
                finished_at=task.finished,
                outcome=_outcome_label(step, data.get("outcome")),
            )
        )
    return rows


def _scope(request: HttpRequest) -> str:
    scope = request.GET.get("scope", "")
    return scope if scope in SCOPES else "mine"


def _list_context(request: HttpRequest, scope: str) -> dict[str, Any]:
    user = request.user
    counts = selectors.task_counts(user)
    labels = _scope_labels()
    return {
        "scope": scope,
        "tabs": [{"scope": key, "label": labels[key], "count": counts[key], "current": key == scope} for key in SCOPES],
        "rows": _task_rows(list(selectors.tasks_for(user, scope=scope))),
        "oversees": selectors.oversees(user),
        "has_department": user.department_id is not None,
    }


@login_required
@require_GET
def workspace(request: HttpRequest) -> HttpResponse:
    """The workspace: the three lists as tabs (``?scope=mine|queue|done``), kept fresh by live events."""
    return TemplateResponse(request, "og/workspace/index.html", _list_context(request, _scope(request)))


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    """The tabs and the list of one scope: what the workspace re-fetches when a live event arrives."""
    return TemplateResponse(request, "og/workspace/index.html#task-list", _list_context(request, _scope(request)))


# -- the task page ---------------------------------------------------------------------------


@dataclass
class Problems:
    """What went wrong with the last action on the page: at a field of the page, or above it."""

    page: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)
    # The action whose small form should stay open to show its error: ``handback`` or ``escalate``.
    action: str = ""


def _task_or_404(user, task_id: int) -> HandlingTask:
    task = selectors.visible_tasks(user).filter(pk=task_id).first()
    if task is None:
        raise Http404
    return task


def _step_form_class(step: dict[str, Any]) -> type[SpecForm] | None:
    found = selectors.step_form(step)
    return django_form_class(found[0]) if found is not None else None


def _submitted(step: dict[str, Any], data: dict[str, Any]) -> list[dict[str, str]]:
    """The step form's stored values as labelled words (a completed task)."""
    found = selectors.step_form(step)
    stored = data.get("form") or {}
    if found is None or not stored:
        return []
    spec = found[0]
    rows = [{"label": str(item.label), "value": display_value(item, stored.get(item.key))} for item in spec.fields]
    return [row for row in rows if row["value"] != "—"]


def _history(case: HandlingCase) -> list[dict[str, Any]]:
    """The case's tasks, oldest first: which step, who, when, and what came of it."""
    labels = _status_labels()
    rows = []
    for task in selectors.case_tasks(case).select_related("owner"):
        data = task.data or {}
        step = engine.step_of(case, data.get("step", "")) or {}
        notes = []
        if data.get("handed_back"):
            notes.append(_("Handed back: %(reason)s") % {"reason": data["handed_back"]})
        if data.get("reassigned"):
            notes.append(_("Reassigned: %(reason)s") % {"reason": data["reassigned"]})
        if data.get("note"):
            notes.append(data["note"])
        if data.get("canceled_note"):
            notes.append(data["canceled_note"])
        rows.append(
            {
                "id": task.pk,
                "name": selectors.name_in_language(step.get("name")) or data.get("step", ""),
                "automatic": task.flow_task_type != "HUMAN",
                "who": _person(task.owner),
                "created": task.created,
                "finished": task.finished,
                "status": selectors.TASK_STATUS.get(task.status, "assigned"),
                "status_label": labels.get(selectors.TASK_STATUS.get(task.status, "assigned"), ""),
                "outcome": _outcome_label(step, data.get("outcome")),
                "notes": notes,
            }
        )
    return rows


def _order_context(exc: OrderException) -> dict[str, Any]:
    order = exc.order
    if order is None:
        return {"order": None}
    shipments = list(order.shipments.prefetch_related("events", "lines").order_by("shipped_at", "pk"))
    carriers = {
        carrier.code: str(carrier) for carrier in Carrier.objects.filter(code__in={s.carrier for s in shipments})
    }
    return {
        "order": order,
        "order_total": money_text(order.total_amount, order.currency),
        "order_paid": money_text(order.paid_total, order.currency),
        "lines": [
            {"line": line, "price": money_text(line.unit_price, order.currency)}
            for line in order.lines.order_by("line_no")
        ],
        "payments": [
            {"payment": payment, "amount": money_text(payment.amount, payment.currency)}
            for payment in order.payments.order_by("paid_at", "pk")
        ],
        "shipments": [
            {
                "shipment": shipment,
                "carrier": carriers.get(shipment.carrier, shipment.carrier),
                "lines": list(shipment.lines.all()),
                "events": sorted(shipment.events.all(), key=lambda event: event.occurred_at),
            }
            for shipment in shipments
        ],
        "custom_fields": custom_field_rows(order.data),
    }


def _task_context(
    request: HttpRequest, task: HandlingTask, *, form: SpecForm | None = None, problems: Problems | None = None
) -> dict[str, Any]:
    user = request.user
    case = selectors.case_of(task)
    step = selectors.task_step(task, case)
    exc = OrderException.objects.select_related("rule", "department", "assignee", "order").get(pk=case.exception_id)
    data = task.data or {}
    status = selectors.TASK_STATUS.get(task.status, "assigned")
    is_open = task.status in selectors.OPEN
    oversees = selectors.oversees(user)
    in_department = oversees or user.department_id == data.get("department")
    mine = task.owner_id == user.pk
    # What the page offers mirrors what the services accept; they still decide (and say why not).
    may_act = is_open and (mine or oversees or (task.status == STATUS.NEW and in_department))
    form_class = _step_form_class(step)
    if form is None and form_class is not None and is_open:
        form = form_class(prefix=FORM_PREFIX)
    due_at = _due_at(task)
    department = selectors.task_department(task)
    events = exc.events.select_related("actor").order_by("at", "id")
    return {
        "task": task,
        "case": case,
        "exception": exc,
        "name": selectors.name_in_language(step.get("name")) or data.get("step", ""),
        "workflow": case.version.definition.display_name,
        "kind": data.get("kind", ""),
        "status": status,
        "status_label": _status_labels()[status],
        "is_open": is_open,
        "is_mine": mine,
        "assignee": _person(task.owner),
        "department": department.display_name if department else "",
        "due_at": due_at,
        "overdue": is_open and (bool(data.get("overdue")) or (due_at is not None and due_at < timezone.now())),
        "notice": data.get("notice", ""),
        "canceled_note": data.get("canceled_note", ""),
        "outcome": _outcome_label(step, data.get("outcome")),
        "root_cause": RootCause(data["root_cause"]).label if data.get("root_cause") in RootCause.values else "",
        "note": data.get("note", ""),
        "submitted": _submitted(step, data) if not is_open else [],
        "can_claim": task.status == STATUS.NEW and in_department,
        "can_complete": may_act,
        "can_hand_back": is_open and task.owner_id is not None and (mine or oversees),
        "can_escalate": may_act and case.step != engine.ESCALATION,
        "form": form,
        "outcomes": selectors.task_outcomes(task, case),
        "root_causes": RootCause.choices,
        "posted": request.POST if request.method == "POST" else {},
        "problems": problems or Problems(),
        "summary": presentation.summary(exc),
        "evidence": presentation.evidence(exc),
        "handling": exc.get_handling_display() if exc.handling else "",
        "history": _history(case),
        "timeline": presentation.timeline(events),
        **_order_context(exc),
    }


def _render_task(request, task, *, status: int = 200, **kwargs) -> HttpResponse:
    return TemplateResponse(request, "og/workspace/task.html", _task_context(request, task, **kwargs), status=status)


def _problems(error: DomainError, task_id: int, *, action: str = "") -> Problems:
    """Where a refusal shows: at the page's field it names, else above the page."""
    if error.status_code == 404:
        raise Http404
    message = str(error.message)
    if error.code == services.TaskErrorCode.NOT_OPEN:
        # Say what happened in words (the service's message names the status by its code).
        current = HandlingTask.objects.filter(pk=task_id).values_list("status", flat=True).first()
        if current == STATUS.DONE:
            message = _("Someone completed this task meanwhile: it is no longer open.")
        elif current == STATUS.CANCELED:
            message = _("This task was canceled meanwhile: it is no longer open.")
    if error.field in PAGE_FIELDS:
        return Problems(fields={error.field: [message]}, action=action)
    return Problems(page=[message], action=action)


@login_required
@require_GET
def task_page(request: HttpRequest, task_id: int) -> HttpResponse:
    """One task: its step, the order, the exception, the step form and outcomes, the case's history."""
    return _render_task(request, _task_or_404(request.user, task_id))


@login_required
@require_POST
def task_claim(request: HttpRequest, task_id: int) -> HttpResponse:
    """Take a queued task; from the list, a refusal goes back to the list as a message."""
    task = _task_or_404(request.user, task_id)
    try:
        services.task_claim(task_id=task.pk, actor=request.user)
    except DomainError as error:
        problems = _problems(error, task.pk)
        if request.POST.get("from") == "list":
            for message in problems.page + [m for ms in problems.fields.values() for m in ms]:
                messages.error(request, message)
            return redirect(reverse("workspace:index") + "?scope=queue")
        task.refresh_from_db()
        return _render_task(request, task, status=error.status_code, problems=problems)
    messages.success(request, _("The task is yours now."))
    return redirect("workspace:task", task_id=task.pk)


@login_required
@require_POST
def task_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    """Complete the task with the chosen outcome and the step form's data."""
    task = _task_or_404(request.user, task_id)
    case = selectors.case_of(task)
    step = selectors.task_step(task, case)
    form_class = _step_form_class(step)
    form = form_class(request.POST, prefix=FORM_PREFIX) if form_class is not None else None
    outcome = request.POST.get("outcome", "")
    if form is not None and not form.is_valid():
        return _render_task(request, task, status=400, form=form, problems=Problems())
    try:
        services.task_complete(
            task_id=task.pk,
            actor=request.user,
            outcome=outcome,
            data=form.data_value() if form is not None else None,
            root_cause=request.POST.get("root_cause", ""),
            note=request.POST.get("note", ""),
        )
    except services.StepFormError as error:
        problems = Problems()
        for key, errors in error.errors.items():
            name = key.removeprefix("data.") if key.startswith("data.") else None
            for message in errors:
                if form is not None and name in form.fields:
                    form.add_error(name, message)
                elif form is not None:
                    form.add_error(None, message)
                else:
                    problems.page.append(message)
        return _render_task(request, task, status=error.status_code, form=form, problems=problems)
    except DomainError as error:
        problems = _problems(error, task.pk)
        task.refresh_from_db()
        return _render_task(request, task, status=error.status_code, form=form, problems=problems)
    messages.success(
        request,
        _("Completed “%(step)s”: %(outcome)s.")
        % {"step": selectors.name_in_language(step.get("name")), "outcome": _outcome_label(step, outcome)},
    )
    return redirect("workspace:index")


@login_required
@require_POST
def task_hand_back(request: HttpRequest, task_id: int) -> HttpResponse:
    """Give the task back to the department's queue, with a reason."""
    task = _task_or_404(request.user, task_id)
    try:
        services.task_hand_back(task_id=task.pk, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        problems = _problems(error, task.pk, action="handback")
        task.refresh_from_db()
        return _render_task(request, task, status=error.status_code, problems=problems)
    messages.success(request, _("Handed back to the department's queue."))
    return redirect("workspace:index")


@login_required
@require_POST
def task_escalate(request: HttpRequest, task_id: int) -> HttpResponse:
    """Raise the task to a manager, with a reason: a manager's approval takes over."""
    task = _task_or_404(request.user, task_id)
    try:
        services.task_escalate(task_id=task.pk, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as error:
        problems = _problems(error, task.pk, action="escalate")
        task.refresh_from_db()
        return _render_task(request, task, status=error.status_code, problems=problems)
    messages.success(request, _("Raised to a manager."))
    return redirect("workspace:index")
