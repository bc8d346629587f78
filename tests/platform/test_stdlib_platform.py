"""The repository's ``platform/`` directory (Procfiles, scripts) never shadows the stdlib module.

Celery, kombu, pytest and Django import ``platform``; a package of that name on ``sys.path``
would break them in ways far from the cause (SPEC §1).
"""

from __future__ import annotations

import importlib.machinery
import os
import platform
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def test_platform_holds_no_python_package():
    """``platform/`` has no ``__init__.py`` and no module, so it can only be a namespace portion."""
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert list((ROOT / "platform").rglob("*.py")) == []


def test_import_platform_under_pytest_is_the_standard_library_module():
    """With the repository on ``sys.path`` (pytest's pythonpath), ``platform`` is the stdlib module."""
    assert str(ROOT) in [str(Path(entry).resolve()) for entry in sys.path if entry]
    assert callable(platform.python_version)
    assert Path(platform.__file__).resolve().parent == STDLIB
    # pytest imported ``platform`` before the repository joined sys.path; resolve it afresh too.
    spec = importlib.machinery.PathFinder.find_spec("platform", sys.path)
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve().parent == STDLIB


def test_import_platform_under_django_is_the_standard_library_module():
    """``manage.py shell`` (repository first on ``sys.path``, settings loaded) gets the stdlib module."""
    env = {**os.environ, "DEBUG": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            "import platform; print(platform.__file__); print(platform.python_version())",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    module_file, version = result.stdout.split()
    assert Path(module_file).resolve().parent == STDLIB
    assert version == platform.python_version()
