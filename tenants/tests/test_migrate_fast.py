"""manage.py migrate_tenants (tenants/migrate_fast.py): the same schemas as stock migrate_schemas, resumable,
one failing schema never stops the others, pool schemas upgraded too. Committed data: the run uses worker
threads with connections of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.core.management import call_command
from django.db import connection, migrations, models
from django.test import Client

from conftest import make_user
from tenants import pool
from tenants.migrate_fast import plain_sql_operation, tenant_migrations_run
from tenants.models import PoolSchema, SchemaMigrationStatus, TenantMigration
from tenants.runtime import use_public_schema
from tenants.schema_clone import schema_signature
from tenants.services import tenant_provision
from tests.integration.helpers import child_env

# The tests roll schemas back to just before leaf migrations (nothing depends on them), so a roll-back and the
# re-run touch a handful of migrations however large the project grows: rolling back an early access migration
# unapplied 75 migrations per schema and one test took eight minutes.
LEAF = ("portal", "0003_frame_origins")  # one AddField on portal_portalsettings: plain SQL
BEFORE_LEAF = ("portal", "0002_published_fields_and_logo")
LEAF_TABLE, LEAF_COLUMN = "portal_portalsettings", "frame_origins"
# For the stock-versus-fast comparison, a mix of operations: AddField, RemoveIndex/AddIndex, RemoveConstraint/
# AddConstraint, AlterField, RunSQL and RunPython (audit 0002 writes the audit settings row).
ROLL_BACK_MIX = (
    BEFORE_LEAF,
    ("deals", "0004_deals_currency_default"),
    ("calls", "0002_call_direction_status_required"),
    ("audit", "0001_initial"),
)
LATEST = {
    LEAF,
    ("deals", "0005_board_live_index"),
    ("calls", "0003_call_provider"),
    ("audit", "0002_append_only"),
}


def rows(sql: str, params: list[str] | None = None) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def applied(schema: str) -> set[tuple[str, str]]:
    return {(a, n) for a, n in rows(f'SELECT app, name FROM "{schema}".django_migrations')}  # type: ignore[misc]


def content_types(schema: str) -> list[tuple[object, ...]]:
    return rows(f'SELECT id, app_label, model FROM "{schema}".django_content_type ORDER BY id')


def python_steps_between(target: tuple[str, str], schema: str = "beta") -> bool:
    """Whether migrating `schema` (fully migrated) back to `target` unapplies a migration with a RunPython
    operation."""
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.operations.special import RunPython
    from django_tenants.utils import schema_context

    with schema_context(schema):
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan([target], clean_start=False)
    undone = [migration for migration, backwards in plan if backwards]
    return any(isinstance(op, RunPython) for migration in undone for op in migration.operations)


def roll_back(schema: str, *targets: tuple[str, str]) -> None:
    """Unapply migrations in `schema` with Django's own executor (stock migrate_schemas)."""
    for app, name in targets:
        call_command("migrate_schemas", app, name, schema_name=schema, interactive=False, verbosity=0)
    use_public_schema()


def has_column(schema: str, table: str, column: str) -> bool:
    return bool(
        rows(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s AND column_name = %s",
            [schema, table, column],
        )
    )


def tenants(committed, n: int, prefix: str) -> list[str]:
    slugs = []
    for i in range(n):
        slug = committed.slug(f"{prefix}{i}")
        tenant_provision(slug=slug, name=f"Migrating {i}", admin=make_user(committed.email()))
        slugs.append(slug)
    use_public_schema()
    return sorted(slugs)


def status_of(schema: str) -> TenantMigration:
    return TenantMigration.objects.filter(schema_name=schema).order_by("-id").first()  # type: ignore[return-value]


@pytest.fixture
def status_rows_cleanup(committed):
    yield
    TenantMigration.objects.filter(schema_name__in=committed.slugs).delete()


