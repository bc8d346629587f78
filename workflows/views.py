"""The staff workspace (SPEC §9.3–§9.5): my tasks, my department's queue, done by me, a manager's
approvals, the task page with its SLA clock, and the person's notifications.

Views parse the request, call one service of ``workflows.services`` (or read through
``workflows.selectors``) and render. A ``DomainError`` is shown where it belongs — at the field it
names, or above the page — with its status code, never as a 500. A task the user may not see is
a 404 (``selectors.visible_tasks`` decides).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_POST
from viewflow.workflow.status import STATUS

from apps.accounts.models import Department, User
from apps.common.errors import DomainError
from apps.console.components import when_short
from apps.exceptions import presentation
from apps.exceptions.calendars import Calendars, calendars_load
from apps.exceptions.evidence import duration_text, money_text
from apps.exceptions.models import ExceptionEvent, OrderException, PauseReason, RootCause
from apps.formdesigner.build import SpecForm, display_value, django_form_class
from apps.notifications import selectors as notification_selectors
from apps.notifications import services as notification_services
from apps.orders.models import Carrier
from apps.orders.presentation import custom_field_rows
from apps.rules.models import Severity
from workflows import approvals, engine, selectors, services
from workflows.models import HandlingCase, HandlingTask

SCOPES = ("mine", "queue", "done")
# Managers and admins work their approvals first: the tab leads the row and is where they land.
OVERSIGHT_SCOPES = ("approvals", "mine", "queue", "done")
# The step form's inputs are named ``data-<field>`` so that a form field called ``note`` or
# ``outcome`` never collides with the task's own inputs.
FORM_PREFIX = "data"
# Errors of these fields are shown beside an input of the task page; any other is shown above it.
PAGE_FIELDS = ("outcome", "root_cause", "note", "reason", "user")
# Under this much business time left a deadline reads as close (amber).
SOON_SECONDS = 30 * 60
NOTIFICATIONS_SHOWN = 20


def _status_labels() -> dict[str, str]:
    return {
        "queued": pgettext("task status", "In the queue"),
        "assigned": pgettext("task status", "Assigned"),
        "done": pgettext("task status", "Done"),
        "canceled": pgettext("task status", "Canceled"),
    }


def _scope_labels() -> dict[str, str]:
    return {
        "approvals": pgettext("workspace tab", "Approvals"),
        "mine": _("My tasks"),
        "queue": _("My department's queue"),
        "done": _("Done by me"),
    }


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


# -- the SLA clock in words ------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """A deadline as people read it: when (local time), the business time left, and its state.

    ``state`` is ``running``, ``soon`` (under half an hour left), ``overdue``, ``paused`` (the
    exception's clock stands still) or ``none`` (no deadline, or the task is closed).
    """

    due_at: datetime | None
    due_short: str
    seconds_left: int | None
    overdue: bool
    paused: bool
    state: str
    text: str


def _pause_text(reason: str) -> str:
    label = str(PauseReason(reason).label) if reason in PauseReason.values else ""
    if not label:
        return _("paused")
    # "paused — waiting for the customer": the reason reads as the rest of the sentence.
    return _("paused — %(reason)s") % {"reason": label[:1].lower() + label[1:]}


def _left_text(seconds: int) -> str:
    """``7800`` → "2 h 10 min left"; ``-2100`` → "overdue by 35 min" (business time)."""
    if seconds >= 0:
        return _("%(time)s left") % {"time": duration_text(math.ceil(seconds / 60))}
    return _("overdue by %(time)s") % {"time": duration_text(max(1, -seconds // 60))}


def _clock(
    *,
    due_at: datetime | None,
    is_open: bool,
    exc: OrderException,
    department_id: int | None,
    calendars: Calendars,
    now: datetime,
    flagged: bool = False,
) -> Clock:
    """The clock of a deadline on ``department_id``'s calendar, as ``selectors.business_seconds_left``
    counts it: from now, or while the exception is paused from the moment it was paused.

    ``calendars`` is loaded once per page, so that a list costs the same queries for any number of
    rows. ``flagged`` is the engine's own overdue mark (a breach it acted on)."""
    paused = exc.paused_at is not None and exc.is_active
    if due_at is None or not is_open:
        overdue = is_open and flagged
        return Clock(
            due_at=due_at,
            due_short=when_short(due_at) if due_at else "",
            seconds_left=None,
            overdue=overdue,
            paused=paused and is_open,
            state="paused" if paused and is_open else ("overdue" if overdue else "none"),
            text=_pause_text(exc.pause_reason) if paused and is_open else "",
        )
    since = exc.paused_at if paused else now
    left = int(calendars.between(department_id, since, due_at).total_seconds())
    overdue = left < 0
    if paused:
        state, text = "paused", _pause_text(exc.pause_reason)
    else:
        state = "overdue" if overdue else ("soon" if left < SOON_SECONDS else "running")
        text = _left_text(left)
    return Clock(
        due_at=due_at,
        due_short=when_short(due_at),
        seconds_left=left,
        overdue=overdue,
        paused=paused,
        state=state,
        text=text,
    )


@dataclass(frozen=True)
class Deadline:
    """One of the exception's own deadlines (first response, resolution) with its breach mark."""

    key: str
    label: str
    clock: Clock
    met_at: datetime | None
    met_late: bool
    breached_at: datetime | None


def _exception_deadlines(exc: OrderException, calendars: Calendars, now: datetime) -> list[Deadline]:
    rows = []
    for key, label, due_at, met_at, breached_at in (
        (
            "first_response",
            _("First response"),
            exc.first_response_due_at,
            exc.first_responded_at,
            exc.first_response_breached_at,
        ),
        ("resolution", _("Resolution"), exc.due_at, exc.resolved_at, exc.resolution_breached_at),
    ):
        pending = met_at is None and exc.is_active
        rows.append(
            Deadline(
                key=key,
                label=label,
                clock=_clock(
                    due_at=due_at,
                    is_open=pending,
                    exc=exc,
                    department_id=exc.department_id,
                    calendars=calendars,
                    now=now,
                ),
                met_at=met_at,
                met_late=bool(met_at and due_at and met_at > due_at),
                breached_at=breached_at,
            )
        )
    return rows


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
    exception_department: str
    due_at: datetime | None
    overdue: bool
    clock: Clock
    status: str
    status_label: str
    assignee: str
    finished_at: datetime | None
    outcome: str
    kind: str = ""
    # Approvals: what was proposed (in words), by whom, and why it came to a manager.
    proposal: str = ""
    waiver: bool = False
    proposed_by: str = ""
    why: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in ("queued", "assigned")


@dataclass(frozen=True)
class Proposal:
    """Why an approval is on a manager's desk: the proposal in words, who made it, their reason."""

    text: str
    kind: str
    waiver: bool
    proposed_by: str
    why: str


def _proposal_texts(proposal: dict | None) -> set[str]:
    """A proposal in words in each language (``task_complete`` keeps it as the step's note when
    no note was given)."""
    if not proposal:
        return set()
    texts = set()
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            texts.add(approvals.proposal_text(proposal))
    return texts


def _proposals(tasks: list[HandlingTask], cases: dict[int, HandlingCase]) -> dict[int, Proposal]:
    """Per approval task: the case's proposal (``case.data["proposal"]``) or, when the case was
    raised without one, the reason the previous step gave. Two queries for any number of tasks."""
    wanted = [task for task in tasks if (task.data or {}).get("kind") == "approval"]
    if not wanted:
        return {}
    earlier: dict[int, list[HandlingTask]] = {}
    for task in (
        HandlingTask.objects.filter(process_id__in={task.process_id for task in wanted}, flow_task_type="HUMAN")
        .exclude(pk__in=[task.pk for task in wanted])
        .exclude(data__has_key="host")
        .order_by("created", "pk")
    ):
        earlier.setdefault(task.process_id, []).append(task)
    facts = {}
    people: set[int] = set()
    for task in wanted:
        case = cases[task.process_id]
        proposal = (case.data or {}).get("proposal") or {}
        before = [item for item in earlier.get(task.process_id, []) if item.created <= task.created]
        previous = before[-1] if before else None
        previous_data = (previous.data or {}) if previous is not None else {}
        by = proposal.get("by") or previous_data.get("completed_by") or (previous.owner_id if previous else None)
        if by:
            people.add(by)
        facts[task.pk] = (proposal, previous_data, by)
    names = {user.pk: _person(user) for user in User.objects.filter(pk__in=people)}
    result = {}
    for pk, (proposal, previous_data, by) in facts.items():
        why = previous_data.get("note") or previous_data.get("canceled_note") or ""
        if why in _proposal_texts(previous_data.get("proposal")):
            why = ""  # the step's note is only its proposal in words, said in the language of then
        result[pk] = Proposal(
            text=approvals.proposal_text(proposal),
            kind=proposal.get("kind", ""),
            waiver=proposal.get("kind") == approvals.ProposalKind.WAIVE,
            proposed_by=names.get(by, ""),
            why=why,
        )
    return result


def _task_rows(tasks: list[HandlingTask]) -> list[TaskRow]:
    """The rows of a list in a fixed number of queries (the cases, their exceptions and orders, the
    departments, the calendars, and for approvals the proposals and who made them)."""
    cases = {
        case.pk: case
        for case in HandlingCase.objects.filter(pk__in={task.process_id for task in tasks}).select_related(
            "version__definition", "exception__rule", "exception__order", "exception__department"
        )
    }
    department_ids = {(task.data or {}).get("department") for task in tasks} - {None}
    departments = {department.pk: department for department in Department.objects.filter(pk__in=department_ids)}
    labels = _status_labels()
    now = timezone.now()
    calendars = calendars_load() if tasks else None
    proposals = _proposals(tasks, cases)
    rows = []
    for task in tasks:
        case = cases[task.process_id]
        exc = case.exception
        step = selectors.task_step(task, case)
        data = task.data or {}
        status = selectors.TASK_STATUS.get(task.status, "assigned")
        is_open = status in ("queued", "assigned")
        due_at = _due_at(task)
        department = departments.get(data.get("department"))
        clock = _clock(
            due_at=due_at,
            is_open=is_open,
            exc=exc,
            department_id=data.get("department"),
            calendars=calendars,
            now=now,
            flagged=bool(data.get("overdue")),
        )
        proposal = proposals.get(task.pk)
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
                exception_department=exc.department.display_name if exc.department else "",
                due_at=due_at,
                overdue=clock.overdue,
                clock=clock,
                status=status,
                status_label=labels[status],
                assignee=_person(task.owner),
                finished_at=task.finished,
                outcome=_outcome_label(step, data.get("outcome")),
                kind=data.get("kind", ""),
                proposal=proposal.text if proposal else "",
                waiver=proposal.waiver if proposal else False,
                proposed_by=proposal.proposed_by if proposal else "",
                why=proposal.why if proposal else "",
            )
        )
    return rows


