"""The tenant-admin settings screens of every module: custom fields, picklists, layout and numbering,
through the HTML views (which call the engine's services). The lead conversion mapping, a settings page
of the leads module, is tested in crm_apps/modules/leads/tests/test_conversion_settings.py."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from conftest import statements
from crm_apps.engine import registry
from crm_apps.engine.models import CustomField, LayoutOverride, NumberingSequence, Picklist, PicklistValue
from crm_apps.engine.services import custom_field_create, record_create

pytestmark = pytest.mark.django_db
MODULES = sorted(s.key for s in registry.all_specs())
SCREENS = ("fields", "picklists", "layout", "numbering")
BASE = "/settings/modules"
LONG = "x" * 10_000


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def meta(client, module):
    response = client.get(f"/api/v1/meta/modules/{module}")
    assert response.status_code == 200
    return response.json()


def custom_keys(client, module):
    return [f["key"] for f in meta(client, module)["custom_fields"]]


def picklist_choices(client, module, field):
    item = next(f for f in meta(client, module)["fields"] if f["name"] == field)
    return {v["value"]: (v["label"], v["retired"]) for v in item["picklist"]}


def value_of(tenant, picklist, value):
    with tenant_context(tenant):
        return PicklistValue.objects.get(picklist__name=picklist, value=value)


def values_in_order(tenant, picklist):
    with tenant_context(tenant):
        return list(
            PicklistValue.objects.filter(picklist__name=picklist)
            .order_by("position", "id")
            .values_list("value", flat=True)
        )


def make_lead(tenant, actor, **extra):
    spec = registry.get("leads")
    with tenant_context(tenant):
        return record_create(spec=spec, actor=actor, data={**spec.example, **extra})


def field_form(**extra):
    return {"label": "Region", "key": "region", "type": "text", **extra}


def snapshot(tenant):
    """Everything the settings screens can write, to show that a refused request wrote nothing."""
    with tenant_context(tenant):
        return (
            list(CustomField.objects.order_by("id").values_list("module", "key", "label", "required", "archived_at")),
            list(PicklistValue.objects.order_by("id").values_list("value", "label", "position", "retired")),
            list(Picklist.objects.order_by("id").values_list("name", flat=True)),
            list(LayoutOverride.objects.values_list("module", "layout")),
            list(NumberingSequence.objects.order_by("module").values_list("module", "prefix", "next_number")),
        )


# ---------------------------------------------------------------------------------------------
# Pages and the authorisation matrix


def test_index_links_every_registered_module(web):
    response = web.get(f"{BASE}/")

    assert response.status_code == 200
    assert [m["spec"].key for m in response.context["modules"]] == [s.key for s in registry.all_specs()]
    page = response.content.decode()
    for module in MODULES:
        for screen in SCREENS:
            assert f'href="{BASE}/{module}/{screen}/"' in page
    assert f'href="{BASE}/leads/conversion/"' in page


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("module", MODULES)
def test_every_screen_renders_for_an_admin_for_every_module(web, module, screen):
    response = web.get(f"{BASE}/{module}/{screen}/")

    assert response.status_code == 200
    assert response.context["spec"] is registry.get(module)
    assert f"engine/settings/{screen}.html" in [t.name for t in response.templates]
    assert str(registry.get(module).label_plural) in response.content.decode()


def test_module_address_leads_to_its_fields_and_unknown_modules_are_404(web):
    assert web.get(f"{BASE}/leads/")["Location"] == f"{BASE}/leads/fields/"
    for screen in SCREENS:
        assert web.get(f"{BASE}/no-such-module/{screen}/").status_code == 404


PAGES = [f"{BASE}/"] + [f"{BASE}/{m}/{s}/" for m in MODULES for s in SCREENS]


@pytest.mark.parametrize("path", PAGES)
def test_a_member_who_is_not_admin_gets_403(client_for, tenant_a, member, path):
    client = client_for(tenant_a, member(tenant_a))

    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client_for, tenant_a, path):
    response = client_for(tenant_a).get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_an_admin_of_another_tenant_is_anonymous_here(client_for, tenant_a, tenant_b, admin_of):
    response = client_for(tenant_a, admin_of(tenant_b)).get(f"{BASE}/leads/fields/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_denied_writes_change_nothing(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        custom_field_create(actor=admin, spec=registry.get("leads"), key="region", label="Region", type="text")
    hot = value_of(tenant_a, "lead_status", "Hot")
    with tenant_context(tenant_a):
        lead_status = Picklist.objects.get(name="lead_status")
    before = snapshot(tenant_a)
    outsider = client_for(tenant_a, member(tenant_a))
    anonymous = client_for(tenant_a)
    posts = [
        (f"{BASE}/leads/fields/", field_form(key="sneaky")),
        (f"{BASE}/leads/fields/region/", {"label": "Sneaky", "position": "0"}),
        (f"{BASE}/leads/fields/region/archive/", {}),
        (f"{BASE}/leads/fields/region/restore/", {}),
        (f"{BASE}/leads/picklists/{lead_status.pk}/add/", {f"p{lead_status.pk}-label": "Sneaky"}),
        (f"{BASE}/leads/picklists/values/{hot.pk}/", {f"v{hot.pk}-action": "retire"}),
        (f"{BASE}/leads/layout/", {"hidden": ["fax"]}),
        (f"{BASE}/leads/numbering/", {"number_prefix": "X", "next_number": "500"}),
    ]

    for path, data in posts:
        assert outsider.post(path, data).status_code == 403, path
        assert anonymous.post(path, data).status_code == 302, path

    assert snapshot(tenant_a) == before


# ---------------------------------------------------------------------------------------------
# Custom fields


@pytest.mark.parametrize("module", MODULES)
def test_add_rename_archive_and_restore_a_custom_field_changes_the_api(web, tenant_a, module):
    added = web.post(f"{BASE}/{module}/fields/", field_form(required="on", help_text="Sales region"))
    listed = web.get(f"{BASE}/{module}/fields/")
    after_add = meta(web, module)["custom_fields"]
    renamed = web.post(f"{BASE}/{module}/fields/region/", {"label": "Sales region", "help_text": "", "position": "3"})
    after_rename = meta(web, module)["custom_fields"]
    archived = web.post(f"{BASE}/{module}/fields/region/archive/")
    archived_page = web.get(f"{BASE}/{module}/fields/")
    after_archive = custom_keys(web, module)
    restored = web.post(f"{BASE}/{module}/fields/region/restore/")

    assert added.status_code == 302
    assert added["Location"] == f"{BASE}/{module}/fields/#field-region"
    assert "Region" in listed.content.decode()
    assert [(f["key"], f["label"], f["type"], f["required"], f["help_text"]) for f in after_add] == [
        ("region", "Region", "text", True, "Sales region")
    ]
    assert renamed.status_code == 302
    assert [(f["label"], f["required"], f["help_text"], f["position"]) for f in after_rename] == [
        ("Sales region", False, "", 3)
    ]
    assert archived.status_code == 302
    assert after_archive == []
    assert [(r["field"].key, r["field"].archived_at is not None) for r in archived_page.context["rows"]] == [
        ("region", True)
    ]
    assert "Archived" in archived_page.content.decode()
    assert restored.status_code == 302
    assert custom_keys(web, module) == ["region"]


def test_a_picklist_field_gets_its_choices_and_appears_on_the_picklists_screen(web, tenant_a):
    response = web.post(
        f"{BASE}/deals/fields/",
        field_form(key="tier", label="Tier", type="picklist", choices="Gold\r\n\r\n Silver \nGold"),
    )
    page = web.get(f"{BASE}/deals/picklists/")

    assert response.status_code == 302
    field = next(f for f in meta(web, "deals")["custom_fields"] if f["key"] == "tier")
    assert field["choices"] == [
        {"value": "Gold", "label": "Gold", "retired": False},
        {"value": "Silver", "label": "Silver", "retired": False},
    ]
    boxes = {box.name: box for box in page.context["boxes"]}
    assert boxes["cf:deals:tier"].used_by == ["Tier"]
    assert [row.value.label for row in boxes["cf:deals:tier"].rows] == ["Gold", "Silver"]
    assert set(boxes) == {"deal_type", "lead_source", "cf:deals:tier"}
    assert boxes["lead_source"].shared_with == ["Contacts", "Leads"]


def test_a_record_reference_needs_its_target_module(web, tenant_a):
    missing = web.post(f"{BASE}/contacts/fields/", field_form(key="partner", type="record"))
    given = web.post(f"{BASE}/contacts/fields/", field_form(key="partner", type="record", target="organizations"))

    assert missing.status_code == 200
    assert missing.context["form"].errors == {"target": ["Choose the module the reference points to."]}
    assert given.status_code == 302
    with tenant_context(tenant_a):
        assert CustomField.objects.get(module="contacts", key="partner").options == {"target": "organizations"}


def test_a_bad_default_value_is_a_form_error_and_creates_no_picklist(web, tenant_a):
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/leads/fields/", field_form(key="tier", type="picklist", choices="A\nB", default="C"))

    assert response.status_code == 200
    assert response.context["form"].errors == {"default": ["“C” is not one of the choices."]}
    assert snapshot(tenant_a) == before


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (field_form(label=""), {"label": ["This field is required."]}),
        (field_form(label="   "), {"label": ["This field is required."]}),
        (
            field_form(key="Bad Key!"),
            {"key": ["Use 1-40 lowercase letters, digits and underscores, starting with a letter."]},
        ),
        (field_form(key="last_name"), {"key": ["This name is used by a standard field."]}),
        (field_form(label=LONG), {"label": ["Ensure this value has at most 100 characters (it has 10000)."]}),
        (field_form(key=LONG), {"key": ["Ensure this value has at most 40 characters (it has 10000)."]}),
        (field_form(help_text=LONG), {"help_text": ["Ensure this value has at most 200 characters (it has 10000)."]}),
        (
            field_form(default=LONG + "x"),
            {"default": ["Ensure this value has at most 10000 characters (it has 10001)."]},
        ),
        (field_form(label="Reg\x00ion"), {"label": ["Null characters are not allowed."]}),
        (field_form(key="reg\x00ion"), {"key": ["Null characters are not allowed."]}),
        (field_form(help_text="A\x00"), {"help_text": ["Null characters are not allowed."]}),
        (field_form(type="picklist", choices="A\x00\nB"), {"choices": ["Null characters are not allowed."]}),
        (
            field_form(type="spreadsheet"),
            {"type": ["Select a valid choice. spreadsheet is not one of the available choices."]},
        ),
        (
            field_form(type="picklist", choices=""),
            {"choices": ["Give at least one choice (at most 100 characters each)."]},
        ),
        (
            field_form(type="picklist", choices="ok\n" + "y" * 101),
            {"choices": ["Give at least one choice (at most 100 characters each)."]},
        ),
        (field_form(type="integer", default="many"), {"default": ["Enter a whole number."]}),
    ],
)
def test_bad_input_on_the_add_form_is_a_form_error_and_writes_nothing(web, tenant_a, data, errors):
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/leads/fields/", data)

    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert snapshot(tenant_a) == before


def test_a_key_can_be_used_once_per_module_even_when_archived(web, tenant_a):
    web.post(f"{BASE}/leads/fields/", field_form())
    web.post(f"{BASE}/leads/fields/region/archive/")

    again = web.post(f"{BASE}/leads/fields/", field_form())
    elsewhere = web.post(f"{BASE}/contacts/fields/", field_form())

    assert again.status_code == 200
    assert again.context["form"].errors == {"key": ["A field with this key already exists (perhaps archived)."]}
    assert elsewhere.status_code == 302


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"label": "", "position": "0"}, {"label": ["This field is required."]}),
        ({"label": LONG, "position": "0"}, {"label": ["Ensure this value has at most 100 characters (it has 10000)."]}),
        ({"label": "A\x00B", "position": "0"}, {"label": ["Null characters are not allowed."]}),
        (
            {"label": "Ok", "help_text": LONG, "position": "0"},
            {"help_text": ["Ensure this value has at most 200 characters (it has 10000)."]},
        ),
        ({"label": "Ok", "position": "-1"}, {"position": ["Ensure this value is greater than or equal to 0."]}),
        ({"label": "Ok", "position": "9" * 30}, {"position": ["Ensure this value is less than or equal to 100000."]}),
        ({"label": "Ok", "position": "first"}, {"position": ["Enter a whole number."]}),
    ],
)
def test_bad_input_on_the_edit_form_is_a_form_error_and_writes_nothing(web, tenant_a, admin_of, data, errors):
    with tenant_context(tenant_a):
        custom_field_create(
            actor=admin_of(tenant_a), spec=registry.get("leads"), key="region", label="Region", type="text"
        )
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/leads/fields/region/", data)

    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert snapshot(tenant_a) == before


def test_unknown_custom_fields_are_404(web):
    assert web.get(f"{BASE}/leads/fields/nothing/").status_code == 404
    assert web.post(f"{BASE}/leads/fields/nothing/archive/").status_code == 404
    assert web.get(f"{BASE}/leads/fields/region/archive/").status_code == 405


def test_a_custom_field_added_in_one_tenant_does_not_exist_in_another(web, client_for, tenant_a, tenant_b, admin_of):
    web.post(f"{BASE}/leads/fields/", field_form())
    other = client_for(tenant_b, admin_of(tenant_b))

    assert custom_keys(web, "leads") == ["region"]
    assert custom_keys(other, "leads") == []
    assert other.get(f"{BASE}/leads/fields/").context["rows"] == []
    assert other.get(f"{BASE}/leads/fields/region/").status_code == 404
    assert other.post(f"{BASE}/leads/fields/region/archive/").status_code == 404
    with tenant_context(tenant_b):
        assert not CustomField.objects.exists()
        assert not Picklist.objects.filter(name__startswith="cf:").exists()


# ---------------------------------------------------------------------------------------------
# Picklists


def test_every_picklist_of_every_module_is_listed_with_its_values_in_order(web, tenant_a):
    for spec in registry.all_specs():
        response = web.get(f"{BASE}/{spec.key}/picklists/")
        boxes = {box.name: box for box in response.context["boxes"]}
        assert set(spec.picklists.values()) <= set(boxes), spec.key
        for name in spec.picklists.values():
            assert [row.value.value for row in boxes[name].rows] == values_in_order(tenant_a, name)


def test_renaming_a_value_keeps_the_stored_value_of_records_and_shows_the_new_label(web, tenant_a, admin_of):
    lead = make_lead(tenant_a, admin_of(tenant_a), status="Hot")
    hot = value_of(tenant_a, "lead_status", "Hot")

    response = web.post(
        f"{BASE}/leads/picklists/values/{hot.pk}/", {f"v{hot.pk}-action": "rename", f"v{hot.pk}-label": "Very hot"}
    )
    page = web.get(f"{BASE}/leads/picklists/")

    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/leads/picklists/#value-{hot.pk}"
    assert web.get(f"/api/v1/leads/{lead.pk}/").json()["status"] == "Hot"
    assert picklist_choices(web, "leads", "status")["Hot"] == ("Very hot", False)
    assert 'value="Very hot"' in page.content.decode()
    with tenant_context(tenant_a):
        assert type(lead).objects.get(pk=lead.pk).status == "Hot"


def test_a_retired_value_is_no_longer_offered_but_records_keep_it(web, tenant_a, admin_of):
    lead = make_lead(tenant_a, admin_of(tenant_a), status="Cold")
    cold = value_of(tenant_a, "lead_status", "Cold")

    retired = web.post(f"{BASE}/leads/picklists/values/{cold.pk}/", {f"v{cold.pk}-action": "retire"})
    refused = web.post(
        "/api/v1/leads/", {**registry.get("leads").example, "status": "Cold"}, content_type="application/json"
    )
    restored = web.post(f"{BASE}/leads/picklists/values/{cold.pk}/", {f"v{cold.pk}-action": "restore"})

    assert retired.status_code == 302
    assert refused.status_code == 400
    assert refused.json()["status"] == ["“Cold” is not one of the choices."]
    assert web.get(f"/api/v1/leads/{lead.pk}/").json()["status"] == "Cold"
    assert restored.status_code == 302
    assert picklist_choices(web, "leads", "status")["Cold"] == ("Cold", False)


def test_retired_values_are_marked_on_the_page(web, tenant_a):
    cold = value_of(tenant_a, "lead_status", "Cold")
    web.post(f"{BASE}/leads/picklists/values/{cold.pk}/", {f"v{cold.pk}-action": "retire"})

    page = web.get(f"{BASE}/leads/picklists/")

    box = next(b for b in page.context["boxes"] if b.name == "lead_status")
    assert [row.value.value for row in box.rows if row.value.retired] == ["Cold"]
    assert f'name="v{cold.pk}-action" value="restore"' in page.content.decode()
    assert picklist_choices(web, "leads", "status")["Cold"] == ("Cold", True)


def test_the_last_active_value_cannot_be_retired(web, tenant_a):
    web.post(f"{BASE}/deals/fields/", field_form(key="tier", type="picklist", choices="Only"))
    only = value_of(tenant_a, "cf:deals:tier", "Only")
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/deals/picklists/values/{only.pk}/", {f"v{only.pk}-action": "retire"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"__all__": ["A picklist needs at least one active value."]}
    assert "A picklist needs at least one active value." in response.content.decode()
    assert snapshot(tenant_a) == before


def test_values_move_up_and_down(web, tenant_a):
    first, second, third = values_in_order(tenant_a, "rating")[:3]
    moved = value_of(tenant_a, "rating", second)

    up = web.post(f"{BASE}/leads/picklists/values/{moved.pk}/", {f"v{moved.pk}-action": "up"})
    after_up = values_in_order(tenant_a, "rating")[:3]
    web.post(f"{BASE}/leads/picklists/values/{moved.pk}/", {f"v{moved.pk}-action": "down"})
    web.post(f"{BASE}/leads/picklists/values/{moved.pk}/", {f"v{moved.pk}-action": "down"})
    after_down = values_in_order(tenant_a, "rating")[:3]

    assert up.status_code == 302
    assert after_up == [second, first, third]
    assert after_down == [first, third, second]


def test_adding_a_value_puts_it_at_the_end_and_duplicates_are_refused(web, tenant_a):
    with tenant_context(tenant_a):
        rating = Picklist.objects.get(name="rating")
    path = f"{BASE}/organizations/picklists/{rating.pk}/add/"

    added = web.post(path, {f"p{rating.pk}-label": "  Excellent "})
    duplicate = web.post(path, {f"p{rating.pk}-label": "excellent"})

    assert added.status_code == 302
    assert values_in_order(tenant_a, "rating")[-1] == "Excellent"
    assert duplicate.status_code == 200
    assert duplicate.context["form"].errors == {"label": ["This value already exists."]}
    assert values_in_order(tenant_a, "rating").count("Excellent") == 1


@pytest.mark.parametrize(
    ("label", "errors"),
    [
        ("", {"label": ["This field is required."]}),
        (LONG, {"label": ["Ensure this value has at most 100 characters (it has 10000)."]}),
        ("Hot\x00", {"label": ["Null characters are not allowed."]}),
    ],
)
def test_bad_picklist_labels_are_form_errors_and_write_nothing(web, tenant_a, label, errors):
    with tenant_context(tenant_a):
        status = Picklist.objects.get(name="lead_status")
    hot = value_of(tenant_a, "lead_status", "Hot")
    before = snapshot(tenant_a)

    added = web.post(f"{BASE}/leads/picklists/{status.pk}/add/", {f"p{status.pk}-label": label})
    renamed = web.post(
        f"{BASE}/leads/picklists/values/{hot.pk}/", {f"v{hot.pk}-action": "rename", f"v{hot.pk}-label": label}
    )

    assert added.status_code == renamed.status_code == 200
    assert added.context["form"].errors == errors
    assert renamed.context["form"].errors == errors
    assert snapshot(tenant_a) == before


def test_an_unknown_value_action_is_a_form_error(web, tenant_a):
    hot = value_of(tenant_a, "lead_status", "Hot")
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/leads/picklists/values/{hot.pk}/", {f"v{hot.pk}-action": "delete"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "action": ["Select a valid choice. delete is not one of the available choices."]
    }
    assert snapshot(tenant_a) == before


def test_picklists_of_other_modules_are_404(web, tenant_a):
    hot = value_of(tenant_a, "lead_status", "Hot")
    with tenant_context(tenant_a):
        status = Picklist.objects.get(name="lead_status")
    before = snapshot(tenant_a)

    renamed = web.post(
        f"{BASE}/vendors/picklists/values/{hot.pk}/", {f"v{hot.pk}-action": "rename", f"v{hot.pk}-label": "X"}
    )
    added = web.post(f"{BASE}/vendors/picklists/{status.pk}/add/", {f"p{status.pk}-label": "X"})
    missing = web.post(f"{BASE}/leads/picklists/values/999999/", {"v999999-action": "retire"})

    assert renamed.status_code == added.status_code == missing.status_code == 404
    assert snapshot(tenant_a) == before


# ---------------------------------------------------------------------------------------------
# Layout


def layout_post(spec, **extra):
    """The layout form as the page posts it: every block and field in the standard order."""
    data = {"blocks": [b.key for b in spec.blocks]}
    for block in spec.blocks:
        data[f"fields_{block.key}"] = list(block.fields)
    data.update(extra)
    return data


def stored_layout(tenant, module):
    with tenant_context(tenant):
        return LayoutOverride.objects.get(module=module).layout


def test_moving_a_field_and_a_block_persists_the_layout(web, tenant_a):
    spec = registry.get("leads")

    moved_field = web.post(f"{BASE}/leads/layout/", layout_post(spec, move="field:address:city:up"))
    moved_block = web.post(f"{BASE}/leads/layout/", layout_post(spec, move="block:description:up"))
    page = web.get(f"{BASE}/leads/layout/")

    assert moved_field.status_code == 302
    assert moved_field["Location"] == f"{BASE}/leads/layout/#field-address-city"
    assert moved_block["Location"] == f"{BASE}/leads/layout/#block-description"
    layout = stored_layout(tenant_a, "leads")
    assert layout["blocks"] == ["main", "description", "address", "conversion"]
    assert layout["fields"]["address"] == ["street", "city", "state", "postal_code", "country"]
    assert [b["key"] for b in page.context["blocks"]] == ["main", "description", "address", "conversion"]


def test_the_posted_order_is_saved_as_sent_by_drag_and_drop(web, tenant_a):
    spec = registry.get("leads")
    data = layout_post(spec, save="1")
    data["blocks"] = ["address", "main"]
    data["fields_address"] = ["country", "city"]

    response = web.post(f"{BASE}/leads/layout/", data)
    page = web.get(f"{BASE}/leads/layout/")

    assert response.status_code == 302
    layout = stored_layout(tenant_a, "leads")
    assert layout["blocks"] == ["address", "main", "description", "conversion"]
    assert layout["fields"]["address"] == ["country", "city", "street", "state", "postal_code"]
    address = next(b for b in page.context["blocks"] if b["key"] == "address")
    assert [f["name"] for f in address["fields"]] == ["country", "city", "street", "state", "postal_code"]


def test_hiding_an_optional_field_and_restoring_the_standard_layout(web, tenant_a):
    spec = registry.get("leads")

    hidden = web.post(f"{BASE}/leads/layout/", layout_post(spec, hidden=["fax", "website"], save="1"))
    page = web.get(f"{BASE}/leads/layout/")
    reset = web.post(f"{BASE}/leads/layout/", layout_post(spec, reset="1"))

    assert hidden.status_code == 302
    assert [f["name"] for b in page.context["blocks"] for f in b["fields"] if f["hidden"]] == ["fax", "website"]
    assert 'name="hidden" value="fax" id="hide-main-fax" checked' in page.content.decode()
    assert reset.status_code == 302
    assert stored_layout(tenant_a, "leads") == {
        "blocks": ["main", "address", "description", "conversion"],
        "fields": {},
        "hidden": [],
    }


@pytest.mark.parametrize("module", MODULES)
def test_hiding_a_required_field_is_a_form_error_and_saves_nothing(web, tenant_a, module):
    spec = registry.get(module)
    required = next(n for n in spec.form_fields if not getattr(spec.model._meta.get_field(n), "blank", True))

    response = web.post(f"{BASE}/{module}/layout/", layout_post(spec, hidden=[required], save="1"))

    assert response.status_code == 200
    assert response.context["form"].errors == {"hidden": ["Required fields cannot be hidden."]}
    with tenant_context(tenant_a):
        assert not LayoutOverride.objects.filter(module=module).exists()


def test_required_and_read_only_fields_have_no_hide_checkbox(web):
    page = web.get(f"{BASE}/leads/layout/").content.decode()

    assert 'name="hidden" value="last_name"' not in page
    assert 'name="hidden" value="converted"' not in page
    assert 'name="hidden" value="fax"' in page


@pytest.mark.parametrize(
    ("extra", "errors"),
    [
        (
            {"blocks": ["main", "nowhere"]},
            {"blocks": ["Select a valid choice. nowhere is not one of the available choices."]},
        ),
        (
            {"fields_main": ["city"]},
            {"fields_main": ["Select a valid choice. city is not one of the available choices."]},
        ),
        (
            {"hidden": ["converted"]},
            {"hidden": ["Select a valid choice. converted is not one of the available choices."]},
        ),
        ({"blocks": ["main", "main"]}, {"blocks": ["Each item may appear only once."]}),
        ({"fields_address": ["city", "city"]}, {"fields_address": ["Each item may appear only once."]}),
        (
            {"move": "field:main:\x00:up"},
            {"move": ["Select a valid choice. field:main:\x00:up is not one of the available choices."]},
        ),
        ({"move": LONG}, {"move": [f"Select a valid choice. {LONG} is not one of the available choices."]}),
    ],
)
def test_bad_layout_posts_are_form_errors_and_save_nothing(web, tenant_a, extra, errors):
    response = web.post(f"{BASE}/leads/layout/", layout_post(registry.get("leads"), **extra))

    assert response.status_code == 200
    assert response.context["form"].errors == errors
    with tenant_context(tenant_a):
        assert not LayoutOverride.objects.exists()


# ---------------------------------------------------------------------------------------------
# Numbering


def test_numbering_update_changes_the_next_record_number(web, tenant_a, admin_of):
    page = web.get(f"{BASE}/leads/numbering/")

    response = web.post(f"{BASE}/leads/numbering/", {"number_prefix": " ld- ", "next_number": "500"})
    lead = make_lead(tenant_a, admin_of(tenant_a))

    assert page.context["form"].initial == {"number_prefix": "LEA", "next_number": 1}
    assert response.status_code == 302
    assert lead.number == "LD-500"
    assert "LD-501" in web.get(f"{BASE}/leads/numbering/").content.decode()


def test_numbers_already_used_cannot_be_given_again(web, tenant_a, admin_of):
    make_lead(tenant_a, admin_of(tenant_a))
    make_lead(tenant_a, admin_of(tenant_a))
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/leads/numbering/", {"number_prefix": "LEA", "next_number": "2"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"next_number": ["Numbers up to 2 are already used with this prefix."]}
    assert snapshot(tenant_a) == before


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"number_prefix": "1AB", "next_number": "5"},
            {"number_prefix": ["Use 1-10 capital letters, digits or hyphens, starting with a letter."]},
        ),
        (
            {"number_prefix": "A B", "next_number": "5"},
            {"number_prefix": ["Use 1-10 capital letters, digits or hyphens, starting with a letter."]},
        ),
        ({"number_prefix": "", "next_number": "5"}, {"number_prefix": ["This field is required."]}),
        (
            {"number_prefix": LONG, "next_number": "5"},
            {"number_prefix": ["Ensure this value has at most 10 characters (it has 10000)."]},
        ),
        ({"number_prefix": "A\x00", "next_number": "5"}, {"number_prefix": ["Null characters are not allowed."]}),
        ({"number_prefix": "ABC", "next_number": "0"}, {"next_number": ["Enter a whole number of at least 1."]}),
        (
            {"number_prefix": "ABC", "next_number": str(10**12 + 1)},
            {"next_number": ["Enter a whole number of at least 1."]},
        ),
        ({"number_prefix": "ABC", "next_number": "ten"}, {"next_number": ["Enter a whole number."]}),
        ({"number_prefix": "ABC", "next_number": "9" * 10_000}, {"next_number": ["Enter a whole number."]}),
        ({"number_prefix": "ABC", "next_number": "1\x00"}, {"next_number": ["Enter a whole number."]}),
    ],
)
def test_bad_numbering_is_a_form_error_and_writes_nothing(web, tenant_a, data, errors):
    before = snapshot(tenant_a)

    response = web.post(f"{BASE}/vendors/numbering/", data)

    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert snapshot(tenant_a) == before


def test_the_picklists_page_needs_no_extra_queries_per_picklist(web, tenant_a, admin_of):
    spec = registry.get("vendors")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert web.get(f"{BASE}/vendors/picklists/").status_code == 200
        return len(statements(queries))

    with tenant_context(tenant_a):
        custom_field_create(
            actor=admin_of(tenant_a), spec=spec, key="tier", label="Tier", type="picklist", choices=["A"]
        )
    one = count()
    with tenant_context(tenant_a):
        for key in ("size", "mood", "tone"):
            custom_field_create(
                actor=admin_of(tenant_a), spec=spec, key=key, label=key, type="multipicklist", choices=["A", "B"]
            )
    four = count()

    assert four == one
