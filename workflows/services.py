"""The handling engine's services: start and end cases exactly once, fire timers, and what people
do with tasks (claim, complete, hand back, raise to a manager, reassign).

Views, the API, Celery tasks and the flow's handlers call these and nothing else. Every task
operation runs under the case's flow lock (``select_for_update`` on its process row on
PostgreSQL) and re-reads the task there, so two people acting at once meet a clear 409.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models.functions import Mod
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.status import STATUS

from apps.accounts.models import User
from apps.common.errors import DomainError
from apps.exceptions import lifecycle, sla
from apps.exceptions.models import ExceptionEvent, HandlingRequest, Heartbeat, OrderException, RootCause
from apps.formdesigner.document import DocumentError
from apps.formdesigner.selectors import published_form
from apps.notifications.models import Notification
from apps.notifications.services import notify
from workflows import approvals, engine, escalation, live, selectors
from workflows.flows import HandlingFlow
from workflows.models import HandlingCase, HandlingTask

logger = logging.getLogger(__name__)

# The after-commit task normally starts a case within milliseconds; the sweep leaves it that
# long before stepping in, so the two rarely meet (and when they do, the request's lock and
# unique case decide).
SWEEP_GRACE = timedelta(seconds=3)
SWEEP_BATCH = 500


class TaskErrorCode:
    NOT_OPEN = "task_not_open"
    TAKEN = "already_claimed"
    NOT_YOURS = "not_yours"
    CLAIM_FIRST = "claim_first"
    UNKNOWN_OUTCOME = "unknown_outcome"


# -- starting and ending cases ---------------------------------------------------------------


def _steps_to_run(version) -> list[dict[str, Any]]:
    """The version's steps as the case keeps them: each step form pinned at its published version."""
    steps = []
    for step in version.document["steps"]:
        step = dict(step)
        if step.get("form"):
            form = published_form(key=step["form"])
            step["form_version"] = form.version if form else None
        steps.append(step)
    return steps


def case_start(*, request_id: int) -> HandlingCase | None:
    """Start the case of one handling request, once: a request already handled (or locked by a
    concurrent starter) is left alone. Returns the case started here, if any."""
    with transaction.atomic():
        locked = HandlingRequest.objects.select_for_update(of=("self",)).filter(pk=request_id, handled_at__isnull=True)
        request = locked.select_related("exception__rule").first()
        if request is None:
            return None
        now = timezone.now()
        exc = request.exception
        version = selectors.workflow_for(category=exc.category, rule_code=exc.rule.code) if exc.is_active else None
        case = None
        if version is not None:
            try:
                with transaction.atomic():
                    case = HandlingFlow.start.run(
                        request=request, exception=exc, version=version, steps=_steps_to_run(version)
                    )
            except IntegrityError:
                # Another starter's case holds this request (the unique key): not twice.
                logger.info("Handling request %s already has its case", request_id)
                case = None
        request.handled_at = now
        request.save(update_fields=["handled_at"])
        return case


def cases_start(*, request_ids: Iterable[int]) -> int:
    started = 0
    for request_id in sorted(set(request_ids)):
        try:
            started += case_start(request_id=request_id) is not None
        except Exception:  # one broken case must not hold up the others; the sweep retries it
            logger.exception("Starting the case of handling request %s failed", request_id)
    return started


def case_end(*, case_id: int, note: str) -> bool:
    """End a running case from outside (its exception ended): every open task is canceled with
    ``note``, and the people who had them see it leave their lists."""
    canceled: list[HandlingTask] = []
    with HandlingFlow.lock(case_id):
        case = HandlingCase.objects.filter(pk=case_id).first()
        if case is None or case.status in (STATUS.DONE, STATUS.CANCELED):
            return False
        for task in HandlingTask.objects.filter(process_id=case_id).exclude(
            status__in=[STATUS.DONE, STATUS.CANCELED, STATUS.REVIVED]
        ):
            task.data = {**(task.data or {}), "canceled_note": note}
            task.status = STATUS.CANCELED
            task.finished = timezone.now()
            task.save(update_fields=["data", "status", "finished"])
            if task.flow_task_type == "HUMAN":
                canceled.append(task)
        case.status = STATUS.CANCELED
        case.finished = timezone.now()
        case.ended_note = note[:255]
        case.save(update_fields=["status", "finished", "ended_note"])
        lifecycle.exception_note(exception_id=case.exception_id, kind=ExceptionEvent.Kind.CASE_ENDED, note=note)
        for task in canceled:
            live.task_event(task, "task.canceled")
    return True