def _scopes(user, counts: dict[str, int]) -> tuple[str, ...]:
    """The tabs a user has: managers and admins lead with their approvals; staff see that tab only
    while an approval is theirs."""
    if selectors.oversees(user):
        return OVERSIGHT_SCOPES
    return ("approvals", *SCOPES) if counts.get("approvals") else SCOPES


def _scope(request: HttpRequest, scopes: tuple[str, ...]) -> str:
    """The tab asked for; without one (or an unknown one) the first tab: a manager lands on the
    approvals, staff on their tasks."""
    scope = request.GET.get("scope", "")
    if scope in scopes:
        return scope
    return "approvals" if selectors.oversees(request.user) else "mine"


def _list_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    counts = selectors.task_counts(user)
    scopes = _scopes(user, counts)
    scope = _scope(request, scopes)
    labels = _scope_labels()
    return {
        "scope": scope,
        "tabs": [{"scope": key, "label": labels[key], "count": counts[key], "current": key == scope} for key in scopes],
        "rows": _task_rows(list(selectors.tasks_for(user, scope=scope))),
        "oversees": selectors.oversees(user),
        "has_department": user.department_id is not None,
    }


@login_required
@require_GET
def workspace(request: HttpRequest) -> HttpResponse:
    """The workspace: the lists as tabs (``?scope=approvals|mine|queue|done``), kept fresh by live events."""
    return TemplateResponse(request, "og/workspace/index.html", {**_list_context(request), **_bell(request.user)})


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    """The tabs and the list of one scope: what the workspace re-fetches when a live event arrives."""
    return TemplateResponse(request, "og/workspace/index.html#task-list", _list_context(request))


