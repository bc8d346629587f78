"""REST API v1 for handling (SPEC §9.6): the caller's tasks and what they do with them, and the
exception transitions people make outside a task (resolve, dismiss).

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
from apps.common.fields import JSONValueField, StrictCharField
from apps.common.schema import error_response
from apps.exceptions import lifecycle
from apps.exceptions.api import ExceptionDetailOutput
from apps.exceptions.models import OrderException, RootCause
from apps.exceptions.selectors import exception_detail_queryset
from workflows import selectors, services
from workflows.models import HandlingTask

SCOPES = ("mine", "queue", "done")


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


class ReasonInput(serializers.Serializer):
    reason = StrictCharField(max_length=1000)


class ReassignInput(serializers.Serializer):
    user = StrictCharField(max_length=150, help_text=gettext_lazy("Username or id of the new assignee."))
    reason = StrictCharField(max_length=1000)


class ResolveInput(serializers.Serializer):
    root_cause = serializers.ChoiceField(choices=RootCause.choices)
    note = StrictCharField(max_length=1000, required=False, allow_blank=True)


def _valid(serializer_class, request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
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
                "department; done: tasks the caller completed."
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
            raise serializers.ValidationError({"scope": [gettext_lazy("Use mine, queue or done.")]})
        return selectors.tasks_for(self.request.user, scope=scope)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        departments = selectors.department_codes(page)
        return self.get_paginated_response([selectors.task_payload(task, departments=departments) for task in page])


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
        services.task_complete(
            task_id=task_id,
            actor=request.user,
            outcome=data["outcome"],
            data=data.get("data"),
            root_cause=data.get("root_cause", ""),
            note=data.get("note", ""),
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

    def post(self, request, exception_id: int):
        if not exception_detail_queryset(user=request.user).filter(pk=exception_id).exists():
            raise exceptions.NotFound(gettext_lazy("No such exception."))
        self.act(request, exception_id, _valid(self.input_class, request))
        exc = exception_detail_queryset(user=request.user).get(pk=exception_id)
        return Response(ExceptionDetailOutput(exc, context={"request": request}).data)


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
