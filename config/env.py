"""Small typed readers for environment variables, used by settings only; and the run env file.

``make setup`` / ``make run`` write ``$ORDERGUARD_RUN_DIR/env`` (``run/env``) with the
development defaults (``DEBUG=1``), so that ``manage.py``, daphne and celery started by hand on
a development machine get the settings ``make run`` gives its processes. The entry points
(``manage.py``, ``config/asgi.py``, ``config/wsgi.py``, ``config/celery.py``) load it before the
settings are read. A variable set in the real environment always wins over the file.
Production has no such file: ``DEBUG=1`` from it would fail ``check --deploy``.
"""

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

RUN_ENV_FILE = "env"
_RUN_ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
# DRF reads the period's first letter only: 10/s, 10/sec, 60/m, 60/min, 6/h, 100/day.
_RATE = re.compile(r"^[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)$")

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def env_rate(name: str, default: str) -> str:
    """A request rate as DRF's throttles read it: ``COUNT/PERIOD``, the period s, min, h or day."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    rate = raw.strip()
    if not _RATE.match(rate):
        raise ImproperlyConfigured(f"{name} must be a rate such as 60/min or 6000/min, not {raw!r}")
    return rate


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def run_env_path() -> Path:
    """Where ``make`` writes the development env file: the run directory's ``env``."""
    run_dir = os.environ.get("ORDERGUARD_RUN_DIR") or str(Path(__file__).resolve().parent.parent / "run")
    return Path(run_dir) / RUN_ENV_FILE


def load_run_env(path: Path | None = None) -> Path | None:
    """Put the file's ``NAME=value`` lines into ``os.environ`` where NAME is not set already.

    Blank lines and ``#`` comments are skipped; values are taken as they are (no quotes, no
    expansion). Returns the file read, or None when there is none.
    """
    path = path or run_env_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _RUN_ENV_LINE.match(line)
        if match is None:
            raise ImproperlyConfigured(f"{path}:{number}: expected NAME=value, not {raw!r}")
        os.environ.setdefault(match[1], match[2].strip())
    return path
