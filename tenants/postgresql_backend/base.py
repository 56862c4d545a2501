"""django-tenants' PostgreSQL backend, with one round trip less when a request changes schema.

With persistent connections and CONN_HEALTH_CHECKS, Django checks a reused connection at the start of
every request with `SELECT 1`; django-tenants then issues `SET search_path` before the first query
whenever the schema differs from the connection's last one (every request, when a worker serves many
tenants in turn). When both are due, the `SET` is the health check: it reaches the server first, and if
the connection turns out dead (and no transaction was open) it is replaced and the cursor obtained again,
exactly as a failed `SELECT 1` would have done.

When no `SET` is due (a worker serving the same tenant again), the check is local: an idle connection's
socket has nothing to read unless the server closed it or sent something (a shutdown, a terminated
backend: PostgreSQL writes its FATAL message and closes). Only then does `SELECT 1` make the round trip
that decides; a quiet socket is taken as healthy. A connection that dies without a word (a lost network)
is found by the request's first query as before: it fails, and the connection is replaced at the request's
end.

The `SET` itself goes straight to libpq (Django's own health check skips its cursor wrapper too), with its
text made once per schema, unless something watches the queries (a debug cursor, `assertNumQueries`, an
execute wrapper): then django-tenants' path runs unchanged, so the statement stays visible to them.

Timestamps are read by psycopg's compiled loader (issue 25). Django registers its own `timestamptz` loader on
every connection: a Python subclass of psycopg's pure-Python loader (it parses the text, then sets tzinfo to
the connection's time zone), and psycopg built with its C extension (`psycopg[binary]`, pinned) only uses its
compiled loaders for its own classes, so every timestamp of every row went through Python's parser (9 % of an
API list request in a py-spy profile). When Django keeps the connection in UTC (USE_TZ on, no database
TIME_ZONE: the project's settings), PostgreSQL sends timestamptz values in UTC and the compiled loader returns
what Django's would: an aware datetime whose tzinfo is `datetime.timezone.utc` (psycopg maps the session's
"UTC" to that very object). Django's `create_cursor` reads a `timezone` attribute off the connection's loader
class to decide whether a cursor needs its own; the compiled class has none (and cannot be subclassed), so
`create_cursor` here makes the cursor as Django does without that step while the compiled loader is in use.
Without the C extension, or with another database time zone, Django's loader stays.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import select
from typing import Any

import psycopg
from django.db import DatabaseError
from django.db.backends.postgresql import base as postgresql_base
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.utils.asyncio import async_unsafe
from django_tenants.postgresql_backend import base
from django_tenants.utils import get_limit_set_calls, get_public_schema_name

MAX_REMEMBERED_STATEMENTS = 20_000
# (schema, include public, public schema name) -> (search path, the SET statement); validated once.
_set_statements: dict[tuple[str, bool, str], tuple[list[str], bytes]] = {}
TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid


def _compiled_timestamptz_loader() -> type | None:
    """psycopg's compiled text `timestamptz` loader; None when psycopg runs without its C extension (or a
    future psycopg moves its private module: then Django's loader simply stays)."""
    try:
        from psycopg import _cmodule
    except ImportError:  # pragma: no cover - depends on psycopg's private layout
        return None
    module = getattr(_cmodule, "_psycopg", None)
    return getattr(module, "TimestamptzLoader", None) if module is not None else None


COMPILED_TIMESTAMPTZ_LOADER = _compiled_timestamptz_loader()


