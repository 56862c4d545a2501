"""The warm pool (tenants/pool.py, ADR 0008): claims, fallbacks, staleness, refills, invisibility."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists, tenant_context

from conftest import TEST_POOL_SIZE, make_user
from crm_apps.access.models import Member
from tenants import pool
from tenants.models import Domain, PoolSchema, Tenant, User
from tenants.pool import pool_ready_count, pool_schemas_upgrade, tenant_pool_fill
from tenants.runtime import use_public_schema
from tenants.services import tenant_provision

pytestmark = pytest.mark.django_db

GOOD = {
    "organization": "Pooled Co",
    "subdomain": "pooled-co",
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "password": "compiler-a0-1952",
}
# Tables a fresh tenant schema has rows in because its migrations wrote them; nobody's data.
MIGRATION_SEEDED_TABLES = {
    "django_migrations",
    "django_content_type",
    "access_role",
    "access_role_profiles",
    "access_profile",
    "access_group",
    "access_group_roles",
    "audit_auditsettings",
    # automation 0002/0004: the system workflows behind `notify_owner` and the shipped (disabled) approval example
    "automation_workflow",
    "automation_workflowversion",
    "automation_approvalprocess",
}


def ready() -> list[PoolSchema]:
    return list(
        PoolSchema.objects.filter(
            claimed_at__isnull=True, is_template=False, fingerprint=pool.migration_fingerprint()
        ).order_by("created_at", "id")
    )


def tables_with_rows(schema: str) -> set[str]:
    found = set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{schema}"."{table}")')
            if cursor.fetchone()[0]:
                found.add(table)
    return found


def trigger_count(schema: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal",
            [schema],
        )
        return int(cursor.fetchone()[0])


def make_stale(row: PoolSchema) -> None:
    """What a deploy with a new migration leaves behind: the schema lacks it, the row has the old fingerprint."""
    call_command("migrate_schemas", "audit", "0001", tenant=True, schema_name=row.name, interactive=False, verbosity=0)
    use_public_schema()
    PoolSchema.objects.filter(pk=row.pk).update(fingerprint="0" * 64)


def test_the_session_pool_is_ready():
    assert len(ready()) == TEST_POOL_SIZE
    assert all(schema_exists(row.name) and row.name.startswith("pool_") for row in ready())


def test_signup_claims_the_oldest_ready_schema_and_the_tenant_works(public_client, tenant_a, admin_of):
    from crm_apps.access.services import api_token_create
    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create

    with tenant_context(tenant_a):
        record_create(spec=registry.get("contacts"), actor=admin_of(tenant_a), data={"last_name": "Alphason"})
    claimed = ready()[0]

    response = public_client.post("/signup/", GOOD)

    assert response.status_code == 302
    claimed.refresh_from_db()
    assert (claimed.claimed_as, claimed.claimed_at is not None) == ("pooled-co", True)
    assert not schema_exists(claimed.name)
    assert schema_exists("pooled-co")
    assert pool_ready_count() == TEST_POOL_SIZE - 1
    tenant = Tenant.objects.get(schema_name="pooled-co")
    landed = Client(HTTP_HOST="pooled-co.localhost").get(urlparse(response["Location"]).path, follow=True)
    assert landed.status_code == 200
    assert "Hello, Grace" in landed.content.decode()
    with tenant_context(tenant):
        admin = Member.objects.get()
        _token, key = api_token_create(member=admin, name="t")
    api = Client(HTTP_HOST="pooled-co.localhost", HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me").json()["tenant"] == {"slug": "pooled-co", "name": "Pooled Co"}
    assert api.get("/api/v1/contacts/").json()["results"] == []
    with tenant_context(tenant):
        assert list(Member.objects.values_list("user__email", "is_admin")) == [("grace@example.com", True)]


def test_pool_schemas_and_the_template_hold_nobody_s_data():
    unclaimed = PoolSchema.objects.filter(claimed_at__isnull=True)
    assert unclaimed.filter(is_template=True).count() == 1
    for row in unclaimed:
        assert tables_with_rows(row.name) <= MIGRATION_SEEDED_TABLES


def test_an_empty_pool_falls_back_to_a_copy_of_the_template(public_client):
    PoolSchema.objects.filter(is_template=False).update(claimed_at=timezone.now())  # rolled back with the test

    response = public_client.post("/signup/", GOOD)

    assert response.status_code == 302
    assert schema_exists("pooled-co")
    assert schema_exists(pool.TEMPLATE_NAME)
    assert not PoolSchema.objects.filter(claimed_as="pooled-co").exists()
    assert trigger_count("pooled-co") == 3  # the audit trail's append-only triggers
    with schema_context("pooled-co"):
        assert Member.objects.get().user.email == "grace@example.com"
    assert tables_with_rows(pool.TEMPLATE_NAME) <= MIGRATION_SEEDED_TABLES


def test_without_a_usable_template_the_fallback_runs_every_migration(monkeypatch):
    import tenants.schema_clone as schema_clone

    PoolSchema.objects.filter(is_template=False).update(claimed_at=timezone.now())
    PoolSchema.objects.filter(is_template=True).update(fingerprint="0" * 64)
    copies: list[str] = []
    monkeypatch.setattr(schema_clone, "schema_clone", lambda **kw: copies.append(kw["target"]))

    tenant = tenant_provision(slug="migrated-co", name="Migrated", admin=make_user())

    assert copies == []
    assert trigger_count(tenant.schema_name) == 3
    with schema_context("migrated-co"):
        assert Member.objects.count() == 1


def test_a_stale_pool_schema_is_never_handed_out():
    for row in ready():
        make_stale(row)

    tenant = tenant_provision(slug="fresh-co", name="Fresh", admin=make_user())

    assert not PoolSchema.objects.filter(claimed_as="fresh-co").exists()
    assert all(schema_exists(row.name) for row in PoolSchema.objects.filter(claimed_at__isnull=True))
    assert trigger_count(tenant.schema_name) == 3


def test_migrate_schemas_upgrades_stale_pool_schemas(capsys):
    row = ready()[0]
    make_stale(row)
    assert trigger_count(row.name) == 0

    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=1)

    use_public_schema()
    row.refresh_from_db()
    assert row.fingerprint == pool.migration_fingerprint()
    assert trigger_count(row.name) == 3
    assert "Pool schemas: 1 upgraded" in capsys.readouterr().out


def test_a_schema_migrated_by_newer_code_is_left_alone():
    row = ready()[0]
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{row.name}".django_migrations (app, name, applied) VALUES (%s, %s, now())',
            ["access", "9999_from_the_future"],
        )
    PoolSchema.objects.filter(pk=row.pk).update(fingerprint="f" * 64)

    assert pool_schemas_upgrade() == {"newer": 1}
    assert schema_exists(row.name)
    assert pool_ready_count() == TEST_POOL_SIZE - 1


def test_a_pool_schema_that_cannot_be_upgraded_is_dropped(monkeypatch):
    row = ready()[0]
    PoolSchema.objects.filter(pk=row.pk).update(fingerprint="0" * 64)

    def broken(schema_name: str) -> None:
        raise RuntimeError("migration failed")

    monkeypatch.setattr(pool, "_migrate", broken)

    assert pool_schemas_upgrade() == {"dropped": 1}
    assert not schema_exists(row.name)
    assert not PoolSchema.objects.filter(pk=row.pk).exists()


def test_pool_schemas_are_invisible_to_routing_commands_and_the_operator_admin(capsys):
    name = ready()[0].name
    operator = make_user("operator@platform.example")
    User.objects.filter(pk=operator.pk).update(is_staff=True, is_superuser=True)
    admin_client = Client(HTTP_HOST="localhost")
    admin_client.force_login(operator)

    page = Client(HTTP_HOST=f"{name}.localhost").get("/")
    hyphenated = Client(HTTP_HOST=f"{name.replace('_', '-')}.localhost").get("/")
    tenants_page = admin_client.get("/admin/tenants/tenant/")

    assert page.status_code == 404
    assert hyphenated.status_code == 404
    assert not Tenant.objects.filter(schema_name=name).exists()
    assert not Domain.objects.filter(domain__startswith=name.split("_")[0]).exists()
    assert name not in tenants_page.content.decode()
    with pytest.raises(CommandError):
        call_command("tenant_delete", name, drop_schema=True)
    assert schema_exists(name)


def test_the_signup_form_says_setting_up_takes_a_moment_only_when_the_pool_is_empty(public_client):
    instant = public_client.get("/signup/").content.decode()
    PoolSchema.objects.update(claimed_at=timezone.now())
    slow = public_client.get("/signup/").content.decode()

    assert "takes a moment" not in instant
    assert "takes a moment" in slow


def test_fill_keeps_the_size_it_is_given(settings):
    from tenants.tasks import tenant_pool_fill_task

    settings.TENANT_POOL_SIZE = TEST_POOL_SIZE + 1
    assert tenant_pool_fill_task() == 1
    assert pool_ready_count() == TEST_POOL_SIZE + 1

    settings.TENANT_POOL_SIZE = 1
    assert tenant_pool_fill_task() == 0
    assert pool_ready_count() == 1

    settings.TENANT_POOL_SIZE = 0
    assert tenant_pool_fill_task() == 0
    assert pool_ready_count() == 1


def test_fill_copies_the_current_template_instead_of_migrating(monkeypatch, settings):
    from tenants.schema_clone import schema_signature

    migrated: list[str] = []
    monkeypatch.setattr(pool, "_migrate", lambda name: migrated.append(name))
    settings.TENANT_POOL_SIZE = TEST_POOL_SIZE + 1

    assert tenant_pool_fill(target=TEST_POOL_SIZE + 1) == 1

    assert migrated == []
    newest = ready()[-1]
    assert schema_signature(schema=newest.name) == schema_signature(schema=pool.TEMPLATE_NAME)
    assert tables_with_rows(newest.name) <= MIGRATION_SEEDED_TABLES


def test_fill_migrates_when_the_template_is_stale(monkeypatch):
    import tenants.schema_clone as schema_clone

    PoolSchema.objects.filter(is_template=True).update(fingerprint="0" * 64)
    copies: list[str] = []
    monkeypatch.setattr(schema_clone, "schema_clone", lambda **kw: copies.append(kw["target"]))
    monkeypatch.setattr(pool, "pool_schemas_upgrade", lambda: {})  # keep the template stale for this fill

    assert tenant_pool_fill(target=TEST_POOL_SIZE + 1) == 1

    assert copies == []
    assert trigger_count(ready()[-1].name) == 3  # migrated: the audit trail's triggers are there


def test_only_one_filler_runs_at_a_time():
    import psycopg

    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [pool.FILL_LOCK])

        assert tenant_pool_fill(target=TEST_POOL_SIZE + 3) is None

    assert pool_ready_count() == TEST_POOL_SIZE


def test_a_claim_asks_for_a_refill_after_commit_and_a_broker_outage_is_harmless(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    from tenants.tasks import tenant_pool_fill_task

    sent: list[dict[str, object]] = []
    monkeypatch.setattr(tenant_pool_fill_task, "apply_async", lambda **kwargs: sent.append(kwargs))
    settings.TENANT_POOL_SIZE = 3

    with django_capture_on_commit_callbacks(execute=True):
        tenant_provision(slug="refill-co", name="Refill", admin=make_user())

    assert sent == [{"headers": {"_schema_name": "public"}}]

    def down(**kwargs: object) -> None:
        raise OSError("broker down")

    monkeypatch.setattr(tenant_pool_fill_task, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_provision(slug="refill-co-2", name="Refill 2", admin=make_user())
    assert tenant.schema_name == "refill-co-2"


def test_beat_refills_the_pool_every_minute():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["refill-tenant-pool"] == {
        "task": "tenants.tasks.tenant_pool_fill_task",
        "schedule": 60,
    }


def test_the_tenant_pool_command_shows_fills_and_drains(capsys, settings):
    settings.TENANT_POOL_SIZE = TEST_POOL_SIZE

    call_command("tenant_pool")
    assert f"ready {TEST_POOL_SIZE} (target {TEST_POOL_SIZE}), stale 0, template ready" in capsys.readouterr().out

    call_command("tenant_pool", fill=1)
    assert "Created 0 pool schema(s)." in capsys.readouterr().out
    assert pool_ready_count() == 1

    call_command("tenant_pool", drain=True)
    out = capsys.readouterr().out
    assert "Dropped 2 pool schema(s)." in out
    assert "ready 0 (target 2), stale 0, template missing" in out
    assert not PoolSchema.objects.filter(claimed_at__isnull=True).exists()