def _end_note(status: str) -> str:
    if status == OrderException.Status.AUTO_RESOLVED:
        return _("The exception resolved itself: its condition no longer holds.")
    return _("The exception was %(status)s outside its workflow.") % {
        "status": OrderException.Status(status).label if status in OrderException.Status.values else status
    }


def cases_end(*, exception_ids: Iterable[int]) -> int:
    """End the running cases of these exceptions if they are no longer active."""
    running = (
        HandlingCase.objects.filter(exception_id__in=list(exception_ids), finished__isnull=True)
        .exclude(exception__status__in=OrderException.ACTIVE)
        .values_list("pk", "exception__status")
    )
    return sum(case_end(case_id=case_id, note=_end_note(status)) for case_id, status in running)


@dataclass(frozen=True)
class SweepReport:
    started: int
    ended: int


def cases_sweep(*, grace: timedelta = SWEEP_GRACE, batch: int = SWEEP_BATCH) -> SweepReport:
    """Start the cases that the after-commit task missed (a dead worker, a lost message, the
    exceptions that existed before handling), and end cases whose exception ended meanwhile."""
    due = HandlingRequest.objects.filter(handled_at__isnull=True, requested_at__lte=timezone.now() - grace)
    request_ids = list(due.order_by("requested_at", "pk").values_list("pk", flat=True)[:batch])
    started = cases_start(request_ids=request_ids)
    stale = (
        HandlingCase.objects.filter(finished__isnull=True)
        .exclude(exception__status__in=OrderException.ACTIVE)
        .values_list("exception_id", flat=True)[:batch]
    )
    ended = cases_end(exception_ids=list(stale))
    return SweepReport(started=started, ended=ended)


HEARTBEAT_EVERY = timedelta(seconds=5)
# Due timers are split into lanes by case (``process_id`` modulo the lane count), and each lane
# has one dispatcher at a time: two runs walking the same due list would meet at each other's
# case locks (viewflow's row lock backs off for seconds), while two lanes never share a case. A
# lane's run keeps firing until its part is drained; its guard outlives a run killed mid-way by
# at most DISPATCH_LOCK_SECONDS. Lanes run side by side on a worker's processes: as many lanes as
# a worker has processes (settings.ORDERGUARD_TIMER_LANES).
DISPATCH_LOCK = "workflows:timers_fire"
DISPATCH_LOCK_SECONDS = 10
DRAIN_SECONDS = 8


def timer_lanes() -> int:
    return max(1, int(getattr(settings, "ORDERGUARD_TIMER_LANES", 1)))


def timers_fire(*, lane: int | None = None) -> int:
    """Fire the due viewflow timers: the SLA ladders and wait steps. Returns how many fired.

    ``lane`` fires that lane's part only (a worker's lane task); without it every lane is fired
    here, one after the other. Each timer acts once regardless (viewflow's lock and re-read, and
    the unique ``TimerFiring``).
    """
    lanes = timer_lanes()
    return sum(_lane_fire(number, lanes) for number in (range(lanes) if lane is None else [lane]))


def timers_dispatch() -> list[int]:
    """Beat, every second: prove beat and a worker alive (the ``timers`` heartbeat, at most every
    few seconds, which the console reads) and return the lanes to fire now."""
    now = timezone.now()
    if not Heartbeat.objects.filter(name="timers", at__gt=now - HEARTBEAT_EVERY).exists():
        Heartbeat.objects.update_or_create(name="timers", defaults={"at": now})
    return list(range(timer_lanes()))


