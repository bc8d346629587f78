"""Reachability of the two backing services, for /healthz.

Each check returns ``(ok, detail)``. The detail of a failure is the driver's error, which names
hosts, ports and socket paths: it is logged here and shown only to signed-in admins.
"""

import logging

import redis
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def database_check() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not reachable"
        detail = f"{type(exc).__name__}: {exc}"
        logger.warning("Health check: the database is unavailable: %s", detail)
        return False, detail
    return True, connection.vendor


def redis_check() -> tuple[bool, str]:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # refused, timed out, bad URL: all "not reachable"
        detail = f"{type(exc).__name__}: {exc}"
        logger.warning("Health check: Redis is unavailable: %s", detail)
        return False, detail
    return True, "ok"
