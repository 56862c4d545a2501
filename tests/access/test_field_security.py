"""Field-level security: a hidden field is absent from forms, detail, list columns, filters, sorting,
exports, timeline and API output; a read-only field is shown but every write path refuses to change
it (403 naming the field in the API, a form error in the UI)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from conftest import host_of
from crm_apps.access import visibility
from crm_apps.access.models import Role
from crm_apps.access.services import api_token_create, profile_save, profile_set_fields, role_create
from crm_apps.engine import registry, services
from crm_apps.engine.services import custom_field_create


@pytest.fixture
def setup(tenant_a, admin_of, member, client_for):
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        profile = profile_save(actor=admin, profile=None, name="FLS", flags={})
        role = role_create(
            actor=admin, name="FLS role", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
        custom_field_create(
            actor=admin, spec=registry.get("contacts"), key="secret_score", label="Secret score", type="integer"
        )
        profile_set_fields(
            actor=admin,
            profile=profile,
            module="contacts",
            access={"email": "hidden", "custom.secret_score": "hidden", "phone": "readonly"},
        )
        m = member(tenant_a, role=role)
        spec = registry.get("contacts")
        record = services.record_create(
            spec=spec,
            actor=admin,
            data={
                "first_name": "Hidden",
                "last_name": "Fieldson",
                "email": "hidden.value@example.com",
                "phone": "+1 555 0100",
                "owner": m.pk,
            },
            custom={"secret_score": 987654},
        )
        token = api_token_create(member=m, name="fls")[1]
        from django.test import Client

        api = Client(HTTP_HOST=host_of(tenant_a), HTTP_AUTHORIZATION=f"Token {token}")
        yield {"member": m, "admin": admin, "record": record, "web": client_for(tenant_a, m), "api": api, "spec": spec}


def test_hidden_fields_are_absent_everywhere(setup, tenant_a):
    web, api, record = setup["web"], setup["api"], setup["record"]
    secret = "hidden.value@example.com"

    detail = web.get(f"/m/contacts/{record.pk}/").content.decode()
    listing = web.get("/m/contacts/?view=all").content.decode()
    form = web.get(f"/m/contacts/{record.pk}/edit/").content.decode()
    export = b"".join(web.get("/m/contacts/export.csv?view=all").streaming_content).decode()
    got = api.get(f"/api/v1/contacts/{record.pk}/").json()
    listed = api.get("/api/v1/contacts/").json()["results"]

    assert "Fieldson" in detail and "Fieldson" in listing and "Fieldson" in export
    for page in (detail, listing, form, export):
        assert secret not in page
        assert "987654" not in page  # the hidden custom value
    assert 'name="email"' not in form and "secret_score" not in form
    assert "email" not in got and "secret_score" not in got["custom"]
    assert all("email" not in r for r in listed)
    # Filtering or sorting by a hidden field would reveal it: both are refused.
    assert api.get("/api/v1/contacts/", {"email": secret}).status_code == 400
    assert api.get("/api/v1/contacts/", {"custom.secret_score__gte": "90"}).status_code == 400
    assert api.get("/api/v1/contacts/", {"ordering": "email"}).status_code == 400
    # The admin still sees everything.
    admin_view = setup["admin"]
    assert visibility.field_access(actor=admin_view, spec=setup["spec"]) == {}


def test_read_only_fields_refuse_writes_on_every_path(setup, tenant_a):
    web, api, record, m = setup["web"], setup["api"], setup["record"], setup["member"]

    patched = api.patch(f"/api/v1/contacts/{record.pk}/", {"phone": "+1 555 0199"}, content_type="application/json")
    hidden_write = api.patch(
        f"/api/v1/contacts/{record.pk}/", {"email": "new@example.com"}, content_type="application/json"
    )
    created = api.post(
        "/api/v1/contacts/", {"last_name": "New", "phone": "+1 555 0111"}, content_type="application/json"
    )
    allowed = api.patch(f"/api/v1/contacts/{record.pk}/", {"first_name": "Visible"}, content_type="application/json")
    form = web.get(f"/m/contacts/{record.pk}/edit/").content.decode()
    posted = web.post(
        f"/m/contacts/{record.pk}/edit/",
        {"first_name": "Web", "last_name": "Fieldson", "phone": "+1 555 0177", "version": "2"},
    )

    assert patched.status_code == 403 and patched.json()["fields"] == {"phone": ["You may not change this field."]}
    assert hidden_write.status_code == 403 and "email" in hidden_write.json()["fields"]
    assert created.status_code == 403
    assert allowed.status_code == 200 and "phone" in allowed.json()  # read-only: shown, not writable
    assert 'name="phone"' in form and "disabled" in form.split('name="phone"')[1].split(">")[0]
    assert posted.status_code == 302  # the disabled field is simply not sent
    with schema_context(tenant_a.schema_name):
        record.refresh_from_db()
        assert record.phone == "+1 555 0100"
        assert record.email == "hidden.value@example.com"
        assert record.custom_data == {"secret_score": 987654}
        assert record.first_name == "Web"
        assert not registry.get("contacts").model.objects.filter(last_name="New").exists()
        # Mass edit goes through the same service.
        with pytest.raises(visibility.FieldPermissionDenied) as denied:
            services.records_mass_update(spec=setup["spec"], actor=m, ids=[record.pk], data={"phone": "+1 555 0123"})
        assert denied.value.fields == ["phone"]


def test_required_fields_cannot_be_hidden(setup, tenant_a):
    from django.core.exceptions import ValidationError

    with schema_context(tenant_a.schema_name):
        profile = setup["member"].role.profiles.first()
        with pytest.raises(ValidationError) as error:
            profile_set_fields(actor=setup["admin"], profile=profile, module="contacts", access={"last_name": "hidden"})
    assert "last_name" in error.value.message_dict


def test_timeline_hides_changes_of_hidden_fields(setup, tenant_a):
    with schema_context(tenant_a.schema_name):
        services.record_update(
            spec=setup["spec"], actor=setup["admin"], record=setup["record"], data={"email": "changed@example.com"}
        )
    page = setup["web"].get(f"/m/contacts/{setup['record'].pk}/").content.decode()
    assert "changed@example.com" not in page


def test_meta_describes_the_module_as_the_member_sees_it(setup):
    meta = setup["api"].get("/api/v1/meta/modules/contacts").json()
    fields = {f["name"]: f for f in meta["fields"]}

    assert "email" not in fields
    assert fields["phone"]["read_only"] is True and fields["first_name"]["read_only"] is False
    assert [f["key"] for f in meta["custom_fields"]] == []
    assert meta["rights"] == {"view": True, "create": True}


def test_a_mass_action_with_a_record_the_member_may_not_edit_changes_nothing(setup, tenant_a):
    from crm_apps.access.services import sharing_default_set

    spec, m, admin, web = setup["spec"], setup["member"], setup["admin"], setup["web"]
    with schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="contacts", access="public_read")
        theirs = services.record_create(spec=spec, actor=admin, data={"last_name": "Notmine", "owner": admin.pk})
        mine = setup["record"]
    response = web.post(
        "/m/contacts/mass/",
        {"ids": [str(mine.pk), str(theirs.pk)], "action": "edit", "field": "first_name", "value": "Mass"},
        follow=True,
    )
    page = response.content.decode()

    assert f"{theirs.number} Notmine" in page and "Nothing was changed" in page
    with schema_context(tenant_a.schema_name):
        mine.refresh_from_db()
        theirs.refresh_from_db()
        assert (mine.first_name, theirs.first_name) == ("Hidden", "")
        with pytest.raises(services.RecordsPermissionDenied) as denied:
            services.records_mass_delete(spec=spec, actor=m, ids=[mine.pk, theirs.pk])
        assert denied.value.records == [f"{theirs.number} Notmine"]
        assert spec.model.objects.filter(pk__in=[mine.pk, theirs.pk], deleted_at__isnull=True).count() == 2


def test_a_board_never_groups_by_a_field_the_member_cannot_see(tenant_a, admin_of, member, client_for):
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        profile = profile_save(actor=admin, profile=None, name="No sources", flags={})
        role = role_create(
            actor=admin, name="No sources", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
        profile_set_fields(actor=admin, profile=profile, module="contacts", access={"lead_source": "hidden"})
        m = member(tenant_a, role=role)
        record = services.record_create(
            spec=registry.get("contacts"),
            actor=admin,
            data={"last_name": "Sourced", "lead_source": "Web Site", "owner": m.pk},
        )
    web = client_for(tenant_a, m)

    board = web.get("/m/contacts/board/?field=lead_source")
    # A card move answers with the board's columns: with the hidden field it would show every value.
    move = web.post(
        f"/m/contacts/{record.pk}/board-move/?field=lead_source", {"value": "Web Site"}, HTTP_HX_REQUEST="true"
    )

    assert (board.status_code, move.status_code) == (404, 404)
    assert "Web Site" not in move.content.decode()
