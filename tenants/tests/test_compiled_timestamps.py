"""tenants/postgresql_backend: timestamps are read by psycopg's compiled loader while Django keeps the
connection in UTC, with exactly the values Django's own loader gives; Django's loader comes back when the
time zone settings change."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.test.utils import override_settings

from tenants.postgresql_backend.base import COMPILED_TIMESTAMPTZ_LOADER, TIMESTAMPTZ_OID, DatabaseWrapper

pytestmark = pytest.mark.skipif(COMPILED_TIMESTAMPTZ_LOADER is None, reason="psycopg without its C extension")

VALUES_SQL = """
SELECT v FROM (VALUES
  ('2030-03-05 10:00:00+03'::timestamptz),
  ('2026-12-07 23:59:59.999999+00'),
  ('1999-12-31 23:00:00-05:30'),
  ('0001-01-01 00:00:00+00'),
  ('9999-12-31 23:59:59.5+00'),
  (NULL)
) AS t(v)
"""


def loader_in_use(conn) -> type:
    return conn.connection.adapters.get_loader(TIMESTAMPTZ_OID, 0)


def read(conn) -> list:
    with conn.cursor() as cursor:
        cursor.execute(VALUES_SQL)
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_connection_reads_timestamps_with_the_compiled_loader_and_djangos_values():
    connection.ensure_connection()
    db: Any = connection
    assert db.compiled_timestamps()
    assert loader_in_use(connection) is COMPILED_TIMESTAMPTZ_LOADER
    compiled = read(connection)
    assert compiled[0] == dt.datetime(2030, 3, 5, 7, 0, tzinfo=dt.UTC)
    assert compiled[1] == dt.datetime(2026, 12, 7, 23, 59, 59, 999999, tzinfo=dt.UTC)
    assert compiled[2] == dt.datetime(2000, 1, 1, 4, 30, tzinfo=dt.UTC)
    assert compiled[-1] is None
    assert all(value.tzinfo is dt.UTC for value in compiled[:-1])  # the very object Django's loader sets

    # Django's own loader on a cursor of the same connection: the same values, the same tzinfo object.
    with connection.cursor() as wrapper:
        register_tzloader(connection.timezone, wrapper.cursor)
        wrapper.execute(VALUES_SQL)
        by_django = [row[0] for row in wrapper.fetchall()]
    assert by_django == compiled
    assert [v.tzinfo if v else None for v in by_django] == [v.tzinfo if v else None for v in compiled]


@pytest.mark.django_db
def test_the_orm_and_a_server_side_cursor_read_aware_utc_datetimes(tenant_a):
    from django_tenants.utils import tenant_context

    from crm_apps.access.models import Member

    with tenant_context(tenant_a):
        member = Member.objects.order_by("pk").first()
        assert member is not None
        joined = Member.objects.values_list("joined_at", flat=True).get(pk=member.pk)
        assert joined.tzinfo is dt.UTC
        # QuerySet.iterator() in a transaction uses a named (server-side) cursor, which this backend makes too.
        with transaction.atomic():
            streamed = list(Member.objects.order_by("pk").values_list("joined_at", flat=True).iterator(chunk_size=1))
        assert streamed[0] == joined
        assert all(value.tzinfo is dt.UTC for value in streamed)


@pytest.mark.django_db
def test_djangos_loader_comes_back_when_the_time_zone_settings_change():
    conn = DatabaseWrapper(dict(connection.settings_dict), "default")
    try:
        conn.ensure_connection()
        assert conn.compiled_timestamps()
        with override_settings(USE_TZ=False):
            for name in ("timezone", "timezone_name"):  # what Django's setting_changed does for `connections`
                conn.__dict__.pop(name, None)
            naive = read(conn)
            assert not conn.compiled_timestamps()
            assert naive[0] == dt.datetime(2030, 3, 5, 7, 0)  # naive, as Django gives without USE_TZ
            assert naive[0].tzinfo is None
    finally:
        conn.close()


@pytest.mark.django_db
def test_a_new_connection_outside_utc_keeps_djangos_loader():
    with override_settings(USE_TZ=False):
        conn = DatabaseWrapper(dict(connection.settings_dict), "default")
        try:
            conn.ensure_connection()
            assert not conn.compiled_timestamps()
            assert loader_in_use(conn) is not COMPILED_TIMESTAMPTZ_LOADER
            assert read(conn)[0].tzinfo is None
        finally:
            conn.close()
