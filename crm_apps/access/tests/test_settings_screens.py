"""The access-control settings screens (roles, profiles, groups, sharing, explain) and the member role
controls, through the HTML views (which call crm_apps.access.services)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from conftest import statements
from crm_apps.access.models import (
    Group,
    Invitation,
    Member,
    Profile,
    ProfileField,
    ProfileModule,
    Role,
    SharingDefault,
    SharingRule,
)
from crm_apps.access.services import group_save, profile_save, role_create, sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import custom_field_create, record_create

pytestmark = pytest.mark.django_db
BASE = "/settings/access"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def role(tenant, name):
    with tenant_context(tenant):
        return Role.objects.get(name=name)


def profile(tenant, name):
    with tenant_context(tenant):
        return Profile.objects.get(name=name)


def group(tenant, name):
    with tenant_context(tenant):
        return Group.objects.get(name=name)


def snapshot(tenant):
    """Everything the access screens can write, to show that a refused request wrote nothing."""
    with tenant_context(tenant):
        return (
            list(Role.objects.order_by("pk").values_list("pk", "name", "parent_id", "path", "default_for_new")),
            sorted(Role.profiles.through.objects.values_list("role_id", "profile_id")),
            list(Profile.objects.order_by("pk").values()),
            list(ProfileModule.objects.order_by("pk").values()),
            list(ProfileField.objects.order_by("pk").values()),
            list(Group.objects.order_by("pk").values_list("pk", "name", "description")),
            sorted(Group.members.through.objects.values_list("group_id", "member_id")),
            sorted(Group.roles.through.objects.values_list("group_id", "role_id")),
            sorted(Group.roles_with_subordinates.through.objects.values_list("group_id", "role_id")),
            sorted(Group.subgroups.through.objects.values_list("from_group_id", "to_group_id")),
            list(SharingDefault.objects.order_by("pk").values()),
            list(SharingRule.objects.order_by("pk").values()),
            list(Member.objects.order_by("pk").values_list("pk", "role_id", "is_admin", "active")),
            list(Invitation.objects.order_by("pk").values_list("pk", "email", "role_id")),
        )


def make_contact(tenant, owner, **extra):
    spec = registry.get("contacts")
    with tenant_context(tenant):
        return record_create(spec=spec, actor=owner, data={**spec.example, **extra})


def all_get_urls(tenant):
    ceo, person = role(tenant, "CEO"), role(tenant, "Sales Person")
    sales, team = profile(tenant, "Sales"), group(tenant, "Team Selling")
    return [
        f"{BASE}/",
        f"{BASE}/roles/",
        f"{BASE}/roles/{ceo.pk}/",
        f"{BASE}/roles/{person.pk}/delete/",
        f"{BASE}/profiles/",
        f"{BASE}/profiles/new/",
        f"{BASE}/profiles/{sales.pk}/",
        f"{BASE}/profiles/{sales.pk}/fields/contacts/",
        f"{BASE}/profiles/{sales.pk}/delete/",
        f"{BASE}/groups/",
        f"{BASE}/groups/new/",
        f"{BASE}/groups/{team.pk}/",
        f"{BASE}/groups/{team.pk}/delete/",
        f"{BASE}/sharing/",
        f"{BASE}/explain/",
    ]


def all_posts(tenant, admin):
    """One valid-looking write per endpoint (what an admin would send)."""
    ceo, vp, person = role(tenant, "CEO"), role(tenant, "Vice President"), role(tenant, "Sales Person")
    sales, guest, team = profile(tenant, "Sales"), profile(tenant, "Guest"), group(tenant, "Team Selling")
    with tenant_context(tenant):
        rule = SharingRule.objects.create(
            module="leads", source_kind="role", source_role=person, target_kind="role", target_role=vp
        )
    return [
        (f"{BASE}/roles/", {"name": "Intern", "parent": ceo.pk, "profiles": [sales.pk]}),
        (f"{BASE}/roles/{ceo.pk}/", {"name": "Chief", "profiles": [sales.pk]}),
        (f"{BASE}/roles/{person.pk}/move/", {"parent": ceo.pk}),
        (f"{BASE}/roles/{person.pk}/delete/", {"transfer_to": vp.pk}),
        (f"{BASE}/profiles/new/", {"name": "Auditors"}),
        (f"{BASE}/profiles/{sales.pk}/", {"name": "Sellers"}),
        (f"{BASE}/profiles/{sales.pk}/modules/", {"contacts__view": "on"}),
        (f"{BASE}/profiles/{sales.pk}/fields/contacts/", {"email": "hidden"}),
        (f"{BASE}/profiles/{guest.pk}/delete/", {}),
        (f"{BASE}/groups/new/", {"name": "Night shift", "members": [admin.pk]}),
        (f"{BASE}/groups/{team.pk}/", {"name": "Renamed"}),
        (f"{BASE}/groups/{team.pk}/delete/", {"transfer_to": admin.pk}),
        (f"{BASE}/sharing/", {"contacts__access": "private"}),
        (
            f"{BASE}/sharing/rules/",
            {"module": "deals", "source": f"role:{person.pk}", "target": f"group:{team.pk}", "access": "read"},
        ),
        (f"{BASE}/sharing/rules/{rule.pk}/delete/", {}),
    ]


# ---------------------------------------------------------------------------------------------
# Authorisation matrix


def test_admin_sees_every_screen(web, tenant_a):
    for url in all_get_urls(tenant_a):
        response = web.get(url)
        assert response.status_code == 200, url


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(client_for, tenant_a, admin_of):
    anonymous = client_for(tenant_a)
    posts = all_posts(tenant_a, admin_of(tenant_a))
    before = snapshot(tenant_a)

    for url in all_get_urls(tenant_a):
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    for url, data in posts:
        response = anonymous.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url

    assert snapshot(tenant_a) == before


def test_members_without_admin_rights_get_403_even_with_every_privilege(client_for, tenant_a, admin_of, member):
    """The Administrator profile grants every privilege, but access control is for tenant admins only."""
    plain, privileged = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        Member.objects.filter(pk=privileged.pk).update(role=Role.objects.get(name="CEO"))
    posts = all_posts(tenant_a, admin_of(tenant_a))
    before = snapshot(tenant_a)

    for who in (plain, privileged):
        client = client_for(tenant_a, who)
        for url in all_get_urls(tenant_a):
            assert client.get(url).status_code == 403, url
        for url, data in posts:
            assert client.post(url, data).status_code == 403, url
            assert client.post(url, data, **HTMX).status_code == 403, url

    assert snapshot(tenant_a) == before


def test_admin_of_another_tenant_is_a_stranger_here(client_for, tenant_a, tenant_b, admin_of):
    client = client_for(tenant_a, admin_of(tenant_b))
    before = snapshot(tenant_a)

    response = client.post(f"{BASE}/roles/", {"name": "Spy"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert snapshot(tenant_a) == before


def test_index_links_the_screens_and_the_navigation_links_the_index(web):
    page = web.get(f"{BASE}/").content.decode()
    home = web.get("/").content.decode()

    for screen in ("roles", "profiles", "groups", "sharing", "explain"):
        assert f'href="{BASE}/{screen}/"' in page
    assert 'href="/settings/members/"' in page
    assert f'href="{BASE}/"' in home


def test_the_navigation_link_is_for_admins_only(client_for, tenant_a, member):
    page = client_for(tenant_a, member(tenant_a)).get("/").content.decode()

    assert f'href="{BASE}/"' not in page


# ---------------------------------------------------------------------------------------------
# Roles


def test_roles_screen_shows_the_tree_with_member_counts(web, tenant_a, member):
    member(tenant_a)
    member(tenant_a)
    with tenant_context(tenant_a):
        people = Member.objects.filter(role__name="Sales Person", active=True).count()

    response = web.get(f"{BASE}/roles/")

    page = response.content.decode()
    tree = response.context["tree"]
    assert [item.role.name for item in tree] == ["Organisation"]
    chain = []
    node = tree[0]
    while node.children:
        node = node.children[0]
        chain.append(node.role.name)
    assert chain == ["CEO", "Vice President", "Sales Manager", "Sales Person"]
    assert node.members == people >= 2
    assert f"{people} members" in page
    assert 'draggable="true"' in page
    assert page.count('name="parent"') == 4 + 1  # a "Move under" select per role below the top, + the add form


def test_move_under_select_offers_only_roles_outside_the_subtree(web, tenant_a):
    response = web.get(f"{BASE}/roles/")

    vp = response.context["tree"][0].children[0].children[0]
    offered = [label.strip() for _pk, label in vp.parents]
    assert vp.role.name == "Vice President"
    assert offered == ["Organisation", "CEO"]


def test_admin_creates_a_role(web, tenant_a):
    ceo, sales, guest = role(tenant_a, "CEO"), profile(tenant_a, "Sales"), profile(tenant_a, "Guest")

    response = web.post(f"{BASE}/roles/", {"name": " Intern ", "parent": ceo.pk, "profiles": [sales.pk, guest.pk]})

    with tenant_context(tenant_a):
        created = Role.objects.get(name="Intern")
        assert created.parent_id == ceo.pk
        assert created.path == f"{ceo.path}{created.pk}."
        assert sorted(p.name for p in created.profiles.all()) == ["Guest", "Sales"]
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/roles/#role-{created.pk}"


def test_add_below_preselects_the_parent(web, tenant_a):
    vp = role(tenant_a, "Vice President")

    form = web.get(f"{BASE}/roles/?parent={vp.pk}").context["form"]

    assert str(form["parent"].value()) == str(vp.pk)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": "", "parent": "{ceo}", "profiles": ["{sales}"]}, {"name"}),
        ({"name": "Intern", "parent": "{ceo}"}, {"profiles"}),
        ({"name": "Intern", "parent": "999999", "profiles": ["{sales}"]}, {"parent"}),
        ({"name": "Intern", "parent": "x", "profiles": ["{sales}"]}, {"parent"}),
        ({"name": "Intern", "parent": "{ceo}", "profiles": ["999999"]}, {"profiles"}),
        ({"name": "Intern", "parent": "{ceo}", "profiles": ["²"]}, {"profiles"}),
        ({"name": "x" * 101, "parent": "{ceo}", "profiles": ["{sales}"]}, {"name"}),
        ({"name": "Bad\x00name", "parent": "{ceo}", "profiles": ["{sales}"]}, {"name"}),
    ],
)
def test_role_create_errors_are_shown_per_field_and_change_nothing(web, tenant_a, data, errors):
    ids = {"ceo": role(tenant_a, "CEO").pk, "sales": profile(tenant_a, "Sales").pk}

    def fill(value):
        return [fill(v) for v in value] if isinstance(value, list) else value.format(**ids)

    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/roles/", {k: fill(v) for k, v in data.items()})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == errors
    assert "Nothing was saved" in response.content.decode()
    assert snapshot(tenant_a) == before


def test_admin_edits_a_role_and_makes_it_the_default(web, tenant_a):
    vp, guest = role(tenant_a, "Vice President"), profile(tenant_a, "Guest")

    response = web.post(f"{BASE}/roles/{vp.pk}/", {"name": "VP Sales", "profiles": [guest.pk], "default_for_new": "on"})

    assert response.status_code == 302
    with tenant_context(tenant_a):
        vp.refresh_from_db()
        assert (vp.name, vp.default_for_new) == ("VP Sales", True)
        assert [p.name for p in vp.profiles.all()] == ["Guest"]
        assert list(Role.objects.filter(default_for_new=True)) == [vp]


def test_the_default_role_stays_default_until_another_takes_over(web, tenant_a):
    person, sales = role(tenant_a, "Sales Person"), profile(tenant_a, "Sales")

    form = web.get(f"{BASE}/roles/{person.pk}/").context["form"]
    web.post(f"{BASE}/roles/{person.pk}/", {"name": "Sales Person", "profiles": [sales.pk]})

    assert form.fields["default_for_new"].disabled is True
    with tenant_context(tenant_a):
        assert Role.objects.get(pk=person.pk).default_for_new is True


def test_the_top_role_is_not_offered_as_default_and_cannot_be_deleted(web, tenant_a):
    top = role(tenant_a, "Organisation")
    before = snapshot(tenant_a)

    form = web.get(f"{BASE}/roles/{top.pk}/").context["form"]
    page = web.get(f"{BASE}/roles/{top.pk}/delete/").content.decode()
    refused = web.post(f"{BASE}/roles/{top.pk}/delete/", {"transfer_to": role(tenant_a, "CEO").pk})

    assert "default_for_new" not in form.fields
    assert "The top role cannot be deleted." in page
    assert refused.status_code == 200
    assert snapshot(tenant_a) == before


def test_role_edit_errors_change_nothing(web, tenant_a):
    vp = role(tenant_a, "Vice President")
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/roles/{vp.pk}/", {"name": "", "profiles": ["999999"]})

    assert set(response.context["form"].errors) == {"name", "profiles"}
    assert snapshot(tenant_a) == before


def test_move_under_with_the_select_and_button(web, tenant_a):
    ceo, manager, person = role(tenant_a, "CEO"), role(tenant_a, "Sales Manager"), role(tenant_a, "Sales Person")

    response = web.post(f"{BASE}/roles/{manager.pk}/move/", {"parent": ceo.pk}, follow=True)

    with tenant_context(tenant_a):
        manager.refresh_from_db()
        person.refresh_from_db()
    assert manager.parent_id == ceo.pk
    assert manager.path == f"{ceo.path}{manager.pk}."
    assert person.path == f"{manager.path}{person.pk}."  # the subtree moved along
    assert "“Sales Manager” now reports to “CEO”." in response.content.decode()


def test_reparenting_under_a_subordinate_is_refused_with_a_message(web, tenant_a):
    vp, person = role(tenant_a, "Vice President"), role(tenant_a, "Sales Person")
    before = snapshot(tenant_a)

    page = web.post(f"{BASE}/roles/{vp.pk}/move/", {"parent": person.pk}, follow=True).content.decode()
    fragment = web.post(f"{BASE}/roles/{vp.pk}/move/", {"parent": person.pk}, **HTMX)
    itself = web.post(f"{BASE}/roles/{vp.pk}/move/", {"parent": vp.pk}, **HTMX)

    message = "A role cannot report to itself or to one of its subordinates."
    assert message in page
    assert fragment.status_code == 200
    assert 'role="alert"' in fragment.content.decode()
    assert message in fragment.content.decode()
    assert message in itself.content.decode()
    assert snapshot(tenant_a) == before


def test_drag_endpoint_moves_and_answers_with_the_redrawn_tree(web, tenant_a):
    ceo, person = role(tenant_a, "CEO"), role(tenant_a, "Sales Person")

    response = web.post(f"{BASE}/roles/{person.pk}/move/", {"parent": ceo.pk}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert response.templates[0].name == "access/settings/_role_tree.html"
    assert "<html" not in page
    assert f'data-moved="{person.pk}"' in page
    assert 'role="status"' in page
    ceo_item = response.context["tree"][0].children[0]
    assert sorted(child.role.name for child in ceo_item.children) == ["Sales Person", "Vice President"]
    with tenant_context(tenant_a):
        assert Role.objects.get(pk=person.pk).parent_id == ceo.pk


@pytest.mark.parametrize("parent", ["", "999999", "abc", "99999999999999999999"])
def test_move_with_a_bad_parent_is_an_error_not_a_crash(web, tenant_a, parent):
    person = role(tenant_a, "Sales Person")
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/roles/{person.pk}/move/", {"parent": parent}, **HTMX)

    assert response.status_code == 200
    assert response.context["tree_error"] is True
    assert snapshot(tenant_a) == before


def test_the_top_role_cannot_be_moved_and_unknown_roles_are_404(web, tenant_a):
    top, ceo = role(tenant_a, "Organisation"), role(tenant_a, "CEO")
    before = snapshot(tenant_a)

    refused = web.post(f"{BASE}/roles/{top.pk}/move/", {"parent": ceo.pk}, **HTMX)
    missing = web.post(f"{BASE}/roles/999999/move/", {"parent": ceo.pk})

    assert "The top role cannot be moved." in refused.content.decode()
    assert missing.status_code == 404
    assert web.get(f"{BASE}/roles/999999/").status_code == 404
    assert web.get(f"{BASE}/roles/999999/delete/").status_code == 404
    assert snapshot(tenant_a) == before


def test_moving_needs_post(web, tenant_a):
    assert web.get(f"{BASE}/roles/{role(tenant_a, 'Sales Person').pk}/move/").status_code == 405


def test_admin_deletes_a_role_moving_its_members_and_subroles(web, tenant_a, member):
    manager, person, vp = (
        role(tenant_a, "Sales Manager"),
        role(tenant_a, "Sales Person"),
        role(tenant_a, "Vice President"),
    )
    someone = member(tenant_a)
    with tenant_context(tenant_a):
        Member.objects.filter(pk=someone.pk).update(role=manager)

    page = web.get(f"{BASE}/roles/{manager.pk}/delete/")
    response = web.post(f"{BASE}/roles/{manager.pk}/delete/", {"transfer_to": vp.pk})

    assert "1 member holds this role." in page.content.decode()
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert not Role.objects.filter(pk=manager.pk).exists()
        assert Member.objects.get(pk=someone.pk).role_id == vp.pk
        assert Role.objects.get(pk=person.pk).parent_id == vp.pk


def test_role_delete_refuses_a_transfer_into_its_own_subtree(web, tenant_a):
    manager, person = role(tenant_a, "Sales Manager"), role(tenant_a, "Sales Person")
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/roles/{manager.pk}/delete/", {"transfer_to": person.pk})
    offered = [str(v) for v, _label in response.context["form"].fields["transfer_to"].choices]

    assert set(response.context["form"].errors) == {"transfer_to"}
    assert str(person.pk) not in offered
    assert str(manager.pk) not in offered
    assert snapshot(tenant_a) == before


# ---------------------------------------------------------------------------------------------
# Profiles


def test_admin_creates_a_profile_with_defaults_and_privileges(web, tenant_a):
    response = web.post(
        f"{BASE}/profiles/new/",
        {"name": "Auditors", "description": "Read everything", "default_view": "on", "view_all": "on"},
    )

    with tenant_context(tenant_a):
        created = Profile.objects.get(name="Auditors")
    assert response["Location"] == f"{BASE}/profiles/{created.pk}/"
    assert created.description == "Read everything"
    assert (created.default_view, created.default_create, created.default_edit, created.default_delete) == (
        True,
        False,
        False,
        False,
    )
    assert (created.view_all, created.edit_all, created.can_export, created.manage_billing) == (
        True,
        False,
        False,
        False,
    )


def test_new_profile_form_starts_from_the_model_defaults(web):
    form = web.get(f"{BASE}/profiles/new/").context["form"]

    assert form["default_view"].value() is True
    assert form["view_all"].value() is False


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": ""}, {"name"}),
        ({"name": "sales"}, {"name"}),  # names are unique, whatever the case
        ({"name": "Fine", "description": "x" * 251}, {"description"}),
    ],
)
def test_profile_form_errors_change_nothing(web, tenant_a, data, errors):
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/profiles/new/", data)

    assert set(response.context["form"].errors) == errors
    assert snapshot(tenant_a) == before


def test_admin_edits_a_profile(web, tenant_a):
    guest = profile(tenant_a, "Guest")

    response = web.post(f"{BASE}/profiles/{guest.pk}/", {"name": "Visitors", "default_view": "on", "can_export": "on"})

    assert response.status_code == 302
    with tenant_context(tenant_a):
        guest.refresh_from_db()
    assert (guest.name, guest.can_export, guest.can_import) == ("Visitors", True, False)


def test_module_grid_saves_only_the_modules_that_changed(web, tenant_a):
    sales = profile(tenant_a, "Sales")
    grid = web.get(f"{BASE}/profiles/{sales.pk}/").context["grid"]
    data = {name: "on" for name, field in grid.fields.items() if grid[name].value()}
    data.pop("contacts__delete")
    data.pop("leads__view")

    response = web.post(f"{BASE}/profiles/{sales.pk}/modules/", data)

    assert response["Location"] == f"{BASE}/profiles/{sales.pk}/#modules"
    with tenant_context(tenant_a):
        rows = {
            r.module: (r.can_view, r.can_create, r.can_edit, r.can_delete)
            for r in ProfileModule.objects.filter(profile=sales)
        }
    # Without view nothing else is allowed.
    assert rows == {"contacts": (True, True, True, False), "leads": (False, False, False, False)}


def test_module_grid_shows_own_rows_and_defaults(web, tenant_a):
    sales = profile(tenant_a, "Sales")
    with tenant_context(tenant_a):
        ProfileModule.objects.create(
            profile=sales, module="deals", can_view=True, can_create=False, can_edit=False, can_delete=False
        )

    grid = web.get(f"{BASE}/profiles/{sales.pk}/").context["grid"]

    rows = {row.spec.key: row for row in grid.rows()}
    assert [bf.value() for _label, bf in rows["deals"].cells] == [True, False, False, False]
    assert rows["deals"].own is True
    assert rows["leads"].own is False
    assert len(rows) == len(registry.all_specs())


def test_field_grid_labels_and_required_fields(web, tenant_a, admin_of):
    sales = profile(tenant_a, "Sales")
    with tenant_context(tenant_a):
        custom_field_create(
            actor=admin_of(tenant_a), spec=registry.get("contacts"), key="region", label="Region", type="text"
        )

    response = web.get(f"{BASE}/profiles/{sales.pk}/fields/contacts/")

    rows = {row.name: row for row in response.context["form"].rows()}
    spec = registry.get("contacts")
    assert list(rows) == [*spec.form_fields, "custom.region"]
    assert rows["custom.region"].label == "Region"
    assert rows["email"].label == "Email"
    assert rows["last_name"].required is True
    assert rows["last_name"].field.field.disabled is True
    page = response.content.decode()
    assert 'name="custom__region"' in page
    assert 'name="last_name" value="readwrite"' in page


def test_field_grid_saves_hidden_and_readonly_and_back(web, tenant_a, admin_of):
    sales = profile(tenant_a, "Sales")
    with tenant_context(tenant_a):
        custom_field_create(
            actor=admin_of(tenant_a), spec=registry.get("contacts"), key="region", label="Region", type="text"
        )
    url = f"{BASE}/profiles/{sales.pk}/fields/contacts/"

    first = web.post(url, {"email": "hidden", "phone": "readonly", "custom__region": "hidden"})
    with tenant_context(tenant_a):
        stored = dict(ProfileField.objects.filter(profile=sales, module="contacts").values_list("field", "access"))
    second = web.post(url, {"email": "readwrite", "phone": "readonly"})
    with tenant_context(tenant_a):
        after = dict(ProfileField.objects.filter(profile=sales, module="contacts").values_list("field", "access"))

    assert first.status_code == second.status_code == 302
    assert stored == {"email": "hidden", "phone": "readonly", "custom.region": "hidden"}
    assert after == {"phone": "readonly", "custom.region": "hidden"}  # fields left out keep their access


def test_a_required_field_cannot_be_hidden_even_by_a_tampered_post(web, tenant_a):
    sales = profile(tenant_a, "Sales")

    response = web.post(f"{BASE}/profiles/{sales.pk}/fields/contacts/", {"last_name": "hidden"})

    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert not ProfileField.objects.filter(profile=sales, field="last_name").exists()


def test_field_grid_bad_values_are_errors_and_unknown_modules_404(web, tenant_a):
    sales = profile(tenant_a, "Sales")
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/profiles/{sales.pk}/fields/contacts/", {"email": "invisible", "phone": "hidden"})

    assert set(response.context["form"].errors) == {"email"}
    assert web.get(f"{BASE}/profiles/{sales.pk}/fields/nope/").status_code == 404
    assert web.get(f"{BASE}/profiles/999999/fields/contacts/").status_code == 404
    assert snapshot(tenant_a) == before


def test_hidden_field_takes_effect_on_the_members_next_request(
    web, tenant_a, client_for, member, django_capture_on_commit_callbacks
):
    seller = member(tenant_a)
    contact = make_contact(tenant_a, seller, email="secret@example.com")
    client = client_for(tenant_a, seller)
    assert "secret@example.com" in client.get(f"/m/contacts/{contact.pk}/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"{BASE}/profiles/{profile(tenant_a, 'Sales').pk}/fields/contacts/", {"email": "hidden"})

    assert "secret@example.com" not in client.get(f"/m/contacts/{contact.pk}/").content.decode()


def test_checkboxes_may_be_hidden_and_members_still_create_records(
    web, tenant_a, client_for, member, django_capture_on_commit_callbacks
):
    sales = profile(tenant_a, "Sales")
    seller = member(tenant_a)

    with django_capture_on_commit_callbacks(execute=True):
        saved = web.post(f"{BASE}/profiles/{sales.pk}/fields/contacts/", {"do_not_call": "hidden"})
    created = client_for(tenant_a, seller).post("/m/contacts/new/", {"last_name": "Boolean", "do_not_call": "on"})

    assert saved.status_code == created.status_code == 302
    with tenant_context(tenant_a):
        assert ProfileField.objects.get(profile=sales, field="do_not_call").access == "hidden"
        assert registry.get("contacts").model.objects.get(last_name="Boolean").do_not_call is False


def test_profile_delete_refused_while_a_role_depends_on_it(web, tenant_a):
    sales = profile(tenant_a, "Sales")
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/profiles/{sales.pk}/delete/")

    assert response.status_code == 200
    assert "has no other profile; give it another first." in response.content.decode()
    assert snapshot(tenant_a) == before


def test_admin_deletes_an_unused_profile(web, tenant_a):
    guest = profile(tenant_a, "Guest")

    response = web.post(f"{BASE}/profiles/{guest.pk}/delete/")

    assert response["Location"] == f"{BASE}/profiles/"
    with tenant_context(tenant_a):
        assert not Profile.objects.filter(pk=guest.pk).exists()


# ---------------------------------------------------------------------------------------------
# Groups


def test_admin_creates_a_group_with_every_kind_of_member(web, tenant_a, member):
    someone = member(tenant_a)
    ceo, vp, team = role(tenant_a, "CEO"), role(tenant_a, "Vice President"), group(tenant_a, "Team Selling")

    response = web.post(
        f"{BASE}/groups/new/",
        {
            "name": "Night shift",
            "description": "After hours",
            "members": [someone.pk],
            "roles": [ceo.pk],
            "roles_with_subordinates": [vp.pk],
            "subgroups": [team.pk],
        },
    )

    with tenant_context(tenant_a):
        created = Group.objects.get(name="Night shift")
        assert created.description == "After hours"
        assert list(created.members.all()) == [someone]
        assert list(created.roles.all()) == [ceo]
        assert list(created.roles_with_subordinates.all()) == [vp]
        assert list(created.subgroups.all()) == [team]
    assert response["Location"] == f"{BASE}/groups/#group-{created.pk}"


def test_group_form_has_labelled_choices(web, tenant_a, admin_of):
    form = web.get(f"{BASE}/groups/new/").context["form"]
    admin = admin_of(tenant_a)

    members = dict(form.fields["members"].choices)
    assert f"{admin.user.name} ({admin.user.email})" in members.values()
    assert [label.strip() for _v, label in form.fields["roles"].choices][:2] == ["Organisation", "CEO"]


def test_a_group_cannot_contain_itself_through_another(web, tenant_a, admin_of):
    team, marketing = group(tenant_a, "Team Selling"), group(tenant_a, "Marketing Group")
    with tenant_context(tenant_a):
        group_save(actor=admin_of(tenant_a), group=team, name=team.name, subgroup_ids=[marketing.pk])
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/groups/{marketing.pk}/", {"name": "Marketing Group", "subgroups": [team.pk]})
    itself = web.post(f"{BASE}/groups/{marketing.pk}/", {"name": "Marketing Group", "subgroups": [marketing.pk]})

    assert response.context["form"].errors["subgroups"] == [
        "A group cannot contain itself, directly or through another group."
    ]
    assert set(itself.context["form"].errors) == {"subgroups"}  # not even offered
    assert snapshot(tenant_a) == before


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": ""}, {"name"}),
        ({"name": "support group"}, {"name"}),
        ({"name": "New", "members": ["999999"]}, {"members"}),
        ({"name": "New", "roles": ["nope"]}, {"roles"}),
        ({"name": "New", "roles_with_subordinates": ["999999"]}, {"roles_with_subordinates"}),
        ({"name": "New", "subgroups": ["999999"]}, {"subgroups"}),
        ({"name": "New", "description": "x" * 251}, {"description"}),
    ],
)
def test_group_form_errors_change_nothing(web, tenant_a, data, errors):
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/groups/new/", data)

    assert response.status_code == 200
    assert set(response.context["form"].errors) == errors
    assert snapshot(tenant_a) == before


def test_deactivated_members_cannot_be_put_in_a_group(web, tenant_a, member):
    gone = member(tenant_a, active=False)
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/groups/new/", {"name": "New", "members": [gone.pk]})

    assert set(response.context["form"].errors) == {"members"}
    assert snapshot(tenant_a) == before


def test_admin_deletes_a_group_giving_its_records_to_a_member(web, tenant_a, member):
    team, heir = group(tenant_a, "Team Selling"), member(tenant_a)
    contact = make_contact(tenant_a, heir)
    with tenant_context(tenant_a):
        type(contact).objects.filter(pk=contact.pk).update(owner=None, owner_group=team)
        SharingRule.objects.create(
            module="contacts",
            source_kind="group",
            source_group=team,
            target_kind="role",
            target_role=role(tenant_a, "CEO"),
        )

    page = web.get(f"{BASE}/groups/{team.pk}/delete/").content.decode()
    response = web.post(f"{BASE}/groups/{team.pk}/delete/", {"transfer_to": heir.pk}, follow=True)

    assert "The group owns 1 record." in page
    assert "1 of its records were given to" in response.content.decode()
    with tenant_context(tenant_a):
        assert not Group.objects.filter(pk=team.pk).exists()
        contact.refresh_from_db()
        assert (contact.owner_id, contact.owner_group_id) == (heir.pk, None)
        assert not SharingRule.objects.exists()


def test_group_delete_needs_an_active_member(web, tenant_a, member):
    team, gone = group(tenant_a, "Team Selling"), member(tenant_a, active=False)
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/groups/{team.pk}/delete/", {"transfer_to": gone.pk})

    assert set(response.context["form"].errors) == {"transfer_to"}
    assert snapshot(tenant_a) == before
    assert web.get(f"{BASE}/groups/999999/").status_code == 404


# ---------------------------------------------------------------------------------------------
# Sharing


def test_sharing_page_lists_every_module_with_its_default(web):
    form = web.get(f"{BASE}/sharing/").context["defaults"]

    rows = {row.spec.key: row for row in form.rows()}
    assert set(rows) == {s.key for s in registry.all_specs()}
    assert rows["contacts"].access.value() == "public_read_write_delete"
    assert rows["contacts"].follow_parent is not None
    assert rows["leads"].follow_parent is None  # leads have no parent record


def test_admin_saves_defaults_only_for_the_modules_that_changed(web, tenant_a):
    form = web.get(f"{BASE}/sharing/").context["defaults"]
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (False, None)}
    data["contacts__access"] = "private"
    data.pop("contacts__superiors_see")
    data.pop("contacts__follow_parent")

    response = web.post(f"{BASE}/sharing/", {k: ("on" if v is True else v) for k, v in data.items()})

    assert response["Location"] == f"{BASE}/sharing/"
    with tenant_context(tenant_a):
        assert list(SharingDefault.objects.values_list("module", "access", "superiors_see", "follow_parent")) == [
            ("contacts", "private", False, False)
        ]


@pytest.mark.parametrize("value", ["secret", "", "private\x00"])
def test_sharing_default_bad_values_change_nothing(web, tenant_a, value):
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/sharing/", {"contacts__access": value})

    assert response.status_code == 200
    assert "contacts__access" in response.context["defaults"].errors
    assert snapshot(tenant_a) == before


def test_making_contacts_private_takes_effect_on_the_next_request(
    web, tenant_a, client_for, member, django_capture_on_commit_callbacks
):
    alice, bob = member(tenant_a), member(tenant_a)  # both Sales Person: neither is the other's superior
    contact = make_contact(tenant_a, alice, last_name="Zyxwv")
    bob_client = client_for(tenant_a, bob)
    assert contact.number in bob_client.get("/m/contacts/").content.decode()

    form = web.get(f"{BASE}/sharing/").context["defaults"]
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (False, None)}
    data["contacts__access"] = "private"
    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"{BASE}/sharing/", {k: ("on" if v is True else v) for k, v in data.items()})

    assert contact.number not in bob_client.get("/m/contacts/").content.decode()
    assert contact.number in client_for(tenant_a, alice).get("/m/contacts/").content.decode()


def test_a_sharing_rule_opens_private_records_again(
    web, tenant_a, client_for, member, admin_of, django_capture_on_commit_callbacks
):
    alice, bob = member(tenant_a), member(tenant_a)
    vp, person = role(tenant_a, "Vice President"), role(tenant_a, "Sales Person")
    with tenant_context(tenant_a):
        Member.objects.filter(pk=alice.pk).update(role=vp)
        sharing_default_set(actor=admin_of(tenant_a), module="contacts", access="private")
    contact = make_contact(tenant_a, alice)
    bob_client = client_for(tenant_a, bob)

    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(
            f"{BASE}/sharing/rules/",
            {"module": "contacts", "source": f"role:{vp.pk}", "target": f"role_sub:{person.pk}", "access": "read"},
        )

    assert response.status_code == 302
    with tenant_context(tenant_a):
        rule = SharingRule.objects.get()
    assert (rule.module, rule.source_kind, rule.source_role_id, rule.target_kind, rule.target_role_id, rule.access) == (
        "contacts",
        "role",
        vp.pk,
        "role_sub",
        person.pk,
        "read",
    )
    assert contact.number in bob_client.get("/m/contacts/").content.decode()
    page = web.get(f"{BASE}/sharing/").content.decode()
    assert f'id="rule-{rule.pk}"' in page

    with django_capture_on_commit_callbacks(execute=True):
        deleted = web.post(f"{BASE}/sharing/rules/{rule.pk}/delete/")

    assert deleted.status_code == 302
    assert contact.number not in bob_client.get("/m/contacts/").content.decode()


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"module": "nope", "source": "role:{vp}", "target": "group:{team}", "access": "read"}, {"module"}),
        ({"module": "deals", "source": "role:999999", "target": "group:{team}", "access": "read"}, {"source"}),
        ({"module": "deals", "source": "group:{vp}x", "target": "group:{team}", "access": "read"}, {"source"}),
        ({"module": "deals", "source": "role:{vp}", "target": "team", "access": "read"}, {"target"}),
        ({"module": "deals", "source": "role:{vp}", "target": "group:{team}", "access": "all"}, {"access"}),
        ({"module": "deals"}, {"source", "target", "access"}),
    ],
)
def test_sharing_rule_errors_change_nothing(web, tenant_a, data, errors):
    ids = {"vp": role(tenant_a, "Vice President").pk, "team": group(tenant_a, "Team Selling").pk}
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/sharing/rules/", {k: v.format(**ids) for k, v in data.items()})

    assert response.status_code == 200
    assert set(response.context["rule_form"].errors) == errors
    assert snapshot(tenant_a) == before


def test_deleting_an_unknown_rule_is_404(web):
    assert web.post(f"{BASE}/sharing/rules/999999/delete/").status_code == 404


# ---------------------------------------------------------------------------------------------
# Members' roles


def test_admin_changes_a_members_role_in_the_row(web, tenant_a, member):
    someone, vp = member(tenant_a), role(tenant_a, "Vice President")

    response = web.post(f"/settings/members/{someone.pk}/set-role/", {"role": vp.pk}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.startswith(f'<tr id="member-{someone.pk}">')
    assert f'<option value="{vp.pk}" selected>Vice President</option>' in page
    assert "now holds the role “Vice President”." in page
    with tenant_context(tenant_a):
        assert Member.objects.get(pk=someone.pk).role_id == vp.pk


def test_members_screen_offers_roles_below_the_top(web, tenant_a):
    page = web.get("/settings/members/").content.decode()

    assert f'<option value="{role(tenant_a, "CEO").pk}"' in page
    assert f'<option value="{role(tenant_a, "Organisation").pk}"' not in page


@pytest.mark.parametrize("value", ["top", "", "999999", "x", "²"])
def test_bad_member_roles_are_row_errors(web, tenant_a, member, value):
    someone = member(tenant_a)
    value = str(role(tenant_a, "Organisation").pk) if value == "top" else value
    before = snapshot(tenant_a)

    response = web.post(f"/settings/members/{someone.pk}/set-role/", {"role": value}, **HTMX)

    assert response.status_code == 200
    assert "row-message--error" in response.content.decode()
    assert snapshot(tenant_a) == before


def test_only_admins_change_roles(client_for, tenant_a, member):
    manager = member(tenant_a)
    with tenant_context(tenant_a):
        admin_profile = Profile.objects.get(name="Guest")
        Profile.objects.filter(pk=admin_profile.pk).update(manage_members=True)
        Member.objects.filter(pk=manager.pk).update(role=Role.objects.get(name="Sales Manager"))
        Role.objects.get(name="Sales Manager").profiles.add(admin_profile)
    someone = member(tenant_a)
    client = client_for(tenant_a, manager)
    before = snapshot(tenant_a)

    page = client.get("/settings/members/")
    response = client.post(f"/settings/members/{someone.pk}/set-role/", {"role": role(tenant_a, "CEO").pk})
    invite = client.post("/settings/members/", {"email": "new@example.com", "role": role(tenant_a, "CEO").pk})

    assert (page.status_code, invite.status_code) == (200, 302)
    assert "role" not in page.context["form"].fields
    assert response.status_code == 403
    assert snapshot(tenant_a)[12] == before[12]
    with tenant_context(tenant_a):
        assert Invitation.objects.get(email="new@example.com").role_id is None


def test_admin_invites_into_a_role(web, tenant_a):
    vp = role(tenant_a, "Vice President")

    response = web.post("/settings/members/", {"email": "vp@example.com", "role": vp.pk})
    top = web.post("/settings/members/", {"email": "top@example.com", "role": role(tenant_a, "Organisation").pk})
    default = web.post("/settings/members/", {"email": "plain@example.com", "role": ""})

    assert response.status_code == default.status_code == 302
    assert set(top.context["form"].errors) == {"role"}
    with tenant_context(tenant_a):
        assert Invitation.objects.get(email="vp@example.com").role_id == vp.pk
        assert Invitation.objects.get(email="plain@example.com").role_id is None
        assert not Invitation.objects.filter(email="top@example.com").exists()


# ---------------------------------------------------------------------------------------------
# Explain


def test_explain_says_why_a_member_cannot_see_a_private_record(web, tenant_a, member, admin_of):
    alice, bob = member(tenant_a), member(tenant_a)
    contact = make_contact(tenant_a, alice)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin_of(tenant_a), module="contacts", access="private")

    response = web.get(f"{BASE}/explain/", {"member": bob.pk, "module": "contacts", "record": contact.number.lower()})

    result = response.context["result"]
    assert (result.can_view, result.can_edit, result.can_delete) == (False, False, False)
    assert "Organisation-wide default of Contacts: Private." in result.reasons
    assert result.reasons[-1] == "Nothing above opens this record to the member, so they cannot see it."
    page = response.content.decode()
    assert "Organisation-wide default of Contacts: Private." in page


def test_explain_names_the_hierarchy_path(web, tenant_a, member, admin_of):
    boss, seller = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        Member.objects.filter(pk=boss.pk).update(role=Role.objects.get(name="Sales Manager"))
        sharing_default_set(actor=admin_of(tenant_a), module="contacts", access="private")
    contact = make_contact(tenant_a, seller)

    response = web.get(f"{BASE}/explain/", {"member": boss.pk, "module": "contacts", "record": str(contact.pk)})

    result = response.context["result"]
    assert result.can_view is True
    assert any(
        "below the member in the role hierarchy" in r and "Sales Manager › Sales Person" in r for r in result.reasons
    )


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"member": "999999", "module": "contacts", "record": "CON-1"}, {"member"}),
        ({"member": "{bob}", "module": "nope", "record": "CON-1"}, {"module"}),
        ({"member": "{bob}", "module": "contacts", "record": "NOPE-1"}, {"record"}),
        ({"member": "{bob}", "module": "contacts", "record": ""}, {"record"}),
        ({"member": "{bob}", "module": "leads", "record": "{contact}"}, {"record"}),
        ({"member": "{bob}", "module": "contacts", "record": "00000000-0000-0000-0000-000000000000"}, {"record"}),
    ],
)
def test_explain_bad_input_is_a_form_error(web, tenant_a, member, params, errors):
    bob = member(tenant_a)
    contact = make_contact(tenant_a, bob)
    ids = {"bob": bob.pk, "contact": contact.number}

    response = web.get(f"{BASE}/explain/", {k: v.format(**ids) for k, v in params.items()})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == errors
    assert response.context["result"] is None


def test_explain_starts_with_an_empty_form(web):
    response = web.get(f"{BASE}/explain/")

    assert response.context["form"].is_bound is False
    assert response.context["result"] is None


# ---------------------------------------------------------------------------------------------
# Cross-tenant: ids of tenant B mean nothing on tenant A


def _beyond(tenant_from, tenant_to, model):
    """Move tenant_to's id sequence of `model` past every id tenant_from has, so new rows there get ids
    that do not exist in tenant_from (the schemas' sequences otherwise overlap)."""
    with tenant_context(tenant_from):
        top = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with tenant_context(tenant_to), connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [model._meta.db_table, top + 1000])


