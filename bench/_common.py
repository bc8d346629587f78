"""Shared helpers for the benchmarks: a throw-away platform instance and realistic rows."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CHANNELS = ["taobao", "tmall", "jd", "pinduoduo", "douyin", "webshop"]
STATUSES = ["pending_payment", "paid", "paid", "reviewed", "shipped", "delivered"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(run_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Production settings (DEBUG off records no queries), plain HTTP on loopback.
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "ORDERGUARD_RUN_DIR": str(run_dir),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


@contextlib.contextmanager
def fresh_database(run_dir: Path) -> Iterator[dict[str, str]]:
    """Environment for a new, empty database: SQLite in ``run_dir``, or, when DATABASE_URL names
    a PostgreSQL server, a database created on it for this run and dropped afterwards."""
    env = bench_env(run_dir)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        env.pop("DATABASE_URL", None)
        yield env
        return
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"og_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    env["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    try:
        yield env
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def is_postgres(env: dict[str, str]) -> bool:
    return env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


@contextlib.contextmanager
def platform_instance() -> Iterator[tuple[str, str, dict[str, str], subprocess.Popen]]:
    """Migrate a fresh database (SQLite in a temp dir unless DATABASE_URL is set), start the
    ASGI server on a free port, yield (base_url, token, env, server process)."""
    with tempfile.TemporaryDirectory(prefix="og-bench-") as tmp, fresh_database(Path(tmp)) as env:
        manage(env, "migrate", "--noinput")
        manage(
            env,
            "shell",
            "-c",
            "from apps.accounts.services import user_create; "
            "user_create(username='bench', password=None, role='admin', department_code='management')",
        )
        token = manage(env, "issue_api_token", "bench").strip()
        port = free_port()
        server = subprocess.Popen(
            [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/healthz", timeout=2).status_code in (200, 503):
                        break
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the ASGI server did not start")
                time.sleep(0.2)
            yield base, token, env, server
        finally:
            server.terminate()
            server.wait(timeout=20)


def peak_rss_mib(pid: int) -> float:
    """The process's high-water resident set size (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_orders(count: int, *, seed: int = 7, prefix: str = "BENCH") -> list[dict]:
    """Realistic order bodies: ~3 lines each, consistent totals, a customer pool that repeats."""
    rng = random.Random(seed)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    orders = []
    for n in range(count):
        lines = [
            {
                "sku": f"SKU-{rng.randint(1, 500):04d}",
                "name": "商品",
                "quantity": rng.randint(1, 4),
                "unit_price": f"{rng.randint(500, 50000) / 100:.2f}",
            }
            for _ in range(rng.choice([1, 2, 3, 3, 4, 5]))
        ]
        total = sum(int(line["quantity"]) * float(line["unit_price"]) for line in lines)
        placed = base + timedelta(seconds=rng.randint(0, 25 * 86400))
        customer = rng.randint(1, count // 3 + 1)
        orders.append(
            {
                "external_id": f"{prefix}-{n:08d}",
                "channel": rng.choice(CHANNELS),
                "status": rng.choice(STATUSES),
                "placed_at": placed.isoformat(),
                "paid_at": (placed + timedelta(minutes=2)).isoformat(),
                "currency": "CNY",
                "total_amount": f"{total:.2f}",
                "shipping_fee": "0.00",
                "discount": "0.00",
                "customer": {
                    "external_id": f"C{customer}",
                    "name": "张三",
                    "phone": f"138{customer:08d}",
                    "email": f"c{customer}@example.com",
                },
                "shipping_address": {
                    "recipient": "张三",
                    "phone": f"138{customer:08d}",
                    "province": "浙江省",
                    "city": "杭州市",
                    "district": "西湖区",
                    "detail": f"文三路{n % 999}号",
                    "postcode": "310000",
                },
                "lines": lines,
                "data": {},
            }
        )
    return orders
