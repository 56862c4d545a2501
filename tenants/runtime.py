"""Typed access to the tenancy state of the current database connection (django-tenants)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django_tenants.utils import get_public_schema_name

logger = logging.getLogger(__name__)


def _conn() -> Any:
    return connection


def current_schema() -> str:
    """The schema the connection will use for its next query."""
    return str(_conn().schema_name)


def current_tenant() -> Any:
    """The Tenant (or django-tenants' FakeTenant for `public`/schema_context) the connection is set to."""
    return _conn().tenant


def in_public_schema() -> bool:
    return current_schema() == get_public_schema_name()


def use_public_schema() -> None:
    _conn().set_schema_to_public()


def use_tenant(tenant: Any) -> None:
    """Point the connection at `tenant`; when it already is (same schema, path set), keep the path
    instead of issuing another SET search_path."""
    conn: Any = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: one thread-local look-up, not one per attribute
    if conn.schema_name == tenant.schema_name and conn.search_path_set_schemas and conn.include_public_schema:
        conn.tenant = tenant
        return
    conn.set_tenant(tenant)


# Host -> tenant, remembered per process until the *domain generation* changes. The generation is one
# Redis key (DOMAIN_GENERATION_KEY, named after the database so deployments and test databases sharing
# a Redis never mix); every change to a tenant or a domain bumps it after commit (domains_changed()),
# and each process reads it at most every DOMAIN_CHECK_SECONDS. A rename, suspension, new domain or
# deletion therefore takes effect in every process within that interval, and a request costs no domain
# query and, most of the time, no Redis round trip either. Without Redis the remembered hosts are
# simply dropped at every check: the domain table is read again (correct, a little slower).
DOMAIN_CHECK_SECONDS = 0.5
MAX_REMEMBERED_HOSTS = 20_000
MAX_REMEMBERED_MISSES = 1_000  # unknown hosts (anyone can send any Host header) are kept apart, fewer
# Safety nets for changes nobody announced (a bulk update or raw SQL on the tenant or domain tables):
# an unknown host is asked again after a second, a known one after a minute.
MISS_TTL_SECONDS = 1.0
HIT_TTL_SECONDS = 60.0
_domains: dict[str, tuple[float, Any]] = {}
_misses: dict[str, float] = {}
_domains_lock = threading.Lock()
_generation: dict[str, Any] = {"value": None, "checked": -1.0, "pid": 0}
_redis: dict[int, Any] = {}


def domain_generation_key() -> str:
    from django.conf import settings

    return f"tenancy:domain-generation:{settings.DATABASES['default']['NAME']}"


def _redis_client() -> Any:
    """The cache's Redis client, one per process (a forked worker makes its own)."""
    import os

    from django.core.cache import cache

    pid = os.getpid()
    client = _redis.get(pid)
    if client is None:
        client = _redis[pid] = cache._cache.get_client(domain_generation_key(), write=True)  # type: ignore[attr-defined]
    return client


def _read_generation() -> Any:
    try:
        value = _redis_client().get(domain_generation_key())
    except Exception:
        logger.warning("tenancy: Redis unreachable, host lookups are not kept", exc_info=True)
        return object()  # never equal to anything: the remembered hosts are dropped
    return value


def _check_generation(now: float) -> None:
    """Drop every remembered host when the generation moved (at most once per DOMAIN_CHECK_SECONDS)."""
    import os

    if now - _generation["checked"] < DOMAIN_CHECK_SECONDS and _generation["pid"] == os.getpid():
        return
    value = _read_generation()
    with _domains_lock:
        if value != _generation["value"] or _generation["pid"] != os.getpid():
            _domains.clear()
            _misses.clear()
            _generation["value"] = value
            _generation["pid"] = os.getpid()
        _generation["checked"] = now


def tenant_for_host(hostname: str) -> Any:
    """The Tenant serving `hostname`, or None; remembered in the process until a tenant or domain changes.

    The Tenant returned belongs to this host's entry only (its `domain_url` is the host): callers may read
    it but must not change it.
    """
    from tenants.models import Domain

    now = time.monotonic()
    _check_generation(now)
    hit = _domains.get(hostname)
    if hit is not None and hit[0] > now:
        return hit[1]
    if hit is None and _misses.get(hostname, 0.0) > now:
        return None
    generation = _generation["value"]
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    tenant = domain.tenant if domain is not None else None
    with _domains_lock:
        if generation is not _generation["value"]:
            return tenant  # the generation moved while we read: do not keep what may be stale
        if tenant is None:
            if len(_misses) >= MAX_REMEMBERED_MISSES:
                _misses.clear()
            _misses[hostname] = now + MISS_TTL_SECONDS
        else:
            if len(_domains) >= MAX_REMEMBERED_HOSTS:
                _domains.clear()
            tenant.domain_url = hostname
            _domains[hostname] = (now + HIT_TTL_SECONDS, tenant)
            _misses.pop(hostname, None)
    return tenant


def remembered_hosts() -> int:
    """How many hosts this process remembers (tests, diagnostics)."""
    return len(_domains)


def forget_domains() -> None:
    """Drop every remembered host in this process."""
    with _domains_lock:
        _domains.clear()
        _misses.clear()


def domains_changed() -> None:
    """A tenant's status, name, schema or domains changed: every process forgets its remembered hosts
    within DOMAIN_CHECK_SECONDS (this one at once). Call after commit (or use domains_changed_on_commit)."""
    import uuid

    forget_domains()
    try:
        _redis_client().set(domain_generation_key(), uuid.uuid4().hex)
    except Exception:
        logger.warning("tenancy: Redis unreachable, other processes forget hosts at their next check", exc_info=True)


def domains_changed_on_commit() -> None:
    """domains_changed() once the current transaction commits (at once outside a transaction); this
    process forgets now as well, so it never keeps what it reads before the commit."""
    from django.db import transaction

    forget_domains()
    transaction.on_commit(domains_changed)