def test_ids_of_another_tenant_are_404_or_form_errors_and_change_nothing(web, tenant_a, tenant_b, admin_of, member):
    for model in (Role, Profile, Group, Member, SharingRule):
        _beyond(tenant_a, tenant_b, model)
    b_admin, b_member = admin_of(tenant_b), member(tenant_b)
    with tenant_context(tenant_b):
        b_profile = profile_save(actor=b_admin, profile=None, name="B only", flags={})
        ceo_b = Role.objects.get(name="CEO")
        b_role = role_create(actor=b_admin, name="B role", parent=ceo_b, profile_ids=[b_profile.pk])
        b_group = group_save(actor=b_admin, group=None, name="B group")
        Member.objects.filter(pk=b_member.pk).update(role=b_role)
        b_rule = SharingRule.objects.create(
            module="leads", source_kind="role", source_role=b_role, target_kind="group", target_group=b_group
        )
    ceo, sales, team = role(tenant_a, "CEO"), profile(tenant_a, "Sales"), group(tenant_a, "Team Selling")
    someone = admin_of(tenant_a)
    before_a, before_b = snapshot(tenant_a), snapshot(tenant_b)

    for url in (
        f"{BASE}/roles/{b_role.pk}/",
        f"{BASE}/roles/{b_role.pk}/delete/",
        f"{BASE}/profiles/{b_profile.pk}/",
        f"{BASE}/profiles/{b_profile.pk}/fields/contacts/",
        f"{BASE}/profiles/{b_profile.pk}/delete/",
        f"{BASE}/groups/{b_group.pk}/",
        f"{BASE}/groups/{b_group.pk}/delete/",
    ):
        assert web.get(url).status_code == 404, url
        assert web.post(url, {"name": "x", "transfer_to": ceo.pk}).status_code == 404, url
    assert web.post(f"{BASE}/roles/{b_role.pk}/move/", {"parent": ceo.pk}).status_code == 404
    assert web.post(f"{BASE}/profiles/{b_profile.pk}/modules/", {}).status_code == 404
    assert web.post(f"{BASE}/sharing/rules/{b_rule.pk}/delete/").status_code == 404

    form_errors = [
        (f"{BASE}/roles/", {"name": "X", "parent": b_role.pk, "profiles": [sales.pk]}, "form", {"parent"}),
        (f"{BASE}/roles/", {"name": "X", "parent": ceo.pk, "profiles": [b_profile.pk]}, "form", {"profiles"}),
        (f"{BASE}/roles/{ceo.pk}/", {"name": "X", "profiles": [b_profile.pk]}, "form", {"profiles"}),
        (
            f"{BASE}/roles/{role(tenant_a, 'Vice President').pk}/delete/",
            {"transfer_to": b_role.pk},
            "form",
            {"transfer_to"},
        ),
        (f"{BASE}/groups/new/", {"name": "X", "members": [b_member.pk]}, "form", {"members"}),
        (f"{BASE}/groups/new/", {"name": "X", "roles": [b_role.pk]}, "form", {"roles"}),
        (f"{BASE}/groups/new/", {"name": "X", "subgroups": [b_group.pk]}, "form", {"subgroups"}),
        (f"{BASE}/groups/{team.pk}/delete/", {"transfer_to": b_member.pk}, "form", {"transfer_to"}),
        (
            f"{BASE}/sharing/rules/",
            {"module": "leads", "source": f"role:{b_role.pk}", "target": f"group:{team.pk}", "access": "read"},
            "rule_form",
            {"source"},
        ),
        (
            f"{BASE}/sharing/rules/",
            {"module": "leads", "source": f"role:{ceo.pk}", "target": f"group:{b_group.pk}", "access": "read"},
            "rule_form",
            {"target"},
        ),
    ]
    for url, data, form_name, errors in form_errors:
        response = web.post(url, data)
        assert response.status_code == 200, url
        assert set(response.context[form_name].errors) == errors, url
    moved = web.post(f"{BASE}/roles/{role(tenant_a, 'Sales Person').pk}/move/", {"parent": b_role.pk}, **HTMX)
    assert moved.context["tree_error"] is True
    assert web.post(f"/settings/members/{b_member.pk}/set-role/", {"role": ceo.pk}).status_code == 404
    row = web.post(f"/settings/members/{someone.pk}/set-role/", {"role": b_role.pk}, **HTMX)
    assert "row-message--error" in row.content.decode()
    explain = web.get(f"{BASE}/explain/", {"member": b_member.pk, "module": "contacts", "record": "CON-1"})
    assert "member" in explain.context["form"].errors

    assert snapshot(tenant_a) == before_a
    assert snapshot(tenant_b) == before_b


