"""Tasks for the worker fault drills (loaded only by the drills' worker with `--include`).

`drill_mark` is idempotent the way the project's tasks are: it may start several times (acks late: a
worker that dies mid-task leaves the message to run again), but its effect is written once, keyed by
the job (`SET ... NX`); the drill counts starts and effects in Redis."""

from __future__ import annotations

import os
import time

import redis
from celery import shared_task


@shared_task(name="drills.mark", acks_late=True)
def drill_mark(key: str, redis_url: str, seconds: float = 0.0) -> None:
    client = redis.Redis.from_url(redis_url)
    client.incr(f"{key}:starts")
    client.set(f"{key}:pid", os.getpid())
    time.sleep(seconds)
    if client.set(f"{key}:done", "1", nx=True):
        client.incr(f"{key}:effects")
