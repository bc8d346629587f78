from django.urls import path

from apps.configbundle import api

urlpatterns = [
    path("config/export/", api.ConfigExportApi.as_view(), name="config-export"),
    path("config/import/", api.ConfigImportApi.as_view(), name="config-import"),
]
