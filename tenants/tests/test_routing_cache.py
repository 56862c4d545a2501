"""Host -> tenant resolution: remembered per process, no domain query per request, and every process
forgets within a second when a tenant or domain changes (real Redis, a second real process)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import make_user
from tenants import runtime
from tenants.models import Domain, TenantStatus
from tenants.services import tenant_provision, tenant_set_status
from tests.integration.helpers import child_env


@pytest.mark.django_db
def test_second_request_to_a_host_makes_no_domain_query(tenant_a):
    client = Client(HTTP_HOST="alpha.localhost")
    client.get("/")  # the host is looked up once

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")

    assert response.status_code == 302
    assert [q["sql"] for q in captured.captured_queries if "tenants_domain" in q["sql"]] == []
    assert len(captured.captured_queries) == 0  # anonymous: no session, no member; same schema: no SET


@pytest.mark.django_db
def test_requests_alternating_between_tenants_make_no_query(tenant_a, tenant_b):
    clients = [Client(HTTP_HOST="alpha.localhost"), Client(HTTP_HOST="beta.localhost")]
    for c in clients:
        c.get("/")

    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            for c in clients:
                assert c.get("/").status_code == 302

    # search_path is only set when a query needs it (TENANT_LIMIT_SET_CALLS): an anonymous page needs none
    assert captured.captured_queries == []


@pytest.mark.django_db
def test_suspending_in_this_process_takes_effect_at_once(client_for, tenant_a):
    client = client_for(tenant_a)
    assert client.get("/").status_code == 302

    tenant_set_status(tenant=tenant_a, status=TenantStatus.SUSPENDED)

    assert client.get("/").status_code == 403


@pytest.mark.django_db
def test_the_remembered_tenant_is_per_host(tenant_a):
    Domain.objects.create(domain="alpha-alias.localhost", tenant=tenant_a, is_primary=False)

    first = runtime.tenant_for_host("alpha.localhost")
    second = runtime.tenant_for_host("alpha-alias.localhost")

    assert (first.schema_name, first.domain_url) == ("alpha", "alpha.localhost")
    assert (second.schema_name, second.domain_url) == ("alpha", "alpha-alias.localhost")


@pytest.mark.django_db
def test_unknown_hosts_are_remembered_apart_and_bounded(tenant_a, monkeypatch):
    monkeypatch.setattr(runtime, "MAX_REMEMBERED_MISSES", 5)
    runtime.tenant_for_host("alpha.localhost")

    for i in range(20):
        assert runtime.tenant_for_host(f"nobody-{i}.localhost") is None

    assert runtime.remembered_hosts() == 1  # a flood of unknown hosts never pushes real tenants out
    assert len(runtime._misses) <= 5


@pytest.mark.django_db
def test_without_redis_hosts_are_read_again_but_still_correct(tenant_a, monkeypatch):
    def broken() -> object:
        raise ConnectionError("redis down")

    monkeypatch.setattr(runtime, "_redis_client", broken)
    monkeypatch.setattr(runtime, "DOMAIN_CHECK_SECONDS", 0.0)
    runtime.forget_domains()
    runtime._generation["checked"] = -1.0

    assert runtime.tenant_for_host("alpha.localhost").schema_name == "alpha"
    with CaptureQueriesContext(connection) as captured:
        assert runtime.tenant_for_host("alpha.localhost").schema_name == "alpha"

    assert any("tenants_domain" in q["sql"] for q in captured.captured_queries)


CHILD = textwrap.dedent(
    """
    import json, sys, time
    import django
    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from tenants.runtime import tenant_for_host
    for line in sys.stdin:
        host = line.strip()
        with CaptureQueriesContext(connection) as captured:
            tenant = tenant_for_host(host)
        domain_queries = sum("tenants_domain" in q["sql"] for q in captured.captured_queries)
        answer = None if tenant is None else {"name": tenant.name, "status": tenant.status}
        print(json.dumps({"tenant": answer, "domain_queries": domain_queries}), flush=True)
    """
)


class Child:
    """A second Django process on the test database and the same Redis, answering host lookups."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, host: str) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(host + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def wait_until(self, host: str, predicate, timeout: float = 5.0) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if predicate(self.ask(host)):
                return time.monotonic() - started
            time.sleep(0.02)
        raise AssertionError(f"{host}: not seen within {timeout} s")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture
def child():
    process = Child()
    yield process
    process.close()


@pytest.mark.slow
def test_suspension_and_rename_reach_another_process_within_a_second(committed, child):
    slug = committed.slug("rc")
    tenant = tenant_provision(slug=slug, name="Routing Co", admin=make_user(committed.email()))
    host = f"{slug}.localhost"
    assert child.ask(host)["tenant"] == {"name": "Routing Co", "status": "active"}
    assert child.ask(host)["domain_queries"] == 0  # remembered: no query while nothing changes

    tenant_set_status(tenant=tenant, status=TenantStatus.SUSPENDED)
    suspended_after = child.wait_until(host, lambda a: a["tenant"]["status"] == "suspended")

    tenant.refresh_from_db()
    tenant.name = "Renamed Co"
    tenant.save(update_fields=["name"])  # as the operator admin saves it
    renamed_after = child.wait_until(host, lambda a: a["tenant"]["name"] == "Renamed Co")

    assert suspended_after < 1.0
    assert renamed_after < 1.0


