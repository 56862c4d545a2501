"""Tenant isolation across every channel that exists so far: pages, API, cache, tasks, files, mail."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_tenants.utils import schema_context, tenant_context

from crm_apps.access.models import Member
from crm_apps.access.tasks import member_directory_sync_task
from tenants.models import WorkspaceMembership
from tenants.runtime import use_public_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_teams(tenant_a, tenant_b, member):
    """Each tenant has an admin and a distinctive member."""
    return {
        "a": member(tenant_a, email="only-in-alpha@example.com", is_admin=True),
        "b": member(tenant_b, email="only-in-beta@example.com", is_admin=True),
    }


def test_members_page_shows_only_own_tenant(client_for, tenant_a, tenant_b, two_teams):
    page_a = client_for(tenant_a, two_teams["a"]).get("/settings/members/").content.decode()
    page_b = client_for(tenant_b, two_teams["b"]).get("/settings/members/").content.decode()

    assert "only-in-alpha@example.com" in page_a
    assert "only-in-beta@example.com" not in page_a
    assert "only-in-beta@example.com" in page_b
    assert "only-in-alpha@example.com" not in page_b


def test_home_page_shows_only_own_team(client_for, tenant_a, tenant_b, two_teams):
    page_b = client_for(tenant_b, two_teams["b"]).get("/").content.decode()

    assert "Beta GmbH" in page_b
    assert "Alpha Ltd" not in page_b


def test_api_of_b_knows_nothing_of_a(client_for, tenant_a, tenant_b, two_teams):
    client_b = client_for(tenant_b, two_teams["b"])

    me = client_b.get("/api/v1/me").json()
    tokens = client_b.get("/api/v1/auth/tokens").json()

    assert me["email"] == "only-in-beta@example.com"
    assert me["tenant"] == {"slug": "beta", "name": "Beta GmbH"}
    assert tokens == []


def test_host_of_b_with_session_or_token_of_a_is_refused(client_for, tenant_a, tenant_b, two_teams):
    from crm_apps.access.services import api_token_create

    with tenant_context(tenant_a):
        _token, key = api_token_create(member=two_teams["a"], name="a")
    session_a = client_for(tenant_a, two_teams["a"]).cookies["sessionid"].value

    by_token = client_for(tenant_b).get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}")
    by_session = client_for(tenant_b, HTTP_COOKIE=f"sessionid={session_a}").get("/settings/members/")

    assert by_token.status_code == 401
    assert by_session.status_code == 302
    assert by_session["Location"].startswith("/accounts/login/")


def test_cache_entries_are_tenant_prefixed_and_invisible_elsewhere(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        cache.set("greeting", "hello from alpha", 60)
        assert cache.get("greeting") == "hello from alpha"
    with tenant_context(tenant_b):
        assert cache.get("greeting") is None
        cache.set("greeting", "hello from beta", 60)
    use_public_schema()
    assert cache.get("greeting") is None

    redis_client = cache._cache.get_client()  # type: ignore[attr-defined]
    raw_keys = {k.decode() for k in redis_client.scan_iter(match="*greeting")}
    assert {k.split(":")[0] for k in raw_keys} == {"alpha", "beta"}
    with tenant_context(tenant_a):
        assert cache.get("greeting") == "hello from alpha"


def test_uploaded_files_live_under_a_per_tenant_prefix(tenant_a, tenant_b, media_root):
    tmp_path = media_root
    with tenant_context(tenant_a):
        name = default_storage.save("notes/secret.txt", ContentFile(b"alpha only"))
        path_a = default_storage.path(name)
    with tenant_context(tenant_b):
        assert not default_storage.exists(name)
        path_b = default_storage.path(name)

    assert path_a == str(tmp_path / "alpha" / "notes" / "secret.txt")
    assert path_b == str(tmp_path / "beta" / "notes" / "secret.txt")
    assert (tmp_path / "alpha" / "notes" / "secret.txt").read_bytes() == b"alpha only"


def test_task_sent_from_a_runs_in_a_and_touches_only_a(tenant_a, tenant_b, two_teams):
    WorkspaceMembership.objects.filter(tenant__in=[tenant_a, tenant_b]).delete()

    with tenant_context(tenant_a):
        result = member_directory_sync_task.delay()

    assert result.get()["created"] == 2  # alpha's admin and only-in-alpha
    assert WorkspaceMembership.objects.filter(tenant=tenant_a).count() == 2
    assert WorkspaceMembership.objects.filter(tenant=tenant_b).count() == 0
    with schema_context("alpha"):
        assert set(Member.objects.values_list("user__email", flat=True)) == set(
            WorkspaceMembership.objects.filter(tenant=tenant_a).values_list("user__email", flat=True)
        )


def test_tenant_task_refuses_to_run_without_a_tenant():
    use_public_schema()

    with pytest.raises(RuntimeError, match="needs a tenant"):
        member_directory_sync_task.apply().get()


def test_find_my_workspaces_lists_only_the_owners_workspaces(
    public_client, tenant_a, tenant_b, member, django_capture_on_commit_callbacks
):
    from django.core import mail

    member(tenant_a, email="roamer@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/find-workspaces/", {"email": "Roamer@example.com"})

    assert "Check your email" in response.content.decode()
    assert len(mail.outbox) == 1
    assert "http://alpha.localhost:8000/accounts/login/" in mail.outbox[0].body
    assert "beta" not in mail.outbox[0].body.lower()
