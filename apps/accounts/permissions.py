from rest_framework.permissions import DjangoModelPermissions


class RoleModelPermissions(DjangoModelPermissions):
    """Model permissions granted through role groups; reading needs ``view`` too."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        allowed = super().has_permission(request, view)
        if not allowed and not (request.user and request.user.is_authenticated):
            # DRF checks the throttles only once the permissions pass, and these never pass for
            # an anonymous caller: count the call before refusing it, so hammering the API
            # without a token ends in 429s too.
            view.check_throttles(request)
        return allowed


class UpsertModelPermissions(RoleModelPermissions):
    """PUT creates or replaces by natural key, so it needs both ``add`` and ``change``."""

    perms_map = {
        **RoleModelPermissions.perms_map,
        "PUT": ["%(app_label)s.add_%(model_name)s", "%(app_label)s.change_%(model_name)s"],
    }
