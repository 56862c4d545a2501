"""Counting attempts in the (tenant-prefixed) cache. Fails open: a cache outage never blocks users."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)


def throttle_exceeded(keys: list[str], *, limit: int) -> bool:
    """True when any of the counters has reached `limit` attempts."""
    try:
        values = cache.get_many(keys)
    except Exception:  # a cache outage must not lock everyone out
        logger.warning("throttle: cache unavailable, not limiting", exc_info=True)
        return False
    return any(int(v or 0) >= limit for v in values.values())


def throttle_hit(keys: list[str], *, window: int) -> None:
    """Count one attempt against each key; counters expire `window` seconds after their first attempt."""
    for key in keys:
        try:
            if not cache.add(key, 1, window):
                cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, window)
        except Exception:
            logger.warning("throttle: cache unavailable, not counting", exc_info=True)
            return


_clients: dict[int, Any] = {}


def _redis_client(key: str) -> Any:
    """The cache's Redis client, made once per process (Django builds a new one on every call, which
    costs more than the round trip itself). Raises AttributeError for non-Redis cache backends."""
    import os

    pid = os.getpid()
    client = _clients.get(pid)
    if client is None:
        client = _clients[pid] = cache._cache.get_client(key, write=True)  # type: ignore[attr-defined]
    return client


def window_count(key: str, *, window: int) -> tuple[int, int]:
    """Count one request in the fixed `window` (seconds) that `key` is in; returns (count so far,
    seconds until the window ends). One round trip to Redis (INCR and EXPIRE in a pipeline), so a
    budget check stays cheap at hundreds of requests per second. (0, 0) when the cache is down."""
    count, remaining, _values = window_count_reading(key, window=window)
    return count, remaining


def window_count_reading(key: str, *, window: int, read: Sequence[str] = ()) -> tuple[int, int, list[Any] | None]:
    """`window_count`, and in the same round trip the values of the cache keys `read` (full keys, as
    `cache.make_and_validate_key` makes them; None for a missing one), decoded as the cache decodes them.
    The values are None when they could not be read that way (not the Redis backend, cache down)."""
    import time

    now = int(time.time())
    window_end = (now // window + 1) * window
    full_key = cache.make_and_validate_key(f"{key}:{window_end}")
    values: list[Any] | None = None
    try:
        client = _redis_client(full_key)
        pipe = client.pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, window + 5)
        if read:
            pipe.mget(list(read))
        answers = pipe.execute()
        count = answers[0]
        if read:
            values = _decoded(answers[2])
    except AttributeError:  # not the Redis backend (local memory in some tools): plain cache calls
        if not cache.add(full_key, 1, window + 5):
            try:
                count = cache.incr(full_key)
            except ValueError:
                count = 1
        else:
            count = 1
    except Exception:
        logger.warning("throttle: cache unavailable, not limiting", exc_info=True)
        return 0, 0, None
    return int(count), max(1, window_end - now), values


def _decoded(raw: list[bytes | None]) -> list[Any] | None:
    """Values read beside a count, decoded as the cache decodes them; None when one cannot be (the count stands:
    the request is still counted once)."""
    try:
        loads = cache._cache._serializer.loads  # type: ignore[attr-defined]
        return [None if value is None else loads(value) for value in raw]
    except Exception:
        logger.warning("throttle: values read with the count could not be decoded", exc_info=True)
        return None


def window_value(key: str, *, window: int) -> int:
    """What `window_count` has counted so far in the current window of `key` (0 when the cache is down)."""
    import time

    window_end = (int(time.time()) // window + 1) * window
    try:
        return int(cache.get(f"{key}:{window_end}") or 0)
    except Exception:
        logger.warning("throttle: cache unavailable", exc_info=True)
        return 0


class FailOpenScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle (history of request times in the cache), except that a cache outage lets
    the request through, like the project's own counters: a Redis restart must not turn sign-in into
    500s (issue 26). The login-failure lockout stays in force through `tenants.login_throttle`."""

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("throttle: cache unavailable, not limiting", exc_info=True)
            return True
