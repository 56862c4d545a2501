from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists

from tenants.models import Domain, Tenant, TenantStatus

pytestmark = pytest.mark.django_db


def create(slug="cmd-co"):
    call_command(
        "tenant_create",
        slug,
        name="Command Co",
        admin_email="ops@example.com",
        admin_password="operator-pass-77",
    )
    return Tenant.objects.get(schema_name=slug)


def test_create_suspend_reactivate(capsys):
    tenant = create()
    call_command("tenant_suspend", "cmd-co")
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.SUSPENDED
    call_command("tenant_suspend", "cmd-co", read_only=True)
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.READ_ONLY
    call_command("tenant_reactivate", "cmd-co")
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.ACTIVE
    assert "Created cmd-co: http://cmd-co.localhost:8000/" in capsys.readouterr().out


def test_create_uses_the_signup_rules():
    with pytest.raises(CommandError, match="subdomain: This subdomain is reserved"):
        call_command("tenant_create", "admin", name="X", admin_email="x@example.com", admin_password="operator-pass-77")


def test_delete_keeps_the_schema_unless_asked(capsys):
    create()

    call_command("tenant_delete", "cmd-co")

    out = capsys.readouterr().out
    kept = out.strip().rsplit(" ", 1)[-1].rstrip(".")
    assert kept.startswith("deleted_cmd_co_")
    assert schema_exists(kept)
    assert not schema_exists("cmd-co")
    assert not Tenant.objects.filter(schema_name="cmd-co").exists()
    assert not Domain.objects.filter(domain="cmd-co.localhost").exists()
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{kept}".access_member')
        assert cursor.fetchone() == (1,)


def test_delete_with_drop_schema_removes_the_data():
    create()

    call_command("tenant_delete", "cmd-co", drop_schema=True)

    assert not schema_exists("cmd-co")
    assert not Tenant.objects.filter(schema_name="cmd-co").exists()


def test_unknown_tenant_is_a_clear_error():
    with pytest.raises(CommandError, match="No tenant 'ghost'"):
        call_command("tenant_suspend", "ghost")


def test_seed_demo_is_idempotent(capsys, media_root):  # demo documents write files
    call_command("seed_demo")
    call_command("seed_demo")

    assert Tenant.objects.filter(schema_name="demo").count() == 1
    assert "demo@example.com / demo-crm-2026" in capsys.readouterr().out
    from django_tenants.utils import schema_context

    from crm_apps.access.models import Member
    from crm_apps.engine import registry

    with schema_context("demo"):
        assert Member.objects.count() == 5
        # The test-only module with a child table (saas/settings/test.py) ships no demo data.
        shipped = [s for s in registry.all_specs() if s.model._meta.app_label != "childtest"]
        counts = {s.key: s.model.objects.count() for s in shipped}
    assert counts == {
        "organizations": 16,
        "contacts": 20,
        "leads": 12,
        "deals": 16,
        "campaigns": 3,
        "vendors": 3,
        "quotes": 3,
        "sales-orders": 2,
        "purchase-orders": 1,
        "invoices": 1,
        "products": 7,
        "services": 4,
        "price-books": 2,
        "events": 4,
        "tasks": 3,
        "calls": 6,
        "documents": 2,
        "assets": 3,
        "faq": 3,
        "service-contracts": 2,
        "tickets": 5,
        "projects": 2,
        "project-tasks": 7,
        "project-milestones": 3,
    }
    from billing.models import Subscription

    demo = Subscription.objects.select_related("plan", "tenant").get(tenant__schema_name="demo")
    assert (demo.plan.code, demo.status, demo.complimentary, demo.tenant.plan_code) == (
        "business",
        "active",
        True,
        "business",
    )


def test_seed_demo_offers_a_russian_workspace(capsys):
    from django.utils import translation
    from django_tenants.utils import tenant_context

    from crm_apps.modules.deals.models import Pipeline

    call_command("seed_demo")

    russian = Tenant.objects.get(schema_name="demo-ru")
    assert (russian.language, Tenant.objects.get(schema_name="demo").language) == ("ru", "en")
    assert "demo-ru.localhost" in capsys.readouterr().out
    with tenant_context(russian), translation.override("ru"):
        assert Pipeline.objects.get(is_default=True).display_name == "Продажи"
        assert Pipeline.objects.get(is_default=True).stages.count() == 10


def test_operator_create_makes_a_staff_superuser_with_a_checked_password(monkeypatch):
    from tenants.models import User

    monkeypatch.setenv("OPERATOR_PASSWORD", "123")
    with pytest.raises(CommandError):
        call_command("operator_create", "ops@example.com")
    assert not User.objects.filter(email="ops@example.com").exists()

    monkeypatch.setenv("OPERATOR_PASSWORD", "a-long-operator-pass-2026")
    call_command("operator_create", "Ops@Example.com", "--name", "Ops", stdout=io.StringIO())
    ops = User.objects.get(email="ops@example.com")
    assert ops.is_staff and ops.is_superuser and ops.check_password("a-long-operator-pass-2026")
    with pytest.raises(CommandError, match="already has an account"):
        call_command("operator_create", "ops@example.com")


def test_the_demo_operator_exists_only_in_development_and_is_created_once(settings):
    from tenants.management.commands.operator_create import DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD
    from tenants.models import User

    settings.DEBUG = False
    with pytest.raises(CommandError, match="development"):
        call_command("operator_create", "--demo")
    assert not User.objects.filter(email=DEMO_OPERATOR_EMAIL).exists()

    settings.DEBUG = True
    out = io.StringIO()
    call_command("operator_create", "--demo", stdout=out)
    call_command("operator_create", "--demo", "--quiet")
    operator = User.objects.get(email=DEMO_OPERATOR_EMAIL)
    assert operator.is_staff and operator.check_password(DEMO_OPERATOR_PASSWORD)
    assert DEMO_OPERATOR_PASSWORD in out.getvalue()
