"""Sign-in and the pages each role lands on. Views parse, call a selector and render."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from apps.console import selectors
from apps.exceptions import presentation
from apps.exceptions import selectors as exception_selectors
from workflows import selectors as task_selectors

# The managers' page lists the most urgent open exceptions; the console has the full list.
MANAGER_LIST_LIMIT = 25


class SignInView(auth_views.LoginView):
    """One sign-in page for every role; ``home`` then sends each to where they work."""

    template_name = "og/login.html"
    redirect_authenticated_user = True


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send a signed-in user to the page their role works in."""
    return redirect(selectors.user_landing(user=request.user).url_name)


@login_required
def workspace_exception(request: HttpRequest, pk: int) -> HttpResponse:
    """One exception the user may see, with its order, evidence and audit trail; 404 for any other."""
    exception = exception_selectors.exception_list(user=request.user).filter(pk=pk).select_related("order").first()
    if exception is None:
        raise Http404
    events = exception.events.select_related("actor").order_by("at", "id")
    context = {
        "exception": exception,
        "summary": presentation.summary(exception),
        "evidence": presentation.evidence(exception),
        "timeline": presentation.timeline(events),
        "order": exception.order,
        "lines": exception.order.lines.order_by("line_no") if exception.order_id else [],
    }
    return render(request, "og/exception.html", context)


@login_required
def manager(request: HttpRequest) -> HttpResponse:
    """Managers: a read view of the departments they manage (a lead theirs, the management department all)."""
    if selectors.user_landing(user=request.user).kind == "staff":
        raise PermissionDenied
    departments = selectors.manager_departments(user=request.user)
    ids = list(departments.values_list("pk", flat=True))
    context = {
        # Approvals and escalations wait in the manager's own tasks, in the workspace.
        "decisions": task_selectors.tasks_for(request.user, scope="approvals").count(),
        "overview": selectors.department_overview(department_ids=ids, now=timezone.now()),
        "exceptions": selectors.department_open_exceptions(department_ids=ids, limit=MANAGER_LIST_LIMIT),
    }
    return render(request, "og/manager.html", context)
