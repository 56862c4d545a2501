"""Counting attempts in the (tenant-prefixed) cache. Fails open: a cache outage never blocks users."""

from __future__ import annotations

import logging

from django.core.cache import cache

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
