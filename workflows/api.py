"""REST API v1 for handling (SPEC §9.6): the caller's tasks and what they do with them (a manager's
approvals too), and the exception transitions people make outside a task (resolve, dismiss, pause
and resume the SLA clock).

A task the caller may not see is a 404, whatever they try with it. The views parse, call
``workflows.services`` or ``apps.exceptions.lifecycle``, and answer the task as it is now.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import RoleModelPermissions
from apps.common.fields import JSONValueField, MoneyField, OutputModelSerializer, StrictCharField
from apps.common.schema import error_response
from apps.exceptions import lifecycle
from apps.exceptions.api import ExceptionDetailOutput, PauseReasonOutputField
from apps.exceptions.calendars import calendars_load
from apps.exceptions.models import OrderException, PauseReason, RootCause
from apps.exceptions.selectors import exception_detail_queryset, exception_list
from workflows import approvals, selectors, services
from workflows.models import HandlingTask

SCOPES = selectors.SCOPES


class TaskPermissions(RoleModelPermissions):
    """Reading tasks needs ``view``; acting on one (POST) needs ``change`` of handling tasks."""

    perms_map = {**RoleModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


# --- Output -------------------------------------------------------------------------------------


class TaskOutput(serializers.Serializer):
    """A task as ``workflows.selectors.task_payload`` gives it."""

    id = serializers.IntegerField()
    exception = serializers.IntegerField()
    order = serializers.JSONField(allow_null=True, help_text=gettext_lazy("id, external_id and channel"))
    workflow = serializers.JSONField(help_text=gettext_lazy("key, version and name"))
    step = serializers.CharField()
    name = serializers.CharField(help_text=gettext_lazy("The step's name in the request's language."))
    kind = serializers.ChoiceField(choices=["task", "approval"])
    status = serializers.ChoiceField(choices=["queued", "assigned", "done", "canceled"])
    assignee = serializers.JSONField(allow_null=True)
    department = serializers.CharField(allow_null=True, help_text=gettext_lazy("The department's code."))
    due_at = serializers.CharField(allow_null=True)
    overdue = serializers.BooleanField()
    business_seconds_left = serializers.IntegerField(
        allow_null=True,
        help_text=gettext_lazy(
            "Working seconds until the deadline on the department's calendar (negative: overdue; null: none or "
            "closed). While the clock is paused it stands still."
        ),
    )
    paused = serializers.BooleanField(help_text=gettext_lazy("Whether the exception's SLA clock is paused."))
    pause_reason = serializers.ChoiceField(choices=PauseReason.choices, allow_null=True)
    created_at = serializers.CharField()
    finished_at = serializers.CharField(allow_null=True)
    outcome = serializers.CharField(allow_null=True)
    outcomes = serializers.JSONField(help_text=gettext_lazy("[{key, label}]: what completing may choose."))
    form = serializers.JSONField(allow_null=True, help_text=gettext_lazy("key, version and JSON Schema of the data."))
    notice = serializers.CharField(allow_blank=True)
    summary = serializers.CharField()
    severity = serializers.CharField()


class TaskHistoryOutput(serializers.Serializer):
    step = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    assignee = serializers.CharField(allow_null=True)
    outcome = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()
    finished_at = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_blank=True)


class TaskDetailOutput(TaskOutput):
    exception_detail = ExceptionDetailOutput(help_text=gettext_lazy("The exception with its audit trail."))
    history = TaskHistoryOutput(many=True, help_text=gettext_lazy("The case's tasks so far, oldest first."))


def _history(task: HandlingTask) -> list[dict[str, Any]]:
    case = selectors.case_of(task)
    rows = []
    for item in selectors.case_tasks(case).select_related("owner"):
        step = selectors.task_step(item, case)
        data = item.data or {}
        rows.append(
            {
                "step": step.get("key", data.get("step", "")),
                "name": selectors.name_in_language(step.get("name")),
                "status": selectors.TASK_STATUS.get(item.status, item.status.lower()),
                "assignee": item.owner.username if item.owner_id else None,
                "outcome": data.get("outcome"),
                "created_at": item.created.isoformat(),
                "finished_at": item.finished.isoformat() if item.finished else None,
                "note": data.get("note") or data.get("canceled_note") or "",
            }
        )
    return rows


def _detail(task: HandlingTask, request) -> dict[str, Any]:
    payload = selectors.task_payload(task)
    exc = exception_detail_queryset(user=request.user).filter(pk=payload["exception"]).first()
    payload["exception_detail"] = ExceptionDetailOutput(exc, context={"request": request}).data if exc else None
    payload["history"] = _history(task)
    return payload


def _task_or_404(request, task_id: int) -> HandlingTask:
    task = selectors.visible_tasks(request.user).filter(pk=task_id).first()
    if task is None:
        raise exceptions.NotFound(gettext_lazy("No such task."))
    return task


# --- Input --------------------------------------------------------------------------------------


class ProposalInput(serializers.Serializer):
    """A proposed resolution; above what staff may decide it goes to a manager's approval first."""

    kind = serializers.ChoiceField(choices=approvals.ProposalKind.choices)
    amount = MoneyField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("For a refund, compensation or price correction: the amount, above zero."),
    )
    note = StrictCharField(max_length=1000, required=False, allow_blank=True)


