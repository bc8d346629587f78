"""Both UI languages are complete: every translatable string has a zh-hans and an en entry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("zh_Hans", "en")
MAKEMESSAGES = ["makemessages", "--no-location", "--ignore=.venv", "--ignore=tests", "--ignore=bench", "--ignore=run"]


def _msgattrib(po: Path, flag: str) -> str:
    out = subprocess.run(["msgattrib", flag, "--no-obsolete", str(po)], capture_output=True, text=True, check=True)
    return out.stdout


@pytest.mark.parametrize("locale", LOCALES)
def test_the_committed_catalogue_has_no_untranslated_or_fuzzy_entries(locale):
    po = ROOT / "locale" / locale / "LC_MESSAGES" / "django.po"
    assert _msgattrib(po, "--untranslated") == ""
    assert _msgattrib(po, "--only-fuzzy") == ""


def test_every_string_in_the_code_is_in_both_catalogues(tmp_path):
    """Regenerate the catalogues from a copy of the source: no new string may come out untranslated."""
    for name in ("manage.py", "config", "apps", "templates", "workflows", "locale"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    env = {**os.environ, "DEBUG": "1"}
    args = [sys.executable, "manage.py", *MAKEMESSAGES, *[f"-l{locale}" for locale in LOCALES]]
    subprocess.run(args, cwd=tmp_path, env=env, check=True, capture_output=True)
    for locale in LOCALES:
        po = tmp_path / "locale" / locale / "LC_MESSAGES" / "django.po"
        untranslated = _msgattrib(po, "--untranslated")
        assert untranslated == "", f"{locale}: run `make messages` and translate:\n{untranslated}"
        # makemessages fills a new string with a fuzzy guess from a similar one ("paid total" →
        # "paid at"); such a guess is no translation.
        fuzzy = _msgattrib(po, "--only-fuzzy")
        assert fuzzy == "", f"{locale}: run `make messages` and translate:\n{fuzzy}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_matches_its_source(locale, tmp_path):
    folder = ROOT / "locale" / locale / "LC_MESSAGES"
    subprocess.run(["msgfmt", "-o", str(tmp_path / "django.mo"), str(folder / "django.po")], check=True)
    assert (tmp_path / "django.mo").read_bytes() == (folder / "django.mo").read_bytes()


@pytest.mark.django_db
def test_the_admin_speaks_chinese_by_default_and_english_on_request(client, admin_user, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(admin_user)
    chinese = client.get("/admin/").content.decode()
    assert "业务控制台" in chinese and "未处理异常（按严重程度）" in chinese and "规则与分级" in chinese
    client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    english = client.get("/admin/").content.decode()
    assert "Business console" in english and "Open exceptions by severity" in english
    assert "Rules and grading" in english and "业务控制台" not in english


def test_order_statuses_are_translated():
    from apps.orders.models import Order

    with translation.override("zh-hans"):
        assert str(Order.Status.PENDING_PAYMENT.label) == "待付款"
    with translation.override("en"):
        assert str(Order.Status.PENDING_PAYMENT.label) == "Pending payment"
