"""REST API v1: the integration contract (SPEC §5), its schema and its docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.integrations.api import ReconciliationApi

app_name = "api-v1"

urlpatterns = [
    path("", include("apps.orders.urls")),
    path("", include("apps.exceptions.urls")),
    path("reconciliations/", ReconciliationApi.as_view(), name="reconciliation-create"),
    path("schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-v1:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-v1:schema"), name="redoc"),
]
