"""Reading workflows, cases and tasks: which workflow applies, who may see which task, and a
task as the API, the live socket and the workspace show it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import pgettext_lazy
from viewflow.workflow.status import STATUS

from apps.accounts.models import Department, User
from apps.exceptions.calendars import calendars_load
from apps.exceptions.evidence import exception_summary_text
from apps.exceptions.selectors import exception_sees_all
from apps.formdesigner.build import json_schema
from apps.formdesigner.document import FormSpec
from apps.formdesigner.models import FormVersion
from apps.formdesigner.selectors import version_spec
from workflows.models import HandlingCase, HandlingTask, WorkflowChange, WorkflowDefinition, WorkflowVersion

OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)
TASK_STATUS_LABELS = {
    "queued": pgettext_lazy("task status", "Queued"),
    "assigned": pgettext_lazy("task status", "Assigned"),
    "done": pgettext_lazy("task status", "Done"),
    "canceled": pgettext_lazy("task status", "Canceled"),
}
TASK_STATUS = {
    STATUS.NEW: "queued",
    STATUS.ASSIGNED: "assigned",
    STATUS.STARTED: "assigned",
    STATUS.DONE: "done",
    STATUS.CANCELED: "canceled",
}


def name_in_language(names: dict[str, str] | None) -> str:
    """A ``{"zh-hans", "en"}`` name in the active language."""
    if not names:
        return ""
    language = translation.get_language() or settings.LANGUAGE_CODE
    if language.startswith("en") and names.get("en"):
        return names["en"]
    return names.get("zh-hans") or names.get("en") or ""


# -- definitions -----------------------------------------------------------------------------


def workflow_list() -> QuerySet[WorkflowDefinition]:
    return WorkflowDefinition.objects.select_related("published", "draft_updated_by").order_by("key")


def workflow_get(*, key: str) -> WorkflowDefinition:
    return workflow_list().get(key=key)


def workflow_versions(*, definition: WorkflowDefinition) -> QuerySet[WorkflowVersion]:
    return definition.versions.select_related("published_by").order_by("-number")


def workflow_history(*, definition: WorkflowDefinition) -> QuerySet[WorkflowChange]:
    return definition.changes.select_related("actor").order_by("-at", "-id")


def workflow_for(*, category: str, rule_code: str) -> WorkflowVersion | None:
    """The published version that handles an exception: of the active definitions that apply,
    the highest ``priority`` wins (then the key, so the choice is stable). Read fresh each time:
    a workflow published in the browser applies to the next exception."""
    best: tuple[int, str] | None = None
    chosen = None
    for definition in WorkflowDefinition.objects.filter(is_active=True, published__isnull=False).select_related(
        "published"
    ):
        document = definition.published.document
        applies = document.get("applies_to") or {}
        categories, rules = applies.get("categories") or [], applies.get("rules") or []
        if (categories or rules) and category not in categories and rule_code not in rules:
            continue
        rank = (int(document.get("priority") or 0), definition.key)
        if best is None or (rank[0] > best[0]) or (rank[0] == best[0] and rank[1] < best[1]):
            best, chosen = rank, definition.published
    return chosen


# -- forms of steps --------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _form_version(key: str, number: int) -> tuple[FormSpec, frozenset[str]] | None:
    # Published versions never change, so a process may keep them.
    version = FormVersion.objects.filter(form__key=key, number=number).first()
    if version is None:
        return None
    return version_spec(version), frozenset(version.archived)


def step_form(step: dict[str, Any]) -> tuple[FormSpec, frozenset[str]] | None:
    """The step form's spec at the version the case started with (None: the step has no form)."""
    if not step.get("form") or not step.get("form_version"):
        return None
    return _form_version(step["form"], int(step["form_version"]))


# -- tasks -----------------------------------------------------------------------------------


def oversees(user: User) -> bool:
    """Admins and managers see every department's tasks, as they see every exception."""
    return exception_sees_all(user=user)


def task_department(task: HandlingTask) -> Department | None:
    pk = (task.data or {}).get("department")
    return Department.objects.filter(pk=pk).first() if pk else None


# The case behind each task, joined in: a list of tasks reads its cases, workflows and orders
# in the one query.
_CASE = "process__handlingcase"
CASE_JOINS = (
    "owner",
    f"{_CASE}__version__definition",
    f"{_CASE}__exception__order",
    f"{_CASE}__exception__rule",
)


def _tasks() -> QuerySet[HandlingTask]:
    return HandlingTask.objects.filter(flow_task_type="HUMAN").select_related(*CASE_JOINS)


def visible_tasks(user: User) -> QuerySet[HandlingTask]:
    """The tasks ``user`` may see: their department's and their own; all for admins and managers.

    A task that is not here is, to that user, not there at all (404)."""
    tasks = _tasks()
    if oversees(user):
        return tasks
    mine = Q(owner=user)
    if user.department_id:
        mine |= Q(data__department=user.department_id)
    return tasks.filter(mine)


SCOPES = ("mine", "queue", "done", "approvals")


