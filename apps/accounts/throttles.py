"""API rate limits: one allowance per token (its user) and one per anonymous client address.

The counts live in Django's ``default`` cache, which is Redis, so every web process of a
deployment shares them. Rates are ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (from
``ORDERGUARD_THROTTLE_USER`` / ``ORDERGUARD_THROTTLE_ANON``).
"""

from __future__ import annotations

import logging

from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str | None:
    """The caller's address: ``REMOTE_ADDR``, or the X-Forwarded-For entry that the
    ``REST_FRAMEWORK["NUM_PROXIES"]`` trusted proxies in front added (``ORDERGUARD_NUM_PROXIES``).

    With no trusted proxy the header is ignored: a client could otherwise send a new one with
    each request and never be counted twice. Sign-in lockouts (axes) use the same address.
    """
    return BaseThrottle().get_ident(request)


class _OrderGuardRateThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # SimpleRateThrottle reads the rates once, when the class is defined; reading them per
        # request lets an override of the settings (a test, a benchmark) take effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request) -> str | None:
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError:
            # An unreachable Redis must not take the API down with it (it fails loudly enough
            # elsewhere: /healthz, the broker); the calls go uncounted until it is back.
            logger.warning("API throttling skipped: the cache (Redis) is unavailable", exc_info=True)
            return True


class TokenRateThrottle(_OrderGuardRateThrottle):
    """Authenticated callers (a token or a session), counted per user: ``ORDERGUARD_THROTTLE_USER``."""

    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonymousRateThrottle(_OrderGuardRateThrottle):
    """Callers without credentials, counted per client address: ``ORDERGUARD_THROTTLE_ANON``.

    A request with a wrong token is refused (401) while it is authenticated, before any throttle.
    """

    scope = "anon"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