def _lane_fire(lane: int, lanes: int) -> int:
    key = f"{DISPATCH_LOCK}:{lane}"
    try:
        if not cache.add(key, "1", timeout=DISPATCH_LOCK_SECONDS):
            return 0
        guarded = True
    except Exception:  # the cache (Redis) is down: fire without the guard; each timer still acts once
        logger.warning("Timer dispatch without its lock: the cache is not answering")
        guarded = False
    try:
        fired = 0
        stop_at = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < stop_at:
            batch = _fire_due(lane, lanes)
            fired += batch
            if not batch:
                break
        return fired
    finally:
        if guarded:
            with contextlib.suppress(Exception):
                cache.delete(key)


def _fire_due(lane: int, lanes: int) -> int:
    """Fire the lane's due timers through viewflow's activations (its ``fire_due_timers`` walks
    every due timer and cannot be given a part)."""
    due = HandlingTask.objects.filter(flow_task_type="TIMER", status=STATUS.SCHEDULED, scheduled__lte=timezone.now())
    if lanes > 1:
        due = due.alias(lane=Mod("process_id", lanes)).filter(lane=lane)
    fired = 0
    for timer in due.order_by("scheduled", "pk"):
        try:
            with timer.activation() as activation:
                start = getattr(activation, "start", None)
                if start is None:  # its node is gone from the flow: it can never fire
                    logger.warning("Timer task %s names a missing node %r, skipped", timer.pk, timer.flow_task)
                    continue
                if start.can_proceed():
                    activation.start()
                    activation.execute()
                    fired += 1
        except FlowLockFailed:
            logger.info("Timer task %s is locked by another dispatcher, skipped", timer.pk)
        except Exception:  # one broken case must not hold up the others
            logger.exception("Timer task %s failed to fire", timer.pk)
    return fired


# -- the SLA clock: pause and resume -----------------------------------------------------------


def clock_pause(*, exception_id: int, actor: User | None, reason: str, note: str = "") -> OrderException:
    """Pause the exception's clock (audited): its tasks' ladder timers stop until it resumes."""
    with transaction.atomic():
        exc = lifecycle.exception_pause(exception_id=exception_id, actor=actor, reason=reason, note=note)
        case = selectors.open_case_of(exception_id)
        if case is not None:
            with HandlingFlow.lock(case.pk):
                escalation.clocks_pause(case_id=case.pk)
                for task in selectors.case_tasks(case).filter(status__in=selectors.OPEN, flow_task_type="HUMAN"):
                    live.task_event(task, "task.updated")
    return exc


def clock_resume(*, exception_id: int, actor: User | None, note: str = "") -> OrderException:
    """Resume it: every deadline and pending timer moves by the business time it was paused."""
    with transaction.atomic():
        exc, paused = lifecycle.exception_resume(exception_id=exception_id, actor=actor, note=note)
        case = selectors.open_case_of(exception_id)
        if case is not None:
            with HandlingFlow.lock(case.pk):
                for task in escalation.clocks_resume(case_id=case.pk, paused=paused):
                    live.task_event(task, "task.updated")
    return exc


# -- what people do with tasks ---------------------------------------------------------------


def _task_for(actor: User, task_id: int) -> HandlingTask:
    task = selectors.visible_tasks(actor).filter(pk=task_id).first()
    if task is None:
        raise DomainError(code="not_found", field="id", message=_("No such task."), status_code=404)
    return task


def _refuse_closed(task: HandlingTask) -> None:
    if task.status not in selectors.OPEN:
        raise DomainError(
            code=TaskErrorCode.NOT_OPEN,
            field="status",
            message=_("This task is no longer open (%(status)s).")
            % {"status": selectors.TASK_STATUS_LABELS[selectors.TASK_STATUS.get(task.status, "done")]},
            status_code=409,
        )


