from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from apps.common import views

admin.site.site_header = _("OrderGuard")
admin.site.site_title = _("OrderGuard")
admin.site.index_title = _("Dashboard")

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include("apps.integrations.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before the console's URLs: /workspace/ is the staff workspace (the name "workspace" stays the console's).
    path("workspace/", include("workflows.urls")),
    path("", include("apps.console.urls")),
    path("admin/", admin.site.urls),
]
