"""A short-lived cache of dashboard widgets' results, so reopening or refreshing a dashboard does not aggregate
the same records again when nothing changed.

An entry is keyed by everything its numbers depend on, so it is never served to someone it was not computed
for, nor after a change it does not reflect:

- the tenant's schema (also in django-tenants' key prefix) - two workspaces never share an entry, even
  where their widget and member ids coincide;
- the widget and a hash of what it computes (its kind, its configuration, the report definition it runs), so
  editing a widget or its saved report is a new entry;
- the member (id, admin flag, role, time zone, today's date in that zone, language): visibility, "me / my
  team" and relative dates are the member's; two members never share an entry, whatever their rights;
- the tenant's access version (roles, profiles, groups, sharing rules: `crm_apps.access.grants`) and metadata
  version (custom fields, picklists), and the stored exchange rates;
- the tenant's *records data version*, bumped after the commit of every record write the engine announces
  (`crm_apps.engine.events.record_event`: create, update, delete, restore, merge, import, web forms, the
  portal, conversions) and of every quota change.

The data version is one per workspace, not one per module: a module's visibility can follow other modules'
records (deals follow their organisation's owner), a report reads referenced and linked modules, so a
per-module stamp would have to know every module a widget depends on - one stamp is exact, and writes are
rare next to dashboard reads. Writes that bypass the engine's services (a data migration, a raw bulk load)
are seen when the entry expires (`TTL`). Without Redis nothing is cached (never stale).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import translation

from crm_apps.access.grants import access_version
from crm_apps.access.models import Member
from saas import cache_versions

logger = logging.getLogger(__name__)

TTL = 60  # seconds: bounds how long a write that bypasses the engine's services goes unseen
DATA_KEY = "reports:data:version"


def data_version() -> str | None:
    """The current workspace's records data version (None: the cache is unreachable)."""
    try:
        found = cache.get(DATA_KEY)
        if found is None:
            fresh = uuid.uuid4().hex
            found = fresh if cache.add(DATA_KEY, fresh, None) else cache.get(DATA_KEY)
        return str(found) if found is not None else None
    except Exception:
        logger.warning("reports cache: cache unavailable, computing widgets without it", exc_info=True)
        return None


def data_version_bump(*, schema: str | None = None) -> None:
    """A new state of the workspace's records: every cached widget result is recomputed on its next read."""
    from django_tenants.utils import schema_context

    from tenants.runtime import current_schema

    try:
        with schema_context(schema or current_schema()):
            cache.set(DATA_KEY, uuid.uuid4().hex, None)
    except Exception:
        logger.warning("reports cache: cache unavailable, data version not bumped", exc_info=True)


def data_changed() -> None:
    """Bump the data version once the current transaction commits (never for a write that rolls back; a
    reader that computed between the write and the commit stored its entry under the old version)."""
    from tenants.runtime import current_schema

    schema = current_schema()
    transaction.on_commit(lambda: data_version_bump(schema=schema))


def on_record_event(module: str, event: str, record_ids: list[str]) -> None:
    data_changed()


def _key(*, scope: str, fingerprint: Any, actor: Member, versions: tuple[str, ...]) -> str:
    from crm_apps.engine import currency
    from crm_apps.reports import dates
    from tenants.runtime import current_schema

    rates = currency.rates()
    member = (
        actor.pk,
        actor.is_admin,
        getattr(actor, "role_id", None),
        str(actor.zone),
        str(dates.today_in(actor.zone)),
    )
    material = json.dumps(
        [
            current_schema(),
            scope,
            fingerprint,
            member,
            translation.get_language(),
            versions,
            rates.base,
            sorted((code, str(rate)) for code, rate in rates.rates.items()),
        ],
        sort_keys=True,
        default=str,
    )
    return f"reports:{scope}:{hashlib.sha256(material.encode()).hexdigest()}"


def cached(*, widget_id: int, fingerprint: Any, actor: Member, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`compute()` for this widget and member, or its result cached under the same key within `TTL`."""
    return _cached(scope=f"widget:{widget_id}", fingerprint=fingerprint, actor=actor, compute=compute)


def cached_run(*, definition: Any, actor: Member, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A report run (saved or ad hoc) for this member, or its result cached within `TTL`: keyed by the
    definition as sent or saved (`raw`) and what the member's parse of it left out, with everything
    `_key` adds (tenant, member, versions, rates). Issue 25: a summary over 294k deals took ~370 ms a run;
    four people opening the same report paid it four times."""
    fingerprint = [definition.module, definition.raw, definition.omitted, definition.limit]
    return _cached(scope="run", fingerprint=fingerprint, actor=actor, compute=compute)


def _cached(*, scope: str, fingerprint: Any, actor: Member, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    data = data_version()
    access = access_version()
    metadata = cache_versions.version("metadata")
    if data is None or access is None or metadata is None:
        return compute()
    key = _key(scope=scope, fingerprint=fingerprint, actor=actor, versions=(data, access, metadata))
    try:
        found = cache.get(key)
    except Exception:
        found = None
    if isinstance(found, dict):
        return found
    result = compute()
    try:
        cache.set(key, result, TTL)
    except Exception:
        logger.warning("reports cache: could not store a widget result", exc_info=True)
    return result
