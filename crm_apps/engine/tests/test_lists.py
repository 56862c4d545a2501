"""Lists: layouts kept with saved views (HTML and API), inline edit of one field (rights, validation,
isolation), filter chips, empty states, the bulk bar, and pinned query counts."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from conftest import statements
from crm_apps.access.models import ProfileField, Role
from crm_apps.access.services import profile_save, role_create
from crm_apps.engine import registry
from crm_apps.engine.models import SavedView, TimelineEntry
from crm_apps.engine.services import custom_field_create, record_create

pytestmark = pytest.mark.django_db
CONTACTS = registry.get("contacts")


def contact(tenant, actor, **extra):
    with tenant_context(tenant):
        return record_create(spec=CONTACTS, actor=actor, data={**CONTACTS.example, **extra})


def restricted_member(tenant, admin, member, *, field, access, module="contacts"):
    """A member whose only profile makes `field` of the module hidden or read-only."""
    with tenant_context(tenant):
        profile = profile_save(
            actor=admin,
            profile=None,
            name=f"{access} {field}",
            flags={"default_view": True, "default_create": True, "default_edit": True, "default_delete": True},
        )
        ProfileField.objects.create(profile=profile, module=module, field=field, access=access)
        role = role_create(
            actor=admin,
            name=f"{access} {field}",
            parent=Role.objects.get(parent__isnull=True),
            profile_ids=[profile.pk],
        )
    return member(tenant, role=role)


def header_columns(response):
    return [c["name"] for c in response.context["table_columns"] if c.get("column")]


# ---------------------------------------------------------------------------------------------
# Column settings per view


def test_columns_order_density_and_page_size_are_kept_as_the_members_default_layout(web, tenant_a, admin):
    contact(tenant_a, admin)

    saved = web.post(
        "/m/contacts/layout/",
        {
            "columns": ["email", "last_name", "phone"],
            "density": "compact",
            "page_size": "50",
            "widths": '{"email": 240}',
        },
    )
    page = web.get("/m/contacts/")

    assert saved.status_code == 302
    assert header_columns(page) == ["email", "last_name", "phone"]
    assert page.context["layout"].density == "compact"
    assert page.context["layout"].page_size == 50
    assert page.context["layout"].widths == {"email": 240}
    assert 'style="width: 240px"' in page.content.decode()
    assert "records--compact" in page.content.decode()
    with tenant_context(tenant_a):
        view = SavedView.objects.get(owner=admin, module="contacts", is_default=True)
        assert view.layout["columns"] == ["email", "last_name", "phone"]
        # The default layout is not listed among the named views.
        assert SavedView.objects.filter(module="contacts", is_default=False).count() == 0


def test_each_saved_view_keeps_its_own_columns(web, tenant_a, admin):
    with tenant_context(tenant_a):
        custom_field_create(actor=admin, spec=CONTACTS, key="shoe_size", label="Shoe size", type="integer")
        first = SavedView.objects.create(module="contacts", name="One", owner=admin)
        second = SavedView.objects.create(module="contacts", name="Two", owner=admin)

    web.post("/m/contacts/layout/", {"saved": first.pk, "columns": ["last_name", "custom.shoe_size"]})
    web.post(
        "/m/contacts/layout/",
        json.dumps({"saved": second.pk, "columns": ["phone", "email"], "density": "comfortable", "page_size": 25}),
        content_type="application/json",
    )

    assert header_columns(web.get(f"/m/contacts/?saved={first.pk}")) == ["last_name", "custom.shoe_size"]
    assert header_columns(web.get(f"/m/contacts/?saved={second.pk}")) == ["phone", "email"]
    assert header_columns(web.get("/m/contacts/")) == list(CONTACTS.list_columns)


def test_a_bad_layout_is_refused_field_by_field_and_nothing_is_stored(web, tenant_a, admin):
    bad = web.post(
        "/m/contacts/layout/",
        json.dumps({"columns": ["last_name", "nope"], "density": "huge", "page_size": 7, "widths": {"last_name": 5}}),
        content_type="application/json",
    )

    assert bad.status_code == 400
    assert set(bad.json()) == {"columns", "density", "page_size", "widths"}
    with tenant_context(tenant_a):
        assert not SavedView.objects.filter(owner=admin).exists()


def test_a_hidden_field_never_becomes_a_column_of_a_shared_layout(client_for, tenant_a, admin, member, web):
    restricted = restricted_member(tenant_a, admin, member, field="email", access="hidden")
    contact(tenant_a, admin, email="secret@example.com")
    with tenant_context(tenant_a):
        shared = SavedView.objects.create(module="contacts", name="Shared", owner=admin, shared=True)
    web.post("/m/contacts/layout/", {"saved": shared.pk, "columns": ["last_name", "email"]})

    page = client_for(tenant_a, restricted).get(f"/m/contacts/?saved={shared.pk}")
    refused = client_for(tenant_a, restricted).post(
        "/m/contacts/layout/", json.dumps({"columns": ["email"]}), content_type="application/json"
    )

    assert header_columns(page) == ["last_name"]
    assert "secret@example.com" not in page.content.decode()
    assert refused.status_code == 400


def test_only_the_owner_changes_a_views_layout(client_for, tenant_a, admin, member):
    other = member(tenant_a)
    with tenant_context(tenant_a):
        shared = SavedView.objects.create(module="contacts", name="Shared", owner=admin, shared=True, layout={})
        private = SavedView.objects.create(module="contacts", name="Mine", owner=admin)
    web = client_for(tenant_a, other)

    shared_try = web.post(
        "/m/contacts/layout/", json.dumps({"saved": shared.pk, "columns": ["email"]}), content_type="application/json"
    )
    private_try = web.post("/m/contacts/layout/", {"saved": private.pk, "columns": ["email"]})

    assert (shared_try.status_code, private_try.status_code) == (403, 404)
    with tenant_context(tenant_a):
        assert SavedView.objects.get(pk=shared.pk).layout == {}
        assert SavedView.objects.get(pk=private.pk).layout == {}


def test_saved_view_layouts_over_the_api(client_for, tenant_a, admin):
    with tenant_context(tenant_a):
        view = SavedView.objects.create(module="contacts", name="Calls", owner=admin)
    api = client_for(tenant_a, admin)
    layout = {"columns": ["phone", "last_name"], "widths": {"phone": 120}, "density": "compact", "page_size": 100}

    patched = api.patch(f"/api/v1/contacts/views/{view.pk}", {"layout": layout}, content_type="application/json")
    default = api.patch("/api/v1/contacts/views/default", {"layout": layout}, content_type="application/json")
    bad = api.patch(
        f"/api/v1/contacts/views/{view.pk}", {"layout": {"columns": ["zzz"]}}, content_type="application/json"
    )
    listed = api.get("/api/v1/contacts/views/")
    page = api.get(f"/m/contacts/?saved={view.pk}")

    assert patched.status_code == 200
    assert patched.json()["layout"] == layout
    assert default.json()["is_default"] is True
    assert bad.status_code == 400
    assert bad.json() == {"columns": ["Unknown column: zzz."]}
    assert [v["name"] for v in listed.json()["results"]] == ["My list", "Calls"]
    assert header_columns(page) == ["phone", "last_name"]
    assert page.context["layout"].page_size == 100


def test_saved_views_of_another_tenant_are_not_found(client_for, tenant_a, tenant_b, admin, admin_of):
    with tenant_context(tenant_a):
        view = SavedView.objects.create(module="contacts", name="A only", owner=admin, shared=True)
    other = client_for(tenant_b, admin_of(tenant_b))

    api = other.get(f"/api/v1/contacts/views/{view.pk}")
    patch = other.patch(
        f"/api/v1/contacts/views/{view.pk}", {"layout": {"columns": ["email"]}}, content_type="application/json"
    )
    html = other.post("/m/contacts/layout/", {"saved": view.pk, "columns": ["email"]})
    listed = other.get("/api/v1/contacts/views/")

    assert (api.status_code, patch.status_code, html.status_code) == (404, 404, 404)
    assert listed.json()["results"] == []
    with tenant_context(tenant_a):
        assert SavedView.objects.get(pk=view.pk).layout == {}


# ---------------------------------------------------------------------------------------------
# Inline edit


def test_a_cell_is_edited_in_place_through_record_update(web, tenant_a, admin):
    record = contact(tenant_a, admin, phone="111")

    editor = web.get(f"/m/contacts/{record.pk}/cell/phone/")
    saved = web.post(f"/m/contacts/{record.pk}/cell/phone/", {"phone": "+1 555 0100", "version": record.version})

    assert editor.status_code == 200
    assert 'name="phone"' in editor.content.decode()
    assert saved.status_code == 200
    assert saved.content.decode() == '<a href="tel:+15550100">+1 555 0100</a>'  # shown as a click-to-call link
    assert saved["X-Record-Version"] == str(record.version + 1)
    with tenant_context(tenant_a):
        assert CONTACTS.model.objects.get(pk=record.pk).phone == "+1 555 0100"
        entry = TimelineEntry.objects.filter(record_id=record.pk, kind="updated").get()
        assert entry.data["changes"] == {"phone": ["111", "+1 555 0100"]}


def test_an_invalid_value_is_an_error_beside_the_cell_and_nothing_changes(web, tenant_a, admin):
    record = contact(tenant_a, admin, email="ok@example.com")

    bad = web.post(f"/m/contacts/{record.pk}/cell/email/", {"email": "not an email", "version": record.version})

    assert bad.status_code == 400
    body = bad.content.decode()
    assert "cell-editor__error" in body
    assert "Enter a valid email address." in body
    with tenant_context(tenant_a):
        stored = CONTACTS.model.objects.get(pk=record.pk)
        assert (stored.email, stored.version) == ("ok@example.com", record.version)


def test_a_custom_field_and_the_owner_are_edited_in_place(web, tenant_a, admin, member):
    with tenant_context(tenant_a):
        custom_field_create(actor=admin, spec=CONTACTS, key="shoe_size", label="Shoe size", type="integer")
    colleague = member(tenant_a)
    record = contact(tenant_a, admin)

    size = web.post(f"/m/contacts/{record.pk}/cell/custom.shoe_size/", {"custom__shoe_size": "44"})
    owner = web.post(f"/m/contacts/{record.pk}/cell/owner/", {"owner": f"m:{colleague.pk}"})

    assert (size.status_code, owner.status_code) == (200, 200)
    with tenant_context(tenant_a):
        stored = CONTACTS.model.objects.get(pk=record.pk)
        assert (stored.custom_data["shoe_size"], stored.owner_id) == (44, colleague.pk)


def test_a_member_without_write_on_the_field_is_refused_and_nothing_changes(client_for, tenant_a, admin, member):
    reader = restricted_member(tenant_a, admin, member, field="phone", access="readonly")
    record = contact(tenant_a, admin, phone="111")
    web = client_for(tenant_a, reader)

    editor = web.get(f"/m/contacts/{record.pk}/cell/phone/")
    refused = web.post(f"/m/contacts/{record.pk}/cell/phone/", {"phone": "999", "version": record.version})
    listing = web.get("/m/contacts/")

    assert (editor.status_code, refused.status_code) == (403, 403)
    assert refused.content.decode() == "You may not change this field."
    assert 'data-col="phone" data-edit' not in listing.content.decode()
    assert 'data-col="email" data-edit' in listing.content.decode()
    with tenant_context(tenant_a):
        stored = CONTACTS.model.objects.get(pk=record.pk)
        assert (stored.phone, stored.version) == ("111", record.version)


def test_a_member_who_may_not_edit_the_record_is_refused(client_for, tenant_a, admin, member):
    from crm_apps.access.services import sharing_default_set

    record = contact(tenant_a, admin, phone="111")
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="contacts", access="public_read")
    web = client_for(tenant_a, member(tenant_a))

    refused = web.post(f"/m/contacts/{record.pk}/cell/phone/", {"phone": "999"})
    hidden = web.get(f"/m/contacts/{record.pk}/cell/number/")

    assert refused.status_code == 403
    assert hidden.status_code == 403
    assert "data-edit" not in web.get("/m/contacts/").content.decode()
    with tenant_context(tenant_a):
        assert CONTACTS.model.objects.get(pk=record.pk).phone == "111"


def test_a_stale_version_is_a_conflict(web, tenant_a, admin):
    record = contact(tenant_a, admin, phone="111")
    web.post(f"/m/contacts/{record.pk}/cell/phone/", {"phone": "222", "version": record.version})

    stale = web.post(f"/m/contacts/{record.pk}/cell/phone/", {"phone": "333", "version": record.version})

    assert stale.status_code == 409
    with tenant_context(tenant_a):
        assert CONTACTS.model.objects.get(pk=record.pk).phone == "222"


def test_inline_edit_of_another_tenants_record_is_not_found(client_for, tenant_a, tenant_b, admin, admin_of):
    record = contact(tenant_a, admin, phone="111")
    other = client_for(tenant_b, admin_of(tenant_b))

    editor = other.get(f"/m/contacts/{record.pk}/cell/phone/")
    write = other.post(f"/m/contacts/{record.pk}/cell/phone/", {"phone": "999"})

    assert (editor.status_code, write.status_code) == (404, 404)
    with tenant_context(tenant_a):
        assert CONTACTS.model.objects.get(pk=record.pk).phone == "111"


# ---------------------------------------------------------------------------------------------
# Page: chips, empty state, bulk bar, keyboard hooks


def test_empty_list_has_a_call_to_action_and_no_bulk_bar(web):
    page = web.get("/m/contacts/").content.decode()

    assert "No Contacts yet." in page
    assert 'href="/m/contacts/new/">Create the first Contact</a>' in page
    assert "data-bulk-bar" not in page


def test_a_filtered_empty_list_offers_to_clear_the_filters(web, tenant_a, admin):
    contact(tenant_a, admin)

    page = web.get("/m/contacts/?lead_source=Partner&q=nobody").content.decode()

    assert "No records match these filters." in page
    assert "Remove the filter Lead source" in page
    assert "data-bulk-bar" not in page


def test_rows_carry_the_keyboard_and_bulk_bar_hooks(web, tenant_a, admin):
    record = contact(tenant_a, admin)

    page = web.get("/m/contacts/").content.decode()

    assert f'<tr data-row data-url="/m/contacts/{record.pk}/" tabindex="-1">' in page
    assert "data-bulk-bar" in page
    assert f'data-edit="/m/contacts/{record.pk}/cell/last_name/?link=1"' in page


# Statements of a list page for an admin viewed again: session with member and user, the capped count (a table this
# small; the planner's estimate that decided it is remembered from the view before:
# selectors._planner_estimate), the page (the owners for the mass update are remembered too:
# views.services_owner_choices; the saved views with the member's default layout under the `views` version:
# selectors.saved_views_for_list). Pinned so that a layout with more columns costs no more.
LIST_QUERIES = 3


def test_list_query_count_is_pinned_whatever_the_columns(web, tenant_a, admin):
    for n in range(3):
        contact(tenant_a, admin, last_name=f"P{n}")
    web.get("/m/contacts/")
    with CaptureQueriesContext(connection) as plain:
        web.get("/m/contacts/")
    web.post("/m/contacts/layout/", {"columns": ["last_name", "organization", "email", "mailing_city", "owner"]})
    web.get("/m/contacts/")
    with CaptureQueriesContext(connection) as wide:
        response = web.get("/m/contacts/")

    assert header_columns(response) == ["last_name", "organization", "email", "mailing_city", "owner"]
    assert len(statements(plain)) == LIST_QUERIES, [q[:100] for q in statements(plain)]
    assert len(statements(wide)) == LIST_QUERIES, [q[:100] for q in statements(wide)]


def test_a_reference_cell_takes_a_visible_record_only(web, tenant_a, tenant_b, admin, admin_of):
    orgs = registry.get("organizations")
    with tenant_context(tenant_a):
        org = record_create(spec=orgs, actor=admin, data={"name": "Globex"})
    with tenant_context(tenant_b):
        foreign = record_create(spec=orgs, actor=admin_of(tenant_b), data={"name": "Elsewhere"})
    record = contact(tenant_a, admin)

    bad = web.post(f"/m/contacts/{record.pk}/cell/organization/", {"organization": str(foreign.pk)})
    good = web.post(f"/m/contacts/{record.pk}/cell/organization/", {"organization": str(org.pk)})

    assert bad.status_code == 400
    assert good.status_code == 200
    assert good.content.decode() == f'<a href="/m/organizations/{org.pk}/">Globex</a>'
    with tenant_context(tenant_a):
        assert CONTACTS.model.objects.get(pk=record.pk).organization_id == org.pk


def test_the_mass_update_owner_list_is_reused_until_a_member_joins_or_leaves(
    web, tenant_a, tenant_b, admin, member, django_capture_on_commit_callbacks
):
    from crm_apps.access.services import member_deactivate

    web.get("/m/contacts/")
    with CaptureQueriesContext(connection) as again:
        first = web.get("/m/contacts/").context["owners"]
    assert not [
        q for q in statements(again) if q.startswith('SELECT "access_member"."id" AS "pk", "tenants_user"."name"')
    ]
    # A new member (access version bumped on commit): listed at once
    with django_capture_on_commit_callbacks(execute=True):
        newcomer = member(tenant_a)
    with_newcomer = web.get("/m/contacts/").context["owners"]
    assert f"m:{newcomer.pk}" in dict(with_newcomer) and f"m:{newcomer.pk}" not in dict(first)
    # Deactivated: gone at once
    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        member_deactivate(actor=admin, member=newcomer)
    assert f"m:{newcomer.pk}" not in dict(web.get("/m/contacts/").context["owners"])
    # Another workspace's members never appear in this one's list (nor its cached list in the other's)
    stranger = member(tenant_b)
    type(stranger.user).objects.filter(pk=stranger.user_id).update(name="Stranger Zed")
    with django_capture_on_commit_callbacks(execute=True):
        member(tenant_b)  # bumps B's access version only
    assert "Stranger Zed" not in dict(web.get("/m/contacts/").context["owners"]).values()


def test_column_labels_follow_each_members_language(client_for, tenant_a, admin, member):
    """Field labels are worked out once per process and language (display.field_label): a Russian member and an
    English one, served one after the other, each read their own."""
    russian = member(tenant_a)
    english = client_for(tenant_a, admin)
    ru = client_for(tenant_a, russian)
    ru.post("/settings/preferences/", {"language": "ru", "next": "/"})

    first = english.get("/m/contacts/").content.decode()
    translated = ru.get("/m/contacts/").content.decode()
    again = english.get("/m/contacts/").content.decode()

    assert 'value="last_name" checked> Last name' in first and first.count("Фамилия") == 0
    assert 'value="last_name" checked> Фамилия' in translated
    assert 'value="last_name" checked> Last name' in again