# ---------------------------------------------------------------------------------------------
# Hostile input never crashes


HUGE = "9" * 30


def test_out_of_range_ids_are_404_or_form_errors(web, tenant_a, member):
    someone = member(tenant_a)
    ceo, sales = role(tenant_a, "CEO"), profile(tenant_a, "Sales")
    before = snapshot(tenant_a)

    for url in (f"{BASE}/roles/{HUGE}/", f"{BASE}/profiles/{HUGE}/", f"{BASE}/groups/{HUGE}/delete/"):
        assert web.get(url).status_code == 404, url
    posts = [
        (f"{BASE}/roles/", {"name": "X", "parent": HUGE, "profiles": [sales.pk]}, "form"),
        (f"{BASE}/roles/", {"name": "X", "parent": ceo.pk, "profiles": [HUGE]}, "form"),
        (f"{BASE}/groups/new/", {"name": "X", "members": [HUGE], "roles": [HUGE], "subgroups": [HUGE]}, "form"),
        (f"{BASE}/groups/{group(tenant_a, 'Team Selling').pk}/delete/", {"transfer_to": HUGE}, "form"),
        (
            f"{BASE}/sharing/rules/",
            {"module": "leads", "source": f"role:{HUGE}", "target": "x", "access": "read"},
            "rule_form",
        ),
        ("/settings/members/", {"email": "huge@example.com", "role": HUGE}, "form"),
    ]
    for url, data, form_name in posts:
        response = web.post(url, data)
        assert response.status_code == 200, url
        assert response.context[form_name].errors, url
    row = web.post(f"/settings/members/{someone.pk}/set-role/", {"role": HUGE}, **HTMX)
    explain = web.get(f"{BASE}/explain/", {"member": HUGE, "module": "contacts", "record": "\x00"})

    assert "row-message--error" in row.content.decode()
    assert set(explain.context["form"].errors) == {"member", "record"}
    assert snapshot(tenant_a) == before