def _in_department(actor: User, task: HandlingTask) -> bool:
    return selectors.oversees(actor) or actor.department_id == (task.data or {}).get("department")


def _may_decide(actor: User, task: HandlingTask) -> bool:
    """The owner completes a task; a manager or admin may complete one for them."""
    return task.owner_id == actor.pk or selectors.oversees(actor)


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError(code="reason_required", field="reason", message=_("Give a reason."))
    if len(text) > lifecycle.MAX_REASON:
        raise DomainError(code="invalid", field="reason", message=_("At most 1000 characters."))
    return text


def _check_form(task: HandlingTask, case: HandlingCase, data: Any) -> dict[str, Any]:
    step = selectors.task_step(task, case)
    form = selectors.step_form(step)
    if form is None:
        if data:
            raise DomainError(code="invalid", field="data", message=_("This step has no form: send no data."))
        return {}
    spec, archived = form
    try:
        return spec.check_data(data if data is not None else {}, archived=archived)
    except DocumentError as error:
        raise StepFormError(error.errors) from None


class StepFormError(DomainError):
    """The step form refused the data: ``data.<field>`` names each bad field."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(code="invalid", message=_("The form has problems."), field="data")
        self.errors = {f"data.{key}" if key else "data": messages for key, messages in errors.items()}

    def as_fields(self) -> dict[str, list[str]]:
        return self.errors


def task_claim(*, task_id: int, actor: User) -> HandlingTask:
    """Take a queued task of one's own department."""
    task = _task_for(actor, task_id)
    with task.activation() as activation:
        task = activation.task
        _refuse_closed(task)
        if task.status != STATUS.NEW:
            raise DomainError(
                code=TaskErrorCode.TAKEN, field="status", message=_("Someone has it already."), status_code=409
            )
        if actor.department_id != (task.data or {}).get("department") and not selectors.oversees(actor):
            raise DomainError(
                code="other_department",
                field="department",
                message=_("Only members of the task's department may claim it."),
                status_code=403,
            )
        activation.assign(actor)
        task.assigned = timezone.now()
        task.save(update_fields=["assigned"])
        _place(task)
        sla.responded(exception_id=selectors.case_of(task).exception_id)
        live.task_event(task, "task.assigned")
    return task


def _place(task: HandlingTask) -> None:
    """Keep the exception with the task's owner and department (task steps only)."""
    case = selectors.case_of(task)
    if (task.data or {}).get("kind") != "task" or case.step == engine.ESCALATION:
        return
    if OrderException.objects.filter(pk=case.exception_id, status__in=OrderException.ACTIVE).exists():
        lifecycle.exception_place(
            exception_id=case.exception_id,
            department_id=task.data.get("department"),
            assignee_id=task.owner_id,
            step=task.data.get("step", ""),
        )


def task_unclaim(*, task_id: int, actor: User, reason: str = "") -> HandlingTask:
    """Give a task back to its department's queue (hand back: with a reason)."""
    task = _task_for(actor, task_id)
    with task.activation() as activation:
        task = activation.task
        _refuse_closed(task)
        if task.owner_id is None:
            raise DomainError(
                code=TaskErrorCode.NOT_OPEN, field="status", message=_("Nobody has this task."), status_code=409
            )
        if not _may_decide(actor, task):
            raise DomainError(
                code=TaskErrorCode.NOT_YOURS, field="owner", message=_("This task is someone else's."), status_code=403
            )
        previous = task.owner_id
        if task.status == STATUS.STARTED:
            task.status = STATUS.ASSIGNED
        activation = task.flow_task.activation_class(task)
        activation.unassign()
        task.data = {**(task.data or {}), "handed_back": reason} if reason else task.data
        task.assigned = None
        task.save(update_fields=["data", "assigned"])
        _place(task)
        live.task_event(task, "task.updated", also_users=[previous])
    return task


