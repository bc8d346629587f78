"""ASGI entry point: HTTP through Django, WebSocket through Channels (layer on Redis)."""

import os

from django.core.asgi import get_asgi_application

from config.env import load_run_env

load_run_env()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.live.auth import OriginCheckUnlessToken, TokenAuthMiddleware  # noqa: E402
from apps.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The session cookie sets the user; an ``Authorization: Token`` header, inside it, overrides
        # (and spares the client the Origin check, which guards cookies only).
        "websocket": OriginCheckUnlessToken(AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))),
    }
)
