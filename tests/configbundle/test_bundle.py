"""The configuration bundle (SPEC §10.5): export, dry run, all-or-nothing import, and moving a
configuration into a fresh database through the commands."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.configbundle import services
from apps.exceptions.models import GradingRule
from apps.formdesigner.models import FormVersion
from apps.rules.models import ExceptionRule
from workflows.models import WorkflowVersion

ROOT = Path(__file__).resolve().parents[2]
EXPORT = "/api/v1/config/export/"
IMPORT = "/api/v1/config/import/"


def sections(bundle: dict) -> dict:
    """The bundle without its moment, for comparing configurations."""
    return {name: value for name, value in bundle.items() if name != "exported_at"}


def configure(api) -> None:
    """A business admin's changes in every section, through the configuration API."""
    name = {"zh-hans": "退款核查", "en": "Refund check"}
    form = {
        "key": "refund-check",
        "kind": "step",
        "name": name,
        "fields": [{"key": "refunded", "type": "boolean", "label": {"zh-hans": "已退款", "en": "Refunded"}}],
    }
    assert api.post("/api/v1/forms/", form, format="json").status_code == 201
    assert api.post("/api/v1/forms/refund-check/publish/", {}, format="json").status_code == 201
    workflow = {
        "key": "refund-handling",
        "name": {"zh-hans": "退款处理", "en": "Refund handling"},
        "priority": 50,
        "applies_to": {"categories": ["pricing"]},
        "steps": [
            {
                "key": "check",
                "kind": "task",
                "name": name,
                "form": "refund-check",
                "deadline": "2h",
                "assign": {"strategy": "queue", "department": "finance"},
                "outcomes": [{"key": "done", "name": {"zh-hans": "完成", "en": "Done"}, "to": "resolve"}],
            }
        ],
    }
    assert api.post("/api/v1/workflows/", workflow, format="json").status_code == 201
    assert api.post("/api/v1/workflows/refund-handling/publish/", {}, format="json").status_code == 201
    draft = {**workflow, "priority": 60}
    assert api.put("/api/v1/workflows/refund-handling/", draft, format="json").status_code == 200
    row = api.get("/api/v1/grading-rules/").json()["results"][0]
    row = {**{k: v for k, v in row.items() if k != "id"}, "first_response_minutes": 7} | {"id": row["id"]}
    assert api.put(f"/api/v1/grading-rules/{row.pop('id')}/", row, format="json").status_code == 200
    calendar = api.get("/api/v1/calendars/finance/").json()
    calendar = {k: v for k, v in calendar.items() if k not in ("department", "inherited")}
    calendar = {**calendar, "always_open": False, "holidays": ["2026-12-24"], "week": {**calendar["week"], "sat": []}}
    assert api.put("/api/v1/calendars/finance/", calendar, format="json").status_code == 200
    ladder = {"levels": [{"trigger": "breach", "action": "notify_lead"}]}
    assert api.put("/api/v1/ladders/low/", ladder, format="json").status_code == 200
    ExceptionRule.objects.filter(code="PRICE_ANOMALY").update(is_active=False)


def test_the_export_holds_every_section_in_a_stable_order(api):
    bundle = api.get(EXPORT).json()
    assert bundle["format"] == "orderguard.config" and bundle["version"] == 1
    assert set(bundle) == {"format", "version", "exported_at", *services.SECTIONS}
    assert [rule["code"] for rule in bundle["rules"]] == sorted(rule["code"] for rule in bundle["rules"])
    assert {ladder["severity"] for ladder in bundle["ladders"]} == {"urgent", "high", "medium", "low"}
    assert bundle["calendars"][0]["department"] == "default"
    assert len(bundle["grading"]) == GradingRule.objects.count()
    assert sections(api.get(EXPORT).json()) == sections(bundle)


def test_a_dry_run_shows_the_changes_and_stores_nothing_then_the_import_applies_them(api):
    original = api.get(EXPORT).json()
    configure(api)
    changed = api.get(EXPORT).json()
    versions = (FormVersion.objects.count(), WorkflowVersion.objects.count())

    # Back to the original: the dry run names each difference, and nothing moves.
    answer = api.post(IMPORT + "?dry_run=1", original, format="json")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["dry_run"] is True
    found = {(c["section"], c["key"], c["change"]) for c in body["changes"]}
    assert ("grading", "1", "changed") in found
    assert ("calendars", "finance", "removed") in found  # finance goes back to the company's calendar
    assert ("ladders", "low", "changed") in found
    assert ("rules", "PRICE_ANOMALY", "changed") in found
    assert ("workflows", "refund-handling", "changed") not in found  # the bundle does not name it: kept
    rule_change = next(c for c in body["changes"] if c["key"] == "PRICE_ANOMALY")
    assert rule_change["parts"] == ["is_active"]
    assert body["summary"]["grading"] == {"created": 0, "changed": 1, "removed": 0}
    assert sections(api.get(EXPORT).json()) == sections(changed)
    assert (FormVersion.objects.count(), WorkflowVersion.objects.count()) == versions

    applied = api.post(IMPORT, original, format="json")
    assert applied.status_code == 200 and applied.json()["dry_run"] is False
    assert applied.json()["changes"] == body["changes"]
    after = sections(api.get(EXPORT).json())
    expected = {**sections(original), "forms": after["forms"], "workflows": after["workflows"]}
    assert after == expected  # what the bundle names is as it was; the new form and workflow stay
    assert api.post(IMPORT + "?dry_run=1", original, format="json").json()["changes"] == []

    # And forward again: the new definitions' published documents and drafts come with it.
    assert api.post(IMPORT, changed, format="json").status_code == 200
    assert sections(api.get(EXPORT).json()) == sections(changed)