def task_hand_back(*, task_id: int, actor: User, reason: str) -> HandlingTask:
    return task_unclaim(task_id=task_id, actor=actor, reason=_reason(reason))


def _done(activation) -> None:
    """The task is decided: viewflow completes it and runs the flow on to the next step."""
    if activation.task.status == STATUS.ASSIGNED:
        activation.start(None)
    # Its pending ladder timer goes first: the case may end with this task.
    escalation.ladder_cancel(activation.task)
    activation.execute()
    live.task_event(activation.task, "task.completed")


def task_complete(
    *,
    task_id: int,
    actor: User,
    outcome: str,
    data: Any = None,
    root_cause: str = "",
    note: str = "",
    proposal: Any = None,
) -> HandlingTask:
    """Complete a task with one of its step's outcomes; ``data`` must satisfy the step form.

    A queued task of one's own department is claimed on the way. The outcome's ``to`` decides
    what happens next: another step, back, a manager (escalate), resolve or dismiss.
    """
    task = _task_for(actor, task_id)
    with task.activation() as activation:
        task = activation.task
        _refuse_closed(task)
        case = engine.case_of(activation)
        step = selectors.task_step(task, case)
        chosen = next((item for item in step.get("outcomes") or [] if item["key"] == outcome), None)
        if chosen is None:
            raise DomainError(
                code=TaskErrorCode.UNKNOWN_OUTCOME,
                field="outcome",
                message=_("Choose one of: %(keys)s.") % {"keys": ", ".join(o["key"] for o in step.get("outcomes", []))},
            )
        if root_cause and root_cause not in RootCause.values:
            raise DomainError(
                code="invalid",
                field="root_cause",
                message=_("A root cause is one of %(codes)s.") % {"codes": ", ".join(RootCause.values)},
            )
        note = (note or "").strip()
        if len(note) > lifecycle.MAX_REASON:
            raise DomainError(code="invalid", field="note", message=_("At most 1000 characters."))
        clean = _check_form(task, case, data)
        if task.status == STATUS.NEW:
            if not _in_department(actor, task):
                raise DomainError(
                    code="other_department",
                    field="department",
                    message=_("Only members of the task's department may take it."),
                    status_code=403,
                )
            activation.assign(actor)
            _place(task)
        elif not _may_decide(actor, task):
            raise DomainError(
                code=TaskErrorCode.NOT_YOURS, field="owner", message=_("This task is someone else's."), status_code=403
            )
        to = chosen["to"]
        clean_proposal = None
        if proposal:
            if to != engine.RESOLVE or case.step == engine.ESCALATION:
                raise DomainError(
                    code="invalid", field="proposal", message=_("Propose a resolution with an outcome that resolves.")
                )
            exc = OrderException.objects.select_related("department").get(pk=case.exception_id)
            clean_proposal, needs = approvals.proposal_check(proposal, exception=exc, department=exc.department)
            if needs:
                to = engine.ESCALATE
                note = note or approvals.proposal_text(clean_proposal)
        task.data = {
            **(task.data or {}),
            "outcome": outcome,
            "form": clean,
            "note": note,
            "root_cause": root_cause,
            "completed_by": actor.pk,
            **({"proposal": clean_proposal} if clean_proposal else {}),
        }
        task.save(update_fields=["data"])
        decision = {"actor": actor.pk, "root_cause": root_cause, "note": note}
        case.data = {**(case.data or {}), "decision": decision}
        if clean_proposal:
            case.data["proposal"] = {**clean_proposal, "by": actor.pk, "root_cause": root_cause}
        case.save(update_fields=["data"])
        sla.responded(exception_id=case.exception_id)
        engine.advance(case, to=to, reason=note)
        _done(activation)
    return task


