"""The record page: key fields in the header, sections with related-list counts, empty blocks hidden,
fields edited in place, quick-create of related records."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create

pytestmark = pytest.mark.django_db
ORGS = registry.get("organizations")
CONTACTS = registry.get("contacts")
DEALS = registry.get("deals")


def make(tenant, actor, spec, **data):
    with tenant_context(tenant):
        return record_create(spec=spec, actor=actor, data=data)


def test_header_shows_owner_status_and_amount_editable_in_place(web, tenant_a, admin):
    deal = make(
        tenant_a, admin, DEALS, name="Big", close_date="2027-01-01", amount="1500", currency="EUR", type="New Business"
    )

    page = web.get(f"/m/deals/{deal.pk}/")
    kinds = [(k["kind"], k["shown"].text) for k in page.context["key_fields"]]

    assert kinds == [
        ("owner", admin.user.name),
        ("status", "Prospecting"),
        ("amount", "1,500.00"),
    ]
    assert page.context["key_fields"][2]["currency"] == "EUR"
    body = page.content.decode()
    assert f'data-edit="/m/deals/{deal.pk}/cell/amount/"' in body
    assert f'data-edit="/m/deals/{deal.pk}/cell/owner/"' in body


def test_empty_blocks_are_hidden_and_related_lists_show_counts(web, tenant_a, admin):
    org = make(tenant_a, admin, ORGS, name="Acme")
    for name in ("Ann", "Bob"):
        make(tenant_a, admin, CONTACTS, last_name=name, organization=str(org.pk))

    page = web.get(f"/m/organizations/{org.pk}/")

    titles = [str(b["title"]) for b in page.context["blocks"]]
    contacts = next(r for r in page.context["related"] if r["key"] == "contacts")
    assert len(titles) == 1  # only the block with a value (the name); the address block is empty
    assert contacts["count"] == 2
    assert contacts["create_url"] == f"/m/organizations/{org.pk}/related/contacts/new/"
    body = page.content.decode()
    assert 'href="#related-contacts">Contacts <span class="badge">2</span>' in body


def test_a_read_only_member_sees_no_editors(client_for, tenant_a, admin, member):
    from crm_apps.access.services import sharing_default_set

    org = make(tenant_a, admin, ORGS, name="Acme")
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="organizations", access="public_read")

    page = client_for(tenant_a, member(tenant_a)).get(f"/m/organizations/{org.pk}/")

    assert page.status_code == 200
    assert "data-edit" not in page.content.decode()


def test_quick_create_links_the_new_record_to_this_one(web, tenant_a, admin):
    org = make(tenant_a, admin, ORGS, name="Acme")
    url = f"/m/organizations/{org.pk}/related/contacts/new/"

    form = web.get(url)
    bad = web.post(url, {"last_name": ""})
    made = web.post(url, {"last_name": "Carol", "email": "carol@example.com"})

    assert form.status_code == 200
    assert "organization" not in [f.name for f in form.context["fields"]]
    assert "last_name" in [f.name for f in form.context["fields"]]
    assert bad.status_code == 400
    assert bad.context["form"].errors["last_name"]
    assert made.status_code == 302
    assert made["Location"] == f"/m/organizations/{org.pk}/#related-contacts"
    with tenant_context(tenant_a):
        created = CONTACTS.model.objects.get()
        assert (created.last_name, created.organization_id, created.owner_id) == ("Carol", org.pk, admin.pk)


def test_quick_create_is_refused_without_the_create_right_and_across_tenants(
    client_for, tenant_a, tenant_b, admin, admin_of, member
):
    from crm_apps.access.models import Role
    from crm_apps.access.services import profile_save, role_create

    org = make(tenant_a, admin, ORGS, name="Acme")
    url = f"/m/organizations/{org.pk}/related/contacts/new/"
    with tenant_context(tenant_a):
        profile = profile_save(
            actor=admin,
            profile=None,
            name="No creating",
            flags={"default_view": True, "default_create": False, "default_edit": True, "default_delete": False},
        )
        role = role_create(
            actor=admin, name="No creating", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    reader = member(tenant_a, role=role)

    foreign = client_for(tenant_b, admin_of(tenant_b)).post(url, {"last_name": "X"})
    refused = client_for(tenant_a, reader).post(url, {"last_name": "X"})

    assert foreign.status_code == 404
    assert refused.status_code == 403
    with tenant_context(tenant_a):
        assert not CONTACTS.model.objects.exists()


def test_header_shows_the_picklists_the_module_lists_as_columns(web, tenant_a, admin):
    leads = registry.get("leads")
    lead = make(tenant_a, admin, leads, last_name="Hot", company="C", status="Hot")

    page = web.get(f"/m/leads/{lead.pk}/")

    statuses = [k["shown"].text for k in page.context["key_fields"] if k["kind"] == "status"]
    assert statuses == ["Hot"]
    assert f'data-edit="/m/leads/{lead.pk}/cell/status/"' in page.content.decode()
