"""Worker fault drills with a real Celery worker process (issue 26).

- A worker process killed with SIGKILL in the middle of a task: the task is acknowledged late and
  rejected back to the queue when its process is lost (`CELERY_TASK_REJECT_ON_WORKER_LOST`), so a fresh
  process runs it again, and being idempotent it takes effect exactly once.
- The broker (a private redis-server with an append-only file) stopped and started again: the same
  worker process waits, reconnects, and runs the task queued before the outage and one sent after it;
  the task that was running when the broker went is cancelled and runs again once the visibility timeout
  (CELERY_VISIBILITY_TIMEOUT) has passed; nothing is lost, each takes effect once.

Each drill prints what happened (`pytest -s tests/faults/test_worker_faults.py`)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings

from tests.integration.helpers import child_env, free_port

pytestmark = pytest.mark.slow
REDIS_SERVER = shutil.which("redis-server") or shutil.which("valkey-server")


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


class Worker:
    def __init__(self, broker_url: str, queue: str, **env: str) -> None:
        self.queue = queue
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "saas",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "-Q",
                queue,
                "--include",
                "tests.faults.drill_tasks",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "INFO",
            ],
            env=child_env(REDIS_URL=broker_url, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = self.proc.stdout
        assert output is not None
        self.reader = threading.Thread(target=lambda: self.lines.extend(iter(output.readline, "")), daemon=True)
        self.reader.start()

    def log(self) -> str:
        return "".join(self.lines)[-6000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _sender(broker_url: str) -> Celery:
    return Celery("drill-sender", broker=broker_url, set_as_current=False)


@pytest.fixture
def counters() -> Iterator[tuple[redis.Redis, str, str]]:
    url = settings.CACHES["default"]["LOCATION"]
    client = redis.Redis.from_url(url)
    key = f"drill:{uuid.uuid4().hex[:8]}"
    yield client, key, url
    for name in client.scan_iter(f"{key}*"):
        client.delete(name)


def _count(client: redis.Redis, name: str) -> int:
    return int(client.get(name) or 0)


def test_a_worker_process_killed_mid_task_runs_the_task_again_and_it_takes_effect_once(counters):
    client, key, counters_url = counters
    broker = settings.CACHES["default"]["LOCATION"]
    queue = f"drill-{uuid.uuid4().hex[:8]}"
    worker = Worker(broker, queue)
    try:
        _sender(broker).send_task("drills.mark", args=[key, counters_url, 4.0], queue=queue)
        assert wait_for(lambda: client.get(f"{key}:pid") is not None, 90), worker.log()
        victim = int(client.get(f"{key}:pid"))
        os.kill(victim, signal.SIGKILL)
        print(f"\n[drill] killed worker process {victim} (SIGKILL) in the middle of the task")
        assert wait_for(lambda: _count(client, f"{key}:effects") == 1, 90), worker.log()
        time.sleep(2)  # a duplicate run would show up here
        starts, effects = _count(client, f"{key}:starts"), _count(client, f"{key}:effects")
        print(
            f"[drill] task started {starts} times, took effect {effects} time(s); worker still up: "
            f"{worker.proc.poll() is None}"
        )
        assert starts == 2 and effects == 1
        assert worker.proc.poll() is None
        assert int(client.get(f"{key}:pid")) != victim
    finally:
        worker.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[[], tuple[str, Callable[[], None], Callable[[], None]]]]:
    if REDIS_SERVER is None:
        pytest.skip("no redis-server/valkey-server on PATH")
    port = free_port()
    data = tmp_path / "redis"
    data.mkdir()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(
            subprocess.Popen(
                [
                    REDIS_SERVER,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(data),
                    "--appendonly",
                    "yes",
                    "--save",
                    "",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        client = redis.Redis(port=port)
        assert wait_for(lambda: _ping(client), 20)

    def stop() -> None:
        proc = procs[-1]
        proc.terminate()  # SIGTERM: Redis flushes its append-only file and exits
        proc.wait(timeout=20)

    def make() -> tuple[str, Callable[[], None], Callable[[], None]]:
        start()
        return f"redis://127.0.0.1:{port}/0", stop, start

    yield make
    for proc in procs:
        if proc.poll() is None:
            proc.kill()


def _ping(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


def test_the_worker_waits_for_a_lost_broker_and_runs_queued_and_new_tasks_when_it_is_back(counters, private_redis):
    client, key, counters_url = counters
    broker, stop, start = private_redis()
    queue = f"drill-{uuid.uuid4().hex[:8]}"
    # The task running when the broker goes is cancelled and handed out again after the visibility
    # timeout (an hour by default; 10 s here).
    worker = Worker(broker, queue, CELERY_VISIBILITY_TIMEOUT="10")
    sender = _sender(broker)
    try:
        sender.send_task("drills.mark", args=[f"{key}:first", counters_url], queue=queue)
        assert wait_for(lambda: _count(client, f"{key}:first:effects") == 1, 90), worker.log()
        pid = worker.proc.pid
        # Queued while the worker is busy with a slow task, then the broker goes away.
        sender.send_task("drills.mark", args=[f"{key}:slow", counters_url, 3.0], queue=queue)
        sender.send_task("drills.mark", args=[f"{key}:queued", counters_url], queue=queue)
        assert wait_for(lambda: client.get(f"{key}:slow:pid") is not None, 60), worker.log()
        stop()
        print("\n[drill] broker stopped while a task ran and another waited in the queue")
        time.sleep(8)
        alive_during = worker.proc.poll() is None
        start()
        print(f"[drill] broker started again after 8 s; worker alive during the outage: {alive_during}")
        sender.send_task("drills.mark", args=[f"{key}:after", counters_url], queue=queue)
        names = ("slow", "queued", "after")
        assert wait_for(lambda: all(_count(client, f"{key}:{n}:effects") == 1 for n in names), 120), worker.log()
        summary = {n: (_count(client, f"{key}:{n}:starts"), _count(client, f"{key}:{n}:effects")) for n in names}
        print(
            f"[drill] (starts, effects) per task after the outage: {summary}; same worker process: "
            f"{worker.proc.poll() is None and worker.proc.pid == pid}"
        )
        assert alive_during and worker.proc.poll() is None
        assert all(effects == 1 for _, effects in summary.values())
    finally:
        worker.stop()
