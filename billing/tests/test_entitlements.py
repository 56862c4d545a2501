"""Plan limits and features enforced where the work happens: members, records (UI, API, batch), file
storage, the daily API quota (429), and features off in the plan (hidden in the navigation, refused
with 403). Refused calls change nothing, and one tenant's limits never touch another's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from billing import entitlements
from billing.models import Plan
from conftest import host_of
from crm_apps.access.models import Invitation, Member
from crm_apps.access.services import api_token_create, invitation_create, member_deactivate, member_reactivate
from crm_apps.engine import registry
from crm_apps.engine.models import CustomField
from crm_apps.engine.services import custom_field_create, record_create
from tenants.models import Tenant

pytestmark = pytest.mark.django_db
UPGRADE = "/settings/billing/"


def limit(code: str = "starter", **fields: Any) -> Plan:
    """Change the plan's limits or features, as an operator would (this process forgets its copy)."""
    Plan.objects.filter(code=code).update(**fields)
    entitlements.plans_forget()
    return Plan.objects.get(code=code)


def contacts(tenant: Tenant) -> int:
    with schema_context(tenant.schema_name):
        return registry.get("contacts").model._base_manager.count()


def api(tenant: Tenant, member: Member) -> Client:
    with schema_context(tenant.schema_name):
        key = api_token_create(member=member, name="limits")[1]
    return Client(HTTP_HOST=host_of(tenant), HTTP_AUTHORIZATION=f"Token {key}")


# Records -----------------------------------------------------------------------------------------------


def test_an_api_create_beyond_the_records_limit_is_a_403_with_an_upgrade_link_and_writes_nothing(
    tenant_a, tenant_b, member
):
    used = contacts(tenant_a)
    limit(max_records=used + 1)
    client = api(tenant_a, member(tenant_a))

    first = client.post("/api/v1/contacts/", {"last_name": "Fits"}, content_type="application/json")
    second = client.post("/api/v1/contacts/", {"last_name": "Too many"}, content_type="application/json")

    assert first.status_code == 201
    assert second.status_code == 403
    assert second.json()["code"] == "plan_limit"
    assert second.json()["limit"] == "records"
    assert second.json()["upgrade_url"] == UPGRADE
    assert "allows" in second.json()["detail"] and "billing page" in second.json()["detail"]
    assert contacts(tenant_a) == used + 1
    # Beta is on the same plan but counts its own records.
    other = api(tenant_b, member(tenant_b)).post(
        "/api/v1/contacts/", {"last_name": "Beta's own"}, content_type="application/json"
    )
    assert other.status_code == 201


def test_a_batch_that_would_cross_the_records_limit_creates_none(tenant_a, member):
    used = contacts(tenant_a)
    limit(max_records=used + 2)
    client = api(tenant_a, member(tenant_a))
    records = [{"last_name": f"Batch {i}"} for i in range(3)]

    response = client.post("/api/v1/contacts/batch", {"records": records}, content_type="application/json")

    assert response.status_code == 403
    assert response.json()["limit"] == "records"
    assert contacts(tenant_a) == used