class CompleteInput(serializers.Serializer):
    outcome = StrictCharField(max_length=40, help_text=gettext_lazy("One of the task's `outcomes` keys."))
    data = JSONValueField(
        required=False, help_text=gettext_lazy("The step form's values; checked against the step form.")
    )
    root_cause = serializers.ChoiceField(
        choices=RootCause.choices,
        required=False,
        help_text=gettext_lazy("Why it happened, when the outcome resolves the exception (default other)."),
    )
    note = StrictCharField(max_length=1000, required=False, allow_blank=True)
    proposal = ProposalInput(
        required=False,
        help_text=gettext_lazy(
            "With an outcome that resolves: a refund or compensation above the department's approval limit, a "
            "price correction, cancelling the order or waiving a high or urgent exception waits for a manager."
        ),
    )


class ReasonInput(serializers.Serializer):
    reason = StrictCharField(max_length=1000)


class UserRefField(StrictCharField):
    """A username or a user's id.

    The services read a string of digits as an id; digits other than 0–9 ("²") would reach the
    database as one and fail there, so they are refused here.
    """

    default_error_messages = {"digits": gettext_lazy("Give a username, or a user's id in the digits 0-9.")}

    def __init__(self, **kwargs):
        super().__init__(max_length=150, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value.isdigit() and not value.isascii():
            self.fail("digits")
        return value


class ReassignInput(serializers.Serializer):
    user = UserRefField(help_text=gettext_lazy("Username or id of the new assignee."))
    reason = StrictCharField(max_length=1000)


class DecideInput(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=approvals.Decision.choices,
        help_text=gettext_lazy(
            "approve the proposal, reject it back to the assignee, reassign (with user), raise_severity (the "
            "approval stays open) or dismiss the exception as not real."
        ),
    )
    reason = StrictCharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("Needed for every decision but approving (approving a waiver needs one too)."),
    )
    user = UserRefField(required=False, help_text=gettext_lazy("Reassign: username or id of the new assignee."))


class PauseInput(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=PauseReason.choices, help_text=gettext_lazy("Who is waited for; other needs a note.")
    )
    note = StrictCharField(max_length=1000, required=False, allow_blank=True)


class ResumeInput(serializers.Serializer):
    note = StrictCharField(max_length=1000, required=False, allow_blank=True)


class ResolveInput(serializers.Serializer):
    root_cause = serializers.ChoiceField(choices=RootCause.choices)
    note = StrictCharField(max_length=1000, required=False, allow_blank=True)


