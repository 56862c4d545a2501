"""Per-tenant, per-module stamps of the records' state, for caches of results computed from many records
(the board's column counts and sums, ADR 0047).

Every write the engine announces (`events.record_event`: create, update, delete, restore, merge, imports)
writes a new stamp for its module twice: at once, and again once the transaction has committed. The second
one matters: a request that read the first stamp before the commit may have computed from the old rows and
cached them under it; after the commit nobody reads that stamp again. (The first one is what tests, which
never commit, and code reading inside the writing transaction see.)

A cached result is keyed by the stamps of the module *and of the modules its visibility follows* (deals and
contacts follow their organisation: moving an organisation to another owner changes who sees its deals), by
the tenant's access version and by the member. Writes that bypass the services (raw SQL, bulk loads, a
module's own `.update()` of an owner) are caught by the entries' short lifetime (`CACHE_SECONDS`) only.
Without Redis `stamps` answers None and callers compute every time.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import transaction

from saas import cache_versions

if TYPE_CHECKING:
    from crm_apps.access.models import Member
    from crm_apps.engine.spec import ModuleSpec

logger = logging.getLogger(__name__)

# The longest a cached result may lag a write that did not go through the services.
CACHE_SECONDS = 60


def _key(module: str) -> str:
    return f"records:{module}:version"


def _bump(module: str, schema: str | None = None) -> None:
    try:
        if schema is None:
            cache.set(_key(module), uuid.uuid4().hex, None)
        else:
            from django_tenants.utils import schema_context

            with schema_context(schema):
                cache.set(_key(module), uuid.uuid4().hex, None)
    except Exception:
        logger.warning("record versions: cache unavailable, %s not bumped", module, exc_info=True)


def records_changed(module: str, _event: str, _record_ids: list[str]) -> None:
    """`events` listener: a new stamp now and another after the commit (see the module's docstring)."""
    from tenants.runtime import current_schema

    schema = current_schema()
    _bump(module)
    transaction.on_commit(lambda: _bump(module, schema))


def _modules(spec: ModuleSpec) -> list[str]:
    """The module and the modules its visibility may follow (its sharing parents)."""
    from crm_apps.access.visibility import MAX_PARENT_DEPTH, _parent_spec

    found = [spec.key]
    current: ModuleSpec | None = spec
    for _depth in range(MAX_PARENT_DEPTH):
        current = _parent_spec(current) if current is not None else None
        if current is None or current.key in found:
            break
        found.append(current.key)
    return found


def cache_key(kind: str, *, spec: ModuleSpec, member: Member, parts: list[Any]) -> str | None:
    """A cache key for a result of `kind` that `member` computed from `spec`'s visible records with
    `parts` (field, filters, search...); None when the cache cannot be reached (then do not cache)."""
    access = cache_versions.version("access")
    if access is None:
        return None
    modules = _modules(spec)
    try:
        found: dict[str, Any] = cache.get_many([_key(m) for m in modules])
    except Exception:
        logger.warning("record versions: cache unavailable", exc_info=True)
        return None
    stamps = []
    for module in modules:
        stamp = found.get(_key(module))
        if stamp is None:
            stamp = uuid.uuid4().hex
            if not cache.add(_key(module), stamp, None):
                stamp = cache.get(_key(module)) or stamp
        stamps.append(str(stamp))
    text = repr([kind, spec.key, member.pk, member.is_admin, member.active, access, stamps, parts])
    return f"{kind}:{spec.key}:{hashlib.sha256(text.encode()).hexdigest()}"
