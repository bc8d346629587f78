"""The production configuration documented in ``platform/env.example`` passes ``check --deploy``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from django.core.management.utils import get_random_secret_key

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / "platform" / "env.example"
# Variables the settings read: env_str("NAME", ...), env_bool(...), env_int(...), env_list(...), env_rate(...).
SETTINGS_VARIABLE = re.compile(r"""env_(?:str|bool|int|list|rate)\(\s*["']([A-Z0-9_]+)["']""")
ACTIVE_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")
# An optional variable, shown commented out at its default.
OPTIONAL_LINE = re.compile(r"^#\s*([A-Z][A-Z0-9_]*)=(.*)$")


def env_example(*, with_optional: bool) -> dict[str, str]:
    """``NAME=value`` lines of env.example; also ``# NAME=value`` ones (optional) on request."""
    patterns = [ACTIVE_LINE, OPTIONAL_LINE] if with_optional else [ACTIVE_LINE]
    found = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        for pattern in patterns:
            if match := pattern.match(line):
                found[match[1]] = match[2]
    return found


def test_env_example_documents_every_variable_the_settings_read():
    """Each environment variable config/settings.py reads has a line in platform/env.example."""
    read = set(SETTINGS_VARIABLE.findall((ROOT / "config" / "settings.py").read_text()))

    assert read, "no env_*() calls found in config/settings.py"
    assert read - set(env_example(with_optional=True)) == set()


def test_deploy_check_passes_with_the_documented_production_variables(tmp_path):
    """DEBUG off plus env.example's values (and a real secret key) leave ``check --deploy`` silent."""
    example = env_example(with_optional=False)
    # Only the documented variables count: none of this machine's or the test run's settings leak in.
    env = {name: value for name, value in os.environ.items() if name not in env_example(with_optional=True)}
    env.update(example)
    env["SECRET_KEY"] = get_random_secret_key()
    env["ORDERGUARD_RUN_DIR"] = str(tmp_path)
    assert env["DEBUG"] == "0"
    assert len(env["SECRET_KEY"]) >= 50

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
