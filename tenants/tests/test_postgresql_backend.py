"""tenants/postgresql_backend: with persistent connections, the SET search_path of a schema change is the
connection's health check (one round trip less per request), without one the check looks at the socket
(no round trip while it is quiet), and a dead connection is still replaced."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from tenants.postgresql_backend.base import DatabaseWrapper
from tests.integration.helpers import test_database_url as database_url


@pytest.fixture
def persistent(committed):
    """A connection of its own, as a web worker has it: kept between requests, health-checked."""
    conn = DatabaseWrapper({**connection.settings_dict, "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}, "default")
    checks: list[str] = []  # "socket": the local check ran; "select": it made the SELECT 1 round trip
    real, real_round_trip = conn.is_usable, conn.is_usable_round_trip

    def counted() -> bool:
        checks.append("socket")
        return real()

    def counted_round_trip() -> bool:
        checks.append("select")
        return real_round_trip()

    conn.is_usable = counted  # type: ignore[method-assign]
    conn.is_usable_round_trip = counted_round_trip  # type: ignore[method-assign]
    yield conn, checks
    conn.close()


def request(conn: DatabaseWrapper, schema: str) -> int:
    """What a request does: Django's request-start hook, the routing's schema switch, one query."""
    conn.close_if_unusable_or_obsolete()
    if conn.schema_name != schema:
        conn.set_schema(schema)
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM access_role")
        return int(cursor.fetchone()[0])


def terminate(conn: DatabaseWrapper) -> None:
    with psycopg.connect(database_url().replace("postgres://", "postgresql://", 1), autocommit=True) as other:
        # With a timeout, pg_terminate_backend waits until the backend has exited (and closed the socket).
        other.execute("SELECT pg_terminate_backend(%s, 10000)", [conn.connection.info.backend_pid])


def test_a_schema_change_needs_no_separate_health_check(persistent):
    conn, checks = persistent
    request(conn, "alpha")

    request(conn, "beta")
    request(conn, "alpha")
    assert checks == []  # the SET search_path of each switch was the check

    request(conn, "alpha")
    assert checks == ["socket"]  # same schema: no SET due, so the socket is looked at; it is quiet

    request(conn, "alpha")
    assert checks == ["socket", "socket"]  # and no SELECT 1 round trip is made


def test_a_connection_the_server_wrote_to_while_idle_gets_the_round_trip(persistent):
    conn, checks = persistent
    request(conn, "alpha")
    with conn.cursor() as cursor:
        cursor.execute("LISTEN bench_health")
    with psycopg.connect(database_url().replace("postgres://", "postgresql://", 1), autocommit=True) as other:
        other.execute("NOTIFY bench_health")
    old_pid = conn.connection.info.backend_pid
    deadline = 50
    while deadline and not _readable(conn):
        import time

        time.sleep(0.05)
        deadline -= 1

    assert request(conn, "alpha") == 5
    assert checks == ["socket", "select"]  # something to read: SELECT 1 decides, and the connection is fine
    assert conn.connection.info.backend_pid == old_pid


def _readable(conn: DatabaseWrapper) -> bool:
    import select

    return bool(select.select([conn.connection.pgconn.socket], [], [], 0)[0])


@pytest.mark.parametrize("next_schema", ["beta", "alpha"])
def test_a_dead_connection_is_replaced_before_the_request_uses_it(persistent, next_schema):
    conn, _checks = persistent
    request(conn, "alpha")
    old_pid = conn.connection.info.backend_pid
    terminate(conn)

    assert request(conn, next_schema) == 5  # the default roles, read through a new connection
    assert conn.connection.info.backend_pid != old_pid


def current_schema(conn: DatabaseWrapper) -> str:
    with conn.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        return str(cursor.fetchone()[0])


def test_the_set_goes_through_libpq_and_switches_the_schema(persistent):
    conn, _checks = persistent
    executed: list[str] = []
    request(conn, "alpha")
    assert current_schema(conn) == "alpha"

    # Nothing watches the queries: the SET does not pass through Django's cursor wrapper.
    conn.set_schema("beta")
    real_execute = psycopg.Cursor.execute

    def spy(self, query, *args, **kwargs):
        executed.append(str(query))
        return real_execute(self, query, *args, **kwargs)

    psycopg.Cursor.execute = spy  # type: ignore[method-assign]
    try:
        assert current_schema(conn) == "beta"
    finally:
        psycopg.Cursor.execute = real_execute  # type: ignore[method-assign]
    assert executed == ["SELECT current_schema()"]
    assert conn.search_path_set_schemas == ["beta", "public"]


def test_a_watched_connection_still_sees_the_set(persistent):
    from django.test.utils import CaptureQueriesContext

    conn, _checks = persistent
    request(conn, "alpha")
    with CaptureQueriesContext(conn) as captured:
        request(conn, "beta")
    assert [q["sql"] for q in captured.captured_queries][:1] == ['SET search_path = "beta","public"']


def test_a_set_refused_in_an_aborted_transaction_is_set_again_after_the_rollback(persistent):
    from django.db import DatabaseError

    conn, _checks = persistent
    request(conn, "alpha")
    conn.set_autocommit(False)
    try:
        with pytest.raises(DatabaseError), conn.cursor() as cursor:
            cursor.execute("SELECT 1/0")
        conn.set_schema("beta")
        with pytest.raises(DatabaseError), conn.cursor() as cursor:  # the SET is refused, then the query
            cursor.execute("SELECT 1")
        assert conn.search_path_set_schemas is None
        conn.rollback()
    finally:
        conn.set_autocommit(True)
    assert current_schema(conn) == "beta"


def test_a_set_refused_on_a_healthy_idle_connection_stops_the_query(persistent, monkeypatch):
    from django.db import DatabaseError

    from tenants.postgresql_backend import base as backend

    conn, _checks = persistent
    request(conn, "alpha")
    conn.set_schema("beta")
    # A statement PostgreSQL refuses, as a broken SET would be: the query must not run under "alpha".
    monkeypatch.setitem(backend._set_statements, ("beta", True, "public"), (["beta", "public"], b"SET nonsense"))
    with pytest.raises(DatabaseError, match="SET search_path failed"), conn.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
    assert conn.search_path_set_schemas is None