@pytest.mark.slow
def test_moved_domain_reaches_another_process_within_a_second(committed, child):
    slug = committed.slug("rd")
    tenant = tenant_provision(slug=slug, name="Moving Co", admin=make_user(committed.email()))
    old, new = f"{slug}.localhost", f"{slug}-new.localhost"
    assert child.ask(old)["tenant"] is not None
    assert child.ask(new)["tenant"] is None  # remembered as unknown

    Domain.objects.filter(tenant=tenant).update(domain=new)  # a bulk update fires no signal ...
    runtime.domains_changed()  # ... so whoever does one announces it (the admin saves rows: signals do)
    moved_after = child.wait_until(new, lambda a: a["tenant"] is not None)

    assert child.ask(old)["tenant"] is None
    assert moved_after < 1.0


@pytest.mark.slow
def test_a_domain_saved_like_the_admin_does_reaches_another_process(committed, child):
    slug = committed.slug("re")
    tenant = tenant_provision(slug=slug, name="Admin Co", admin=make_user(committed.email()))
    alias = f"{slug}-alias.localhost"
    assert child.ask(alias)["tenant"] is None

    Domain.objects.create(domain=alias, tenant=tenant, is_primary=False)

    assert child.wait_until(alias, lambda a: a["tenant"] is not None) < 1.0


@pytest.mark.django_db
def test_unannounced_changes_are_still_seen_after_the_safety_ttl(tenant_a, monkeypatch):
    runtime.tenant_for_host("alpha.localhost")
    assert runtime.tenant_for_host("alpha-later.localhost") is None
    Domain.objects.create(domain="alpha-later.localhost", tenant=tenant_a, is_primary=False)  # signal: announced
    runtime.tenant_for_host("alpha-later.localhost")
    Domain.objects.filter(domain="alpha-later.localhost").update(domain="alpha-moved.localhost")  # no signal
    assert runtime.tenant_for_host("alpha-later.localhost") is not None  # remembered for now
    clock = [time.monotonic() + runtime.HIT_TTL_SECONDS + 1]
    monkeypatch.setattr(runtime, "_check_generation", lambda now: None)  # nothing announced anywhere
    monkeypatch.setattr(runtime.time, "monotonic", lambda: clock[0])

    assert runtime.tenant_for_host("alpha-later.localhost") is None
    assert runtime.tenant_for_host("alpha-moved.localhost").schema_name == "alpha"


@pytest.mark.django_db
def test_a_remembered_host_header_is_checked_again_when_allowed_hosts_change(tenant_a, settings):
    from tenants import middleware

    client = Client(HTTP_HOST="ALPHA.localhost:8000")
    assert client.get("/").status_code == 302
    assert middleware._host_names["ALPHA.localhost:8000"] == "alpha.localhost"

    settings.ALLOWED_HOSTS = ["example.org"]
    response = client.get("/")

    assert response.status_code == 404  # refused by ALLOWED_HOSTS: the public "unknown workspace" page
    assert "ALPHA.localhost:8000" not in middleware._host_names


@pytest.mark.django_db
def test_the_remembered_host_headers_are_bounded(tenant_a, monkeypatch):
    from tenants import middleware

    monkeypatch.setattr(middleware, "MAX_REMEMBERED_HOST_HEADERS", 3)
    for i in range(10):
        Client(HTTP_HOST=f"alpha.localhost:{8000 + i}").get("/")
    assert len(middleware._host_names) <= 3


@pytest.mark.django_db
def test_a_member_with_a_session_cookie_is_still_recognised(client_for, admin_of, tenant_a):
    from django.conf import settings as django_settings

    client = client_for(tenant_a, admin_of(tenant_a))
    assert django_settings.SESSION_COOKIE_NAME in client.cookies
    assert client.get("/").status_code == 200
    client.cookies.pop(django_settings.SESSION_COOKIE_NAME)
    assert client.get("/").status_code == 302  # no cookie: anonymous, sent to sign in


@pytest.mark.django_db
def test_overlong_host_headers_are_checked_but_not_remembered(tenant_a):
    from tenants import middleware

    host = "x" * 300 + ".localhost"
    response = Client(HTTP_HOST=host).get("/")

    assert response.status_code == 404  # allowed by ALLOWED_HOSTS' wildcard, but no such workspace
    assert host not in middleware._host_names


@pytest.mark.django_db
def test_an_anonymous_tenant_page_varies_on_the_cookie(tenant_a):
    response = Client(HTTP_HOST="alpha.localhost").get("/accounts/login/")

    assert response.status_code == 200
    assert "Cookie" in response.headers.get("Vary", "")
