"""The warm pool of tenant schemas (ADR 0008): pre-migrated, empty schemas that a signup claims and
renames, so creating a tenant no longer runs every migration while the person waits.

- `tenant_pool_fill(target=N)` (Celery every minute and after each claim, one filler at a time)
  upgrades schemas left behind by a deploy, drops extras and creates the missing ones, as copies of
  the template when it is on the current migrations (tenants/schema_clone.py, several times faster),
  else by running every migration.
- `pool_schema_claim(schema_name=...)` runs inside the signup transaction: it locks one ready row
  (`FOR UPDATE SKIP LOCKED`, so concurrent signups take different schemas) and renames its schema.
  If the signup then fails, the rollback undoes the rename and the claim: the schema is ready again.
- A schema is ready only while its migration fingerprint equals the running code's; `migrate_schemas`
  upgrades the pool after the tenants (`migration_executor`), and the filler catches up on anything
  a migration run missed. A stale schema is never handed out.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import pkgutil
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from tenants.models import PoolSchema
from tenants.runtime import use_public_schema

if TYPE_CHECKING:
    from tenants.schema_clone import ClonePlan

logger = logging.getLogger(__name__)

POOL_PREFIX = "pool_"  # "_" is never part of a subdomain, so no signup can name a pool schema
TEMPLATE_NAME = "pool_template"
FILL_LOCK = "tenants.pool.fill"  # advisory lock: one filler at a time, across every process
CLAIMED_ROWS_KEPT = timedelta(days=30)


@functools.cache
def _migration_files() -> frozenset[tuple[str, str]]:
    """(app_label, name) of every migration file of every installed app, as MigrationLoader finds them."""
    found: set[tuple[str, str]] = set()
    for app_config in apps.get_app_configs():
        module_name, _explicit = MigrationLoader.migrations_module(app_config.label)
        if module_name is None:
            continue
        try:
            module = import_module(module_name)
        except ModuleNotFoundError:
            continue
        if not hasattr(module, "__path__"):
            continue
        for info in pkgutil.iter_modules(module.__path__):
            if not info.ispkg and not info.name.startswith(("_", "~")):
                found.add((app_config.label, info.name))
    return frozenset(found)


@functools.cache
def migration_fingerprint() -> str:
    """A digest of the migrations this code would bring a tenant schema to (django-tenants records every
    app's migrations in each tenant schema, so every app counts)."""
    names = sorted(f"{app}.{name}" for app, name in _migration_files())
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def _schema_drop(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(name)} CASCADE")


def _migrate(schema_name: str) -> None:
    """Run the tenant migrations into `schema_name` the way django-tenants does, inside the caller's
    transaction (django-tenants' executor then neither commits nor closes the connection)."""
    try:
        call_command("migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=0)
    finally:
        use_public_schema()


def pool_schema_create(*, template: bool = False, plan: ClonePlan | None = None) -> PoolSchema:
    """Create one pool schema (or the template), recorded with the code's fingerprint: a copy of the
    template when `plan` (the template's clone plan) is given and the copy succeeds, else by running
    every tenant migration."""
    use_public_schema()
    name = TEMPLATE_NAME if template else f"{POOL_PREFIX}{secrets.token_hex(6)}"
    with transaction.atomic():
        if plan is None or not _clone_into(plan, name):
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {_quote(name)}")
            _migrate(name)
        return PoolSchema.objects.create(name=name, fingerprint=migration_fingerprint(), is_template=template)


def _clone_into(plan: ClonePlan, name: str) -> bool:
    from tenants.schema_clone import schema_clone

    try:
        with transaction.atomic():
            schema_clone(plan=plan, target=name)
    except DatabaseError:
        logger.exception("could not copy the template into pool schema %s; running the migrations instead", name)
        return False
    return True


def _template_plan() -> ClonePlan | None:
    """The clone plan of the template when it is on the current migrations (None: migrate instead)."""
    from tenants.schema_clone import CloneUnsupported, schema_clone_plan

    current = PoolSchema.objects.filter(
        is_template=True, claimed_at__isnull=True, fingerprint=migration_fingerprint()
    ).first()
    if current is None or not _schema_exists(current.name):
        return None
    try:
        return schema_clone_plan(source=current.name)
    except CloneUnsupported:
        logger.exception("the template cannot be copied; pool schemas are migrated instead")
        return None


def pool_template_ensure() -> None:
    """Create the template schema when there is none (upgrading a stale one is pool_schemas_upgrade's job)."""
    use_public_schema()
    if not PoolSchema.objects.filter(is_template=True).exists():
        if _schema_exists(TEMPLATE_NAME):  # left without its row (e.g. restored from a dump): start afresh
            _schema_drop(TEMPLATE_NAME)
        pool_schema_create(template=True)


def pool_schema_claim(*, schema_name: str) -> bool:
    """Rename a ready pool schema to `schema_name` inside the caller's transaction; False when none is ready.

    The row stays locked until that transaction ends: a concurrent signup skips it and takes another,
    and a rollback gives it back to the pool untouched.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("pool_schema_claim must run inside the signup transaction")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id, p.name FROM tenants_poolschema p"
            " WHERE p.claimed_at IS NULL AND NOT p.is_template AND p.fingerprint = %s"
            " AND EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = p.name)"
            " ORDER BY p.created_at, p.id LIMIT 1 FOR UPDATE OF p SKIP LOCKED",
            [migration_fingerprint()],
        )
        row = cursor.fetchone()
        if row is None:
            return False
        pk, name = row
        cursor.execute(f"ALTER SCHEMA {_quote(name)} RENAME TO {_quote(schema_name)}")
    PoolSchema.objects.filter(pk=pk).update(claimed_at=timezone.now(), claimed_as=schema_name)
    return True


def _ready() -> Any:
    return PoolSchema.objects.filter(claimed_at__isnull=True, is_template=False, fingerprint=migration_fingerprint())


def pool_ready_count() -> int:
    """Schemas a signup could claim now."""
    return int(_ready().count())


def pool_status() -> dict[str, Any]:
    """Counts for operators: ready schemas, stale ones (older or newer migrations), the template, recent claims."""
    unclaimed = PoolSchema.objects.filter(claimed_at__isnull=True)
    template = unclaimed.filter(is_template=True).first()
    fingerprint = migration_fingerprint()
    return {
        "ready": pool_ready_count(),
        "stale": unclaimed.filter(is_template=False).exclude(fingerprint=fingerprint).count(),
        "template": "missing" if template is None else ("ready" if template.fingerprint == fingerprint else "stale"),
        "claimed_24h": PoolSchema.objects.filter(claimed_at__gte=timezone.now() - timedelta(hours=24)).count(),
    }


def pool_template_clone(*, schema_name: str) -> bool:
    """Copy the template into a new schema `schema_name`, inside the caller's transaction (the fallback
    when no pool schema is ready). False, with nothing created, when there is no template on the current
    migrations or it holds something tenants.schema_clone cannot copy."""
    from tenants.schema_clone import CloneUnsupported, schema_clone, schema_clone_plan

    if not connection.in_atomic_block:
        raise RuntimeError("pool_template_clone must run inside the signup transaction")
    with connection.cursor() as cursor:
        # FOR SHARE: clones run side by side, an upgrade of the template (FOR UPDATE) waits for them.
        cursor.execute(
            "SELECT p.name FROM tenants_poolschema p WHERE p.is_template AND p.fingerprint = %s"
            " AND EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = p.name) FOR SHARE OF p SKIP LOCKED",
            [migration_fingerprint()],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    try:
        with transaction.atomic():
            schema_clone(plan=schema_clone_plan(source=row[0]), target=schema_name)
    except (CloneUnsupported, DatabaseError):
        logger.exception("could not copy the template schema into %s; running the migrations instead", schema_name)
        return False
    return True


def _applied_migrations(schema_name: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {_quote(schema_name)}.django_migrations")  # noqa: S608 (quoted name)
        return {(app, name) for app, name in cursor.fetchall()}


def pool_schema_upgrade(*, pk: int) -> str:
    """Bring one unclaimed pool schema to the current migrations, or drop it when that fails.

    Returns what happened: "current", "upgraded", "dropped", "newer" (migrated by newer code during a
    rolling deploy: left alone, never claimed by this code) or "busy" (being claimed or upgraded).
    """
    use_public_schema()
    fingerprint = migration_fingerprint()
    with transaction.atomic():
        row = PoolSchema.objects.select_for_update(skip_locked=True).filter(pk=pk, claimed_at__isnull=True).first()
        if row is None:
            return "busy"
        if row.fingerprint == fingerprint:
            return "current"
        if not _schema_exists(row.name):
            row.delete()
            return "dropped"
        if _applied_migrations(row.name) - _migration_files():
            return "newer"
        try:
            with transaction.atomic():
                _migrate(row.name)
        except Exception:
            logger.exception("pool schema %s could not be migrated; dropping it", row.name)
            _schema_drop(row.name)
            row.delete()
            return "dropped"
        row.fingerprint = fingerprint
        row.save(update_fields=["fingerprint"])
        return "upgraded"


def pool_schemas_upgrade() -> dict[str, int]:
    """Upgrade every unclaimed pool schema left on older migrations (after a deploy's migration run)."""
    outcomes: dict[str, int] = {}
    stale = PoolSchema.objects.filter(claimed_at__isnull=True).exclude(fingerprint=migration_fingerprint())
    for pk in stale.order_by("created_at").values_list("pk", flat=True):
        outcome = pool_schema_upgrade(pk=pk)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def pool_schema_drop(*, pk: int) -> bool:
    """Drop one unclaimed pool schema and its row (skipped when a signup is claiming it right now)."""
    use_public_schema()
    with transaction.atomic():
        row = PoolSchema.objects.select_for_update(skip_locked=True).filter(pk=pk, claimed_at__isnull=True).first()
        if row is None:
            return False
        _schema_drop(row.name)
        row.delete()
        return True


@contextmanager
def _fill_lock() -> Iterator[bool]:
    """A session-level advisory lock; yields False at once when another filler holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [FILL_LOCK])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [FILL_LOCK])


def tenant_pool_fill(*, target: int) -> int | None:
    """Keep `target` ready schemas and the template: upgrade stale ones, drop extras, create the missing ones.

    One filler at a time: returns None at once when another one is running, else how many it created.
    Claims made while it runs are counted, so it keeps creating until the pool is full.
    """
    use_public_schema()
    with _fill_lock() as acquired:
        if not acquired:
            return None
        pool_schemas_upgrade()
        pool_template_ensure()
        ready = _ready()
        for pk in ready.order_by("-created_at", "-pk").values_list("pk", flat=True)[max(target, 0) :]:
            pool_schema_drop(pk=pk)
        created = 0
        plan = _template_plan() if ready.count() < target else None
        while ready.count() < target:
            pool_schema_create(plan=plan)
            created += 1
        PoolSchema.objects.filter(claimed_at__lt=timezone.now() - CLAIMED_ROWS_KEPT).delete()
        return created


def tenant_pool_drain() -> int:
    """Drop every unclaimed pool schema and the template (operators; e.g. after setting TENANT_POOL_SIZE to 0)."""
    use_public_schema()
    with _fill_lock() as acquired:
        if not acquired:
            return 0
        pks = PoolSchema.objects.filter(claimed_at__isnull=True).values_list("pk", flat=True)
        return sum(pool_schema_drop(pk=pk) for pk in list(pks))


def pool_refill_after_commit() -> None:
    """Ask a worker to refill the pool once the current transaction commits (never fails the caller)."""
    if settings.TENANT_POOL_SIZE <= 0:
        return

    def send() -> None:
        from tenants.tasks import tenant_pool_fill_task

        try:
            tenant_pool_fill_task.apply_async(headers={"_schema_name": "public"})
        except Exception:
            logger.exception("could not queue the pool refill (broker unavailable?); beat retries within a minute")

    transaction.on_commit(send)


def migration_executor(codename: str) -> type[Any]:
    """django-tenants' GET_EXECUTOR_FUNCTION: its executor, which after a run over all tenants also
    upgrades the pool, so a deploy's `migrate_schemas` leaves no pool schema behind."""
    from django_tenants.migration_executors import get_executor
    from django_tenants.utils import get_public_schema_name

    base: type[Any] = get_executor(codename=codename)

    class PoolUpgradingExecutor(base):
        def run_migrations(self, tenants: Any = None) -> None:
            super().run_migrations(tenants=tenants)
            if self.options.get("schema_name") or list(tenants or []) == [get_public_schema_name()]:
                return
            use_public_schema()
            if PoolSchema._meta.db_table not in connection.introspection.table_names():
                return  # `--tenant` before the shared migrations created the pool's table
            outcomes = pool_schemas_upgrade()
            if outcomes and int(self.options.get("verbosity", 1)) >= 1:
                sys.stdout.write("Pool schemas: " + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) + "\n")

    return PoolUpgradingExecutor
