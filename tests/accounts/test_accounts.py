"""Departments, roles and API tokens."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from apps.accounts.models import Department
from apps.accounts.services import user_create
from apps.common.errors import DomainError

pytestmark = pytest.mark.django_db


def test_the_data_migration_seeds_the_five_departments():
    assert dict(Department.objects.values_list("code", "name")) == {
        "warehouse": "仓储/采购",
        "finance": "财务",
        "customer_service": "客服",
        "logistics": "物流",
        "management": "管理层",
    }


def test_the_roles_exist_with_their_permissions():
    perms = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert {"admin", "staff", "manager"} <= set(perms)
    assert {"add_order", "change_stocklevel", "add_product"} <= perms["admin"]
    assert "view_order" in perms["manager"] and "add_order" not in perms["manager"]
    assert "view_order" in perms["staff"] and "change_order" not in perms["staff"]
    assert "change_product" not in perms["staff"]


def test_a_user_belongs_to_a_department_and_a_role():
    user = user_create(username="fin-1", password="S3cret-pass!", role="staff", department_code="finance")
    assert user.department.code == "finance"
    assert user.has_role("staff") and not user.has_role("manager")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"role": "king"}, "role"), ({"role": "staff", "department_code": "marketing"}, "department")],
)
def test_creating_a_user_with_an_unknown_role_or_department_is_refused(kwargs, field):
    with pytest.raises(DomainError) as info:
        user_create(username="x", password="S3cret-pass!", **kwargs)
    assert info.value.field == field


def test_issue_api_token_prints_the_same_token_each_time(admin_user, capsys):
    call_command("issue_api_token", admin_user.username)
    first = capsys.readouterr().out.strip()
    call_command("issue_api_token", admin_user.username)
    assert capsys.readouterr().out.strip() == first
    assert Token.objects.get(user=admin_user).key == first


def test_issue_api_token_for_an_unknown_user_fails_clearly():
    with pytest.raises(CommandError, match="nobody"):
        call_command("issue_api_token", "nobody")
