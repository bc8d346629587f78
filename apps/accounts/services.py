from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from apps.accounts.models import Department, Role, User
from apps.accounts.roles import ROLE_PERMISSIONS
from apps.common.errors import DomainError


def role_permissions_sync(*, using: str = "default") -> None:
    """Make each role group hold exactly the permissions ``ROLE_PERMISSIONS`` gives it."""
    wanted = set().union(*ROLE_PERMISSIONS.values())
    by_name: dict[str, Permission] = {}
    for perm in Permission.objects.using(using).select_related("content_type"):
        key = f"{perm.content_type.app_label}.{perm.codename}"
        if key in wanted:
            by_name[key] = perm
    for role, names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set([by_name[name] for name in names if name in by_name])


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    role: str,
    department_code: str | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_superuser: bool = False,
) -> User:
    """Create a user in a role (and department); an existing username is refused."""
    if role not in Role.values:
        raise DomainError(code="invalid", field="role", message=_("Unknown role “%(role)s”.") % {"role": role})
    if User.objects.filter(username=username).exists():
        raise DomainError(
            code="conflict",
            field="username",
            message=_("User “%(username)s” exists.") % {"username": username},
            status_code=409,
        )
    department = None
    if department_code:
        department = Department.objects.filter(code=department_code).first()
        if department is None:
            raise DomainError(
                code="invalid",
                field="department",
                message=_("Unknown department “%(code)s”.") % {"code": department_code},
            )
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        department=department,
        is_staff=role in (Role.ADMIN, Role.MANAGER) or is_superuser,
        is_superuser=is_superuser,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def api_token_issue(*, username: str) -> Token:
    """Return the user's API token, creating it on first use."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise DomainError(
            code="not_found",
            field="username",
            message=_("No active user “%(username)s”.") % {"username": username},
            status_code=404,
        )
    token, _created = Token.objects.get_or_create(user=user)
    return token
