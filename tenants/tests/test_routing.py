from __future__ import annotations

import pytest

from tenants.models import TenantStatus
from tenants.services import tenant_set_status

pytestmark = pytest.mark.django_db


def test_bare_domain_serves_the_public_site(public_client):
    response = public_client.get("/")

    assert response.status_code == 200
    assert b"Create your workspace" in response.content


def test_unknown_subdomain_gets_the_public_404_page(client_for, tenant_a):
    from django.test import Client

    response = Client(HTTP_HOST="nobody-here.localhost").get("/")

    assert response.status_code == 404
    assert b"Workspace not found" in response.content
    assert b"Alpha" not in response.content


def test_unknown_subdomain_api_gets_json_404():
    from django.test import Client

    response = Client(HTTP_HOST="nobody-here.localhost").get("/api/v1/me")

    assert response.status_code == 404
    assert response.json() == {"detail": "No workspace at this address."}


def test_foreign_host_is_refused_with_public_404():
    from django.test import Client

    response = Client(HTTP_HOST="alpha.evil.example").get("/")

    assert response.status_code == 404


def test_tenant_host_redirects_anonymous_visitors_to_sign_in(client_for, tenant_a):
    response = client_for(tenant_a).get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_suspended_tenant_shows_a_clear_page(client_for, tenant_a, admin_of):
    tenant_set_status(tenant=tenant_a, status=TenantStatus.SUSPENDED)

    response = client_for(tenant_a, admin_of(tenant_a)).get("/")

    assert response.status_code == 403
    assert b"This workspace is suspended" in response.content


def test_read_only_tenant_refuses_writes_but_serves_reads(client_for, tenant_a, admin_of):
    tenant_set_status(tenant=tenant_a, status=TenantStatus.READ_ONLY)
    client = client_for(tenant_a, admin_of(tenant_a))

    read = client.get("/")
    write = client.post("/settings/api-tokens/", {"name": "x"})

    assert read.status_code == 200
    assert write.status_code == 403
    assert b"read-only" in write.content


def test_health_endpoints_answer_on_any_host():
    from django.test import Client

    for host in ("localhost", "alpha.localhost", "10.1.2.3", "unknown.example"):
        client = Client(HTTP_HOST=host)
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_tenant_tables_exist_only_in_tenant_schemas(tenant_a):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'access_member' ORDER BY 1"
        )
        schemas = [row[0] for row in cursor.fetchall()]

    assert "public" not in schemas
    assert {"alpha", "beta"} <= set(schemas)


def test_oversized_bodies_are_a_400_not_a_500(public_client):
    body = '{"organization": "' + "x" * (3 * 1024 * 1024) + '"}'

    response = public_client.post("/api/v1/signup", body, content_type="application/json")

    assert response.status_code == 400


def test_garbage_hosts_get_the_public_404():
    from django.test import Client

    for host in ("alpha.localhost.evil.com", "..localhost", "a b.localhost", "xn--80ak6aa92e.localhost"):
        assert Client(HTTP_HOST=host).get("/").status_code in (400, 404), host


def test_trailing_dot_hosts_route_like_the_plain_name(client_for, tenant_a):
    from django.test import Client

    assert Client(HTTP_HOST="localhost.").get("/").status_code == 200
    assert Client(HTTP_HOST="alpha.localhost.").get("/")["Location"].startswith("/accounts/login/")


def test_read_only_tenant_still_refuses_token_revocation(client_for, tenant_a, admin_of):
    from django_tenants.utils import tenant_context

    from crm_apps.access.services import api_token_create

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        token, key = api_token_create(member=admin, name="t")
    tenant_set_status(tenant=tenant_a, status=TenantStatus.READ_ONLY)

    response = client_for(tenant_a).delete(f"/api/v1/auth/tokens/{token.pk}", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 403


def test_host_lookups_are_remembered_for_a_second_and_forgotten_on_status_changes(client_for, tenant_a, admin_of):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(tenant_a, admin_of(tenant_a))
    client.get("/")
    with CaptureQueriesContext(connection) as warm:
        client.get("/")
    tenant_set_status(tenant=tenant_a, status=TenantStatus.SUSPENDED)

    assert not any("tenants_domain" in q["sql"] for q in warm.captured_queries)
    assert client.get("/").status_code == 403  # this process forgot the host at once


def test_remembered_hosts_are_dropped_when_another_process_moves_the_generation(tenant_a, monkeypatch):
    from tenants import runtime
    from tenants.models import Domain

    runtime.tenant_for_host("alpha.localhost")
    Domain.objects.filter(domain="alpha.localhost").update(domain="renamed.localhost")  # no signal
    assert runtime.tenant_for_host("alpha.localhost") is not None  # still remembered: nobody announced it

    runtime._redis_client().set(runtime.domain_generation_key(), "another-process-changed-something")
    clock = [runtime.time.monotonic() + runtime.DOMAIN_CHECK_SECONDS]
    monkeypatch.setattr(runtime.time, "monotonic", lambda: clock[0])

    assert runtime.tenant_for_host("alpha.localhost") is None
    assert runtime.tenant_for_host("renamed.localhost").schema_name == "alpha"
