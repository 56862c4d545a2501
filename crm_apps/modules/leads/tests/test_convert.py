from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.models import Comment
from crm_apps.engine.services import record_create
from crm_apps.modules.leads.services import conversion_mapping_set

pytestmark = pytest.mark.django_db

LEAD = {
    "first_name": "Lisa",
    "last_name": "Simpson",
    "company": "Little Lisa Recycling",
    "email": "lisa@recycle.example",
    "phone": "+1 555 0102",
    "designation": "Founder",
    "source": "Web Site",
    "industry": "Environmental",
    "city": "Springfield",
    "description": "Met at the fair",
}


@pytest.fixture
def api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def lead_in(tenant, actor, **extra):
    with tenant_context(tenant):
        return record_create(spec=registry.get("leads"), actor=actor, data={**LEAD, **extra})


def test_convert_creates_organisation_contact_and_deal_with_the_mapping(api, tenant_a, admin_of):
    lead = lead_in(tenant_a, admin_of(tenant_a))

    response = api.post(
        f"/api/v1/leads/{lead.pk}/convert",
        {"create_deal": True, "deal": {"amount": "900"}},
        content_type="application/json",
    )

    ids = response.json()
    assert response.status_code == 200
    with tenant_context(tenant_a):
        org = registry.get("organizations").model.objects.get(pk=ids["organization"])
        contact = registry.get("contacts").model.objects.get(pk=ids["contact"])
        deal = registry.get("deals").model.objects.get(pk=ids["deal"])
        lead.refresh_from_db()
    assert (org.name, org.email, org.industry, org.billing_city, org.description) == (
        "Little Lisa Recycling",
        "lisa@recycle.example",
        "Environmental",
        "Springfield",
        "Met at the fair",
    )
    assert (contact.first_name, contact.last_name, contact.title, contact.lead_source, contact.organization_id) == (
        "Lisa",
        "Simpson",
        "Founder",
        "Web Site",
        org.pk,
    )
    assert (deal.name, deal.organization_id, deal.contact_id, str(deal.amount)) == (
        "Little Lisa Recycling",
        org.pk,
        contact.pk,
        "900.00",
    )
    assert {org.source_lead_id, contact.source_lead_id, deal.source_lead_id} == {lead.pk}
    assert (lead.converted, lead.converted_contact_id, lead.converted_deal_id) == (True, contact.pk, deal.pk)


def test_converted_lead_is_hidden_from_the_default_list_and_cannot_convert_twice(api, tenant_a, admin_of):
    lead = lead_in(tenant_a, admin_of(tenant_a))
    api.post(f"/api/v1/leads/{lead.pk}/convert", {}, content_type="application/json")

    again = api.post(f"/api/v1/leads/{lead.pk}/convert", {}, content_type="application/json")
    default = api.get("/api/v1/leads/").json()["results"]
    everything = api.get("/api/v1/leads/?view=all").json()["results"]

    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["This lead has already been converted."]}
    assert default == []
    assert [r["id"] for r in everything] == [str(lead.pk)]


