"""Times on every page in the signed-in user's time zone (their profile's, else the site's)."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone


class UserTimeZoneMiddleware:
    """Activates ``request.user.time_zone`` for the request; after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = getattr(getattr(request, "user", None), "time_zone", "")
        if zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