def test_only_schema_operations_and_sql_are_plain_sql():
    def forwards(apps, schema_editor):
        return None

    assert plain_sql_operation(migrations.AddField("contact", "x", models.IntegerField(null=True)))
    assert plain_sql_operation(migrations.AddIndex("contact", models.Index(fields=["x"], name="x_idx")))
    assert plain_sql_operation(migrations.RunSQL("SELECT 1"))
    assert plain_sql_operation(migrations.SeparateDatabaseAndState(database_operations=[migrations.RunSQL("SELECT 1")]))
    assert not plain_sql_operation(migrations.RunPython(forwards))
    assert not plain_sql_operation(
        migrations.SeparateDatabaseAndState(database_operations=[migrations.RunPython(forwards)])
    )


def test_fast_path_gives_the_same_schema_as_stock_migrate_schemas(committed, status_rows_cleanup):
    stock, fast = tenants(committed, 2, "eq")
    for schema in (stock, fast):
        roll_back(schema, *ROLL_BACK_MIX)
        assert not applied(schema) & LATEST
    call_command("migrate_schemas", schema_name=stock, interactive=False, verbosity=0)
    use_public_schema()

    missing = len(applied("alpha") - applied(fast))

    outcomes = tenant_migrations_run(schemas=[fast], jobs=2)

    assert [(o.target.schema, o.status, o.method, o.applied) for o in outcomes] == [
        (fast, "done", "sql+executor", missing)
    ], outcomes
    assert schema_signature(schema=fast) == schema_signature(schema=stock)
    assert applied(fast) == applied(stock) == applied("alpha")
    assert content_types(fast) == content_types(stock)
    assert rows(f'SELECT count(*) FROM "{fast}".audit_auditsettings') == [(1,)]  # the RunPython step ran
    row = status_of(fast)
    assert (row.status, row.method, row.applied, row.error) == ("done", "sql+executor", missing, "")
    assert row.started_at is not None and row.finished_at is not None and row.finished_at >= row.started_at


def test_every_schema_and_the_pool_are_upgraded_with_the_sql_once(committed, status_rows_cleanup):
    slugs = tenants(committed, 3, "many")
    pool_row = PoolSchema.objects.filter(claimed_at__isnull=True, is_template=False).order_by("pk").first()
    assert pool_row is not None
    untouched = schema_signature(schema="beta")
    for schema in [*slugs, pool_row.name]:
        roll_back(schema, BEFORE_LEAF)
        assert not has_column(schema, LEAF_TABLE, LEAF_COLUMN)
    PoolSchema.objects.filter(pk=pool_row.pk).update(fingerprint="stale")

    try:
        outcomes = tenant_migrations_run(schemas=[*slugs, pool_row.name, "beta"], jobs=3)
    finally:
        TenantMigration.objects.filter(schema_name__in=[pool_row.name, "beta"]).delete()

    by_schema = {o.target.schema: (o.status, o.method) for o in outcomes}
    # Plain SQL, unless a migration that had to be re-applied runs Python (those take the executor path).
    method = "sql+executor" if python_steps_between(BEFORE_LEAF) else "sql"
    expected = {**{s: ("done", method) for s in slugs}, pool_row.name: ("done", method), "beta": ("current", "")}
    assert by_schema == expected
    for schema in [*slugs, pool_row.name]:
        assert has_column(schema, LEAF_TABLE, LEAF_COLUMN)
        assert applied(schema) == applied("beta")
        assert schema_signature(schema=schema) == untouched
    pool_row.refresh_from_db()
    assert pool_row.fingerprint == pool.migration_fingerprint()  # claimable again
    assert schema_signature(schema="beta") == untouched


