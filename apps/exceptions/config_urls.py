"""The configuration API of SLA and grading (SPEC §10.5), included under ``/api/v1/``."""

from django.urls import path

from apps.exceptions import config_api

urlpatterns = [
    path("calendars/", config_api.CalendarListApi.as_view(), name="calendar-list"),
    path("calendars/<str:department>/", config_api.CalendarDetailApi.as_view(), name="calendar-detail"),
    path("ladders/", config_api.LadderListApi.as_view(), name="ladder-list"),
    path("ladders/<str:severity>/", config_api.LadderDetailApi.as_view(), name="ladder-detail"),
    path("grading-rules/", config_api.GradingRuleListCreateApi.as_view(), name="gradingrule-list"),
    path("grading-rules/<int:rule_id>/", config_api.GradingRuleDetailApi.as_view(), name="gradingrule-detail"),
    path(
        "grading-rules/<int:rule_id>/versions/",
        config_api.GradingRuleVersionListApi.as_view(),
        name="gradingrule-versions",
    ),
    path(
        "grading-rules/<int:rule_id>/restore/",
        config_api.GradingRuleRestoreApi.as_view(),
        name="gradingrule-restore",
    ),
]
