"""Tenant migrations across many schemas, fast (issue 7 part 3, ADR 0009; `manage.py migrate_tenants`).

Stock `migrate_schemas` loads the migration graph, renders model states and plans once per schema. Every
tenant schema of one deployment is on the same migrations, so this module plans once per distinct state:

1. The target schemas are every tenant and every unclaimed pool schema (the template included). Their
   applied migrations are read in a few UNION queries and grouped by state.
2. For each state, Django's own machinery (MigrationExecutor, the schema editor in `collect_sql` mode,
   as `sqlmigrate` does) turns the pending migrations into SQL once, against one schema of that state.
   A migration whose operations are not all Django's schema operations or RunSQL (RunPython, custom
   operations) becomes an *executor step*: Django applies it in each schema, from a state prepared once.
3. Worker threads, each with its own connection, take the schemas one by one: in one transaction they
   lock the schema (advisory lock), check that its applied migrations are still exactly the planned
   state, run the SQL (one round trip per step), apply the executor steps, record the django_migrations
   rows and the content types stock `migrate` would add, and mark the schema's status row done.
   A schema in another state (or whose SQL fails) falls back to Django's executor for that schema alone.
4. A failure rolls back that schema only; it is recorded (status `failed`, the error) and the others go
   on. The status rows (`TenantMigration`, public schema) make the run resumable: killed half-way, the
   schema in flight rolls back, and the next run only finds the schemas still behind.

Not supported as plain SQL (they take the executor path): migrations with `atomic = False`, operations
outside django.db.migrations.operations, RunPython. Migrations must tolerate old code and new code
running side by side during a roll-out (expand/contract, tenants/README.md).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from django.apps import apps as django_apps
from django.db import DatabaseError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration
from django.db.migrations.operations.base import Operation
from django.db.migrations.operations.special import RunSQL, SeparateDatabaseAndState
from django.db.migrations.state import ProjectState
from django.utils import timezone

from tenants.models import PoolSchema, SchemaMigrationStatus, Tenant, TenantMigration
from tenants.runtime import use_public_schema

logger = logging.getLogger(__name__)

RUN_LOCK = "tenants.migrate_fast.run"  # one run at a time, across every process
STATE_QUERY_CHUNK = 200  # schemas per UNION query when reading applied migrations

Node = tuple[str, str]


class MigrationRunBusy(Exception):
    """Another migration run holds the lock."""


class StateChanged(Exception):
    """The schema is no longer on the state its plan was made for."""


class SchemaBusy(Exception):
    """Another connection is migrating this schema right now."""


@dataclass(frozen=True)
class Target:
    schema: str
    kind: str  # tenant, pool, template
    pool_pk: int | None = None


@dataclass
class Step:
    """One migration: its SQL (computed once), or None when Django's executor must apply it per schema."""

    migration: Migration
    sql: str | None
    pre_state: ProjectState | None = None

    @property
    def records(self) -> list[Node]:
        return list(self.migration.replaces) or [(self.migration.app_label, self.migration.name)]


@dataclass
class Plan:
    applied: frozenset[Node]
    steps: list[Step]
    schemas: list[Target] = field(default_factory=list)

    @property
    def sql_only(self) -> bool:
        return all(step.sql is not None for step in self.steps)


@dataclass
class Outcome:
    target: Target
    status: str
    method: str = ""
    applied: int = 0
    error: str = ""


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def plain_sql_operation(operation: Operation) -> bool:
    """True when the operation only issues schema-editor SQL that does not depend on the schema's name or
    data: Django's own schema operations, RunSQL, and SeparateDatabaseAndState made of those."""
    if isinstance(operation, SeparateDatabaseAndState):
        return all(plain_sql_operation(op) for op in operation.database_operations)
    if isinstance(operation, RunSQL):
        return True
    return bool(operation.reduces_to_sql) and type(operation).__module__.startswith("django.db.migrations.operations")


def migration_targets(*, schemas: Iterable[str] | None = None) -> list[Target]:
    """Every tenant schema and every unclaimed pool schema (template included), optionally only `schemas`."""
    use_public_schema()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        existing = {row[0] for row in cursor.fetchall()}
    found = [
        Target(schema=s, kind="tenant")
        for s in Tenant.objects.order_by("schema_name").values_list("schema_name", flat=True)
    ]
    for pk, name, is_template in (
        PoolSchema.objects.filter(claimed_at__isnull=True)
        .order_by("created_at")
        .values_list("pk", "name", "is_template")
    ):
        found.append(Target(schema=name, kind="template" if is_template else "pool", pool_pk=pk))
    wanted = set(schemas) if schemas is not None else None
    return [
        t for t in found if t.schema in existing and t.schema != "public" and (wanted is None or t.schema in wanted)
    ]


