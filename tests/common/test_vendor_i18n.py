"""The console theme speaks Chinese: locale_vendor/ holds the zh-hans strings unfold ships none of.

``make vendor-messages`` (platform/bin/vendor-messages) writes the catalogue; these tests keep it
complete, compiled, and in step with the installed unfold, so an upgrade can't bring English back.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "locale_vendor" / "zh_Hans" / "LC_MESSAGES"


def _load_script():
    loader = importlib.machinery.SourceFileLoader("vendor_messages", str(ROOT / "platform" / "bin" / "vendor-messages"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


vendor_messages = _load_script()


def _msgattrib(po: Path, flag: str) -> str:
    out = subprocess.run(["msgattrib", flag, "--no-obsolete", str(po)], capture_output=True, text=True, check=True)
    return out.stdout


@pytest.fixture(scope="module")
def unfold_keys(tmp_path_factory):
    """The keys (context, msgid, plural) of every string the installed unfold uses."""
    return {key for key, _ in vendor_messages.extract(tmp_path_factory.mktemp("unfold"))}


def test_the_vendor_catalogue_has_no_untranslated_or_fuzzy_entries():
    po = FOLDER / "django.po"
    assert _msgattrib(po, "--untranslated") == ""
    assert _msgattrib(po, "--only-fuzzy") == ""


def test_the_compiled_vendor_catalogue_matches_its_source(tmp_path):
    subprocess.run(["msgfmt", "-o", str(tmp_path / "django.mo"), str(FOLDER / "django.po")], check=True)
    assert (tmp_path / "django.mo").read_bytes() == (FOLDER / "django.mo").read_bytes()


def test_every_unfold_string_has_a_chinese_translation(unfold_keys):
    """Each msgid of the installed unfold is ours (locale_vendor) or Django's/import_export's."""
    translated = vendor_messages.mo_keys(FOLDER / "django.mo") | vendor_messages.covered_keys()
    missing = sorted(unfold_keys - translated, key=str)
    assert not missing, f"run `make vendor-messages` and translate: {missing}"


def test_the_vendor_catalogue_holds_only_strings_unfold_uses_and_django_does_not_translate(unfold_keys):
    ours = vendor_messages.mo_keys(FOLDER / "django.mo")
    assert sorted(ours - unfold_keys, key=str) == [], "unfold dropped these: run `make vendor-messages`"
    assert sorted(ours & vendor_messages.covered_keys(), key=str) == [], "Django translates these already"


def _texts(page: str) -> set[str]:
    """The page's texts: each element's own text and each placeholder, whitespace collapsed."""
    texts = re.findall(r">([^<>]+)<", page) + re.findall(r'placeholder="([^"]*)"', page)
    return {" ".join(text.split()) for text in texts} - {""}


@pytest.mark.django_db
def test_the_order_list_shows_unfolds_strings_in_chinese(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/admin/orders/order/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    texts = _texts(response.content.decode())
    # The filters button, the empty list (no orders yet), the command search, the theme switch.
    assert {"筛选", "未找到结果", "重置筛选", "输入关键词搜索", "浅色", "深色", "跟随系统"} <= texts
    # ("System" is also a sidebar group of ours, in its own catalogue: left to test_i18n.)
    english = {"Filters", "No results found", "Reset filters", "Type to search", "Light", "Dark"}
    assert english.isdisjoint(texts), english & texts
