"""The staff workspace (SPEC §9.3), at /workspace/ (config/urls.py includes it before the console)."""

from django.urls import path

from workflows import views

app_name = "workspace"

urlpatterns = [
    path("", views.workspace, name="index"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<int:task_id>/", views.task_page, name="task"),
    path("tasks/<int:task_id>/claim/", views.task_claim, name="claim"),
    path("tasks/<int:task_id>/complete/", views.task_complete, name="complete"),
    path("tasks/<int:task_id>/handback/", views.task_hand_back, name="handback"),
    path("tasks/<int:task_id>/escalate/", views.task_escalate, name="escalate"),
    path("tasks/<int:task_id>/pause/", views.task_pause, name="pause"),
    path("tasks/<int:task_id>/resume/", views.task_resume, name="resume"),
    path("tasks/<int:task_id>/decide/", views.task_decide, name="decide"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/bell/", views.notifications_bell, name="bell"),
    path("notifications/read/", views.notifications_mark_read, name="notifications-read"),
]
