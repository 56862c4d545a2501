"""The per-app request budget in each workspace (`OAUTH_APP_RATE_PER_MINUTE`), counted in Redis.

API calls with the app's token count, and so do the calls an installed app makes with its signed context
or secret (`/marketplace/app/field/value`, `/marketplace/app/trigger`, its telephony events).

One INCR + EXPIRE per call on a fixed one-minute window, with the same short-timeout client as the usage
counters (saas.redis_clients.redis_client: 0.5 s to connect, 0.5 s to read). When Redis fails or hangs, calls are let
through without counting and Redis is not asked again for `APP_RATE_BACKOFF_SECONDS` in this process:
a blackholed Redis costs one timeout per process and back-off period, never one per API call.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings

from saas.redis_clients import redis_client

logger = logging.getLogger(__name__)

# Per process: until this time.monotonic() instant the budget is not counted (Redis failed).
_skip_until = 0.0


def _key(app_id: int | str, tenant_id: int, window_end: int) -> str:
    return f"apprate:{settings.CACHES['default'].get('KEY_PREFIX', '')}:{app_id}:{tenant_id}:{window_end}"


def app_rate_allows(*, app_id: int, tenant_id: int) -> tuple[bool, int]:
    """Count one request of the app in this workspace's current minute; (allowed, seconds to wait).
    Redis failing or in back-off: allowed (the plan's daily quota still applies where it can be counted)."""
    return _count(app_id, tenant_id)


def installed_app_rate_allows(*, listing_id: int, installation_id: int, tenant_id: int) -> tuple[bool, int]:
    """The same budget for what an installed app sends without its OAuth token (a field value, a trigger
    report, a telephony event): counted with its OAuth app's calls when the listing has one, else on a
    budget of the installation's own."""
    from marketplace.apps.models import App

    app_id = App.objects.filter(listing_id=listing_id).values_list("pk", flat=True).first() if listing_id else None
    return _count(app_id if app_id is not None else f"ins{installation_id}", tenant_id)


def _count(app_id: int | str, tenant_id: int) -> tuple[bool, int]:
    global _skip_until
    if time.monotonic() < _skip_until:
        return True, 0
    now = int(time.time())
    window_end = (now // 60 + 1) * 60
    key = _key(app_id, tenant_id, window_end)
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 65)
        count, _ok = pipe.execute()
    except redis.RedisError:
        backoff = float(settings.APP_RATE_BACKOFF_SECONDS)
        _skip_until = time.monotonic() + backoff
        logger.warning("app rate: Redis unreachable, not limiting for %.0f s", backoff, exc_info=True)
        return True, 0
    if _skip_until:
        _skip_until = 0.0
        logger.info("app rate: Redis reachable again, limiting")
    return int(count) <= settings.OAUTH_APP_RATE_PER_MINUTE, max(1, window_end - now)
