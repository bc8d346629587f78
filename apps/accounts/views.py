"""The page shown instead of a sign-in once it is locked out (django-axes' lockout callable)."""

from __future__ import annotations

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Forbidden, like any refused sign-in; a locked-out browser has nothing to retry until later.
LOCKED_OUT_STATUS = 403


def sign_in_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """Render the lockout page with the cool-off period, whichever sign-in form was used.

    Axes calls this from its middleware when ``authenticate`` refused a username locked out
    from the caller's address; the password was not checked.
    """
    cool_off = settings.AXES_COOLOFF_TIME
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return render(request, "accounts/locked_out.html", context, status=LOCKED_OUT_STATUS)
