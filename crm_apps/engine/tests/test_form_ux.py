"""The record form as people meet it: required markers, defaults, help, errors, the searchable reference
picker with quick create, and searchable selects."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import custom_field_create, record_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def org(tenant, actor, name, **extra):
    with tenant_context(tenant):
        return record_create(spec=registry.get("organizations"), actor=actor, data={"name": name, **extra})


def test_required_fields_are_marked_and_announced(web):
    page = web.get("/m/contacts/new/").content.decode()

    assert "Fields marked * are required." in page
    assert 'name="last_name" maxlength="80" aria-required="true" required id="id_last_name"' in page
    assert '<label for="id_last_name">Last name<span class="form-field__marker" aria-hidden="true"> *</span>' in page
    assert 'aria-required="true"' not in page.split('name="first_name"')[1].split(">")[0]


def test_a_new_record_is_owned_by_the_member_and_starts_with_model_defaults(web, admin_of, tenant_a):
    admin = admin_of(tenant_a)

    contact_form = web.get("/m/contacts/new/").context["form"]
    deal_form = web.get("/m/deals/new/").context["form"]

    assert contact_form.initial["owner"] == f"m:{admin.pk}"
    assert deal_form.initial["currency"] == "USD"  # no base currency set: the model's default


def test_a_new_deal_starts_in_the_workspaces_base_currency(web, tenant_a):
    from crm_apps.engine.models import Currency

    with tenant_context(tenant_a):
        Currency.objects.create(code="EUR", rate=1, is_base=True)

    deal_form = web.get("/m/deals/new/").context["form"]

    assert deal_form.initial["currency"] == "EUR"


def test_custom_field_help_is_shown_under_the_field_and_linked(web, tenant_a, admin_of):
    with tenant_context(tenant_a):
        custom_field_create(
            actor=admin_of(tenant_a),
            spec=registry.get("contacts"),
            key="vip_code",
            label="VIP code",
            type="text",
            help_text="The code printed on the member card.",
        )

    page = web.get("/m/contacts/new/").content.decode()

    assert '<div class="helptext" id="id_custom__vip_code_helptext">The code printed on the member card.</div>' in page
    assert 'aria-describedby="id_custom__vip_code_helptext"' in page


def test_errors_sit_next_to_their_field_and_are_referenced(web):
    page = web.post("/m/contacts/new/", {"first_name": "Ann", "last_name": ""}).content.decode()

    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="id_last_name_error"' in page
    field = page.split('data-field="last_name"')[1].split('data-field="')[0]
    assert '<ul class="errorlist" id="id_last_name_error"><li>This field is required.</li></ul>' in field


def test_selects_are_searchable_and_no_list_needs_ctrl_click(web, tenant_a, admin_of):
    with tenant_context(tenant_a):
        custom_field_create(
            actor=admin_of(tenant_a),
            spec=registry.get("contacts"),
            key="topics",
            label="Topics",
            type="multipicklist",
            choices=["Pricing", "Support"],
        )

    page = web.get("/m/contacts/new/").content.decode()

    assert '<select name="salutation" data-ui="select"' in page
    assert '<select name="owner" data-ui="select"' in page
    assert '<select name="custom__topics" data-ui="multiselect"' in page
    assert 'type="checkbox" name="custom__topics"' not in page
    assert (
        '<select name="organization" id="id_organization" class="reference" data-ui="reference" '
        'data-ui-url="/m/organizations/lookup.json" data-ui-create-url="/m/organizations/quick-create/"'
    ) in page


def test_the_picker_shows_the_current_record(web, tenant_a, admin_of):
    globex = org(tenant_a, admin_of(tenant_a), "Globex")
    with tenant_context(tenant_a):
        contact = record_create(
            spec=registry.get("contacts"),
            actor=admin_of(tenant_a),
            data={"last_name": "Simpson", "organization": str(globex.pk)},
        )

    page = web.get(f"/m/contacts/{contact.pk}/edit/").content.decode()

    assert f'<option value="{globex.pk}" selected>Globex</option>' in page


def test_reference_search_finds_visible_records_with_a_second_line(web, tenant_a, admin_of):
    globex = org(tenant_a, admin_of(tenant_a), "Globex", phone="+1 555 0100", website="https://globex.example")
    org(tenant_a, admin_of(tenant_a), "Initech")

    found = web.get("/m/organizations/lookup.json", {"q": "glob"}).json()

    assert found == {
        "results": [
            {
                "value": str(globex.pk),
                "text": "Globex",
                "secondary": f"{globex.number} · +1 555 0100 · https://globex.example",
            }
        ]
    }


def test_reference_search_respects_visibility(client_for, tenant_a, admin_of, member):
    from crm_apps.access.services import sharing_default_set

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="organizations", access="private")
    org(tenant_a, admin, "Secret Supplier")
    outsider = member(tenant_a)
    mine = org(tenant_a, outsider, "Supplier of my own")

    found = client_for(tenant_a, outsider).get("/m/organizations/lookup.json", {"q": "supplier"}).json()

    assert [r["value"] for r in found["results"]] == [str(mine.pk)]


def test_reference_search_never_crosses_tenants(client_for, tenant_a, tenant_b, admin_of):
    org(tenant_b, admin_of(tenant_b), "Beta Only Corp")

    found = client_for(tenant_a, admin_of(tenant_a)).get("/m/organizations/lookup.json", {"q": "beta"}).json()
    anonymous = client_for(tenant_a).get("/m/organizations/lookup.json", {"q": "beta"})

    assert found == {"results": []}
    assert anonymous.status_code == 302


def test_quick_create_form_shows_the_short_form(web):
    page = web.get("/m/organizations/quick-create/")

    assert page.status_code == 200
    assert list(page.context["form"].fields) == ["name", "owner"]
    assert "data-quick-create" in page.content.decode()


def test_quick_create_creates_and_answers_with_the_new_record(web, tenant_a):
    created = web.post("/m/organizations/quick-create/", {"name": "Vandelay Industries"})

    assert created.status_code == 201
    with tenant_context(tenant_a):
        record = registry.get("organizations").model.objects.get()
    assert created.json() == {"value": str(record.pk), "text": "Vandelay Industries", "secondary": record.number}


def test_quick_create_with_errors_writes_nothing(web, tenant_a):
    refused = web.post("/m/organizations/quick-create/", {"name": ""})

    assert refused.status_code == 400
    assert refused.context["form"].errors == {"name": ["This field is required."]}
    with tenant_context(tenant_a):
        assert registry.get("organizations").model.objects.count() == 0


def test_quick_create_needs_the_right_to_create(client_for, tenant_a, member):
    from crm_apps.access.models import Profile, ProfileModule

    reader = member(tenant_a)
    with tenant_context(tenant_a):
        for profile in Profile.objects.filter(roles__members=reader):
            ProfileModule.objects.create(
                profile=profile, module="organizations", can_view=True, can_create=False, can_edit=False
            )
    client = client_for(tenant_a, reader)

    form = client.get("/m/contacts/new/").content.decode()
    answer = client.post("/m/organizations/quick-create/", {"name": "Nope"})

    assert answer.status_code == 403
    assert 'data-ui-url="/m/organizations/lookup.json"' in form
    assert "/m/organizations/quick-create/" not in form
    with tenant_context(tenant_a):
        assert registry.get("organizations").model.objects.count() == 0


def test_quick_create_is_refused_to_members_of_another_tenant(client_for, tenant_a, tenant_b, admin_of):
    stranger = client_for(tenant_a, admin_of(tenant_b))

    answer = stranger.post("/m/organizations/quick-create/", {"name": "Intruder Inc"})

    assert answer.status_code == 302
    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            assert registry.get("organizations").model.objects.count() == 0


def test_drafts_are_keyed_by_tenant_member_module_and_record(web, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    globex = org(tenant_a, admin, "Globex")

    new = web.get("/m/organizations/new/").content.decode()
    edit = web.get(f"/m/organizations/{globex.pk}/edit/").content.decode()

    assert f'data-draft-key="crm-draft:alpha:{admin.pk}:organizations:new"' in new
    assert f'data-draft-key="crm-draft:alpha:{admin.pk}:organizations:{globex.pk}"' in edit
    assert "data-draft-prompt hidden" in new
