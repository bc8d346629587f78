"""REST API v1: the integration contract (SPEC §5), its schema and its docs."""

from django.urls import include, path, re_path

from apps.common.api import not_found
from apps.integrations.api import ReconciliationApi, RedocDocsApi, SchemaApi, SwaggerDocsApi

app_name = "api-v1"

urlpatterns = [
    path("", include("apps.orders.urls")),
    path("", include("apps.exceptions.urls")),
    path("", include("apps.exceptions.config_urls")),
    path("", include("apps.formdesigner.urls")),
    path("", include("apps.rules.urls")),
    path("", include("workflows.api_urls")),
    path("", include("workflows.config_urls")),
    path("", include("apps.configbundle.urls")),
    path("reconciliations/", ReconciliationApi.as_view(), name="reconciliation-create"),
    path("schema/", SchemaApi.as_view(api_version="v1"), name="schema"),
    path("docs/", SwaggerDocsApi.as_view(url_name="api-v1:schema"), name="docs"),
    path("redoc/", RedocDocsApi.as_view(url_name="api-v1:schema"), name="redoc"),
    # Last: every other path under /api/v1/ (an unknown endpoint, a non-numeric id) answers a
    # JSON 404 in the error shape instead of Django's HTML page.
    re_path(r"", not_found, name="not-found"),
]
