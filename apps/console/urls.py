from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from apps.console import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The console signs in on the one sign-in page too.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True), name="admin-login"),
    # Reached by name only (the role landing, the menu): workflows.urls answers /workspace/ first.
    path("workspace/", RedirectView.as_view(pattern_name="workspace:index", query_string=True), name="workspace"),
    path("workspace/exceptions/<int:pk>/", views.workspace_exception, name="workspace-exception"),
    path("manager/", views.manager, name="manager"),
]
