"""tenants/schema_clone.py: a copy of the template is the same schema as one built by the migrations."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context

from tenants import pool
from tenants.models import PoolSchema
from tenants.schema_clone import CloneUnsupported, schema_clone, schema_clone_plan, schema_signature
from tenants.tests.test_pool import MIGRATION_SEEDED_TABLES, ready, tables_with_rows

pytestmark = pytest.mark.django_db


def rows_of(schema: str, table: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1')
        return list(cursor.fetchall())


def sequence_positions(schema: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s ORDER BY 1", [schema])
        return list(cursor.fetchall())


def copy_of_template(target: str = "copy-co") -> str:
    schema_clone(plan=schema_clone_plan(source=pool.TEMPLATE_NAME), target=target)
    return target


def test_a_copy_of_the_template_equals_a_schema_built_by_the_migrations():
    migrated = ready()[0].name

    copy = copy_of_template()

    assert schema_signature(schema=copy) == schema_signature(schema=migrated)
    assert tables_with_rows(copy) == tables_with_rows(migrated)
    for table in MIGRATION_SEEDED_TABLES:
        assert len(rows_of(copy, table)) == len(rows_of(migrated, table)), table
        assert rows_of(copy, table) == rows_of(pool.TEMPLATE_NAME, table), table
    # Content type ids are cached per process across schemas: every tenant must have the same ones.
    assert rows_of(copy, "django_content_type") == rows_of(migrated, "django_content_type")
    assert sequence_positions(copy) == sequence_positions(pool.TEMPLATE_NAME)


def test_a_copy_is_independent_of_its_template_and_keeps_its_own_triggers():
    from crm_apps.audit.models import AuditEvent

    copy = copy_of_template()
    with schema_context(copy):
        event = AuditEvent.objects.create(action="settings_changed", actor_label="x")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(actor_label="y")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal",
            [copy],
        )
        definitions = [row[0] for row in cursor.fetchall()]
    assert len(definitions) == 3
    assert all(f'"{copy}".audit_event_append_only()' in d for d in definitions)
    assert not tables_with_rows(pool.TEMPLATE_NAME) - MIGRATION_SEEDED_TABLES


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE VIEW {s}.member_emails AS SELECT 1 AS one",
        "CREATE SEQUENCE {s}.loose_sequence",
        "CREATE TYPE {s}.mood AS ENUM ('ok')",
        "CREATE UNLOGGED TABLE {s}.scratch (id int)",
        "ALTER TABLE {s}.access_member SET (fillfactor = 70)",
        "CREATE TABLE {s}.uses_template (id int DEFAULT {s}.helper())",
    ],
)
def test_what_the_clone_cannot_copy_faithfully_is_refused(ddl):
    schema = pool.TEMPLATE_NAME
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE FUNCTION {schema}.helper() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        cursor.execute(ddl.format(s=schema))

    with pytest.raises(CloneUnsupported):
        schema_clone_plan(source=schema)


def test_a_template_the_clone_refuses_falls_back_to_the_migrations():
    from django.utils import timezone

    from conftest import make_user
    from tenants.services import tenant_provision
    from tenants.tests.test_pool import trigger_count

    PoolSchema.objects.filter(is_template=False).update(claimed_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE VIEW {pool.TEMPLATE_NAME}.v AS SELECT 1 AS one")

    tenant = tenant_provision(slug="refused-co", name="Refused", admin=make_user())

    assert trigger_count(tenant.schema_name) == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_views WHERE schemaname = 'refused-co'")
        assert cursor.fetchone() == (0,)
