from django.urls import path

from workflows import api

urlpatterns = [
    path("tasks/", api.TaskListApi.as_view(), name="task-list"),
    path("tasks/<int:task_id>/", api.TaskDetailApi.as_view(), name="task-detail"),
    path("tasks/<int:task_id>/claim/", api.TaskClaimApi.as_view(), name="task-claim"),
    path("tasks/<int:task_id>/unclaim/", api.TaskUnclaimApi.as_view(), name="task-unclaim"),
    path("tasks/<int:task_id>/complete/", api.TaskCompleteApi.as_view(), name="task-complete"),
    path("tasks/<int:task_id>/handback/", api.TaskHandBackApi.as_view(), name="task-handback"),
    path("tasks/<int:task_id>/escalate/", api.TaskEscalateApi.as_view(), name="task-escalate"),
    path("tasks/<int:task_id>/reassign/", api.TaskReassignApi.as_view(), name="task-reassign"),
    path("tasks/<int:task_id>/decide/", api.TaskDecideApi.as_view(), name="task-decide"),
    path("exceptions/<int:exception_id>/resolve/", api.ExceptionResolveApi.as_view(), name="exception-resolve"),
    path("exceptions/<int:exception_id>/dismiss/", api.ExceptionDismissApi.as_view(), name="exception-dismiss"),
    path("exceptions/<int:exception_id>/pause/", api.ExceptionPauseApi.as_view(), name="exception-pause"),
    path("exceptions/<int:exception_id>/resume/", api.ExceptionResumeApi.as_view(), name="exception-resume"),
]
