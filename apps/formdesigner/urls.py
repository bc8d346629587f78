from django.urls import path

from apps.formdesigner import api

urlpatterns = [
    path("forms/", api.FormListCreateApi.as_view(), name="form-list"),
    path("forms/<str:key>/", api.FormDetailApi.as_view(), name="form-detail"),
    path("forms/<str:key>/publish/", api.FormPublishApi.as_view(), name="form-publish"),
    path("forms/<str:key>/restore/", api.FormRestoreApi.as_view(), name="form-restore"),
    path("forms/<str:key>/schema/", api.FormSchemaApi.as_view(), name="form-schema"),
]
