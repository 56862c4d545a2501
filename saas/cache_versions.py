"""Per-tenant version stamps for cached definitions.

A *version* names one state of a family of definitions (`access`: roles, profiles, groups, sharing;
`metadata`: custom fields, picklists, layouts; `views`: the members' saved list views and layouts). Caches
key their entries by it, so an entry never goes stale: a change writes a new version and every process
computes afresh on its next read. The stamps
live in Redis under the tenant's key prefix (django-tenants' `make_key`), all of them fetched in one
round trip per request and remembered until the request (or task) ends.

When Redis is unreachable `version()` answers None and callers read the database directly: slower,
never stale. A newly provisioned or restored schema gets fresh stamps (`versions_reset`), so a schema
name used before can never meet entries cached for its previous owner.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db.models.signals import post_migrate

from tenants.runtime import current_schema

logger = logging.getLogger(__name__)

NAMES = ("access", "metadata", "views")
T = TypeVar("T")
_local = threading.local()


def _key(name: str) -> str:
    return f"{name}:version"


def versions_memo_clear(**_kwargs: Any) -> None:
    """Forget the stamps read in this request or task (at its start and end, and after a bump)."""
    _local.memo = None


request_started.connect(versions_memo_clear, dispatch_uid="cache-versions-start")
request_finished.connect(versions_memo_clear, dispatch_uid="cache-versions-end")


def _fetch() -> dict[str, str]:
    keys = [_key(name) for name in NAMES]
    found: dict[str, Any] = cache.get_many(keys)
    for key in keys:
        if found.get(key) is None:
            fresh = uuid.uuid4().hex
            found[key] = fresh if cache.add(key, fresh, None) else (cache.get(key) or fresh)
    return {name: str(found[_key(name)]) for name in NAMES}


def version(name: str) -> str | None:
    """The current tenant's stamp for `name`; None when the cache cannot be reached."""
    schema = current_schema()
    memo: tuple[str, dict[str, str]] | None = getattr(_local, "memo", None)
    if memo is None or memo[0] != schema:
        try:
            memo = (schema, _fetch())
        except Exception:
            logger.warning("cache versions: cache unavailable, reading definitions without it", exc_info=True)
            memo = (schema, {})
        _local.memo = memo
    return memo[1].get(name)


def stamps_wanted() -> list[str] | None:
    """The cache keys of the current tenant's stamps when this request or task has not read them yet, else
    None. Code about to make a Redis round trip anyway (the API's request budget, `saas.throttle`) fetches
    them in the same one and hands the answers to `stamps_seen`: one round trip less per API request."""
    memo: tuple[str, dict[str, str]] | None = getattr(_local, "memo", None)
    if memo is not None and memo[0] == current_schema():
        return None
    return [cache.make_and_validate_key(_key(name)) for name in NAMES]


def stamps_seen(values: list[Any] | None) -> bool:
    """Remember the stamps read from the cache (decoded, in `stamps_wanted`'s order) for the rest of the
    request, as `version` would have; True when kept. A missing stamp keeps nothing: `version` then reads (and
    makes) them itself."""
    if values is None or len(values) != len(NAMES) or any(value is None for value in values):
        return False
    _local.memo = (current_schema(), {name: str(value) for name, value in zip(NAMES, values, strict=True)})
    return True


def version_bump(name: str, *, schema: str | None = None) -> None:
    """A new state of `name` in the current tenant (or `schema`: an after-commit callback may run
    after the connection moved to another schema): every process recomputes on its next read."""
    versions_memo_clear()
    try:
        if schema is not None:
            from django_tenants.utils import schema_context

            with schema_context(schema):
                cache.set(_key(name), uuid.uuid4().hex, None)
        else:
            cache.set(_key(name), uuid.uuid4().hex, None)
    except Exception:
        # Without the cache nobody reads cached entries either (see `version`).
        logger.warning("cache versions: cache unavailable, %s version not bumped", name, exc_info=True)


def versions_reset() -> None:
    """Fresh stamps for every family in the current schema (a new, renamed-in or restored schema)."""
    for name in NAMES:
        version_bump(name)


def _after_migrate(app_config: Any = None, **_kwargs: Any) -> None:
    # A data migration may have changed definitions in the schema it ran on. Django sends the signal
    # once per installed app; one app (the engine's) is enough.
    if getattr(app_config, "label", None) == "engine":
        versions_reset()


