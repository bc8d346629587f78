"""Authentication of live sockets by an API token, the way the REST API authenticates."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.settings import api_settings


def _authorization_header(scope) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return value
    return None


def _token_authentication() -> TokenAuthentication:
    """The REST API's token authentication class (settings ``REST_FRAMEWORK``), or DRF's."""
    for authentication_class in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if issubclass(authentication_class, TokenAuthentication):
            return authentication_class()
    return TokenAuthentication()


@database_sync_to_async
def _user_for_token(authentication: TokenAuthentication, key: str):
    # The API's own check, so a socket refuses exactly what the API refuses (unknown key,
    # inactive user) and reads the token model the API reads.
    try:
        user, _token = authentication.authenticate_credentials(key)
    except AuthenticationFailed:
        return AnonymousUser()
    return user


class TokenAuthMiddleware(BaseMiddleware):
    """Set ``scope["user"]`` from an ``Authorization: Token <key>`` header, if there is one.

    Sits inside ``AuthMiddlewareStack``: without the header the session's user stands. With it
    the token decides, as in the REST API where token authentication comes first: a malformed or
    refused token leaves an anonymous user, whom the consumer closes with 4401, even if a session
    cookie came too. Other schemes (``Bearer …``) are not this middleware's and are ignored.
    """

    async def __call__(self, scope, receive, send):
        header = _authorization_header(scope)
        if header is not None:
            authentication = _token_authentication()
            parts = header.split()
            if parts and parts[0].lower() == authentication.keyword.lower().encode():
                scope = dict(scope)
                scope["user"] = await self._user(authentication, parts)
        return await super().__call__(scope, receive, send)

    async def _user(self, authentication: TokenAuthentication, parts: list[bytes]):
        # The API refuses "Token" alone, "Token a b" and a key that is not text alike.
        if len(parts) != 2:
            return AnonymousUser()
        try:
            key = parts[1].decode()
        except UnicodeError:
            return AnonymousUser()
        return await _user_for_token(authentication, key)


class OriginCheckUnlessToken:
    """Check the ``Origin`` of cookie-authenticated sockets only.

    The origin check stops another site's page from riding a signed-in browser's cookie
    (cross-site WebSocket hijacking). A client that sends an ``Authorization: Token`` header
    proves itself with the token, and non-browser clients send no ``Origin`` at all, so the
    check is skipped for them.
    """

    def __init__(self, inner):
        from channels.security.websocket import AllowedHostsOriginValidator

        self.inner = inner
        self.checked = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope, receive, send):
        header = _authorization_header(scope)
        if header is not None and header.split()[:1] == [_token_authentication().keyword.encode()]:
            return await self.inner(scope, receive, send)
        return await self.checked(scope, receive, send)
