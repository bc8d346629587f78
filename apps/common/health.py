"""Reachability of the two backing services, for /healthz."""

import redis
from django.conf import settings
from django.db import connection


def database_check() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not reachable"
        return False, f"{type(exc).__name__}: {exc}"
    return True, connection.vendor


def redis_check() -> tuple[bool, str]:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # refused, timed out, bad URL: all "not reachable"
        return False, f"{type(exc).__name__}: {exc}"
    return True, "ok"