post_migrate.connect(_after_migrate, dispatch_uid="cache-versions-after-migrate")


# `remembered` keeps what it read or computed in the process too, for at most LOCAL_SECONDS, so a busy page
# does not ask Redis for the same versioned value on every request (issue 25: a list page read Redis twice for
# them, ~8 % of a worker's time under load went to waiting on those reads). Keyed by schema and versioned key
# like the Redis entry: never another tenant's, never an older version's. LOCAL_MAX entries at most, the least
# recently used dropped first.
LOCAL_SECONDS = 15.0
LOCAL_MAX = 1024


class LocalValues:
    """Values kept in this process: each for a time, at most `max_entries` of them, the least recently used
    dropped first. Without limits given, the module's LOCAL_MAX and LOCAL_SECONDS (read on each use)."""

    def __init__(self, max_entries: int | None = None, max_seconds: float | None = None) -> None:
        self.max_entries = max_entries
        self.max_seconds = max_seconds
        self._entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """What `put` kept under `key`, or None once expired or dropped."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: Any, value: Any, ttl: float) -> None:
        """Keep `value` under `key` for min(ttl, the store's seconds)."""
        seconds = self.max_seconds if self.max_seconds is not None else LOCAL_SECONDS
        limit = self.max_entries if self.max_entries is not None else LOCAL_MAX
        with self._lock:
            self._entries[key] = (time.monotonic() + min(ttl, seconds), value)
            self._entries.move_to_end(key)
            while len(self._entries) > limit:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Any:
        with self._lock:
            return iter(list(self._entries))


_values = LocalValues()


def remembered_local_clear() -> None:
    """Forget the values `remembered` keeps in this process (tests; a restored schema needs no call: it
    gets new version stamps, so new keys)."""
    _values.clear()


def local_get(key: tuple[str, Hashable]) -> Any:
    """What `local_put` kept under `key` in this process, or None once expired or dropped."""
    return _values.get(key)


def local_put(key: tuple[str, Hashable], value: Any, ttl: float) -> None:
    """Keep `value` in this process under `key` ((schema, a key naming its versions)) for min(ttl,
    LOCAL_SECONDS); `local_get` answers it until then (None after)."""
    _values.put(key, value, ttl)


def remembered(key: str, compute: Callable[[], T], *, ttl: int, family: str = "access", kind: type = object) -> T:
    """`compute()`, kept for `ttl` seconds under `key` and the current tenant's `family` version (the schema
    prefixes the key as every cache key), so a change of that family is seen at once. A stored value that is
    not a `kind` is ignored. Without the cache, computed every time: slower, never stale. The process keeps
    its copy too (LOCAL_SECONDS): a value may outlive `ttl` by that much, never a version change. Callers
    treat the value as read-only (it is shared between requests)."""
    stamp = version(family)
    if stamp is None:
        return compute()
    return local_remember(f"{key}:{family}:{stamp}", compute, ttl=ttl, kind=kind, shared=True)


def local_remember(
    key: Hashable | None, compute: Callable[[], T], *, ttl: float, kind: type = object, shared: bool = False
) -> T:
    """The value named `key` in the current schema: this process's copy (`local_put`), else (when `shared`)
    the cache's, else `compute()`, then kept in both. The key must name everything the value depends on
    (versions, language, values): nothing here ever invalidates it. A None key computes every time. A
    value that is not a `kind` is ignored; with `shared` and the cache unreachable, nothing is kept. A key
    only this process keeps may be any hashable value (compared whole); a shared one is text (the cache's key)."""
    if key is None:
        return compute()
    if shared and not isinstance(key, str):
        raise TypeError("a shared value's key is text")
    local_key = (current_schema(), key)
    found = local_get(local_key)
    if found is not None and isinstance(found, kind):
        return found  # type: ignore[return-value]
    if shared:
        try:
            found = cache.get(key)
        except Exception:
            found = None
        if found is not None and isinstance(found, kind):
            local_put(local_key, found, ttl)
            return found  # type: ignore[return-value]
    value = compute()
    if shared:
        try:
            cache.set(key, value, int(ttl))
        except Exception:
            logger.warning("cache versions: cache unavailable, %s not stored", key, exc_info=True)
            return value
    local_put(local_key, value, ttl)
    return value
