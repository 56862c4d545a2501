"""Refuse a connection pooler that shares server connections between clients (PgBouncer in transaction or
statement mode, RDS Proxy with multiplexing): schema-per-tenant needs session pooling (docs/deployment.md).

django-tenants sets `search_path` on the database *session* and sets it again only when the tenant
changes, so a pooler that hands the next transaction of a client to another server connection runs it
in whatever schema that connection last had: another tenant's (tenants/tests/test_pgbouncer.py shows it
with a real PgBouncer). Nothing in the protocol says which mode a pooler runs in, so the check watches
what it does: two client connections, each asking for its server process id. Connected directly or
through a session pooler, every client keeps its own server process for its whole life; through a
transaction pooler, an idle client's server process is handed to the next client (PgBouncer reuses the
most recently released one first), so the second client sees the first one's process id. A match can
only come from sharing, so the check never refuses a direct or session-pooled connection.

The check is a system check tagged `database`: `migrate`, `migrate_schemas` and
`check --database default` run it, and the image's entrypoint runs it before starting the web server, a
worker or beat (infra/docker/entrypoint.sh), which then refuse to start through a transaction pooler."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register
from django.core.checks import Tags as CheckTags

ATTEMPTS = 3


def _backend_pid(conn: Any) -> int:
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    return int(row[0])


def shares_server_connections(connect: Any, attempts: int = ATTEMPTS) -> bool:
    """True when two client connections made by `connect()` reach the same server process, or one client
    changes server process between transactions: a transaction (or statement) pooler."""
    first = connect()
    try:
        seen = {_backend_pid(first)}
        for _ in range(attempts):
            second = connect()
            try:
                if _backend_pid(second) in seen:
                    return True
            finally:
                second.close()
            if _backend_pid(first) not in seen:
                return True
        return False
    finally:
        first.close()


def _django_connect(alias: str = "default") -> Any:
    from django.db import connections

    wrapper = connections[alias]
    params = wrapper.get_connection_params()
    conn = wrapper.get_new_connection(params)
    conn.autocommit = True
    return conn


@register(CheckTags.database)
def transaction_pooling_refused(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Error]:
    if not databases or "default" not in databases:
        return []
    if shares_server_connections(_django_connect):
        return [
            Error(
                "The database connection goes through a pooler that shares server connections between clients "
                "(PgBouncer in transaction or statement mode?). Tenants' schemas would mix.",
                hint="Use PgBouncer's pool_mode = session, or connect directly (docs/deployment.md).",
                id="tenants.E010",
            )
        ]
    return []