def test_existing_organisation_with_the_company_name_is_reused(api, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        existing = record_create(
            spec=registry.get("organizations"), actor=actor, data={"name": "little lisa recycling"}
        )
    lead = lead_in(tenant_a, actor)

    ids = api.post(f"/api/v1/leads/{lead.pk}/convert", {}, content_type="application/json").json()

    assert ids["organization"] == str(existing.pk)
    with tenant_context(tenant_a):
        assert registry.get("organizations").model.objects.count() == 1
        assert registry.get("organizations").model.objects.get().source_lead_id is None


def test_chosen_duplicate_contact_is_reused(api, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        contact = record_create(
            spec=registry.get("contacts"), actor=actor, data={"last_name": "Simpson", "email": "lisa@recycle.example"}
        )
    lead = lead_in(tenant_a, actor)

    ids = api.post(
        f"/api/v1/leads/{lead.pk}/convert", {"contact": str(contact.pk)}, content_type="application/json"
    ).json()

    assert ids["contact"] == str(contact.pk)


def test_conversion_is_all_or_nothing(api, tenant_a, admin_of):
    lead = lead_in(tenant_a, admin_of(tenant_a))

    response = api.post(
        f"/api/v1/leads/{lead.pk}/convert",
        {"create_deal": True, "deal": {"close_date": "not-a-date"}},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "deal.close_date" in response.json()
    with tenant_context(tenant_a):
        assert registry.get("organizations").model.objects.count() == 0
        assert registry.get("contacts").model.objects.count() == 0
        lead.refresh_from_db()
        assert lead.converted is False


def test_comments_move_to_the_new_contact(api, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    lead = lead_in(tenant_a, actor)
    with tenant_context(tenant_a):
        Comment.objects.create(module="leads", record_id=lead.pk, author=actor, body="Called twice")

    ids = api.post(f"/api/v1/leads/{lead.pk}/convert", {}, content_type="application/json").json()

    with tenant_context(tenant_a):
        assert [(m, str(r)) for m, r in Comment.objects.values_list("module", "record_id")] == [
            ("contacts", ids["contact"])
        ]


def test_admin_edits_the_mapping(api, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        conversion_mapping_set(actor=actor, target="contacts", target_field="department", lead_field="industry")
    lead = lead_in(tenant_a, actor)

    ids = api.post(f"/api/v1/leads/{lead.pk}/convert", {}, content_type="application/json").json()

    with tenant_context(tenant_a):
        assert registry.get("contacts").model.objects.get(pk=ids["contact"]).department == "Environmental"


def test_convert_screen(client_for, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    lead = lead_in(tenant_a, actor)
    web = client_for(tenant_a, actor)

    page = web.get(f"/m/leads/{lead.pk}/convert/")
    done = web.post(f"/m/leads/{lead.pk}/convert/", {"create_deal": "on", "deal_amount": "50"})

    assert page.status_code == 200
    assert done.status_code == 302
    assert done["Location"].startswith("/m/contacts/")


def test_lead_of_tenant_b_cannot_be_converted_from_tenant_a(api, tenant_b, admin_of):
    lead = lead_in(tenant_b, admin_of(tenant_b))

    assert api.post(f"/api/v1/leads/{lead.pk}/convert", {}, content_type="application/json").status_code == 404


def test_convert_action_is_offered_only_on_unconverted_leads_to_editors(client_for, tenant_a, admin_of, member):
    from crm_apps.access.services import sharing_default_set
    from crm_apps.modules.leads.services import lead_convert

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        open_lead = record_create(spec=registry.get("leads"), actor=admin, data={"last_name": "Open", "company": "C"})
        done = record_create(spec=registry.get("leads"), actor=admin, data={"last_name": "Done", "company": "D"})
        lead_convert(actor=admin, lead=done, create_deal=False)
    web = client_for(tenant_a, admin)
    button = f'<a class="button" href="/m/leads/{open_lead.pk}/convert/">Convert lead</a>'

    assert button in web.get(f"/m/leads/{open_lead.pk}/").content.decode()
    assert "Convert lead" not in web.get(f"/m/leads/{done.pk}/").content.decode()
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="leads", access="public_read")
    viewer_page = client_for(tenant_a, member(tenant_a)).get(f"/m/leads/{open_lead.pk}/").content.decode()
    assert "Convert lead" not in viewer_page


def test_conversion_settings_page_is_listed_on_the_module_settings_screens(client_for, tenant_a, admin_of):
    web = client_for(tenant_a, admin_of(tenant_a))

    index = web.get("/settings/modules/").content.decode()
    fields = web.get("/settings/modules/leads/fields/").content.decode()
    vendors = web.get("/settings/modules/vendors/fields/").content.decode()

    link = 'href="/settings/modules/leads/conversion/"'
    assert index.count(link) == 1
    assert link in fields
    assert link not in vendors