def applied_states(schemas: list[str]) -> dict[str, frozenset[Node]]:
    """Each schema's applied migrations, read in a few UNION ALL queries."""
    states: dict[str, set[Node]] = {s: set() for s in schemas}
    with connection.cursor() as cursor:
        for start in range(0, len(schemas), STATE_QUERY_CHUNK):
            chunk = schemas[start : start + STATE_QUERY_CHUNK]
            union = " UNION ALL ".join(
                f"SELECT %s, app, name FROM {_quote(s)}.django_migrations"  # noqa: S608 (quoted names)
                for s in chunk
            )
            cursor.execute(union, chunk)
            for schema, app, name in cursor.fetchall():
                states[schema].add((app, name))
    return {s: frozenset(v) for s, v in states.items()}


def state_digest(applied: frozenset[Node]) -> str:
    return hashlib.sha256("\n".join(sorted(f"{a}.{n}" for a, n in applied)).encode()).hexdigest()


def plan_build(*, schema: str) -> Plan:
    """The pending migrations of `schema`, each as SQL computed once (or an executor step)."""
    db: Any = connection  # django-tenants' wrapper
    db.set_schema(schema)
    try:
        executor = MigrationExecutor(connection)
        applied = frozenset(executor.loader.applied_migrations)
        migration_plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        steps: list[Step] = []
        # As Django's executor does: every applied migration's state, not only the next one's ancestors
        # (a RunPython step may read any app's models).
        state: ProjectState = cast(Any, executor)._create_project_state(with_applied_migrations=True)
        for migration, backwards in migration_plan:
            if backwards:
                raise StateChanged(f"{schema}: the plan would unapply {migration.app_label}.{migration.name}")
            if migration.atomic and all(plain_sql_operation(op) for op in migration.operations):
                with connection.schema_editor(collect_sql=True, atomic=True) as editor:
                    state = migration.apply(state, editor, collect_sql=True)
                steps.append(Step(migration=migration, sql="\n".join(editor.collected_sql)))
            else:
                pre_state = state.clone()
                pre_state.apps  # noqa: B018 (render the models once; every schema's clone copies them)
                state = migration.mutate_state(state, preserve=True)
                steps.append(Step(migration=migration, sql=None, pre_state=pre_state))
        return Plan(applied=applied, steps=steps)
    finally:
        use_public_schema()


def content_types() -> tuple[list[str], list[str]]:
    """The content types stock `migrate` creates in a tenant schema after migrating (post_migrate: every
    model of every installed app), in its order: ids come from the schema's sequence, and every schema must
    give a content type the same id (Django caches them per process, not per schema)."""
    labels: list[str] = []
    models: list[str] = []
    for app_config in django_apps.get_app_configs():
        for model in app_config.get_models():
            labels.append(model._meta.app_label)
            models.append(model._meta.model_name or "")
    return labels, models


# Only the missing ones, in order (ON CONFLICT DO NOTHING would draw ids for the existing ones too).
CONTENT_TYPES_SQL = (
    "INSERT INTO django_content_type (app_label, model) SELECT r.app_label, r.model"
    " FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS r(app_label, model, i)"
    " WHERE NOT EXISTS (SELECT 1 FROM django_content_type c WHERE c.app_label = r.app_label AND c.model = r.model)"
    " ORDER BY r.i"
)


