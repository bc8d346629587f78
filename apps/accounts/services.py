from datetime import date

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from apps.accounts.models import Department, Leave, Role, User
from apps.accounts.roles import ROLE_PERMISSIONS
from apps.common.errors import DomainError, ErrorCode


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


def _is_admin(actor: User) -> bool:
    return actor.is_superuser or actor.has_role(Role.ADMIN)


def _user_for_availability(*, user_id: int, actor: User) -> User:
    """Lock the user whose availability ``actor`` changes: the user, their lead or an admin."""
    user = User.objects.select_for_update(of=("self",)).select_related("department").filter(pk=user_id).first()
    if user is None:
        raise DomainError(code=ErrorCode.NOT_FOUND, field="user_id", message=_("No such user."), status_code=404)
    is_lead = user.department is not None and user.department.lead_id == actor.pk
    if actor.pk != user.pk and not is_lead and not _is_admin(actor):
        raise DomainError(
            code=ErrorCode.PERMISSION_DENIED,
            message=_("Only the user, the lead of their department or an administrator may do this."),
            status_code=403,
        )
    return user


@transaction.atomic
def user_set_away(*, user_id: int, away: bool, note: str = "", actor: User) -> User:
    """Mark a user away (assignment skips them) or back; coming back clears the note."""
    user = _user_for_availability(user_id=user_id, actor=actor)
    note = note.strip() if away else ""
    limit = User._meta.get_field("away_note").max_length
    if len(note) > limit:
        raise DomainError(
            code=ErrorCode.INVALID, field="note", message=_("At most %(count)d characters.") % {"count": limit}
        )
    user.away = away
    user.away_note = note
    user.save(update_fields=["away", "away_note"])
    return user


@transaction.atomic
def leave_add(*, user_id: int, starts_on: date, ends_on: date, note: str = "", actor: User) -> Leave:
    """Record a user's leave from ``starts_on`` to ``ends_on``, both days included."""
    user = _user_for_availability(user_id=user_id, actor=actor)
    if ends_on < starts_on:
        raise DomainError(
            code=ErrorCode.INVALID, field="ends_on", message=_("The last day cannot be before the first day.")
        )
    leave = Leave(user=user, starts_on=starts_on, ends_on=ends_on, note=note.strip(), created_by=actor)
    leave.full_clean()
    leave.save()
    return leave


@transaction.atomic
def department_set_lead(*, department_code: str, username: str, actor: User) -> Department:
    """Make an active member the department's lead (admins only); an empty ``username`` clears it."""
    if not _is_admin(actor):
        raise DomainError(
            code=ErrorCode.PERMISSION_DENIED,
            message=_("Only an administrator may choose a department's lead."),
            status_code=403,
        )
    department = Department.objects.select_for_update().filter(code=department_code).first()
    if department is None:
        raise DomainError(
            code=ErrorCode.NOT_FOUND,
            field="department",
            message=_("Unknown department “%(code)s”.") % {"code": department_code},
            status_code=404,
        )
    lead = None
    if username:
        lead = User.objects.filter(username=username, is_active=True, department=department).first()
        if lead is None:
            raise DomainError(
                code=ErrorCode.INVALID,
                field="username",
                message=_("“%(username)s” is not an active member of %(department)s.")
                % {"username": username, "department": department.display_name},
            )
    department.lead = lead
    department.save(update_fields=["lead", "updated_at"])
    return department