def test_nul_characters_are_form_errors(web, tenant_a):
    before = snapshot(tenant_a)

    profile_page = web.post(f"{BASE}/profiles/new/", {"name": "Fine", "description": "bad\x00"})
    group_page = web.post(f"{BASE}/groups/new/", {"name": "Fine\x00"})

    assert set(profile_page.context["form"].errors) == {"description"}
    assert set(group_page.context["form"].errors) == {"name"}
    assert snapshot(tenant_a) == before


def test_group_list_counts_each_kind_of_member(web, tenant_a, admin_of, member):
    someone, gone = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        team = Group.objects.get(name="Team Selling")
        team.members.add(someone, gone)
        team.roles_with_subordinates.add(Role.objects.get(name="CEO"))
        team.subgroups.add(Group.objects.get(name="Support Group"))
        Member.objects.filter(pk=gone.pk).update(active=False)

    rows = {row.group.name: row for row in web.get(f"{BASE}/groups/").context["groups"]}

    team_row = rows["Team Selling"]
    assert (team_row.members, team_row.roles, team_row.trees, team_row.groups) == (1, 1, 1, 1)
    assert (rows["Support Group"].members, rows["Support Group"].groups) == (0, 0)


def test_screens_do_not_query_per_row(web, tenant_a, admin_of, member):
    urls = [f"{BASE}/roles/", f"{BASE}/profiles/", f"{BASE}/groups/", f"{BASE}/sharing/", "/settings/members/"]

    def queries():
        found = {}
        for url in urls:
            with CaptureQueriesContext(connection) as captured:
                assert web.get(url).status_code == 200
            found[url] = len(statements(captured))
        return found

    queries()  # warm the per-process caches (domains, metadata)
    before = queries()
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        ceo = Role.objects.get(name="CEO")
        for n in range(3):
            extra = profile_save(actor=admin, profile=None, name=f"Extra {n}", flags={})
            new_role = role_create(actor=admin, name=f"Extra {n}", parent=ceo, profile_ids=[extra.pk])
            new_group = group_save(actor=admin, group=None, name=f"Extra {n}", role_ids=[new_role.pk])
            SharingRule.objects.create(
                module="leads", source_kind="role", source_role=new_role, target_kind="group", target_group=new_group
            )
    for _n in range(3):
        member(tenant_a)

    assert queries() == before
