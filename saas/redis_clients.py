"""Direct redis-py clients on the cache's Redis, for the few places that need commands the cache API lacks
(pipelines, hashes, lists, pub/sub, Lua).

One client, and so one connection pool, per (URL, timeouts) for the process: building a client per call costs
more than the round trip. redis-py's pool notices a fork and opens new connections in the child, so a client
made before gunicorn or Celery forks is safe to keep. Timeouts are the caller's choice: a page waiting on Redis
wants a short one and a back-off of its own; a pub/sub listener wants none (`timeout=None`).
"""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

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


class _ReusedClients(RedisCacheClient):
    """Django's Redis cache client, keeping one redis-py client per connection pool: Django builds a new
    `redis.Redis` for every cache call, ~60 us of CPU each (it copies its table of response callbacks), and
    a page makes several calls (issue 25). A redis-py client is safe to share between threads; its pool
    opens new connections after a fork."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client: Any = self  # the stubs do not declare Django's private helpers
        index = django_client._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = django_client._get_connection_pool(write)
            client = self._clients.setdefault(index, django_client._client(connection_pool=pool))
        return client


class RedisCache(DjangoRedisCache):
    """`django.core.cache.backends.redis.RedisCache` with its clients reused (`_ReusedClients`); the
    `CACHES` backend."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusedClients
