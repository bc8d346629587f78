"""Template context every screen shares: where this user's home is and what the top bar offers."""

from __future__ import annotations

from django.http import HttpRequest

from apps.console.selectors import user_landing


def console(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"og_landing": user_landing(user=user)}