class DatabaseWrapper(base.DatabaseWrapper):
    _health_check_deferred = False
    health_check_done: bool
    search_path_set_schemas: list[str] | None
    _setting_search_path: bool

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if COMPILED_TIMESTAMPTZ_LOADER is not None and self._utc():
            connection.adapters.register_loader("timestamptz", COMPILED_TIMESTAMPTZ_LOADER)
        return connection

    def _utc(self) -> bool:
        return self.timezone is dt.UTC and self.timezone_name == "UTC"

    def compiled_timestamps(self) -> bool:
        """Whether this connection reads timestamps with psycopg's compiled loader (see the module's text)."""
        if self.connection is None or COMPILED_TIMESTAMPTZ_LOADER is None:
            return False
        loader = self.connection.adapters.get_loader(TIMESTAMPTZ_OID, psycopg.pq.Format.TEXT)
        return loader is COMPILED_TIMESTAMPTZ_LOADER

    @async_unsafe
    def create_cursor(self, name: str | None = None) -> Any:
        if not self.compiled_timestamps():
            return super().create_cursor(name)
        if not self._utc():
            # The time zone settings changed since this connection was made (a test): Django's loader again.
            register_tzloader(self.timezone, self.connection)
            return super().create_cursor(name)
        # Django's create_cursor without its time zone step (this connection's loader is already in UTC).
        if not name:
            return self.connection.cursor()
        withhold = self.connection.autocommit
        if self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
            server_side: Any = postgresql_base.ServerSideCursor  # (the stubs know psycopg2's)
            return server_side(self.connection, name=name, scrollable=False, withhold=withhold)
        return self.connection.cursor(name, scrollable=False, withhold=withhold)

    def is_usable(self) -> bool:
        """Usable without a round trip when the idle connection's socket is quiet (see the module's text)."""
        conn = self.connection
        if conn is None:
            return False
        pgconn = conn.pgconn
        if pgconn.status != psycopg.pq.ConnStatus.OK or pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return self.is_usable_round_trip()
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
            quiet = not poller.poll(0)
        except (OSError, ValueError, psycopg.Error):
            quiet = False
        return quiet or self.is_usable_round_trip()

    def is_usable_round_trip(self) -> bool:
        """Django's check: `SELECT 1` on the server."""
        return bool(super().is_usable())

    def _search_path_due(self) -> bool:
        return not (get_limit_set_calls() and self.search_path_set_schemas)

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.in_atomic_block
            and self._search_path_due()
        ):
            self._health_check_deferred = True
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _cursor(self, name: str | None = None) -> Any:
        try:
            cursor = super()._cursor(name)
            deferred = self._health_check_deferred
        finally:
            self._health_check_deferred = False
        # django-tenants swallows a failed SET (search_path_set_schemas stays None); outside a transaction
        # that means the connection is gone: the check failed, so a new connection, as Django would do.
        if deferred and self.search_path_set_schemas is None and not self.in_atomic_block:
            with contextlib.suppress(Exception):
                cursor.close()
            self.close()
            cursor = super()._cursor(name)
        return cursor

    def _handle_search_path(self, cursor: Any = None) -> None:
        if (
            cursor is None
            or self.queries_logged
            or self.execute_wrappers
            or self._setting_search_path
            or self.connection.pgconn.pipeline_status != psycopg.pq.PipelineStatus.OFF  # PQexec refused there
        ):
            return super()._handle_search_path(cursor)
        if get_limit_set_calls() and self.search_path_set_schemas:
            return None
        if not self.schema_name:
            return super()._handle_search_path(cursor)  # django-tenants' error
        key = (self.schema_name, bool(self.include_public_schema), get_public_schema_name())
        known = _set_statements.get(key)
        if known is None:
            search_paths = self._get_cursor_search_paths()  # validates every name
            statement = ("SET search_path = " + ",".join(base.quote_schema_name(s) for s in search_paths)).encode()
            if len(_set_statements) >= MAX_REMEMBERED_STATEMENTS:
                _set_statements.clear()
            known = _set_statements[key] = (search_paths, statement)
        self._setting_search_path = True
        pgconn = self.connection.pgconn
        error = ""
        try:
            # libpq directly, like Django's own `SELECT 1` health check but without a cursor: a session
            # SET changes no transaction state psycopg keeps (an idle connection stays idle).
            result = pgconn.exec_(known[1])
            ok = result.status == psycopg.pq.ExecStatus.COMMAND_OK
            error = (result.error_message or b"").decode(errors="replace")
        except psycopg.Error as exc:
            ok, error = False, str(exc)
        finally:
            self._setting_search_path = False
        if ok:
            self.search_path_set_schemas = list(known[0])
        elif pgconn.status == psycopg.pq.ConnStatus.OK and pgconn.transaction_status in (
            psycopg.pq.TransactionStatus.IDLE,
            psycopg.pq.TransactionStatus.INTRANS,
        ):
            # A healthy connection outside a failed transaction refused the SET: never let the next
            # query run under the previous tenant's path.
            self.search_path_set_schemas = None
            raise DatabaseError(f"SET search_path failed: {error}")
        else:
            # As django-tenants: a failed SET (aborted transaction, dead connection) leaves the path unknown;
            # and as Django's cursor wrapper: the connection is checked before it is reused.
            self.search_path_set_schemas = None
            self.errors_occurred = True
        return None
