"""What the handling flow's nodes do (``workflows.flows.HandlingFlow`` calls these, under its lock).

A case's ``steps`` are the step documents of SPEC §10.6 as the version had them, plus the
escalation step every case has (a manager decides). ``case.step`` is where the case stands;
``advance`` moves it along an outcome. People reach these through ``workflows.services``.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.common.errors import DomainError
from apps.exceptions import lifecycle
from apps.exceptions.models import OrderException
from apps.notifications.models import Notification
from apps.notifications.services import notify
from workflows import assignment, escalation, live
from workflows.document import BACK, parse_duration
from workflows.models import HandlingCase, HandlingTask

logger = logging.getLogger(__name__)

ESCALATION = "escalation"
RESOLVE, DISMISS, ESCALATE = "resolve", "dismiss", "escalate"


def escalation_step() -> dict[str, Any]:
    """The step every case has: a manager decides what an escalated exception needs."""
    return {
        "key": ESCALATION,
        "kind": "approval",
        "name": {"zh-hans": "经理审批", "en": "Manager approval"},
        "assign": {"strategy": "manager"},
        "outcomes": [
            {"key": "approve", "name": {"zh-hans": "批准解决", "en": "Approve and resolve"}, "to": RESOLVE},
            {"key": "reject", "name": {"zh-hans": "驳回", "en": "Send back"}, "to": BACK},
            {"key": "dismiss", "name": {"zh-hans": "驳回为误报", "en": "Dismiss as not real"}, "to": DISMISS},
        ],
    }


def case_of(activation) -> HandlingCase:
    """The case an activation runs in: one object for the whole chain of nodes it activates."""
    process = activation.process
    if isinstance(process, HandlingCase):
        return process
    case = HandlingCase.objects.select_related("version__definition").get(pk=process.pk)
    activation.task.process = case
    return case


def step_of(case: HandlingCase, key: str) -> dict[str, Any] | None:
    return next((step for step in case.steps if step["key"] == key), None)


def current_kind(activation) -> str:
    case = case_of(activation)
    step = step_of(case, case.step)
    return step["kind"] if step else ""


# -- start -----------------------------------------------------------------------------------


def case_begin(activation, *, request, exception: OrderException, version, steps: list[dict]) -> HandlingCase:
    """StartHandle: fill in the new case (viewflow saves it; the request's unique key guards it)."""
    case = activation.process
    case.exception = exception
    case.request = request
    case.version = version
    case.steps = [*steps, escalation_step()]
    case.step = steps[0]["key"]
    case.trail = [case.step]
    case.data = {}
    return case


# -- moving along ----------------------------------------------------------------------------


def advance(case: HandlingCase, *, to: str, reason: str = "") -> None:
    """Follow an outcome's ``to``: another step, ``back``, ``escalate``, ``resolve`` or ``dismiss``."""
    if to == BACK:
        earlier = [key for key in case.trail[:-1] if key not in (case.step, ESCALATION)]
        to = earlier[-1] if earlier else case.trail[0]
    if to == ESCALATE:
        exc = OrderException.objects.get(pk=case.exception_id)
        if exc.status != OrderException.Status.ESCALATED and exc.is_active:
            lifecycle.exception_escalate(
                exception_id=exc.pk,
                actor=None,
                reason=reason or _("Raised to a manager at step %(step)s.") % {"step": case.step},
            )
        to = ESCALATION
    case.step = to
    if step_of(case, to) is not None:
        case.trail = [*case.trail, to]
    case.save(update_fields=["step", "trail"])


def _default_outcome(step: dict[str, Any], key: str = "done") -> dict[str, Any]:
    outcomes = step.get("outcomes") or []
    return next((o for o in outcomes if o["key"] == key), outcomes[0] if outcomes else {"key": key, "to": RESOLVE})


# -- human steps -----------------------------------------------------------------------------


def step_owner(activation) -> User | None:
    """Assign the new task by its step's rule; note the department, the deadline and any notice."""
    case = case_of(activation)
    step = step_of(case, case.step)
    exc = OrderException.objects.select_related("department", "order").get(pk=case.exception_id)
    rule = step.get("assign") or {"strategy": "queue"}
    back_to = (case.data or {}).get("back_to")
    if back_to and step["kind"] == "task":
        # A manager sent it back (rejected, or reassigned): to that person, if still here.
        case.data = {k: v for k, v in case.data.items() if k != "back_to"}
        case.save(update_fields=["data"])
        person = User.objects.filter(pk=back_to, is_active=True).select_related("department").first()
        if person is not None:
            rule = {"strategy": "user", "user": person.username}
    chosen = assignment.assign(
        strategy=rule.get("strategy", "queue"),
        department_code=rule.get("department", ""),
        username=rule.get("user", ""),
        field=rule.get("field", ""),
        mapping=rule.get("map") or {},
        exception=exc,
        scope=f"{case.version.definition.key}:{step['key']}",
    )
    deadline = parse_duration(step["deadline"]) if step.get("deadline") else None
    department_id = chosen.department.pk if chosen.department else exc.department_id
    activation.task.data = {
        **(activation.task.data or {}),
        "step": step["key"],
        "kind": step["kind"],
        "department": department_id,
        "notice": str(chosen.note or ""),
        **escalation.timeline(
            exception=exc, department_id=department_id, step=step, deadline=deadline, now=timezone.now()
        ),
    }
    if chosen.user is not None:
        activation.task.assigned = timezone.now()
    return chosen.user


def step_created(activation) -> None:
    """The task exists: a task step places the exception with its department and owner; tell people."""
    case = case_of(activation)
    task = activation.task
    if task.data.get("kind") == "task" and case.step != ESCALATION:
        exc = OrderException.objects.get(pk=case.exception_id)
        if exc.is_active:
            lifecycle.exception_place(
                exception_id=exc.pk,
                department_id=task.data.get("department"),
                assignee_id=task.owner_id,
                step=task.data["step"],
                notice=task.data.get("notice", ""),
            )
    if case.step == ESCALATION and task.owner_id:
        notify(
            user_ids=[task.owner_id],
            kind=Notification.Kind.APPROVAL,
            message=lambda: _("Exception #%(number)s waits for your decision.") % {"number": case.exception_id},
            exception_id=case.exception_id,
            task_id=task.pk,
        )
    live.task_event(task, "task.assigned" if task.owner_id else "task.created")


def _ladder_host(timer: HandlingTask) -> HandlingTask:
    """The human task a ladder node works for: the boundary timer's host, or the one named on the
    ladder's own timer."""
    host_id = (timer.data or {}).get("host") or timer.previous.values_list("pk", flat=True).first()
    return HandlingTask.objects.get(pk=host_id)


# The last firing of a case in this thread: ``ladder`` and the nodes after it (``ladder_next``,
# ``ladder_wait``) run in one chain, synchronously, under the case's lock, so those nodes read
# the host and the outcome here instead of walking the task links back (three queries each).
# Keyed by the case; the chain's last node clears it, and a missing entry falls back to the links.
_chain = threading.local()


def _chain_set(case_id: int, host: HandlingTask, fired: dict[str, Any]) -> None:
    _chain.firing = (case_id, host, fired)


def _chain_get(activation) -> tuple[HandlingTask, dict[str, Any]] | None:
    firing = getattr(_chain, "firing", None)
    if firing is None or firing[0] != activation.process.pk:
        return None
    return firing[1], firing[2]


def _chain_end() -> None:
    _chain.firing = None


def ladder_first_due(activation) -> datetime:
    host = activation.task.previous.first()  # the boundary ◀ its host task
    case = case_of(activation)
    return escalation.next_due(host, case.exception_id)


def ladder_fire(activation) -> None:
    case = case_of(activation)
    timer = activation.task.previous.first()
    host = _ladder_host(timer)
    fired = escalation.fire(case=case, host=host, timer=timer)
    if fired["takes_over"]:
        escalation.take_over(case=case, host=host)
    activation.task.data = {**(activation.task.data or {}), "host": host.pk, **fired}
    _chain_set(case.pk, host, fired)


def _ladder_fn(activation):
    """ladder_next's (and ladder_wait's) ladder task: the one whose data names the host."""
    task = activation.task.previous.first()
    while task is not None and "host" not in (task.data or {}):
        task = task.previous.first()
    return task


def _fired(activation) -> tuple[HandlingTask | None, dict[str, Any]]:
    """The host and the outcome of the firing before this node (``(None, {})`` when none)."""
    remembered = _chain_get(activation)
    if remembered is not None:
        return remembered
    fn = _ladder_fn(activation)
    if fn is None:
        return None, {}
    return HandlingTask.objects.get(pk=fn.data["host"]), fn.data


def ladder_takes_over(activation) -> bool:
    _host, fired = _fired(activation)
    if fired.get("takes_over"):
        _chain_end()
        return True
    return False


def ladder_more(activation) -> bool:
    host, fired = _fired(activation)
    if host is None or fired.get("duplicate"):
        _chain_end()
        return False
    data = host.data or {}
    more = host.status in escalation.OPEN and data.get("ladder_next", 0) < len(data.get("ladder") or [])
    if not more:
        _chain_end()
    return more


def ladder_next_due(activation) -> datetime:
    host, _outcome = _fired(activation)
    _chain_end()
    activation.task.data = {**(activation.task.data or {}), "host": host.pk}
    return escalation.next_due(host, case_of(activation).exception_id)


# -- automatic steps -------------------------------------------------------------------------


def run_action(activation) -> None:
    from workflows import actions

    case = case_of(activation)
    step = step_of(case, case.step)
    outcome_key, note = actions.run(step["action"], case=case)
    activation.task.data = {**(activation.task.data or {}), "step": step["key"], "outcome": outcome_key, "note": note}
    advance(case, to=_default_outcome(step, outcome_key)["to"], reason=note)


def wait_until(activation) -> datetime:
    case = case_of(activation)
    step = step_of(case, case.step)
    return timezone.now() + (parse_duration(step.get("wait") or "") or timedelta(minutes=1))


def wait_over(activation) -> None:
    case = case_of(activation)
    step = step_of(case, case.step)
    activation.task.data = {**(activation.task.data or {}), "step": step["key"], "outcome": "done"}
    advance(case, to=_default_outcome(step)["to"])


# -- the end ---------------------------------------------------------------------------------


def finish_case(activation) -> None:
    """``resolve`` or ``dismiss``: the exception follows, in the name of whoever decided."""
    case = case_of(activation)
    exc = OrderException.objects.get(pk=case.exception_id)
    decision = case.data.get("decision") or {}
    actor = User.objects.filter(pk=decision.get("actor")).first()
    if exc.is_active:
        try:
            with transaction.atomic():
                _decide(exc, case.step, decision, actor)
        except DomainError as refused:
            if refused.status_code != 403:
                raise
            _decide(exc, case.step, decision, None)  # decided by someone outside its department
    case.ended_note = decision.get("note", "")[:255]
    case.save(update_fields=["ended_note"])


def _decide(exc: OrderException, step: str, decision: dict[str, Any], actor: User | None) -> None:
    if step == DISMISS:
        lifecycle.exception_dismiss(
            exception_id=exc.pk, actor=actor, reason=decision.get("note") or _("Dismissed in its workflow.")
        )
    else:
        lifecycle.exception_resolve(
            exception_id=exc.pk,
            actor=actor,
            root_cause=decision.get("root_cause") or "other",
            note=decision.get("note", ""),
        )
