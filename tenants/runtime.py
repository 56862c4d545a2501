"""Typed access to the tenancy state of the current database connection (django-tenants)."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db import connection
from django_tenants.utils import get_public_schema_name


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
    conn = _conn()
    if conn.schema_name == tenant.schema_name and conn.search_path_set_schemas and conn.include_public_schema:
        conn.tenant = tenant
        return
    conn.set_tenant(tenant)


# Host -> tenant, remembered for one second per process: a request then needs no domain query, and a
# suspended, renamed or deleted tenant takes effect everywhere within that second (this process
# forgets at once: the lifecycle services call forget_domains()).
DOMAIN_TTL_SECONDS = 1.0
_domains: dict[str, tuple[float, Any]] = {}
_domains_lock = threading.Lock()


def tenant_for_host(hostname: str) -> Any:
    """The Tenant serving `hostname`, or None."""
    from tenants.models import Domain

    now = time.monotonic()
    hit = _domains.get(hostname)
    if hit is not None and hit[0] > now:
        return hit[1]
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    tenant = domain.tenant if domain is not None else None
    with _domains_lock:
        if len(_domains) > 10_000:
            _domains.clear()
        _domains[hostname] = (now + DOMAIN_TTL_SECONDS, tenant)
    return tenant


def forget_domains() -> None:
    """Drop every remembered host (after a tenant's status, domain or existence changed)."""
    with _domains_lock:
        _domains.clear()