class Runner:
    """One run of `migrate_tenants`: plans, worker threads, status rows."""

    def __init__(
        self,
        *,
        version: str,
        jobs: int = 4,
        force_executor: bool = False,
        progress: Callable[[Outcome, int, int], None] | None = None,
    ) -> None:
        self.version = version
        self.jobs = max(1, jobs)
        self.force_executor = force_executor
        self.progress = progress
        self._content_types = content_types()

    # --- status rows -------------------------------------------------------------------------------

    def _status_rows_ensure(self, targets: list[Target]) -> None:
        TenantMigration.objects.bulk_create(
            [TenantMigration(schema_name=t.schema, kind=t.kind, version=self.version) for t in targets],
            ignore_conflicts=True,
            batch_size=1000,
        )

    def _status_set(self, schema: str, **values: Any) -> None:
        TenantMigration.objects.filter(schema_name=schema, version=self.version).update(**values)

    # --- the run -----------------------------------------------------------------------------------

    def run(self, targets: list[Target]) -> list[Outcome]:
        use_public_schema()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [RUN_LOCK])
            if not cursor.fetchone()[0]:
                raise MigrationRunBusy("another tenant migration run is in progress")
        try:
            return self._run(targets)
        finally:
            use_public_schema()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [RUN_LOCK])

    def plans(self, targets: list[Target]) -> tuple[list[Plan], list[Target]]:
        """(plans with their schemas, schemas already current)."""
        states = applied_states([t.schema for t in targets])
        groups: dict[str, list[Target]] = {}
        for target in targets:
            groups.setdefault(state_digest(states[target.schema]), []).append(target)
        plans: list[Plan] = []
        current: list[Target] = []
        for members in groups.values():
            plan = plan_build(schema=members[0].schema)
            if not plan.steps:
                current.extend(members)
                continue
            plan.schemas = members
            plans.append(plan)
        return plans, current

    def _run(self, targets: list[Target]) -> list[Outcome]:
        self._status_rows_ensure(targets)
        done_before = set(
            TenantMigration.objects.filter(version=self.version, status=SchemaMigrationStatus.DONE).values_list(
                "schema_name", flat=True
            )
        )
        plans, current = self.plans(targets)
        now = timezone.now()
        outcomes = [Outcome(target=t, status="current") for t in current]
        TenantMigration.objects.filter(
            version=self.version, schema_name__in=[t.schema for t in current if t.schema not in done_before]
        ).update(status=SchemaMigrationStatus.DONE, method="", error="", started_at=now, finished_at=now)
        work: queue.Queue[tuple[Plan, Target]] = queue.Queue()
        for plan in plans:
            for target in plan.schemas:
                work.put((plan, target))
        total = work.qsize()
        results: queue.Queue[Outcome] = queue.Queue()
        threads = [
            threading.Thread(target=self._worker, args=(work, results), name=f"migrate-tenants-{i}", daemon=True)
            for i in range(min(self.jobs, total))
        ]
        for thread in threads:
            thread.start()
        for finished in range(1, total + 1):
            outcome = results.get()
            outcomes.append(outcome)
            if self.progress is not None:
                self.progress(outcome, finished, total)
        for thread in threads:
            thread.join()
        return outcomes

    # --- one schema, in a worker thread ------------------------------------------------------------

    def _worker(self, work: queue.Queue[tuple[Plan, Target]], results: queue.Queue[Outcome]) -> None:
        """Take schemas until none is left, on this thread's own connection (kept for the whole run)."""
        try:
            while True:
                try:
                    plan, target = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcome = self.schema_apply(plan, target)
                except Exception as exc:  # never lose the other schemas to one unexpected error
                    logger.exception("migrating %s failed unexpectedly", target.schema)
                    outcome = Outcome(target=target, status="failed", error=f"{type(exc).__name__}: {exc}")
                results.put(outcome)
        finally:
            connections.close_all()

    def schema_apply(self, plan: Plan, target: Target) -> Outcome:
        """Bring one schema to the code's migrations: the plan's SQL when the schema is on the plan's
        state, else Django's executor; record the outcome in its status row."""
        use_public_schema()
        self._status_set(target.schema, status=SchemaMigrationStatus.RUNNING, started_at=timezone.now(), error="")
        outcome: Outcome
        try:
            if self.force_executor:
                outcome = self._executor_apply(target)
            else:
                try:
                    outcome = self._sql_apply(plan, target)
                except SchemaBusy as exc:
                    outcome = Outcome(target=target, status="skipped", error=str(exc))
                except (StateChanged, DatabaseError) as exc:
                    logger.warning(
                        "%s: the planned SQL did not apply (%s); using Django's executor", target.schema, exc
                    )
                    outcome = self._executor_apply(target)
        except Exception as exc:
            use_public_schema()
            outcome = Outcome(target=target, status="failed", error=f"{type(exc).__name__}: {exc}")
        use_public_schema()
        self._status_set(
            target.schema,
            status=SchemaMigrationStatus.FAILED
            if outcome.status == "failed"
            else (SchemaMigrationStatus.SKIPPED if outcome.status == "skipped" else SchemaMigrationStatus.DONE),
            method=outcome.method,
            applied=outcome.applied,
            error=outcome.error[:4000],
            finished_at=timezone.now(),
        )
        return outcome

    def _sql_apply(self, plan: Plan, target: Target) -> Outcome:
        conn: Any = connection  # this thread's, django-tenants' wrapper
        with transaction.atomic():
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"migrate:{target.schema}"]
                )
                if not cursor.fetchone()[0]:
                    raise SchemaBusy("the schema is being migrated by another connection")
                if target.pool_pk is not None:
                    cursor.execute(
                        "SELECT 1 FROM tenants_poolschema WHERE id = %s AND claimed_at IS NULL FOR UPDATE SKIP LOCKED",
                        [target.pool_pk],
                    )
                    if cursor.fetchone() is None:  # claimed (now a tenant, migrated as one) or being claimed
                        return Outcome(target=target, status="skipped", error="claimed by a signup meanwhile")
                cursor.execute(f"SELECT app, name FROM {_quote(target.schema)}.django_migrations")  # noqa: S608
                if frozenset(cursor.fetchall()) != plan.applied:
                    raise StateChanged("the schema is not on the planned state")
            conn.set_schema(target.schema)
            with conn.cursor() as cursor:
                for step in plan.steps:
                    if step.sql is not None:
                        if step.sql.strip():
                            cursor.execute(step.sql)
                    else:
                        assert step.pre_state is not None
                        with conn.schema_editor(atomic=True) as editor:
                            step.migration.apply(step.pre_state.clone(), editor)
                records = [node for step in plan.steps for node in step.records]
                cursor.execute(
                    "INSERT INTO django_migrations (app, name, applied) SELECT app, name, now()"
                    " FROM unnest(%s::text[], %s::text[]) AS r(app, name)",
                    [[a for a, _ in records], [n for _, n in records]],
                )
                cursor.execute(CONTENT_TYPES_SQL, list(self._content_types))
            conn.set_schema_to_public()
            if target.pool_pk is not None:
                from tenants.pool import migration_fingerprint

                PoolSchema.objects.filter(pk=target.pool_pk).update(fingerprint=migration_fingerprint())
        return Outcome(
            target=target, status="done", method="sql" if plan.sql_only else "sql+executor", applied=len(plan.steps)
        )

    def _executor_apply(self, target: Target) -> Outcome:
        """Django's own executor for this schema alone (django-tenants' migrate_schemas --schema)."""
        from django.core.management import call_command

        use_public_schema()
        if target.pool_pk is not None:
            from tenants.pool import pool_schema_upgrade

            result = pool_schema_upgrade(pk=target.pool_pk)
            if result in ("upgraded", "current"):
                return Outcome(target=target, status="done", method="executor")
            if result == "dropped":
                return Outcome(
                    target=target, status="failed", method="executor", error="could not be migrated: dropped"
                )
            return Outcome(target=target, status="skipped", method="executor", error=f"pool schema {result}")
        before = applied_states([target.schema])[target.schema]
        try:
            call_command("migrate_schemas", tenant=True, schema_name=target.schema, interactive=False, verbosity=0)
        finally:
            use_public_schema()
        after = applied_states([target.schema])[target.schema]
        return Outcome(target=target, status="done", method="executor", applied=len(after - before))


def tenant_migrations_run(
    *,
    schemas: Iterable[str] | None = None,
    jobs: int = 4,
    force_executor: bool = False,
    progress: Callable[[Outcome, int, int], None] | None = None,
) -> list[Outcome]:
    """Bring every tenant and pool schema (or only `schemas`) to the code's migrations; one failing schema
    is recorded and never stops the others. Raises MigrationRunBusy when another run is in progress."""
    from tenants.pool import migration_fingerprint

    runner = Runner(version=migration_fingerprint(), jobs=jobs, force_executor=force_executor, progress=progress)
    return runner.run(migration_targets(schemas=schemas))


def tenant_migrations_status(*, version: str | None = None) -> dict[str, int]:
    """Status row counts of one version (default: the running code's)."""
    from django.db.models import Count

    from tenants.pool import migration_fingerprint

    rows = TenantMigration.objects.filter(version=version or migration_fingerprint())
    return {row["status"]: row["n"] for row in rows.values("status").annotate(n=Count("id")).order_by("status")}
