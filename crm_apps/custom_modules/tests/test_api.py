"""Custom modules through the API: building, using, changing and archiving a module (ADR 0016)."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from crm_apps.custom_modules.models import CustomModule, CustomRecord
from crm_apps.engine.models import CustomField, NumberingSequence

pytestmark = pytest.mark.django_db

EQUIPMENT = {
    "key": "equipment",
    "label": "Equipment",
    "plural": "Equipment",
    "fields": [{"key": "serial", "label": "Serial", "type": "text", "required": True}],
}


@pytest.fixture
def api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_post_builds_a_module_that_behaves_like_every_module(api, tenant_a):
    created = post(api, "/api/v1/meta/modules", EQUIPMENT)

    record = post(api, "/api/v1/equipment/", {"name": "Drill press", "custom": {"serial": "SN-1"}})
    missing = post(api, "/api/v1/equipment/", {"name": "No serial"})
    listed = api.get("/api/v1/equipment/").json()["results"]
    fetched = api.get(f"/api/v1/equipment/{record.json()['id']}/")
    patched = api.patch(
        f"/api/v1/equipment/{record.json()['id']}/", {"custom": {"serial": "SN-2"}}, content_type="application/json"
    )
    searched = api.get("/api/v1/equipment/?search=drill").json()["results"]
    deleted = api.delete(f"/api/v1/equipment/{record.json()['id']}/")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["key"], body["label"], body["label_plural"], body["custom"]) == (
        "equipment",
        "Equipment",
        "Equipment",
        True,
    )
    assert [(f["key"], f["type"], f["required"]) for f in body["custom_fields"]] == [("serial", "text", True)]
    assert record.status_code == 201, record.json()
    assert record.json()["number"] == "EQUI1"
    assert record.json()["custom"] == {"serial": "SN-1"}
    assert missing.status_code == 400 and missing.json() == {"custom.serial": ["This field is required."]}
    assert [r["id"] for r in listed] == [record.json()["id"]]
    assert fetched.json()["name"] == "Drill press"
    assert patched.status_code == 200 and patched.json()["custom"] == {"serial": "SN-2"}
    assert [r["id"] for r in searched] == [record.json()["id"]]
    assert deleted.status_code == 204
    with schema_context(tenant_a.schema_name):
        module = CustomModule.objects.get(key="equipment")
        stored = CustomRecord.objects.get(pk=record.json()["id"])
        assert (module.number_prefix, module.archived_at) == ("EQUI", None)
        assert (stored.module_key, stored.deleted_at is not None) == ("equipment", True)
        assert NumberingSequence.objects.get(module="equipment").prefix == "EQUI"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("contacts", "A built-in module already uses this key."),
        ("meta", "This word is reserved; choose another key."),
        ("pipelines", "This word is reserved; choose another key."),
        ("schema", "This word is reserved; choose another key."),
        ("quotes", "A built-in module already uses this key."),
        ("reports", "This word is reserved; choose another key."),
        ("Equipment", "Use 2-30 lowercase letters, digits and underscores, starting with a letter."),
        ("a__b", "Use 2-30 lowercase letters, digits and underscores, starting with a letter."),
        ("", "Use 2-30 lowercase letters, digits and underscores, starting with a letter."),
    ],
)
def test_a_key_that_clashes_or_is_reserved_is_a_400_with_a_field_message(api, tenant_a, key, message):
    response = post(api, "/api/v1/meta/modules", {**EQUIPMENT, "key": key})

    assert response.status_code == 400
    assert response.json() == {"key": [message]}
    with schema_context(tenant_a.schema_name):
        assert not CustomModule.objects.exists()


def test_an_existing_custom_module_key_is_a_400(api, tenant_a):
    assert post(api, "/api/v1/meta/modules", EQUIPMENT).status_code == 201

    again = post(api, "/api/v1/meta/modules", {**EQUIPMENT, "label": "Other"})

    assert again.status_code == 400
    assert again.json() == {"key": ["A custom module with this key already exists (perhaps archived)."]}


def test_bad_definitions_name_the_field_and_write_nothing(api, tenant_a):
    response = post(
        api,
        "/api/v1/meta/modules",
        {
            "key": "equipment",
            "label": "",
            "plural": "Equipment",
            "menu_group": "nowhere",
            "fields": [
                {"key": "serial", "label": "Serial", "type": "text"},
                {"key": "kind", "label": "Kind", "type": "colour"},
                {"key": "site", "label": "Site", "type": "record", "options": {"target": "nowhere"}},
            ],
        },
    )
    bad_field = post(api, "/api/v1/meta/modules", {**EQUIPMENT, "fields": [{"key": "x", "type": "text"}]})
    unknown = post(api, "/api/v1/meta/modules", {**EQUIPMENT, "colour": "red"})
    not_object = post(api, "/api/v1/meta/modules", ["equipment"])

    assert response.status_code == 400
    assert response.json() == {
        "label": ["Enter 1-60 characters."],
        "menu_group": ["Choose one of the menu groups."],
    }
    assert bad_field.status_code == 400
    assert bad_field.json() == {"fields.0.label": ["Enter a label of 1-100 characters."]}
    assert unknown.json() == {"colour": ["Unknown field."]}
    assert not_object.status_code == 400
    with schema_context(tenant_a.schema_name):
        assert not CustomModule.objects.exists()
        assert not CustomField.objects.filter(module="equipment").exists()
        assert not NumberingSequence.objects.filter(module="equipment").exists()


def test_invalid_field_types_are_reported_per_field(api, tenant_a):
    response = post(
        api,
        "/api/v1/meta/modules",
        {
            **EQUIPMENT,
            "fields": [
                {"key": "serial", "label": "Serial", "type": "text"},
                {"key": "kind", "label": "Kind", "type": "colour"},
                {"key": "site", "label": "Site", "type": "record", "options": {"target": "nowhere"}},
            ],
        },
    )

    assert response.status_code == 400
    assert response.json() == {
        "fields.1.type": ["Choose one of the field types."],
        "fields.2.options": ["Choose the module the reference points to."],
    }
    with schema_context(tenant_a.schema_name):
        assert not CustomModule.objects.exists()
        assert not CustomField.objects.filter(module="equipment").exists()


def test_every_field_type_including_references_to_any_module(api, tenant_a):
    fields: list[dict[str, Any]] = [
        {"key": "serial", "label": "Serial", "type": "text", "required": True},
        {"key": "notes", "label": "Notes", "type": "textarea"},
        {"key": "count", "label": "Count", "type": "integer"},
        {"key": "weight", "label": "Weight", "type": "decimal"},
        {"key": "price", "label": "Price", "type": "currency"},
        {"key": "load", "label": "Load", "type": "percent"},
        {"key": "bought", "label": "Bought", "type": "date"},
        {"key": "checked_at", "label": "Checked", "type": "datetime"},
        {"key": "active", "label": "Active", "type": "checkbox"},
        {"key": "contact_email", "label": "Email", "type": "email"},
        {"key": "hotline", "label": "Hotline", "type": "phone"},
        {"key": "manual", "label": "Manual", "type": "url"},
        {"key": "kind", "label": "Kind", "type": "picklist", "choices": ["Tool", "Vehicle"]},
        {"key": "sites", "label": "Sites", "type": "multipicklist", "choices": ["North", "South"]},
        {"key": "keeper", "label": "Keeper", "type": "member"},
        {"key": "vendor", "label": "Vendor", "type": "record", "options": {"target": "vendors"}},
        {"key": "part_of", "label": "Part of", "type": "record", "options": {"target": "equipment"}},
    ]
    created = post(api, "/api/v1/meta/modules", {**EQUIPMENT, "fields": fields})
    vendor = post(api, "/api/v1/vendors/", {"name": "Acme"}).json()
    parent = post(api, "/api/v1/equipment/", {"name": "Truck", "custom": {"serial": "T-1"}}).json()

    child = post(
        api,
        "/api/v1/equipment/",
        {
            "name": "Crane arm",
            "custom": {
                "serial": "C-1",
                "count": 2,
                "weight": "12.5",
                "bought": "2026-01-31",
                "active": True,
                "kind": "Tool",
                "sites": ["North"],
                "vendor": vendor["id"],
                "part_of": parent["id"],
            },
        },
    )
    wrong_module = post(api, "/api/v1/equipment/", {"name": "X", "custom": {"serial": "X", "vendor": parent["id"]}})

    assert created.status_code == 201, created.json()
    assert [f["type"] for f in created.json()["custom_fields"]] == [f["type"] for f in fields]
    assert child.status_code == 201, child.json()
    assert child.json()["custom"]["part_of"] == parent["id"]
    assert child.json()["custom"]["vendor"] == vendor["id"]
    assert wrong_module.status_code == 400
    assert wrong_module.json() == {"custom.vendor": ["Choose a record."]}


def test_patch_renames_and_delete_archives_without_destroying_records(api, tenant_a):
    post(api, "/api/v1/meta/modules", EQUIPMENT)
    record = post(api, "/api/v1/equipment/", {"name": "Lathe", "custom": {"serial": "L-1"}}).json()

    renamed = api.patch(
        "/api/v1/meta/modules/equipment",
        {"label": "Machine", "label_plural": "Machines", "icon": "cog", "menu_group": "inventory"},
        content_type="application/json",
    )
    key_change = api.patch("/api/v1/meta/modules/equipment", {"key": "machines"}, content_type="application/json")
    archived = api.delete("/api/v1/meta/modules/equipment")
    hidden_list = api.get("/api/v1/equipment/")
    hidden_meta = api.get("/api/v1/meta/modules/equipment")
    hidden_in_list = [m["key"] for m in api.get("/api/v1/meta/modules").json()["modules"]]
    hidden_ui = api.get("/m/equipment/")
    restored = api.patch("/api/v1/meta/modules/equipment", {"archived": False}, content_type="application/json")
    back = api.get(f"/api/v1/equipment/{record['id']}/")

    assert renamed.status_code == 200, renamed.json()
    assert (renamed.json()["label"], renamed.json()["menu_group"], renamed.json()["icon"]) == (
        "Machine",
        "inventory",
        "cog",
    )
    assert key_change.status_code == 400 and key_change.json() == {"key": ["This field cannot be changed."]}
    assert archived.status_code == 204
    assert hidden_list.status_code == 404
    assert hidden_meta.status_code == 404
    assert "equipment" not in hidden_in_list
    assert hidden_ui.status_code == 404
    assert restored.status_code == 200 and restored.json()["archived"] is False
    assert back.status_code == 200 and back.json()["custom"] == {"serial": "L-1"}


def test_built_in_modules_cannot_be_changed_or_archived(api):
    response = api.delete("/api/v1/meta/modules/contacts")

    assert response.status_code == 404
    assert response.json() == {"detail": "Built-in modules cannot be changed here."}
    assert api.get("/api/v1/contacts/").status_code == 200


def test_numbers_are_per_module_even_with_the_same_prefix(api):
    post(api, "/api/v1/meta/modules", {**EQUIPMENT, "number_prefix": "AS"})
    post(api, "/api/v1/meta/modules", {**EQUIPMENT, "key": "assets_x", "label": "Asset", "number_prefix": "AS"})

    first = post(api, "/api/v1/equipment/", {"name": "A", "custom": {"serial": "1"}}).json()
    second = post(api, "/api/v1/assets_x/", {"name": "B", "custom": {"serial": "2"}}).json()
    listed = api.get("/api/v1/assets_x/?view=all").json()["results"]

    assert (first["number"], second["number"]) == ("AS1", "AS1")
    assert [r["id"] for r in listed] == [second["id"]]
    assert api.get(f"/api/v1/assets_x/{first['id']}/").status_code == 404
    assert api.get(f"/api/v1/equipment/{second['id']}/").status_code == 404


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [
        ("anonymous", 401, 401),
        ("member", 200, 403),
        ("settings_manager", 200, 201),
        ("admin", 200, 201),
    ],
)
def test_authorisation_matrix(client_for, tenant_a, admin_of, member, settings_manager, who, read, write):
    actor = {
        "anonymous": lambda: None,
        "member": lambda: member(tenant_a),
        "settings_manager": lambda: settings_manager(tenant_a),
        "admin": lambda: admin_of(tenant_a),
    }[who]()
    client = client_for(tenant_a, actor)

    listed = client.get("/api/v1/meta/modules")
    created = post(client, "/api/v1/meta/modules", EQUIPMENT)
    if created.status_code != 201:  # the later calls need a module to act on
        post(client_for(tenant_a, admin_of(tenant_a)), "/api/v1/meta/modules", EQUIPMENT)
    patched = client.patch("/api/v1/meta/modules/equipment", {"label": "Kit"}, content_type="application/json")
    archived = client.delete("/api/v1/meta/modules/equipment")

    assert listed.status_code == read
    assert created.status_code == write
    assert patched.status_code == (200 if write == 201 else write)
    assert archived.status_code == (204 if write == 201 else write)
    with schema_context(tenant_a.schema_name):
        module = CustomModule.objects.get(key="equipment")
        assert module.label == ("Kit" if write == 201 else "Equipment")
        assert (module.archived_at is not None) is (write == 201)


def test_merge_and_mass_actions_stay_inside_the_module(api, tenant_a):
    post(api, "/api/v1/meta/modules", EQUIPMENT)
    post(api, "/api/v1/meta/modules", {**EQUIPMENT, "key": "tools_x", "label": "Tool"})
    keep = post(api, "/api/v1/equipment/", {"name": "Press", "custom": {"serial": "P-1"}}).json()
    dupe = post(api, "/api/v1/equipment/", {"name": "Press (copy)", "custom": {"serial": "P-2"}}).json()
    stranger = post(api, "/api/v1/tools_x/", {"name": "Hammer", "custom": {"serial": "H-1"}}).json()

    across = post(api, "/api/v1/equipment/merge", {"primary": keep["id"], "merge": [stranger["id"]]})
    merged = post(api, "/api/v1/equipment/merge", {"primary": keep["id"], "merge": [dupe["id"]]})

    assert across.status_code == 400
    assert across.json() == {"ids": ["1 of the selected records no longer exist or are not visible to you."]}
    assert merged.status_code == 200, merged.json()
    assert api.get(f"/api/v1/equipment/{dupe['id']}/").status_code == 404
    assert api.get(f"/api/v1/tools_x/{stranger['id']}/").status_code == 200
    with schema_context(tenant_a.schema_name):
        assert CustomRecord.objects.get(pk=stranger["id"]).deleted_at is None
        assert CustomRecord.objects.get(pk=dupe["id"]).deleted_at is not None
