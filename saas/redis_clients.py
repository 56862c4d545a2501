"""Direct redis-py clients on the cache's Redis, for the few places that need commands the cache API lacks
(pipelines, hashes, lists, pub/sub, Lua).

One client, and so one connection pool, per (URL, timeouts) for the process: building a client per call costs
more than the round trip. redis-py's pool notices a fork and opens new connections in the child, so a client
made before gunicorn or Celery forks is safe to keep. Timeouts are the caller's choice: a page waiting on Redis
wants a short one and a back-off of its own; a pub/sub listener wants none (`timeout=None`).
"""

from __future__ import annotations

import redis
from django.conf import settings

_clients: dict[tuple[str, float | None, float | None, int], redis.Redis] = {}


def redis_client(
    *, connect_timeout: float | None = 0.5, timeout: float | None = 0.5, health_check_interval: int = 30
) -> redis.Redis:
    """The process's client for the default cache's Redis with these timeouts (seconds; None waits)."""
    url = str(settings.CACHES["default"]["LOCATION"])
    key = (url, connect_timeout, timeout, health_check_interval)
    client = _clients.get(key)
    if client is None:
        client = _clients.setdefault(
            key,
            redis.Redis.from_url(
                url,
                socket_connect_timeout=connect_timeout,
                socket_timeout=timeout,
                health_check_interval=health_check_interval,
            ),
        )
    return client