def approval_decide(*, task_id: int, actor: User, decision: str, reason: str = "", user_id: Any = None) -> HandlingTask:
    """A manager decides an approval: approve the proposal (a waiver needs the permission), reject
    it back to the assignee, reassign to someone else, raise the severity (the approval stays
    open), or dismiss the exception as not real. Each decision and its reason is in the audit trail.
    """
    if decision not in approvals.Decision.values:
        raise DomainError(
            code="invalid",
            field="decision",
            message=_("Choose one of: %(keys)s.") % {"keys": ", ".join(approvals.Decision.values)},
        )
    task = _task_for(actor, task_id)
    if (task.data or {}).get("kind") != "approval":
        raise DomainError(code="invalid", field="decision", message=_("This task is not an approval."))
    case = selectors.case_of(task)
    proposal = (case.data or {}).get("proposal") or {}
    text = (reason or "").strip()
    if decision != approvals.Decision.APPROVE or proposal.get("kind") == approvals.ProposalKind.WAIVE:
        text = _reason(reason)
    if len(text) > lifecycle.MAX_REASON:
        raise DomainError(code="invalid", field="reason", message=_("At most 1000 characters."))
    waiver = decision == approvals.Decision.APPROVE and proposal.get("kind") == approvals.ProposalKind.WAIVE
    if waiver and not actor.has_perm(approvals.WAIVER_PERMISSION):
        raise DomainError(
            code="permission_denied",
            field="decision",
            message=_("Granting a waiver needs the permission to grant it."),
            status_code=403,
        )
    if not _may_decide(actor, task):
        raise DomainError(
            code=TaskErrorCode.NOT_YOURS, field="owner", message=_("This approval is someone else's."), status_code=403
        )
    record = {"decision": decision, "reason": text, "proposal": approvals.proposal_text(proposal), "step": case.step}
    if decision == approvals.Decision.RAISE_SEVERITY:
        with task.activation() as activation:
            _refuse_closed(activation.task)
            lifecycle.exception_raise_severity(exception_id=case.exception_id, actor=actor, reason=text)
            lifecycle.exception_note(
                exception_id=case.exception_id, kind=ExceptionEvent.Kind.APPROVAL_DECIDED, actor=actor, **record
            )
            live.task_event(activation.task, "task.updated")
        return task
    if decision == approvals.Decision.REASSIGN:
        target = _eligible_member(user_id, department_id=_case_department(case))
        record["user"] = target.username
    outcome = {
        approvals.Decision.APPROVE: "approve",
        approvals.Decision.REJECT: "reject",
        approvals.Decision.REASSIGN: "reject",
        approvals.Decision.DISMISS: "dismiss",
    }[decision]
    step = selectors.task_step(task, case)
    if not any(item["key"] == outcome for item in step.get("outcomes") or []):
        raise DomainError(code="invalid", field="decision", message=_("This approval cannot be decided that way."))
    with transaction.atomic():
        back_to = None
        if decision == approvals.Decision.REJECT:
            back_to = proposal.get("by") or _last_owner(case)
        elif decision == approvals.Decision.REASSIGN:
            back_to = target.pk
        if back_to:
            locked = HandlingCase.objects.get(pk=case.pk)
            locked.data = {**(locked.data or {}), "back_to": back_to}
            if decision != approvals.Decision.APPROVE:
                locked.data.pop("proposal", None)
            locked.save(update_fields=["data"])
        lifecycle.exception_note(
            exception_id=case.exception_id, kind=ExceptionEvent.Kind.APPROVAL_DECIDED, actor=actor, **record
        )
        root_cause = proposal.get("root_cause") or ("other" if decision == approvals.Decision.APPROVE else "")
        note = text or approvals.proposal_text(proposal)
        done = task_complete(task_id=task.pk, actor=actor, outcome=outcome, root_cause=root_cause, note=note)
        if back_to and back_to != actor.pk:
            notify(
                user_ids=[back_to],
                kind=Notification.Kind.DECISION,
                message=lambda: _("A manager sent exception #%(number)s back to you: %(reason)s")
                % {"number": case.exception_id, "reason": text},
                exception_id=case.exception_id,
            )
    return done


