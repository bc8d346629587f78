"""What ``manage.py seed_demo`` prints: the exceptions it found and the demo logins, readable on any run."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from apps.exceptions.models import OrderException
from apps.orders import demo
from apps.orders.management.commands.seed_demo import aligned_table, display_width

pytestmark = pytest.mark.django_db

SCAN_ROW = re.compile(r"^  ([A-Z_]+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+$", re.M)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--orders", "60", *args, stdout=out)
    return out.getvalue()


def _scan_rows(output: str) -> dict[str, tuple[int, int, int, int]]:
    return {code: tuple(int(n) for n in numbers) for code, *numbers in SCAN_ROW.findall(output)}


def test_the_first_seed_reports_what_it_found_as_new():
    """Loading detects the exceptions before the scan; they are this seed's, so they are new."""
    rows = _scan_rows(_run("--seed", "7"))

    assert len(rows) == 12
    assert sum(matched for matched, *_ in rows.values()) > 0
    for code, (matched, new, again, cleared) in rows.items():
        assert (new, again, cleared) == (matched, 0, 0), code
    assert (
        sum(new for _m, new, *_ in rows.values()) == OrderException.objects.exclude(rule__code="MISSING_ORDER").count()
    )


def test_a_second_seed_tells_the_new_from_those_open_before():
    first = _scan_rows(_run("--seed", "7"))
    second = _scan_rows(_run("--seed", "8"))

    for code, (matched, new, again, _cleared) in second.items():
        assert again == first[code][0], code
        assert matched == new + again, code
    assert sum(new for _m, new, *_ in second.values()) > 0


def test_the_logins_table_keeps_its_columns_apart_on_a_second_run():
    """A re-run prints "orderguard (if unchanged)" as the password; the role column still lines up."""
    _run("--seed", "7")
    output = _run("--seed", "7")
    lines = output.splitlines()
    header = next(line for line in lines if line.split()[:2] == ["username", "password"])
    role_at, department_at = header.index("role"), header.index("department")
    rows = [line for line in lines if line.split()[:1] in ([spec.username] for spec in demo.DEMO_USERS)]

    assert len(rows) == len(demo.DEMO_USERS)
    for spec, row in zip(demo.DEMO_USERS, rows, strict=True):
        assert f"{demo.DEMO_PASSWORD} (if unchanged)" in row
        assert row[role_at - 2 : role_at] == "  " and row[role_at:].startswith(spec.role + " "), row
        assert row[department_at:].startswith(spec.department or "-"), row


def test_columns_are_as_wide_as_their_widest_cell_counting_chinese_as_two():
    lines = aligned_table(["用户名", "n"], [["admin", "5"], ["a-much-longer-name", "12"]], right=(1,))
    assert lines == [
        "用户名               n",
        "admin                5",
        "a-much-longer-name  12",
    ]
    assert {display_width(line) for line in lines} == {22}