# -- the task page ---------------------------------------------------------------------------


@dataclass
class Problems:
    """What went wrong with the last action on the page: at a field of the page, or above it."""

    page: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)
    # The action whose small form should stay open to show its error: ``handback``, ``escalate``,
    # ``pause``, ``resume``, ``propose`` or a manager's decision (``approve``, ``reject``…).
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


def _pause_facts(exc: OrderException) -> dict[str, Any] | None:
    """Since when, why and by whom the exception's clock is paused (its latest pause event)."""
    if exc.paused_at is None:
        return None
    event = exc.events.filter(kind=ExceptionEvent.Kind.PAUSED).select_related("actor").order_by("-at", "-id").first()
    data = (event.data or {}) if event is not None else {}
    return {
        "since": exc.paused_at,
        "reason": exc.get_pause_reason_display() if exc.pause_reason else "",
        "note": data.get("note", ""),
        "by": _person(event.actor) if event is not None and event.actor_id else "",
    }


def _proposal_form(step: dict[str, Any], exc: OrderException) -> dict[str, Any] | None:
    """The optional proposal of a task step whose outcomes include one that resolves."""
    resolving = [
        selectors.name_in_language(outcome.get("name")) or outcome["key"]
        for outcome in step.get("outcomes") or []
        if outcome.get("to") == engine.RESOLVE
    ]
    if step.get("kind") != "task" or step.get("key") == engine.ESCALATION or not resolving:
        return None
    limit = exc.department.approval_limit if exc.department is not None else None
    return {
        "outcomes": resolving,
        "kinds": approvals.ProposalKind.choices,
        "money_kinds": [str(kind) for kind in approvals.MONEY_KINDS],
        "limit": money_text(limit) if limit is not None else "",
        "department": exc.department.display_name if exc.department is not None else "",
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
    now = timezone.now()
    calendars = calendars_load()
    clock = _clock(
        due_at=due_at,
        is_open=is_open,
        exc=exc,
        department_id=data.get("department"),
        calendars=calendars,
        now=now,
        flagged=bool(data.get("overdue")),
    )
    leads = user.pk in {getattr(department, "lead_id", None), getattr(exc.department, "lead_id", None)} - {None}
    # The assignee, the department's lead and managers pause and resume the clock (SPEC §9.4).
    may_clock = is_open and exc.is_active and (mine or leads or oversees)
    outcomes = selectors.task_outcomes(task, case)
    outcome_keys = {outcome["key"] for outcome in outcomes}
    is_approval = data.get("kind") == "approval"
    # Approvals that approval_decide can take (the managers' escalation step has these outcomes);
    # an approval step of a workflow's own (a price review) keeps its outcome buttons.
    decidable = is_approval and bool(outcome_keys & {"approve", "reject", "dismiss"})
    may_decide = is_open and (mine or oversees)
    proposal = _proposals([task], {case.pk: case}).get(task.pk) if is_approval else None
    grants_waiver = user.has_perm(approvals.WAIVER_PERMISSION)
    members = (
        list(User.objects.filter(department_id=exc.department_id, is_active=True).order_by("username"))
        if decidable and may_decide and exc.department_id
        else []
    )
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
        "overdue": clock.overdue,
        "clock": clock,
        "deadlines": _exception_deadlines(exc, calendars, now),
        "paused": _pause_facts(exc),
        "can_pause": may_clock and exc.paused_at is None,
        "can_resume": may_clock and exc.paused_at is not None,
        "pause_reasons": PauseReason.choices,
        "notice": data.get("notice", ""),
        "canceled_note": data.get("canceled_note", ""),
        "outcome": _outcome_label(step, data.get("outcome")),
        "root_cause": RootCause(data["root_cause"]).label if data.get("root_cause") in RootCause.values else "",
        "note": data.get("note", ""),
        "submitted": _submitted(step, data) if not is_open else [],
        "can_claim": task.status == STATUS.NEW and in_department,
        "can_complete": may_act and not decidable,
        "can_hand_back": is_open and task.owner_id is not None and (mine or oversees),
        "can_escalate": may_act and case.step != engine.ESCALATION,
        "form": form,
        "outcomes": outcomes,
        "root_causes": RootCause.choices,
        "propose": _proposal_form(step, exc) if may_act and case.step != engine.ESCALATION else None,
        "is_approval": is_approval,
        "proposal": proposal,
        "decide": decidable and may_decide,
        "can_approve": "approve" in outcome_keys and not (proposal and proposal.waiver and not grants_waiver),
        "approve_needs_permission": bool(proposal and proposal.waiver and not grants_waiver),
        "approve_label": _outcome_label(step, "approve")
        if "approve" in outcome_keys
        else approvals.Decision.APPROVE.label,
        "can_reject": "reject" in outcome_keys,
        "can_reassign": "reject" in outcome_keys and bool(members),
        "can_dismiss": "dismiss" in outcome_keys,
        "can_raise": is_approval and may_decide and exc.is_active and exc.severity != Severity.URGENT,
        "raised_severity": Severity(Severity.raised(exc.severity)).label if exc.severity in Severity.values else "",
        "members": members,
        "posted": request.POST if request.method == "POST" else {},
        "problems": problems or Problems(),
        "summary": presentation.summary(exc),
        "evidence": presentation.evidence(exc),
        "handling": exc.get_handling_display() if exc.handling else "",
        "history": _history(case),
        "timeline": presentation.timeline(events),
        **_order_context(exc),
        **_bell(user),
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
    proposal = _posted_proposal(request)
    try:
        services.task_complete(
            task_id=task.pk,
            actor=request.user,
            outcome=outcome,
            data=form.data_value() if form is not None else None,
            root_cause=request.POST.get("root_cause", ""),
            note=request.POST.get("note", ""),
            proposal=proposal,
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
        if (error.field or "").startswith("proposal"):
            problems = Problems(fields={"proposal": [str(error.message)]}, action="propose")
        else:
            problems = _problems(error, task.pk)
        task.refresh_from_db()
        return _render_task(request, task, status=error.status_code, form=form, problems=problems)
    waiting = HandlingCase.objects.filter(pk=case.pk, step=engine.ESCALATION).values_list("data", flat=True).first()
    if proposal and waiting is not None and (waiting or {}).get("proposal"):
        messages.success(
            request,
            _("Your proposal (%(proposal)s) waits for a manager's approval.")
            % {"proposal": approvals.proposal_text(waiting["proposal"])},
        )
    else:
        messages.success(
            request,
            _("Completed “%(step)s”: %(outcome)s.")
            % {"step": selectors.name_in_language(step.get("name")), "outcome": _outcome_label(step, outcome)},
        )
    return redirect("workspace:index")


def _posted_proposal(request: HttpRequest) -> dict[str, str] | None:
    """The completion form's optional proposal; an amount only goes with the kinds that have one."""
    kind = request.POST.get("proposal_kind", "").strip()
    if not kind:
        return None
    proposal = {"kind": kind}
    amount = request.POST.get("proposal_amount", "").strip()
    if amount:
        proposal["amount"] = amount
    note = request.POST.get("proposal_note", "").strip()
    if note:
        proposal["note"] = note
    return proposal


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


# -- the SLA clock ---------------------------------------------------------------------------


@login_required
@require_POST
def task_pause(request: HttpRequest, task_id: int) -> HttpResponse:
    """Pause the clock of the task's exception, with a reason (and a note for "other")."""
    task = _task_or_404(request.user, task_id)
    case = selectors.case_of(task)
    reason = request.POST.get("reason", "")
    try:
        services.clock_pause(
            exception_id=case.exception_id, actor=request.user, reason=reason, note=request.POST.get("note", "")
        )
    except DomainError as error:
        return _render_task(
            request, task, status=error.status_code, problems=_clock_problems(error, task.pk, action="pause")
        )
    messages.success(request, _("The clock is paused: %(reason)s.") % {"reason": PauseReason(reason).label})
    return redirect("workspace:task", task_id=task.pk)


@login_required
@require_POST
def task_resume(request: HttpRequest, task_id: int) -> HttpResponse:
    """Start the clock again: the deadlines move by the business time it was paused."""
    task = _task_or_404(request.user, task_id)
    case = selectors.case_of(task)
    try:
        services.clock_resume(exception_id=case.exception_id, actor=request.user, note=request.POST.get("note", ""))
    except DomainError as error:
        return _render_task(
            request, task, status=error.status_code, problems=_clock_problems(error, task.pk, action="resume")
        )
    messages.success(request, _("The clock runs again; the deadlines moved by the time it was paused."))
    return redirect("workspace:task", task_id=task.pk)


def _clock_problems(error: DomainError, task_id: int, *, action: str) -> Problems:
    """A refused pause or resume: a bad reason or note beside its input, anything else (paused
    already, not paused, another department's exception) in the same small form."""
    if error.status_code == 404:
        raise Http404
    field_name = error.field if error.field in ("reason", "note") else "action"
    return Problems(fields={field_name: [str(error.message)]}, action=action)


# -- a manager's approval --------------------------------------------------------------------


@login_required
@require_POST
def task_decide(request: HttpRequest, task_id: int) -> HttpResponse:
    """Decide an approval: approve, reject (back to the assignee), reassign, raise the severity or
    dismiss, with the reason the audit trail keeps."""
    task = _task_or_404(request.user, task_id)
    decision = request.POST.get("decision", "")
    try:
        services.approval_decide(
            task_id=task.pk,
            actor=request.user,
            decision=decision,
            reason=request.POST.get("reason", ""),
            user_id=request.POST.get("user", ""),
        )
    except DomainError as error:
        problems = _problems(error, task.pk, action=decision)
        if problems.page and decision in approvals.Decision.values:
            # The refusal belongs to the decision being made: show it in its form.
            problems = Problems(fields={"action": problems.page}, action=decision)
        task.refresh_from_db()
        return _render_task(request, task, status=error.status_code, problems=problems)
    if decision == approvals.Decision.RAISE_SEVERITY:
        exc = OrderException.objects.get(pk=selectors.case_of(task).exception_id)
        messages.success(
            request,
            _("The severity is %(severity)s now; the approval stays open.") % {"severity": exc.get_severity_display()},
        )
        return redirect("workspace:task", task_id=task.pk)
    messages.success(request, _decided_text(decision, request.POST.get("user", "")))
    return redirect("workspace:index")


def _decided_text(decision: str, user_id: str) -> str:
    if decision == approvals.Decision.APPROVE:
        return _("Approved: the exception is resolved.")
    if decision == approvals.Decision.REJECT:
        return _("Sent back to the assignee with your reason.")
    if decision == approvals.Decision.REASSIGN:
        person = User.objects.filter(pk=user_id).first() if str(user_id).isdigit() else None
        return _("Reassigned to %(person)s.") % {"person": _person(person) or user_id}
    return _("Dismissed as not real.")


# -- notifications ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationRow:
    id: int
    text: str
    kind: str
    at: datetime
    unread: bool
    url: str


def _bell(user) -> dict[str, Any]:
    """The header's bell: the unread count and the latest notifications in the page's language."""
    rows = []
    for notification in notification_selectors.notifications_for(user, limit=NOTIFICATIONS_SHOWN):
        if notification.task_id:
            url = reverse("workspace:task", args=[notification.task_id])
        elif notification.exception_id:
            url = reverse("workspace-exception", args=[notification.exception_id])
        else:
            url = ""
        rows.append(
            NotificationRow(
                id=notification.pk,
                text=notification_selectors.notification_text(notification),
                kind=notification.get_kind_display(),
                at=notification.at,
                unread=notification.read_at is None,
                url=url,
            )
        )
    return {"bell": {"unread": notification_selectors.unread_count(user), "items": rows}}


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """The person's latest notifications (the bell's list as a page, for phones and without script)."""
    return TemplateResponse(request, "og/workspace/notifications.html", _bell(request.user))


@login_required
@require_GET
def notifications_bell(request: HttpRequest) -> HttpResponse:
    """The bell alone: what a page re-fetches when a live ``notification.created`` arrives."""
    return TemplateResponse(request, "og/workspace/_bell.html#bell-body", _bell(request.user))


@login_required
@require_POST
def notifications_mark_read(request: HttpRequest) -> HttpResponse:
    """Mark all the person's notifications read, then back where they were."""
    notification_services.notifications_read(user=request.user)
    if request.htmx:
        return TemplateResponse(request, "og/workspace/_bell.html#bell-body", _bell(request.user))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("workspace:notifications")
    return redirect(target)
