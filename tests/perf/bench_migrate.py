"""Migrations across many tenants (issue 7 part 3), run by bench_tenancy.py: one additive migration (a new
nullable column and its index on the contacts table) applied to every tenant schema by stock
`migrate_schemas` and by `migrate_tenants` (tenants/migrate_fast.py), in the same run, on the same schemas.

The migration never touches the repository: the contacts app's migrations are copied into a temporary
package with one more file, and MIGRATION_MODULES points the app there while the benchmark runs. Between
and after the two runs the change is undone with plain SQL (untimed)."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from bench.crm import log

APP = "contacts"
MIGRATION = "9999_bench_additive"
COLUMN = "bench_score"
INDEX = "contact_bench_score_idx"
PACKAGE = "bench_tenancy_contacts_migrations"

MIGRATION_SOURCE = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [({app!r}, {parent!r})]

    operations = [
        migrations.AddField("contact", {column!r}, models.IntegerField(null=True, blank=True)),
        migrations.AddIndex("contact", models.Index(fields=[{column!r}], name={index!r})),
    ]
"""


@contextmanager
def temporary_migration() -> Iterator[str]:
    """The contacts app's migrations plus one additive migration, in a temporary package; yields the table."""
    from django.apps import apps
    from django.conf import settings
    from django.db.migrations.loader import MigrationLoader

    app_config = apps.get_app_config(APP)
    table = app_config.get_model("contact")._meta.db_table
    source = Path(import_module(f"{app_config.name}.migrations").__path__[0])
    parent = max(n for a, n in MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes() if a == APP)
    previous = getattr(settings, "MIGRATION_MODULES", {})
    with tempfile.TemporaryDirectory(prefix="crm-bench-migration-") as root:
        package = Path(root) / PACKAGE
        package.mkdir()
        for file in source.glob("*.py"):
            shutil.copy(file, package / file.name)
        (package / f"{MIGRATION}.py").write_text(
            MIGRATION_SOURCE.format(app=APP, parent=parent, column=COLUMN, index=INDEX)
        )
        sys.path.insert(0, root)
        settings.MIGRATION_MODULES = {**previous, APP: PACKAGE}
        try:
            yield table
        finally:
            settings.MIGRATION_MODULES = previous
            sys.path.remove(root)
            for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
                del sys.modules[name]


def _count(sql: str, params: list[str]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def migrated_count(schemas: list[str], table: str) -> tuple[int, int, int]:
    """(schemas with the column, with the index, with the django_migrations row)."""
    from django.db import connection

    columns = _count(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = ANY(%s) AND table_name = %s"
        " AND column_name = %s",
        [schemas, table, COLUMN],  # type: ignore[list-item]
    )
    indexes = _count(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = ANY(%s) AND indexname = %s",
        [schemas, INDEX],  # type: ignore[list-item]
    )
    recorded = 0
    with connection.cursor() as cursor:
        for start in range(0, len(schemas), 200):
            union = " UNION ALL ".join(
                f"SELECT count(*) FROM {connection.ops.quote_name(s)}.django_migrations WHERE app = %s AND name = %s"
                for s in schemas[start : start + 200]
            )
            cursor.execute(union, [APP, MIGRATION] * len(schemas[start : start + 200]))
            recorded += sum(int(row[0]) for row in cursor.fetchall())
    return columns, indexes, recorded


def undo(schemas: list[str], table: str) -> None:
    """Remove the column, its index and the django_migrations row everywhere (untimed)."""
    from django.db import connection, transaction

    for start in range(0, len(schemas), 50):
        with transaction.atomic(), connection.cursor() as cursor:
            for schema in schemas[start : start + 50]:
                q = connection.ops.quote_name(schema)
                cursor.execute(
                    f"DROP INDEX IF EXISTS {q}.{INDEX}; ALTER TABLE {q}.{table} DROP COLUMN IF EXISTS {COLUMN};"
                    f" DELETE FROM {q}.django_migrations WHERE app = '{APP}' AND name = '{MIGRATION}'"
                )


@dataclass
class MigrateResult:
    schemas: int
    stock_s: float
    fast_s: float

    @property
    def speedup(self) -> float:
        return self.stock_s / self.fast_s


def migrate_measure(*, jobs: int) -> MigrateResult:
    """Stock migrate_schemas over every tenant, undo, then migrate_tenants over the same tenants."""
    from django.core.management import call_command

    from tenants.migrate_fast import tenant_migrations_run
    from tenants.models import Tenant, TenantMigration
    from tenants.runtime import use_public_schema

    use_public_schema()
    schemas = list(Tenant.objects.order_by("schema_name").values_list("schema_name", flat=True))
    with temporary_migration() as table:
        log(f"  stock migrate_schemas over {len(schemas):,} tenant schemas ...")
        started = time.perf_counter()
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
        stock = time.perf_counter() - started
        use_public_schema()
        if migrated_count(schemas, table) != (len(schemas),) * 3:
            raise RuntimeError(f"stock run left schemas behind: {migrated_count(schemas, table)}")
        undo(schemas, table)
        if migrated_count(schemas, table) != (0, 0, 0):
            raise RuntimeError("could not undo the stock run")
        log(f"  migrate_tenants over the same {len(schemas):,} schemas ({jobs} connections) ...")
        started = time.perf_counter()
        outcomes = tenant_migrations_run(schemas=schemas, jobs=jobs)
        fast = time.perf_counter() - started
        use_public_schema()
        statuses = {(o.status, o.method) for o in outcomes}
        if statuses != {("done", "sql")} or migrated_count(schemas, table) != (len(schemas),) * 3:
            raise RuntimeError(f"fast run: {statuses}, {migrated_count(schemas, table)}")
        undo(schemas, table)
        TenantMigration.objects.all().delete()
    log(f"  stock {stock:.1f} s ({stock / len(schemas) * 1000:.0f} ms per schema), fast {fast:.2f} s")
    return MigrateResult(schemas=len(schemas), stock_s=stock, fast_s=fast)
