"""The onboarding checklist: items done from data, dismiss, sample data loaded and removed."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context, tenant_context

from crm_apps.access.services import invitation_create
from crm_apps.audit.tests.helpers import events
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.onboarding.models import OnboardingState, SampleRecord
from crm_apps.onboarding.selectors import checklist_get

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_a(tenant_a, admin_of):
    return admin_of(tenant_a)


@pytest.fixture
def web(client_for, tenant_a, admin_a):
    return client_for(tenant_a, admin_a)


def done(tenant, member) -> dict[str, bool]:
    with tenant_context(tenant):
        return {row.item.key: row.done for row in checklist_get(member=member).rows}


def counts(tenant) -> dict[str, int]:
    with tenant_context(tenant):
        return {s.key: s.records().count() for s in registry.all_specs() if s.sample_data is not None}


def load_sample(web, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post("/onboarding/sample/load/")
    assert response.status_code == 302
    return response


def test_a_new_workspace_opens_on_the_checklist_for_its_admin(web, client_for, tenant_a, member):
    home = web.get("/")
    plain = client_for(tenant_a, member(tenant_a)).get("/")

    assert home.status_code == 200
    html = home.content.decode()
    assert 'id="onboarding"' in html
    assert "Add your first lead or deal" in html
    assert "Invite your colleagues" in html
    assert "Choose your pipeline stages and currency" in html
    assert "Try an extension" in html
    assert "Load sample data" in html
    assert 'id="onboarding"' not in plain.content.decode()


def test_items_are_done_from_data_not_clicks(web, tenant_a, admin_a):
    assert done(tenant_a, admin_a) == {"first_record": False, "invite": False, "pipeline": False, "extension": False}

    with tenant_context(tenant_a):
        record_create(spec=registry.get("deals"), actor=admin_a, data={"name": "Hammocks", "close_date": "2027-01-31"})
        invitation_create(actor=admin_a, email="new@example.com")

    assert done(tenant_a, admin_a) == {"first_record": True, "invite": True, "pipeline": False, "extension": False}


def test_sample_records_do_not_count_as_the_first_record(web, tenant_a, admin_a, django_capture_on_commit_callbacks):
    load_sample(web, django_capture_on_commit_callbacks)
    assert done(tenant_a, admin_a)["first_record"] is False

    with tenant_context(tenant_a):
        record_create(spec=registry.get("leads"), actor=admin_a, data={"last_name": "Mine", "company": "Own Co"})

    assert done(tenant_a, admin_a)["first_record"] is True


def test_keeping_the_default_stages_is_confirmed_by_hand_and_other_items_are_not(web, tenant_a, admin_a):
    kept = web.post("/onboarding/confirm/pipeline/")
    refused = web.post("/onboarding/confirm/invite/")

    assert kept.status_code == refused.status_code == 302
    assert done(tenant_a, admin_a)["pipeline"] is True
    assert done(tenant_a, admin_a)["invite"] is False


def test_dismissed_checklist_leaves_the_home_page_and_can_come_back(web, tenant_a):
    assert web.post("/onboarding/dismiss/", {"next": "home"})["Location"] == "/"
    assert 'id="onboarding"' not in web.get("/").content.decode()
    assert "Show it again" in web.get("/onboarding/").content.decode()

    web.post("/onboarding/dismiss/", {"show": "1"})

    assert 'id="onboarding"' in web.get("/").content.decode()


def test_sample_data_loads_with_progress_and_removal_keeps_own_records(
    web, tenant_a, admin_a, django_capture_on_commit_callbacks
):
    load_sample(web, django_capture_on_commit_callbacks)

    loaded = counts(tenant_a)
    assert loaded == {
        "organizations": 16,
        "contacts": 20,
        "leads": 12,
        "deals": 16,
        "campaigns": 3,
        "vendors": 3,
        "events": 4,
        "tasks": 3,
        "calls": 6,
        "documents": 2,
        "products": 7,
        "services": 4,
        "price-books": 2,
        "quotes": 3,
        "sales-orders": 2,
        "invoices": 1,
        "purchase-orders": 1,
        "assets": 3,
        "faq": 3,
        "service-contracts": 2,
        "tickets": 5,
        "projects": 2,
        "project-tasks": 7,
        "project-milestones": 3,
    }
    status = web.get("/onboarding/sample/status/").json()
    assert (status["status"], status["progress"], status["records"]["deals"]) == ("loaded", 100, 16)
    assert "130 sample records are in your workspace." in web.get("/").content.decode()
    with tenant_context(tenant_a):
        first_tag = SampleRecord.objects.filter(module="organizations").order_by("id").first()
        assert first_tag is not None
        sample_org = registry.get("organizations").records().get(pk=first_tag.record_id)
        own_org = record_create(spec=registry.get("organizations"), actor=admin_a, data={"name": "Our Own Ltd"})
        own_contact = record_create(
            spec=registry.get("contacts"),
            actor=admin_a,
            data={"last_name": "Keeper", "organization": sample_org},
        )

    removed = web.post("/onboarding/sample/remove/")

    assert removed.status_code == 302
    left = {"organizations": 1, "contacts": 1}
    assert counts(tenant_a) == {key: left.get(key, 0) for key in loaded}
    with tenant_context(tenant_a):
        own_contact.refresh_from_db()
        own_org.refresh_from_db()
        assert own_contact.organization_id is None  # the sample organisation went, the contact stayed
        assert SampleRecord.objects.count() == 0
        assert OnboardingState.objects.get().sample_status == ""
    settings = [e.details.get("setting") for e in events(tenant_a, action="settings_changed")]
    assert settings == ["sample_data_loaded", "sample_data_removed"]


def test_sample_data_cannot_be_loaded_twice(web, tenant_a, django_capture_on_commit_callbacks):
    load_sample(web, django_capture_on_commit_callbacks)
    web.post("/onboarding/sample/load/")

    assert counts(tenant_a)["deals"] == 16


def test_sample_data_stays_in_its_tenant(
    web, client_for, tenant_a, tenant_b, admin_of, django_capture_on_commit_callbacks
):
    load_sample(web, django_capture_on_commit_callbacks)
    other = client_for(tenant_b, admin_of(tenant_b))

    assert counts(tenant_b)["deals"] == 0
    assert other.get("/onboarding/sample/status/").json()["records"] == {}
    other.post("/onboarding/sample/remove/")

    assert counts(tenant_a)["deals"] == 16
    with schema_context(tenant_b.schema_name):
        assert SampleRecord.objects.count() == 0


@pytest.mark.parametrize("path", ["/onboarding/sample/load/", "/onboarding/sample/remove/", "/onboarding/dismiss/"])
def test_only_admins_manage_onboarding(client_for, tenant_a, member, path, django_capture_on_commit_callbacks):
    anonymous = client_for(tenant_a).post(path)
    with django_capture_on_commit_callbacks(execute=True):
        plain = client_for(tenant_a, member(tenant_a)).post(path)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert plain.status_code == 403
    assert counts(tenant_a)["deals"] == 0
    with tenant_context(tenant_a):
        assert not OnboardingState.objects.exists()
