"""Recently viewed records, written off the request path (ADR 0047).

Every record page marks the record as viewed by the member. Instead of an upsert in PostgreSQL on every
page (a write, WAL and a row lock per view), the mark goes to Redis: one pipelined round trip that sets
`<record> -> <time>` in the member's hash of pending views (so viewing the same record again only moves its
time) and adds the member to the set of members with pending views. The Celery beat task
`engine.recent_views_flush_task` moves pending views into `RecentView` rows every minute, in one upsert per
member. The home page's "Recently viewed" widget reads the rows and the member's pending views (one Redis
round trip, no extra SQL statement), so a view shows at once.

Degrading safely: when Redis cannot be reached the mark is written to PostgreSQL directly (the previous
behaviour), and the widget shows the rows only. Pending views of a member or record deleted before the
flush are dropped by it (members are matched in the database; the widget skips records it cannot see).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from saas.redis_clients import redis_client

if TYPE_CHECKING:
    from crm_apps.access.models import Member

logger = logging.getLogger(__name__)

FLUSH_BATCH = 500


def _pending_set() -> str:
    """The set of members "<schema>|<member id>" with views waiting to be written (one for all tenants)."""
    return f"recentviews:{cache.key_prefix}:pending"


def _hash_key(schema: str, member_id: int) -> str:
    """The member's pending views: a key of the tenant's cache namespace (schema and KEY_PREFIX, built
    like django-tenants' make_key), so tenants never share one and the tests' cache clean-up covers it."""
    return f"{schema}:{cache.key_prefix}:{cache.version}:recentviews:{member_id}"


def _schema() -> str:
    from tenants.runtime import current_schema

    return current_schema()


def recent_view_touch(*, module: str, record_id: Any, member: Member) -> None:
    """Mark the record as viewed by the member now: in Redis, or in PostgreSQL when Redis is down."""
    schema = _schema()
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.hset(_hash_key(schema, member.pk), f"{module}|{record_id}", repr(time.time()))
        pipe.sadd(_pending_set(), f"{schema}|{member.pk}")
        pipe.execute()
    except redis.RedisError:
        logger.warning("recent views: Redis unreachable, writing to the database", exc_info=True)
        _upsert([(member.pk, module, record_id, timezone.now())])


def pending_views(*, member: Member) -> list[tuple[str, str, datetime]]:
    """The member's views not yet written to the database: (module, record id, viewed at); [] without Redis."""
    try:
        raw: dict[bytes, bytes] = redis_client().hgetall(_hash_key(_schema(), member.pk))  # type: ignore[assignment]
    except redis.RedisError:
        logger.warning("recent views: Redis unreachable, showing the stored views only", exc_info=True)
        return []
    return [item for item in (_parse(k, v) for k, v in raw.items()) if item is not None]


def _parse(key: bytes, value: bytes) -> tuple[str, str, datetime] | None:
    try:
        module, record_id = key.decode().split("|", 1)
        uuid.UUID(record_id)
        return module, record_id, datetime.fromtimestamp(float(value), tz=UTC)
    except (ValueError, UnicodeDecodeError):
        return None


def _upsert(rows: list[tuple[int, str, Any, datetime]]) -> int:
    """Write views (member id, module, record id, time) in one statement; members that no longer exist are
    skipped, and an older time never replaces a newer one."""
    if not rows:
        return 0
    values = ", ".join(["(%s::integer, %s, %s::uuid, %s::timestamptz)"] * len(rows))
    # Only placeholders are formatted into the statement; every value is a parameter.
    params = [value for row in rows for value in (row[0], row[1], str(row[2]), row[3])]
    sql = (
        "INSERT INTO engine_recentview (member_id, module, record_id, viewed_at) "  # noqa: S608
        f"SELECT v.member_id, v.module, v.record_id, v.viewed_at FROM (VALUES {values}) "
        "AS v (member_id, module, record_id, viewed_at) "
        "WHERE EXISTS (SELECT 1 FROM access_member m WHERE m.id = v.member_id) "
        "ON CONFLICT (member_id, module, record_id) DO UPDATE SET viewed_at = "
        "GREATEST(engine_recentview.viewed_at, EXCLUDED.viewed_at)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _take(schema: str, member_id: int) -> list[tuple[int, str, Any, datetime]]:
    """Read and remove one member's pending views atomically (MULTI: HGETALL + DEL)."""
    pipe = redis_client().pipeline(transaction=True)
    pipe.hgetall(_hash_key(schema, member_id))
    pipe.delete(_hash_key(schema, member_id))
    raw, _deleted = pipe.execute()
    return [(member_id, m, r, at) for m, r, at in (item for item in (_parse(k, v) for k, v in raw.items()) if item)]


def recent_views_flush(*, limit: int = FLUSH_BATCH) -> int:
    """Move pending views of up to `limit` members (of every tenant) into the database; returns the rows
    written. A member whose views cannot be written is put back in the pending set (views stay in Redis)."""
    from django_tenants.utils import schema_context

    from tenants.models import Tenant

    client = redis_client()
    members: list[bytes] = client.spop(_pending_set(), limit) or []  # type: ignore[assignment]
    by_schema: dict[str, list[int]] = {}
    for entry in members:
        schema, _sep, raw_id = entry.decode().rpartition("|")
        if schema and raw_id.isdigit():
            by_schema.setdefault(schema, []).append(int(raw_id))
    live = set(Tenant.objects.filter(schema_name__in=list(by_schema)).values_list("schema_name", flat=True))
    written = 0
    for schema, member_ids in by_schema.items():
        if schema not in live:  # the workspace is gone: its pending views go with it
            client.delete(*[_hash_key(schema, m) for m in member_ids])
            continue
        with schema_context(schema):
            for pk in member_ids:
                rows = _take(schema, pk)
                try:
                    written += _upsert(rows)
                except Exception:
                    _put_back(schema, pk, rows)
                    raise
    return written


def _put_back(schema: str, member_id: int, rows: list[tuple[int, str, Any, datetime]]) -> None:
    """Views taken but not written go back to Redis (a newer view of the same record wins)."""
    if not rows:
        return
    pipe = redis_client().pipeline(transaction=False)
    for _member, module, record_id, at in rows:
        pipe.hsetnx(_hash_key(schema, member_id), f"{module}|{record_id}", repr(at.timestamp()))
    pipe.sadd(_pending_set(), f"{schema}|{member_id}")
    pipe.execute()
