"""Typed access to the tenancy state of the current database connection (django-tenants)."""

from __future__ import annotations

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
