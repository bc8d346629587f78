"""The configuration API of workflow definitions (SPEC §10.5), included under ``/api/v1/``."""

from django.urls import path

from workflows import config_api

urlpatterns = [
    path("workflows/", config_api.WorkflowListCreateApi.as_view(), name="workflow-list"),
    path("workflows/<str:key>/", config_api.WorkflowDetailApi.as_view(), name="workflow-detail"),
    path("workflows/<str:key>/publish/", config_api.WorkflowPublishApi.as_view(), name="workflow-publish"),
    path("workflows/<str:key>/restore/", config_api.WorkflowRestoreApi.as_view(), name="workflow-restore"),
]
