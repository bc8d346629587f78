"""Live handling: detection → task on a connected WebSocket client, and the outbox → case start rate.

Starts a throw-away platform (fresh database, embedded Redis, daphne, one Celery worker), signs a
finance user's WebSocket client in with a token, then:
  1. posts orders one at a time that raise a payment exception (paid, no payment) and times each
     until its task arrives on the socket (``task.created``), over ``--exceptions`` orders:
       - from the POST to the socket (detection, outbox, after-commit task, case start, publish),
       - from the task's creation in the worker to the socket (SPEC §6: ≤ 200 ms p95),
       - the baseline measured in the same run: the POST alone (the write and its detection);
  2. posts ``--burst`` such orders through the bulk endpoint and times until every case has
     started and its task is in the finance queue: cases/s from the outbox.

    .venv/bin/python bench/live.py [--exceptions 200] [--burst 1000]
    DATABASE_URL=postgres://... .venv/bin/python bench/live.py     # on PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PYTHON, ROOT, free_port, fresh_database, is_postgres, make_orders, manage


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def paid_without_payment(count: int, prefix: str) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    orders = make_orders(count, prefix=prefix)
    for order in orders:
        order.update(status="paid", placed_at=now, paid_at=now)
    return orders


@contextlib.contextmanager
def platform(tmp: Path):
    """Fresh database, embedded Redis, daphne and a Celery worker; yields (base url, env)."""
    from apps.common.embedded_redis import redis_server_argv

    with fresh_database(tmp) as env:
        socket_path = tmp / "redis.sock"
        redis = subprocess.Popen(
            redis_server_argv(socket_path=socket_path, data_dir=tmp, persist=False), stdout=subprocess.DEVNULL
        )
        env["REDIS_URL"] = f"unix://{socket_path}"
        processes = [redis]
        try:
            manage(env, "migrate", "--noinput")
            port = free_port()
            logs = {name: (tmp / f"{name}.log").open("wb") for name in ("web", "worker")}
            processes.append(
                subprocess.Popen(
                    [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
                    cwd=ROOT,
                    env=env,
                    stdout=logs["web"],
                    stderr=subprocess.STDOUT,
                )
            )
            processes.append(
                subprocess.Popen(
                    [PYTHON, "-m", "celery", "-A", "config", "worker", "--concurrency", "2", "--loglevel", "WARNING"],
                    cwd=ROOT,
                    env=env,
                    stdout=logs["worker"],
                    stderr=subprocess.STDOUT,
                )
            )
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/healthz", timeout=2).status_code in (200, 503):
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the ASGI server did not start")
                time.sleep(0.2)
            time.sleep(3)  # the worker connects to Redis
            yield base, env
        finally:
            for process in reversed(processes):
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=20)


def tokens(env: dict[str, str]) -> tuple[str, str]:
    manage(
        env,
        "shell",
        "-c",
        "from apps.accounts.services import user_create; "
        "user_create(username='bench', password=None, role='admin', department_code='management'); "
        "user_create(username='fin', password=None, role='staff', department_code='finance')",
    )
    return manage(env, "issue_api_token", "bench").strip(), manage(env, "issue_api_token", "fin").strip()


class Socket:
    """A WebSocket client (autobahn on asyncio) that timestamps every task event it receives."""

    def __init__(self):
        self.arrivals: dict[str, tuple[float, float, dict]] = {}  # order external id → (monotonic, wall, task)
        self.waiters: dict[str, asyncio.Future] = {}
        self.opened = asyncio.get_running_loop().create_future()

    async def connect(self, base: str, token: str) -> None:
        from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

        outer = self

        class Protocol(WebSocketClientProtocol):
            def onOpen(self):
                outer.opened.set_result(True)

            def onMessage(self, payload, is_binary):
                message = json.loads(payload)
                if message.get("type") != "task.created":
                    return
                task = message["task"]
                key = (task.get("order") or {}).get("external_id")
                outer.arrivals.setdefault(key, (time.perf_counter(), time.time(), task))
                waiter = outer.waiters.pop(key, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(True)

        host, port = base.removeprefix("http://").split(":")
        url = f"ws://{host}:{port}/ws/live/"
        factory = WebSocketClientFactory(url, headers={"Authorization": f"Token {token}"})
        factory.protocol = Protocol
        await asyncio.get_running_loop().create_connection(factory, host, int(port))
        await asyncio.wait_for(self.opened, 10)

    def wait_for(self, key: str) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if key in self.arrivals:
            future.set_result(True)
        else:
            self.waiters[key] = future
        return future


async def measure_latency(base: str, admin: str, fin: str, count: int) -> dict[str, list[float]]:
    socket = Socket()
    await socket.connect(base, fin)
    post_to_socket, created_to_socket, post_only = [], [], []
    headers = {"Authorization": f"Token {admin}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for order in paid_without_payment(count, "LIVE"):
            arrived = socket.wait_for(order["external_id"])
            started = time.perf_counter()
            response = await client.post("/api/v1/orders/", content=json.dumps(order))
            posted = time.perf_counter()
            assert response.status_code == 201, response.text[:300]
            await asyncio.wait_for(arrived, 10)
            at, wall, task = socket.arrivals[order["external_id"]]
            post_only.append(posted - started)
            post_to_socket.append(at - started)
            created_to_socket.append(wall - datetime.fromisoformat(task["created_at"]).timestamp())
    return {"post_to_socket": post_to_socket, "created_to_socket": created_to_socket, "post_only": post_only}


def start_rate(base: str, admin: str, fin: str, count: int) -> float:
    orders = paid_without_payment(count, "BURST")
    with httpx.Client(base_url=base, timeout=120) as client:
        before = client.get("/api/v1/tasks/?scope=queue", headers={"Authorization": f"Token {fin}"}).json()["count"]
        started = time.perf_counter()
        for i in range(0, count, 500):
            body = json.dumps({"orders": orders[i : i + 500]})
            response = client.post(
                "/api/v1/orders/bulk/",
                content=body,
                headers={"Authorization": f"Token {admin}", "Content-Type": "application/json"},
            )
            response.raise_for_status()
        written = time.perf_counter()
        deadline = time.monotonic() + 600
        while True:
            queue = client.get("/api/v1/tasks/?scope=queue", headers={"Authorization": f"Token {fin}"}).json()
            if queue["count"] - before >= count:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {queue['count'] - before} of {count} cases started")
            time.sleep(0.1)
        done = time.perf_counter()
    print(f"  burst: {count} orders written in {written - started:.2f} s, every case started by {done - started:.2f} s")
    return count / (done - written) if done > written else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exceptions", type=int, default=200, help="orders posted one by one, each raising one")
    parser.add_argument("--burst", type=int, default=1000, help="orders posted in bulk for the start rate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="og-bench-live-") as tmp, platform(Path(tmp)) as (base, env):
        print(f"database: {'PostgreSQL' if is_postgres(env) else 'SQLite'}")
        admin, fin = tokens(env)
        times = asyncio.run(measure_latency(base, admin, fin, args.exceptions))
        for name, label in [
            ("post_only", "baseline: POST /api/v1/orders/ (write + detection)"),
            ("post_to_socket", "POST → task on the socket"),
            ("created_to_socket", "task created in the worker → socket"),
        ]:
            values = [v * 1000 for v in times[name]]
            print(
                f"  {label}: p50 {statistics.median(values):.1f} ms, p95 {percentile(values, 0.95):.1f} ms "
                f"(n={len(values)})"
            )
        p95 = percentile(times["post_to_socket"], 0.95) / percentile(times["post_only"], 0.95)
        print(f"  ratio p95 POST→socket / POST alone: {p95:.2f}")
        worker_p95 = percentile(times["created_to_socket"], 0.95) * 1000
        print(f"  SPEC §6 (≤ 200 ms p95 worker → client): {'met' if worker_p95 <= 200 else 'NOT met'}")
        rate = start_rate(base, admin, fin, args.burst)
        print(f"  outbox → case start: {rate:.0f} cases/s after the last write")


if __name__ == "__main__":
    main()
