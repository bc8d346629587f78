from rest_framework.permissions import DjangoModelPermissions


class RoleModelPermissions(DjangoModelPermissions):
    """Model permissions granted through role groups; reading needs ``view`` too."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class UpsertModelPermissions(RoleModelPermissions):
    """PUT creates or replaces by natural key, so it needs both ``add`` and ``change``."""

    perms_map = {
        **RoleModelPermissions.perms_map,
        "PUT": ["%(app_label)s.add_%(model_name)s", "%(app_label)s.change_%(model_name)s"],
    }
