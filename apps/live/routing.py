from django.urls import path

from apps.live.consumers import UserStreamConsumer

websocket_urlpatterns = [
    path("ws/live/", UserStreamConsumer.as_asgi()),
]