def test_a_bad_bundle_changes_nothing_and_names_each_bad_part(api):
    before = api.get(EXPORT).json()
    bundle = copy.deepcopy(before)
    bundle["grading"][0]["first_response_minutes"] = 9  # a good change, in a bundle with bad parts
    bundle["rules"][1]["condition"] = {"all": [{"field": "no_such_field", "op": "eq", "value": 1}]}
    bundle["calendars"][0]["week"]["mon"] = [["18:00", "09:00"]]
    bundle["ladders"][0]["levels"] = [{"trigger": "share", "share": 150, "action": "remind"}]
    bundle["workflows"][0]["draft"]["steps"][0]["assign"]["department"] = "nowhere"
    answer = api.post(IMPORT, bundle, format="json")
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid_bundle"
    fields = body["fields"]
    assert any(path.startswith("rules.1.condition") for path in fields), fields
    assert any(path.startswith("calendars.0.week.mon") for path in fields), fields
    assert any(path.startswith("ladders.0.levels.0.share") for path in fields), fields
    assert any(path.startswith("workflows.0.draft.steps.0.assign.department") for path in fields), fields
    assert not any(path.startswith("grading") for path in fields)
    assert sections(api.get(EXPORT).json()) == sections(before)


@pytest.mark.parametrize(
    ("bundle", "field"),
    [
        ([], "non_field_errors"),
        ({"format": "other", "version": 1, "rules": []}, "format"),
        ({"format": "orderguard.config", "version": 2, "rules": []}, "version"),
        ({"format": "orderguard.config", "version": 1}, "non_field_errors"),
        ({"format": "orderguard.config", "version": 1, "rules": {}}, "rules"),
        ({"format": "orderguard.config", "version": 1, "rules": [3]}, "rules.0"),
        ({"format": "orderguard.config", "version": 1, "extras": []}, "extras"),
        ({"format": "orderguard.config", "version": 1, "ladders": [{"severity": "odd"}]}, "ladders.0.severity"),
        ({"format": "orderguard.config", "version": 1, "grading": [{"position": "x"}]}, "grading.0.position"),
        ({"format": "orderguard.config", "version": 1, "forms": [{"key": "f"}]}, "forms.0.draft"),
    ],
)
def test_malformed_bundles_are_a_400_naming_the_part(api, bundle, field):
    answer = api.post(IMPORT, bundle, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["fields"], answer.json()


def test_only_admins_move_configuration(staff_api, manager_api, anon_api, api):
    bundle = api.get(EXPORT).json()
    assert staff_api.get(EXPORT).status_code == 403
    assert manager_api.get(EXPORT).status_code == 403
    assert manager_api.post(IMPORT, bundle, format="json").status_code == 403
    assert anon_api.get(EXPORT).status_code == 401


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_configuration_moves_into_a_fresh_database(api, tmp_path):
    configure(api)
    bundle = api.get(EXPORT).json()
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "ORDERGUARD_RUN_DIR": str(tmp_path / "run"),
    }
    assert _manage(env, "migrate", "--noinput", "-v0").returncode == 0

    fresh_path = tmp_path / "fresh.json"
    assert _manage(env, "config_export", str(fresh_path)).returncode == 0
    dry = _manage(env, "config_import", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "created  forms/refund-check" in dry.stdout and "created  workflows/refund-handling" in dry.stdout
    assert "changed  ladders/low (levels)" in dry.stdout and "(dry run: nothing stored)" in dry.stdout
    after_dry = tmp_path / "after-dry.json"
    assert _manage(env, "config_export", str(after_dry)).returncode == 0
    assert sections(json.loads(after_dry.read_text())) == sections(json.loads(fresh_path.read_text()))

    applied = _manage(env, "config_import", str(path))
    assert applied.returncode == 0, applied.stderr
    moved = tmp_path / "moved.json"
    assert _manage(env, "config_export", str(moved)).returncode == 0
    assert sections(json.loads(moved.read_text())) == sections(bundle)

    broken = copy.deepcopy(bundle)
    broken["rules"][0]["condition"] = {"all": [{"field": "status", "op": "older_than", "value": "soon"}]}
    broken["grading"] = []
    refused = _manage(env, "config_import", str(_write(tmp_path / "broken.json", broken)))
    assert refused.returncode != 0 and "rules.0.condition" in refused.stderr
    again = tmp_path / "again.json"
    assert _manage(env, "config_export", str(again)).returncode == 0
    assert sections(json.loads(again.read_text())) == sections(bundle)


def _write(path: Path, bundle: dict) -> Path:
    path.write_text(json.dumps(bundle, ensure_ascii=False))
    return path