def tasks_for(user: User, *, scope: str = "mine") -> QuerySet[HandlingTask]:
    """``mine``: open tasks assigned to the user; ``queue``: unclaimed tasks of their department
    (every department's for admins and managers); ``done``: tasks the user completed."""
    tasks = visible_tasks(user)
    if scope == "queue":
        tasks = tasks.filter(status=STATUS.NEW)
        if not oversees(user):
            tasks = tasks.filter(data__department=user.department_id)
    elif scope == "done":
        tasks = tasks.filter(status=STATUS.DONE, owner=user)
    elif scope == "approvals":
        # A manager's queue: the approvals waiting for them (for an admin or manager, also the
        # ones nobody has yet).
        tasks = tasks.filter(status__in=OPEN, data__kind="approval")
        tasks = tasks.filter(Q(owner=user) | Q(owner__isnull=True)) if oversees(user) else tasks.filter(owner=user)
    else:
        tasks = tasks.filter(status__in=[STATUS.ASSIGNED, STATUS.STARTED], owner=user)
    order = "-finished" if scope == "done" else "created"
    return tasks.order_by(order, "pk")


def task_counts(user: User) -> dict[str, int]:
    return {scope: tasks_for(user, scope=scope).count() for scope in SCOPES}


def case_of(task: HandlingTask) -> HandlingCase:
    process = task.process
    if isinstance(process, HandlingCase):
        return process
    joined = getattr(process, "_state", None) and process._state.fields_cache.get("handlingcase")
    if joined is not None:
        return joined
    return HandlingCase.objects.select_related("version__definition", "exception__order", "exception__rule").get(
        pk=task.process_id
    )


def task_step(task: HandlingTask, case: HandlingCase | None = None) -> dict[str, Any]:
    case = case or case_of(task)
    key = (task.data or {}).get("step")
    return next((step for step in case.steps if step["key"] == key), {})


def task_outcomes(task: HandlingTask, case: HandlingCase | None = None) -> list[dict[str, str]]:
    step = task_step(task, case)
    outcomes = step.get("outcomes") or []
    return [{"key": outcome["key"], "label": name_in_language(outcome.get("name"))} for outcome in outcomes]


def department_codes(tasks) -> dict[int, str]:
    """The codes of the departments these tasks belong to, in one query."""
    ids = {(task.data or {}).get("department") for task in tasks} - {None}
    return dict(Department.objects.filter(pk__in=ids).values_list("pk", "code")) if ids else {}


def business_seconds_left(task: HandlingTask, exc, *, calendars=None, now=None) -> int | None:
    """Working seconds from now (or, while paused, from the pause) to the task's deadline. Pass
    ``calendars`` (``calendars_load()``) when rendering many."""
    due = parse_datetime((task.data or {}).get("due_at") or "")
    if due is None or task.status not in OPEN:
        return None
    since = exc.paused_at or now or timezone.now()
    calendars = calendars if calendars is not None else calendars_load()
    return int(calendars.between((task.data or {}).get("department"), since, due).total_seconds())


def task_payload(
    task: HandlingTask, *, with_schema: bool = True, departments: dict[int, str] | None = None, calendars=None
) -> dict[str, Any]:
    """A task as SPEC §9.6 lists it (the API's and the live socket's shape). Pass ``departments``
    (``department_codes``) and ``calendars`` (``calendars_load()``) when rendering many."""
    case = case_of(task)
    step = task_step(task, case)
    exc = case.exception
    order = exc.order
    data = task.data or {}
    form = None
    if step.get("form"):
        found = step_form(step)
        form = {"key": step["form"], "version": step.get("form_version")}
        if with_schema and found is not None:
            form["schema"] = json_schema(found[0])
    owner = task.owner
    return {
        "id": task.pk,
        "exception": exc.pk,
        "order": {"id": order.pk, "external_id": order.external_id, "channel": order.channel} if order else None,
        "workflow": {
            "key": case.version.definition.key,
            "version": case.version.number,
            "name": case.version.definition.display_name,
        },
        "step": step.get("key", ""),
        "name": name_in_language(step.get("name")),
        "kind": step.get("kind", ""),
        "status": TASK_STATUS.get(task.status, "assigned"),
        "assignee": {"id": owner.pk, "username": owner.username, "name": owner.get_full_name() or owner.username}
        if owner
        else None,
        "department": (departments if departments is not None else department_codes([task])).get(
            data.get("department")
        ),
        "due_at": data.get("due_at"),
        "overdue": bool(data.get("overdue")),
        # Working time left until the deadline on the department's calendar (negative: overdue),
        # and whether the exception's clock is paused (the time left stands still then).
        "business_seconds_left": business_seconds_left(task, exc, calendars=calendars),
        "paused": exc.paused_at is not None,
        "pause_reason": exc.pause_reason or None,
        "created_at": task.created.isoformat(),
        "finished_at": task.finished.isoformat() if task.finished else None,
        "outcome": data.get("outcome"),
        "outcomes": task_outcomes(task, case),
        "form": form,
        "notice": data.get("notice", ""),
        "summary": exception_summary_text(exc),
        "severity": exc.severity,
    }


def case_tasks(case: HandlingCase) -> QuerySet[HandlingTask]:
    """The case's steps as people see them: its tasks and automatic actions (not the SLA ladder's
    bookkeeping, whose tasks name the task they work for: ``data.host``)."""
    return (
        HandlingTask.objects.filter(process_id=case.pk, flow_task_type__in=["HUMAN", "FUNCTION"])
        .exclude(data__has_key="host")
        .order_by("created", "pk")
    )


def open_case_of(exception_id: int) -> HandlingCase | None:
    return (
        HandlingCase.objects.filter(exception_id=exception_id, finished__isnull=True)
        .exclude(status__in=[STATUS.DONE, STATUS.CANCELED])
        .first()
    )