def _is_id(value: Any) -> bool:
    text = str(value or "")
    return text.isascii() and text.isdigit()


def _case_department(case: HandlingCase) -> int | None:
    return OrderException.objects.filter(pk=case.exception_id).values_list("department_id", flat=True).first()


def _last_owner(case: HandlingCase) -> int | None:
    """Who had the case's last task step (where a rejected approval goes back to)."""
    return (
        HandlingTask.objects.filter(process_id=case.pk, flow_task_type="HUMAN", data__kind="task", owner__isnull=False)
        .order_by("-created", "-pk")
        .values_list("owner_id", flat=True)
        .first()
    )


def _eligible_member(user_id: Any, *, department_id: int | None) -> User:
    target = User.objects.filter(pk=user_id, is_active=True).first() if _is_id(user_id) else None
    if target is None:
        target = User.objects.filter(username=str(user_id or ""), is_active=True).first()
    if target is None or (department_id and target.department_id != department_id):
        raise DomainError(
            code="not_eligible", field="user", message=_("Give an active member of the exception's department.")
        )
    return target


def task_escalate(*, task_id: int, actor: User, reason: str) -> HandlingTask:
    """Raise the task to a manager: it ends here and a manager's approval takes over."""
    text = _reason(reason)
    task = _task_for(actor, task_id)
    with task.activation() as activation:
        task = activation.task
        _refuse_closed(task)
        if not (_may_decide(actor, task) or (task.status == STATUS.NEW and _in_department(actor, task))):
            raise DomainError(
                code=TaskErrorCode.NOT_YOURS, field="owner", message=_("This task is someone else's."), status_code=403
            )
        case = engine.case_of(activation)
        if case.step == engine.ESCALATION:
            raise DomainError(
                code="already_escalated",
                field="status",
                message=_("A manager decides this one already."),
                status_code=409,
            )
        if task.status == STATUS.NEW:
            activation.assign(actor)
            _place(task)
        task.data = {**(task.data or {}), "outcome": engine.ESCALATE, "note": text, "completed_by": actor.pk}
        task.save(update_fields=["data"])
        engine.advance(case, to=engine.ESCALATE, reason=text)
        _done(activation)
    return task


def task_reassign(*, task_id: int, actor: User, user_id: Any, reason: str) -> HandlingTask:
    """A lead (of the task's department) or a manager gives the task to someone else, with a reason."""
    text = _reason(reason)
    task = _task_for(actor, task_id)
    department_id = (task.data or {}).get("department")
    is_lead = department_id is not None and actor.led_departments.filter(pk=department_id).exists()
    if not (selectors.oversees(actor) or is_lead):
        raise DomainError(
            code="not_lead",
            field="user",
            message=_("Only the department's lead or a manager may reassign a task."),
            status_code=403,
        )
    target = User.objects.filter(pk=user_id, is_active=True).first() if _is_id(user_id) else None
    if target is None:
        target = User.objects.filter(username=str(user_id or ""), is_active=True).first()
    kind = (task.data or {}).get("kind")
    if target is None or (kind == "task" and department_id and target.department_id != department_id):
        raise DomainError(
            code="not_eligible",
            field="user",
            message=_("Give an active member of the task's department."),
        )
    with task.activation() as activation:
        task = activation.task
        _refuse_closed(task)
        previous = task.owner_id
        if task.status == STATUS.NEW:
            activation.assign(target)
        else:
            task.owner = target
        task.data = {**(task.data or {}), "reassigned": text}
        task.assigned = timezone.now()
        task.save(update_fields=["owner", "data", "assigned"])
        case = selectors.case_of(task)
        if kind == "task" and case.step != engine.ESCALATION:
            exc = OrderException.objects.get(pk=case.exception_id)
            if exc.is_active and exc.department_id == target.department_id:
                lifecycle.exception_assign(exception_id=exc.pk, assignee_id=target.pk, actor=actor, reason=text)
        live.task_event(task, "task.assigned", also_users=[previous])
    return task
