from django.urls import path

from apps.exceptions import api

urlpatterns = [
    path("exceptions/", api.ExceptionListApi.as_view(), name="exception-list"),
    path("exceptions/<int:exception_id>/", api.ExceptionDetailApi.as_view(), name="exception-detail"),
]
