"""django-tenants' PostgreSQL backend, with one round trip less when a request changes schema.

With persistent connections and CONN_HEALTH_CHECKS, Django checks a reused connection at the start of
every request with `SELECT 1`; django-tenants then issues `SET search_path` before the first query
whenever the schema differs from the connection's last one (every request, when a worker serves many
tenants in turn). When both are due, the `SET` is the health check: it reaches the server first, and if
the connection turns out dead (and no transaction was open) it is replaced and the cursor obtained again,
exactly as a failed `SELECT 1` would have done.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django_tenants.postgresql_backend import base
from django_tenants.utils import get_limit_set_calls


class DatabaseWrapper(base.DatabaseWrapper):
    _health_check_deferred = False
    health_check_done: bool

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