def test_the_create_form_shows_the_limit_with_a_link_to_the_billing_page(tenant_a, member, client_for):
    used = contacts(tenant_a)
    limit(max_records=used)
    client = client_for(tenant_a, member(tenant_a))

    response = client.post("/m/contacts/new/", {"last_name": "Over the limit", "confirm_duplicate": "1"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Your plan (Starter) allows" in html
    assert f'<a href="{UPGRADE}">Open the billing page</a>' in html
    assert contacts(tenant_a) == used


def test_the_record_count_is_cached_so_creates_do_not_count_the_table(tenant_a, member):
    limit(max_records=1_000_000)
    actor = member(tenant_a)
    spec = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        record_create(spec=spec, actor=actor, data={"last_name": "First"})  # counts once
        with CaptureQueriesContext(connection) as captured:
            record_create(spec=spec, actor=actor, data={"last_name": "Second"})
        assert cache.get(entitlements.RECORDS_KEY) is not None
    counting = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper() or "reltuples" in q["sql"]]
    assert counting == []


def test_a_plan_without_a_records_limit_checks_nothing(tenant_a, member):
    limit(max_records=None)
    actor = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        record_create(spec=registry.get("contacts"), actor=actor, data={"last_name": "Unlimited"})
        assert cache.get(entitlements.RECORDS_KEY) is None


# Members -----------------------------------------------------------------------------------------------


def test_inviting_beyond_the_members_limit_is_refused_with_the_upgrade_link(tenant_a, admin_of, client_for):
    with schema_context(tenant_a.schema_name):
        active = Member.objects.filter(active=True).count()
    limit(max_members=active + 1)
    client = client_for(tenant_a, admin_of(tenant_a))

    first = client.post("/settings/members/", {"email": "first-invitee@example.com"})
    second = client.post("/settings/members/", {"email": "second-invitee@example.com"})

    assert first.status_code == 302
    assert second.status_code == 200
    html = second.content.decode()
    assert "counting pending invitations" in html and f'href="{UPGRADE}"' in html
    with schema_context(tenant_a.schema_name):
        assert list(Invitation.objects.values_list("email", flat=True)) == ["first-invitee@example.com"]


def test_reactivating_a_member_beyond_the_limit_is_refused_and_nothing_changes(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    gone = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        member_deactivate(actor=admin, member=gone)
        active = Member.objects.filter(active=True).count()
        limit(max_members=active)

        with pytest.raises(entitlements.PlanLimitReached) as refused:
            member_reactivate(actor=admin, member=gone)

        assert refused.value.limit == "members"
        assert Member.objects.get(pk=gone.pk).active is False


def test_the_members_limit_of_one_tenant_does_not_limit_another(tenant_a, tenant_b, admin_of):
    limit(max_members=1)
    Tenant.objects.filter(pk=tenant_b.pk).update(plan_code="business")
    with schema_context(tenant_b.schema_name):
        invitation, _key = invitation_create(actor=admin_of(tenant_b), email="welcome@beta.example.com")
    assert invitation.pk is not None
    with schema_context(tenant_a.schema_name), pytest.raises(entitlements.PlanLimitReached):
        invitation_create(actor=admin_of(tenant_a), email="refused@alpha.example.com")


# Storage -----------------------------------------------------------------------------------------------


def test_an_upload_beyond_the_storage_limit_is_refused(tenant_a, media_root):
    limit(max_storage_mb=1)
    folder = media_root / tenant_a.schema_name
    folder.mkdir(parents=True)
    (folder / "existing.bin").write_bytes(b"x" * 700_000)

    with schema_context(tenant_a.schema_name):
        entitlements.storage_check(adding_bytes=300_000)  # 1,000,000 bytes: fits in 1 MB
        with pytest.raises(entitlements.PlanLimitReached) as refused:
            entitlements.storage_check(adding_bytes=400_000)
        with pytest.raises(ValueError):
            entitlements.storage_check(adding_bytes=-1)

    assert refused.value.limit == "storage"
    assert "1 MB" in refused.value.text


@pytest.fixture
def redis_unreachable(settings: Any) -> None:
    """The cache points at a port where no Redis listens (connections are refused)."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"}}


def test_with_redis_unreachable_uploads_are_checked_against_the_files_on_disk(tenant_a, media_root, redis_unreachable):
    limit(max_storage_mb=1)
    folder = media_root / tenant_a.schema_name
    folder.mkdir(parents=True)
    (folder / "existing.bin").write_bytes(b"x" * 700_000)

    with schema_context(tenant_a.schema_name):
        entitlements.storage_check(adding_bytes=300_000)  # counted on disk: fits
        with pytest.raises(entitlements.PlanLimitReached) as refused:
            entitlements.storage_check(adding_bytes=400_000)

    assert refused.value.limit == "storage"


def test_with_redis_unreachable_records_near_the_limit_are_counted_and_refused(tenant_a, member, redis_unreachable):
    used = contacts(tenant_a)
    limit(max_records=used + 1)
    actor = member(tenant_a)
    spec = registry.get("contacts")

    with schema_context(tenant_a.schema_name):
        record_create(spec=spec, actor=actor, data={"last_name": "Last one"})
        with pytest.raises(entitlements.PlanLimitReached) as refused:
            record_create(spec=spec, actor=actor, data={"last_name": "One too many"})

    assert refused.value.limit == "records"
    assert contacts(tenant_a) == used + 1


# API quota ---------------------------------------------------------------------------------------------


def test_api_calls_beyond_the_daily_quota_get_429_with_retry_after_per_tenant(tenant_a, tenant_b, member):
    limit(max_api_requests_per_day=2)
    alpha = api(tenant_a, member(tenant_a))
    beta = api(tenant_b, member(tenant_b))

    anonymous = Client(HTTP_HOST=host_of(tenant_a))
    assert {anonymous.get("/api/v1/me").status_code for _ in range(3)} <= {401, 403}  # refused, never counted
    answers = [alpha.get("/api/v1/me").status_code for _ in range(3)]
    refused = alpha.get("/api/v1/me")
    beta_answer = beta.get("/api/v1/me")

    assert answers == [200, 200, 429]
    assert refused.status_code == 429
    assert refused.json()["code"] == "api_quota" and refused.json()["upgrade_url"] == UPGRADE
    assert 0 < int(refused["Retry-After"]) <= 86_400
    assert beta_answer.status_code == 200  # Beta's counter is its own


def test_the_billing_page_shows_todays_api_requests(tenant_a, member, admin_of, client_for):
    limit(max_api_requests_per_day=100)
    client = api(tenant_a, member(tenant_a))
    client.get("/api/v1/me")
    client.get("/api/v1/me")

    page = client_for(tenant_a, admin_of(tenant_a)).get(UPGRADE)

    usage = {u.label: u.used for u in page.context["usage"]}
    assert usage["API requests today"] == 2


# Features ----------------------------------------------------------------------------------------------


def test_without_the_api_feature_the_api_is_refused_and_its_link_hidden(tenant_a, member, client_for):
    person = member(tenant_a)
    client = api(tenant_a, person)
    assert client.get("/api/v1/me").status_code == 200
    limit(features=["crm", "custom_fields"])

    refused = client.get("/api/v1/me")
    page = client_for(tenant_a, person).get("/")
    tokens_page = client_for(tenant_a, person).get("/settings/api-tokens/")

    assert refused.status_code == 403
    assert refused.json()["code"] == "feature_not_in_plan" and refused.json()["feature"] == "api"
    assert "not included in your plan" in refused.json()["detail"]
    assert 'href="/settings/api-tokens/"' not in page.content.decode()
    assert tokens_page.status_code == 403


def test_access_control_and_audit_screens_follow_the_plan(tenant_a, admin_of, client_for):
    client = client_for(tenant_a, admin_of(tenant_a))
    limit(features=["crm", "api", "custom_fields", "access_control", "audit"])
    assert client.get("/settings/access/").status_code == 200
    assert client.get("/settings/audit/").status_code == 200
    limit(features=["crm", "api", "custom_fields"])

    access = client.get("/settings/access/")
    audit = client.get("/settings/audit/")
    home = client.get("/")

    assert access.status_code == 403 and audit.status_code == 403
    assert "Roles, profiles and sharing rules is not included in your plan" in access.content.decode()
    assert f'href="{UPGRADE}"' in access.content.decode()
    assert 'href="/settings/access/"' not in home.content.decode()


def test_without_custom_fields_new_fields_are_refused_in_the_api_and_the_screen(tenant_a, admin_of, client_for):
    admin = admin_of(tenant_a)
    limit(features=["crm", "api"])
    client = api(tenant_a, admin)

    response = client.post(
        "/api/v1/meta/modules/contacts/fields",
        {"key": "shoe_size", "label": "Shoe size", "type": "integer"},
        content_type="application/json",
    )
    screen = client_for(tenant_a, admin).get("/settings/modules/contacts/fields/")

    assert response.status_code == 403
    assert response.json()["code"] == "plan_limit" and response.json()["limit"] == "custom_fields"
    assert "Custom fields are not included in your plan" in screen.content.decode()
    assert "data-custom-field-form" not in screen.content.decode()
    with schema_context(tenant_a.schema_name):
        assert not CustomField.objects.filter(key="shoe_size").exists()
        with pytest.raises(entitlements.FeatureNotInPlan):
            custom_field_create(
                actor=admin, spec=registry.get("contacts"), key="shoe_size", label="Shoe size", type="integer"
            )


def test_every_default_plan_includes_custom_fields():
    assert {p.code: "custom_fields" in p.features for p in Plan.objects.all()} == {
        "starter": True,
        "business": True,
        "enterprise": True,
        "sandbox": True,  # partners' development workspaces (marketplace/apps/sandbox.py) test apps on them too
    }


def test_a_plan_change_reaches_the_cached_tenant_at_once(tenant_a, member, admin_of, client_for):
    limit(features=["crm", "custom_fields"])
    client = api(tenant_a, member(tenant_a))
    assert client.get("/api/v1/me").status_code == 403

    Tenant.objects.filter(pk=tenant_a.pk).update(plan_code="business")
    from tenants.runtime import forget_domains

    forget_domains()  # what billing does when it moves a tenant to another plan
    assert client.get("/api/v1/me").status_code == 200
    assert json.loads(client.get("/api/v1/me").content)["email"]