def _valid(serializer_class, request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


_CONFLICT = error_response(gettext_lazy("The task is no longer open (`task_not_open`)."))


# --- Views --------------------------------------------------------------------------------------


@extend_schema(
    responses={200: TaskOutput(many=True), 400: error_response(gettext_lazy("An unknown `scope`."))},
    parameters=[
        OpenApiParameter(
            "scope",
            OpenApiTypes.STR,
            enum=list(SCOPES),
            description=gettext_lazy(
                "mine (default): open tasks assigned to the caller; queue: unclaimed tasks of the caller's "
                "department; done: tasks the caller completed; approvals: the approvals waiting for the caller "
                "(for a manager or admin, also those nobody has yet)."
            ),
        )
    ],
)
class TaskListApi(generics.ListAPIView):
    """The caller's tasks, oldest first (done: the latest first)."""

    queryset = HandlingTask.objects.none()
    serializer_class = TaskOutput
    permission_classes = [TaskPermissions]

    def get_queryset(self):
        scope = self.request.query_params.get("scope", "mine")
        if scope not in SCOPES:
            raise serializers.ValidationError({"scope": [gettext_lazy("Use mine, queue, done or approvals.")]})
        return selectors.tasks_for(self.request.user, scope=scope)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        departments = selectors.department_codes(page)
        calendars = calendars_load()
        return self.get_paginated_response(
            [selectors.task_payload(task, departments=departments, calendars=calendars) for task in page]
        )


class TaskDetailApi(APIView):
    """One task with its exception (and its audit trail) and the case's history."""

    queryset = HandlingTask.objects.none()
    permission_classes = [TaskPermissions]

    @extend_schema(responses=TaskDetailOutput)
    def get(self, request, task_id: int):
        return Response(_detail(_task_or_404(request, task_id), request))


class _TaskAction(APIView):
    queryset = HandlingTask.objects.none()
    permission_classes = [TaskPermissions]
    input_class: type[serializers.Serializer] | None = None

    def act(self, request, task_id: int, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request, task_id: int):
        _task_or_404(request, task_id)
        data = _valid(self.input_class, request) if self.input_class else {}
        self.act(request, task_id, data)
        task = HandlingTask.objects.get(pk=task_id)
        return Response(selectors.task_payload(task))


@extend_schema(request=None, responses={200: TaskOutput, 409: _CONFLICT})
class TaskClaimApi(_TaskAction):
    """Take a queued task of one's own department."""

    def act(self, request, task_id, data):
        services.task_claim(task_id=task_id, actor=request.user)


@extend_schema(request=None, responses={200: TaskOutput, 409: _CONFLICT})
class TaskUnclaimApi(_TaskAction):
    """Give a claimed task back to the department's queue."""

    def act(self, request, task_id, data):
        services.task_unclaim(task_id=task_id, actor=request.user)


@extend_schema(request=CompleteInput, responses={200: TaskOutput, 409: _CONFLICT})
class TaskCompleteApi(_TaskAction):
    """Complete the task with an outcome; `data` is checked against the step form (400 naming `data.<field>`)."""

    input_class = CompleteInput

    def act(self, request, task_id, data):
        proposal = data.get("proposal")
        if proposal is not None:
            proposal = {key: str(value) for key, value in proposal.items() if value is not None}
        services.task_complete(
            task_id=task_id,
            actor=request.user,
            outcome=data["outcome"],
            data=data.get("data"),
            root_cause=data.get("root_cause", ""),
            note=data.get("note", ""),
            proposal=proposal,
        )


_DECIDE_REFUSED = error_response(
    gettext_lazy(
        "Not the caller's approval (`not_yours`), or approving a waiver without the permission to grant it "
        "(`permission_denied`)."
    )
)


@extend_schema(request=DecideInput, responses={200: TaskOutput, 403: _DECIDE_REFUSED, 409: _CONFLICT})
class TaskDecideApi(_TaskAction):
    """A manager decides an approval; the decision and its reason are in the exception's audit trail."""

    input_class = DecideInput

    def act(self, request, task_id, data):
        services.approval_decide(
            task_id=task_id,
            actor=request.user,
            decision=data["decision"],
            reason=data.get("reason", ""),
            user_id=data.get("user"),
        )


@extend_schema(request=ReasonInput, responses={200: TaskOutput, 409: _CONFLICT})
class TaskHandBackApi(_TaskAction):
    """Give the task back to the department's queue, with a reason."""

    input_class = ReasonInput

    def act(self, request, task_id, data):
        services.task_hand_back(task_id=task_id, actor=request.user, reason=data["reason"])


@extend_schema(request=ReasonInput, responses={200: TaskOutput, 409: _CONFLICT})
class TaskEscalateApi(_TaskAction):
    """Raise the task to a manager, with a reason: a manager's approval takes over."""

    input_class = ReasonInput

    def act(self, request, task_id, data):
        services.task_escalate(task_id=task_id, actor=request.user, reason=data["reason"])


@extend_schema(request=ReassignInput, responses={200: TaskOutput, 409: _CONFLICT})
class TaskReassignApi(_TaskAction):
    """The department's lead or a manager gives the task to someone else, with a reason."""

    input_class = ReassignInput

    def act(self, request, task_id, data):
        services.task_reassign(task_id=task_id, actor=request.user, user_id=data["user"], reason=data["reason"])


_EXC_CONFLICT = error_response(gettext_lazy("Not possible in the exception's status (`not_allowed_now`)."))


class ExceptionActionPermissions(RoleModelPermissions):
    perms_map = {**RoleModelPermissions.perms_map, "POST": ["%(app_label)s.view_%(model_name)s"]}


class _ExceptionAction(APIView):
    queryset = OrderException.objects.none()
    permission_classes = [IsAuthenticated, ExceptionActionPermissions]
    input_class: type[serializers.Serializer]

    def act(self, request, exception_id: int, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def render(self, request, exception_id: int) -> dict[str, Any]:
        exc = exception_detail_queryset(user=request.user).get(pk=exception_id)
        return ExceptionDetailOutput(exc, context={"request": request}).data

    def post(self, request, exception_id: int):
        if not exception_list(user=request.user).filter(pk=exception_id).exists():
            raise exceptions.NotFound(gettext_lazy("No such exception."))
        self.act(request, exception_id, _valid(self.input_class, request))
        return Response(self.render(request, exception_id))


@extend_schema(request=ResolveInput, responses={200: ExceptionDetailOutput, 409: _EXC_CONFLICT})
class ExceptionResolveApi(_ExceptionAction):
    """Resolve the exception with a root cause; its case (if any) ends, and its open task leaves every inbox."""

    input_class = ResolveInput

    def act(self, request, exception_id, data):
        lifecycle.exception_resolve(
            exception_id=exception_id, actor=request.user, root_cause=data["root_cause"], note=data.get("note", "")
        )


@extend_schema(request=ReasonInput, responses={200: ExceptionDetailOutput, 409: _EXC_CONFLICT})
class ExceptionDismissApi(_ExceptionAction):
    """Dismiss the exception as not real, with a reason; its case (if any) ends."""

    input_class = ReasonInput

    def act(self, request, exception_id, data):
        lifecycle.exception_dismiss(exception_id=exception_id, actor=request.user, reason=data["reason"])


class ExceptionClockOutput(OutputModelSerializer):
    """The exception's SLA clock after a pause or resume."""

    paused = serializers.SerializerMethodField()
    pause_reason = PauseReasonOutputField()

    class Meta:
        model = OrderException
        fields = ("id", "status", "paused", "pause_reason", "paused_at", "due_at", "first_response_due_at")

    def get_paused(self, exc: OrderException) -> bool:
        return exc.paused_at is not None


class _ExceptionClockAction(_ExceptionAction):
    def render(self, request, exception_id: int) -> dict[str, Any]:
        return ExceptionClockOutput(OrderException.objects.get(pk=exception_id)).data


_PAUSE_CONFLICT = error_response(
    gettext_lazy("The clock is paused already (`already_paused`), or the exception is no longer active.")
)


@extend_schema(request=PauseInput, responses={200: ExceptionClockOutput, 409: _PAUSE_CONFLICT})
class ExceptionPauseApi(_ExceptionClockAction):
    """Pause the SLA clock while someone outside is waited for (audited with its reason); the deadlines stand still."""

    input_class = PauseInput

    def act(self, request, exception_id, data):
        services.clock_pause(
            exception_id=exception_id, actor=request.user, reason=data["reason"], note=data.get("note", "")
        )


@extend_schema(
    request=ResumeInput,
    responses={200: ExceptionClockOutput, 409: error_response(gettext_lazy("The clock is not paused (`not_paused`)."))},
)
class ExceptionResumeApi(_ExceptionClockAction):
    """Resume the SLA clock: every deadline moves by the business time it was paused."""

    input_class = ResumeInput

    def act(self, request, exception_id, data):
        services.clock_resume(exception_id=exception_id, actor=request.user, note=data.get("note", ""))
