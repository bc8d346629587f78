"""The run env file: README's commands work outside ``make run`` on a machine where it has run.

Each subprocess gets a clean environment (PATH, HOME and the run directory only), as a new
terminal on a developer's machine would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import load_run_env, run_env_path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
README_TOKEN_LINE = re.compile(r"^TOKEN=\$\(.*issue_api_token integration\)$", re.M)


def clean_env(run_dir: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(run_dir), "ORDERGUARD_RUN_DIR": str(run_dir), **extra}


def sh(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A run directory as ``make run`` leaves it: the env file from the Makefile, a migrated
    database and the demo accounts (no orders: they take long and the commands need none)."""
    run_dir = tmp_path_factory.mktemp("run")
    env = clean_env(run_dir)
    for command in (
        f"make -s {run_dir}/env",
        ".venv/bin/python manage.py migrate --noinput -v 0",
        ".venv/bin/python manage.py seed_demo --orders 0",
    ):
        result = sh(command, env)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    return run_dir


@pytest.mark.slow
def test_the_readmes_token_command_works_as_written_in_a_clean_environment(made):
    """The line README shows, run by bash in a fresh shell, sets TOKEN to the integration token."""
    line = README_TOKEN_LINE.search((ROOT / "README.md").read_text())
    assert line, "README shows no `TOKEN=$(... issue_api_token integration)` line"

    result = sh(line[0] + '\necho "token=$TOKEN"', clean_env(made))

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"token=[0-9a-f]{40}\n", result.stdout), (result.stdout, result.stderr)


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ".venv/bin/python manage.py check",
        ".venv/bin/python manage.py scan_exceptions",
        ".venv/bin/python -c 'import config.asgi'",
        ".venv/bin/python -c 'import config.wsgi'",
        ".venv/bin/celery -A config report",
    ],
)
def test_manage_py_daphne_and_celery_read_the_file(made, command):
    result = sh(command, clean_env(made))
    assert result.returncode == 0, (result.stdout, result.stderr)


@pytest.mark.slow
def test_without_the_file_the_same_command_refuses_to_start(tmp_path):
    """The file is what makes it work: a production-like environment (no file) needs SECRET_KEY."""
    result = sh(".venv/bin/python manage.py issue_api_token integration", clean_env(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


@pytest.mark.slow
def test_a_variable_set_in_the_environment_wins_over_the_file(made):
    result = sh(".venv/bin/python manage.py issue_api_token integration", clean_env(made, DEBUG="0"))
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_the_makefile_writes_debug_on_and_leaves_an_edited_file_alone(tmp_path):
    env = clean_env(tmp_path)
    assert sh(f"make -s {tmp_path}/env", env).returncode == 0
    lines = [line for line in (tmp_path / "env").read_text().splitlines() if not line.startswith("#")]
    assert lines == ["DEBUG=1"]

    (tmp_path / "env").write_text("DEBUG=1\nLOG_LEVEL=DEBUG\n")
    assert sh(f"make -s {tmp_path}/env", env).returncode == 0
    assert (tmp_path / "env").read_text() == "DEBUG=1\nLOG_LEVEL=DEBUG\n"


def test_setup_writes_the_file(tmp_path):
    """``make setup`` (which ``make run`` and ``make test`` start with) includes the file."""
    result = sh("make -n setup", clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"> {tmp_path}/env" in result.stdout


def test_loading_skips_comments_keeps_set_variables_and_refuses_garbage(tmp_path, monkeypatch):
    path = tmp_path / "env"
    monkeypatch.setenv("ORDERGUARD_RUN_DIR", str(tmp_path))
    for name in ("OG_TEST_NEW", "OG_TEST_SPACED"):
        # Registered with monkeypatch first, so that what the loader sets is removed afterwards.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("OG_TEST_SET", "from-environment")
    path.write_text("# a comment\n\nOG_TEST_NEW=from-file\nOG_TEST_SET=ignored\nOG_TEST_SPACED= a b \n")

    assert run_env_path() == path
    assert load_run_env() == path
    assert os.environ["OG_TEST_NEW"] == "from-file"
    assert os.environ["OG_TEST_SET"] == "from-environment"
    assert os.environ["OG_TEST_SPACED"] == "a b"

    path.write_text("export DEBUG=1\n")
    with pytest.raises(ImproperlyConfigured, match=r"env:1: expected NAME=value"):
        load_run_env()
    assert load_run_env(tmp_path / "missing") is None