def test_a_failing_schema_is_reported_and_the_others_go_on_then_a_rerun_finishes(committed, status_rows_cleanup):
    first, broken, last = tenants(committed, 3, "fail")
    for schema in (first, broken, last):
        roll_back(schema, BEFORE_LEAF)
    with connection.cursor() as cursor:  # something the migration does not expect: adding the column must fail
        cursor.execute(f'ALTER TABLE "{broken}".{LEAF_TABLE} ADD COLUMN {LEAF_COLUMN} boolean')

    outcomes = tenant_migrations_run(schemas=[first, broken, last], jobs=1)

    by_schema = {o.target.schema: o.status for o in outcomes}
    assert by_schema == {first: "done", broken: "failed", last: "done"}
    failed = status_of(broken)
    assert failed.status == SchemaMigrationStatus.FAILED
    assert LEAF_COLUMN in failed.error
    assert LEAF not in applied(broken)  # rolled back, nothing half-done
    assert rows(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        " AND column_name = %s",
        [broken, LEAF_TABLE, LEAF_COLUMN],
    ) == [("boolean",)]

    with connection.cursor() as cursor:  # the operator repairs the schema and runs the command again
        cursor.execute(f'ALTER TABLE "{broken}".{LEAF_TABLE} DROP COLUMN {LEAF_COLUMN}')
    again = tenant_migrations_run(schemas=[first, broken, last], jobs=1)

    assert {o.target.schema: o.status for o in again} == {first: "current", broken: "done", last: "current"}
    assert applied(broken) == applied(first)
    assert [status_of(s).status for s in (first, broken, last)] == ["done", "done", "done"]


@pytest.mark.slow
def test_a_run_killed_half_way_is_continued_by_the_next(committed, status_rows_cleanup):
    import psycopg

    from tests.integration.helpers import test_database_url

    slugs = tenants(committed, 3, "kill")
    for schema in slugs:
        roll_back(schema, BEFORE_LEAF)
    blocked = slugs[1]
    url = test_database_url().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as holder:  # another session holds the second schema's table: the run waits there
        holder.execute(f'LOCK TABLE "{blocked}".{LEAF_TABLE} IN ACCESS EXCLUSIVE MODE')
        args = [sys.executable, "manage.py", "migrate_tenants", "--jobs", "1"]
        for schema in slugs:
            args += ["--schema", schema]
        proc = subprocess.Popen(args, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                if TenantMigration.objects.filter(schema_name=blocked, status="running").exists():
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(proc.communicate()[0] if proc.poll() is not None else "the run never reached it")
            time.sleep(0.3)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        holder.rollback()

    assert [status_of(s).status for s in slugs] == ["done", "running", "pending"]
    assert LEAF not in applied(blocked)
    rows(  # the killed run's backend may linger a moment: its transaction rolls back when it goes
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND application_name <> 'pytest' AND query LIKE %s",
        [f"%{LEAF_TABLE}%"],
    )

    outcomes = tenant_migrations_run(schemas=slugs, jobs=2)

    assert {o.target.schema: o.status for o in outcomes} == {slugs[0]: "current", blocked: "done", slugs[2]: "done"}
    assert all(applied(s) == applied("alpha") for s in slugs)


def test_a_second_run_at_the_same_time_is_refused(committed):
    import psycopg

    from tenants.migrate_fast import RUN_LOCK, MigrationRunBusy
    from tests.integration.helpers import test_database_url

    url = test_database_url().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [RUN_LOCK])
        with pytest.raises(MigrationRunBusy):
            tenant_migrations_run(schemas=["alpha"])


def test_operators_see_the_status_rows_in_the_console(committed, status_rows_cleanup):
    (slug,) = tenants(committed, 1, "adm")
    TenantMigration.objects.create(
        schema_name=slug, kind="tenant", version="f" * 64, status="failed", error="column already exists"
    )
    operator = make_user(committed.email())
    operator.is_staff = operator.is_superuser = True
    operator.save()
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)

    listing = client.get("/admin/tenants/tenantmigration/?status=failed")
    row = TenantMigration.objects.get(schema_name=slug)
    detail = client.get(f"/admin/tenants/tenantmigration/{row.pk}/change/")
    member = Client(HTTP_HOST="localhost")
    member.force_login(make_user(committed.email()))

    assert listing.status_code == 200
    assert slug.encode() in listing.content
    assert b"column already exists" in detail.content
    assert member.get("/admin/tenants/tenantmigration/").status_code == 302  # not staff: the login page
