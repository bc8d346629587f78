from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.accounts.models import Role
from apps.common.health import database_check, redis_check


@require_GET
@never_cache
def healthz(request):
    """200 when the database and Redis answer, 503 naming what does not.

    Anyone (a load balancer, a stranger) learns only which backend is up; the drivers' errors,
    which name hosts, ports and socket paths, go to the log and to signed-in admins.
    """
    db_ok, db_detail = database_check()
    redis_ok, redis_detail = redis_check()
    ok = db_ok and redis_ok
    body = {
        "status": "ok" if ok else "unavailable",
        "database": {"ok": db_ok},
        "redis": {"ok": redis_ok},
    }
    # Who is asking is read from the database: without it, everyone is a stranger.
    if db_ok and _is_admin(request.user):
        body["database"]["detail"] = db_detail
        body["redis"]["detail"] = redis_detail
    return JsonResponse(body, status=200 if ok else 503)


def _is_admin(user) -> bool:
    return user.is_authenticated and user.is_active and (user.is_superuser or user.has_role(Role.ADMIN))
