from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.common.health import database_check, redis_check


@require_GET
@never_cache
def healthz(request):
    """200 when the database and Redis answer, 503 naming what does not."""
    db_ok, db_detail = database_check()
    redis_ok, redis_detail = redis_check()
    ok = db_ok and redis_ok
    body = {
        "status": "ok" if ok else "unavailable",
        "database": {"ok": db_ok, "detail": db_detail},
        "redis": {"ok": redis_ok, "detail": redis_detail},
    }
    return JsonResponse(body, status=200 if ok else 503)


@login_required
def home(request):
    """Send a signed-in user to where work happens (the admin until the workspace lands)."""
    return redirect("admin:index")
