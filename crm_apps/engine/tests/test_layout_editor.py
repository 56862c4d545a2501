"""The drag-and-drop layout editor's save: blocks added, renamed and removed, fields moved between blocks,
mandatory and quick-create toggles, and what the form and the API make of them."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from crm_apps.audit.models import AuditEvent
from crm_apps.engine import metadata, registry
from crm_apps.engine.models import LayoutOverride

pytestmark = pytest.mark.django_db
URL = "/settings/modules/organizations/layout/save/"


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def standard_layout(**extra):
    spec = registry.get("organizations")
    payload = {"blocks": [{"key": b.key, "title": "", "fields": list(b.fields)} for b in spec.blocks]}
    payload.update(extra)
    return payload


def post(client, payload):
    return client.post(URL, json.dumps(payload), content_type="application/json")


def stored(tenant):
    with tenant_context(tenant):
        return LayoutOverride.objects.filter(module="organizations").values_list("layout", flat=True).first()


def test_the_editor_page_carries_its_state(web):
    page = web.get("/settings/modules/organizations/layout/")

    state = page.context["editor"]
    assert [b["key"] for b in state["blocks"]] == ["main", "billing", "shipping", "description"]
    assert state["fields"]["name"] == {
        "label": "Organisation name",
        "required": True,
        "always_shown": True,
        "readonly": False,
        "checkbox": False,
        "kind": "text",
    }
    assert state["save_url"] == URL
    assert 'id="layout-editor-state"' in page.content.decode()


def test_a_field_moves_into_a_new_block_and_the_form_follows(web, tenant_a):
    payload = standard_layout()
    payload["blocks"][0]["fields"].remove("phone")
    payload["blocks"].insert(1, {"key": "block-1", "title": "Reach them", "fields": ["phone"]})
    payload["blocks"][3]["fields"] = []  # shipping emptied ...
    payload["blocks"][2]["fields"] += list(registry.get("organizations").blocks[2].fields)
    del payload["blocks"][3]  # ... and removed
    payload["blocks"][0]["title"] = "Company"

    saved = post(web, payload)
    form = web.get("/m/organizations/new/").context["form"]

    assert saved.status_code == 200
    assert saved.json() == {"saved": True, "message": "Layout saved."}
    assert [(str(b.title), names[:2]) for b, names in form.block_layout] == [
        ("Company", ["name", "parent"]),
        ("Reach them", ["phone"]),
        ("Billing address", ["billing_street", "billing_city"]),
        ("Description", ["description"]),
    ]
    assert stored(tenant_a)["blocks"][2]["title"] is None  # the module's own title, still translated


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            lambda p: p["blocks"][0]["fields"].remove("phone"),
            {"fields": ["Every field must stay in a block; missing: phone."]},
        ),
        (lambda p: p["blocks"][1]["fields"].append("name"), {"blocks": ["A block or field is listed twice."]}),
        (
            lambda p: p["blocks"].append({"key": "b2", "title": "", "fields": []}),
            {"blocks": ["Give every block a title of 1-100 characters."]},
        ),
        (
            lambda p: p["blocks"].append({"key": "Bad Key!", "title": "X", "fields": []}),
            {"blocks": ["Every block needs a key of lowercase letters, digits, - or _."]},
        ),
        (lambda p: p["blocks"][0]["fields"].append("password"), {"fields": ["Unknown field: password."]}),
        (lambda p: p.update(hidden=["name"]), {"hidden": ["Required fields cannot be hidden."]}),
        (lambda p: p.update(mandatory=["phone"], hidden=["phone"]), {"hidden": ["Required fields cannot be hidden."]}),
        (
            lambda p: p.update(mandatory=["email_opt_out"]),
            {"mandatory": ["A checkbox cannot be mandatory: unticked is an answer."]},
        ),
        (lambda p: p.update(quick_create="phone"), {"quick_create": ["Send a list of field names, each once."]}),
        (lambda p: p.update(blocks="main"), {"blocks": ["Send the layout as an object with a list of blocks."]}),
    ],
)
def test_a_bad_layout_is_a_400_and_changes_nothing(web, tenant_a, change, errors):
    post(web, standard_layout(mandatory=["website"]))
    before = stored(tenant_a)
    payload = standard_layout()
    change(payload)

    refused = post(web, payload)

    assert refused.status_code == 400
    assert refused.json() == {"errors": errors}
    assert stored(tenant_a) == before


def test_not_json_is_a_400(web, tenant_a):
    refused = web.post(URL, "{blocks", content_type="application/json")

    assert refused.status_code == 400
    assert refused.json() == {"errors": {"layout": ["Send the layout as JSON."]}}
    assert stored(tenant_a) is None


def test_only_settings_managers_may_save_and_only_in_their_tenant(client_for, tenant_a, tenant_b, member, admin_of):
    clerk = client_for(tenant_a, member(tenant_a))
    other = client_for(tenant_b, admin_of(tenant_b))

    denied = post(clerk, standard_layout(mandatory=["phone"]))
    elsewhere = post(other, standard_layout(mandatory=["phone"]))

    assert denied.status_code == 403
    assert elsewhere.status_code == 200
    assert stored(tenant_a) is None
    assert stored(tenant_b)["mandatory"] == ["phone"]


def test_saving_is_audited(web, tenant_a):
    post(web, standard_layout(quick_create=["phone"]))

    with tenant_context(tenant_a):
        event = AuditEvent.objects.filter(module="organizations").latest("pk")
    assert event.details == {"setting": "layout"}
    assert event.changes["layout"][1]["quick_create"] == ["phone"]


def test_a_mandatory_field_is_required_by_the_form_and_the_api(web, tenant_a):
    post(web, standard_layout(mandatory=["phone"]))

    page = web.get("/m/organizations/new/").content.decode()
    form_refused = web.post("/m/organizations/new/", {"name": "Vandelay"})
    api_refused = web.post("/api/v1/organizations/", {"name": "Vandelay"}, content_type="application/json")
    api_created = web.post(
        "/api/v1/organizations/", {"name": "Vandelay", "phone": "+1 555 0199"}, content_type="application/json"
    )
    emptied = web.patch(
        f"/api/v1/organizations/{api_created.json()['id']}/", {"phone": ""}, content_type="application/json"
    )
    other_change = web.patch(
        f"/api/v1/organizations/{api_created.json()['id']}/",
        {"website": "vandelay.example"},
        content_type="application/json",
    )

    assert 'name="phone" maxlength="40" aria-required="true" required id="id_phone"' in page
    assert form_refused.status_code == 200
    assert form_refused.context["form"].errors == {"phone": ["This field is required."]}
    assert api_refused.status_code == 400
    assert api_refused.json()["phone"] == ["This field is required."]
    assert api_created.status_code == 201
    assert emptied.status_code == 400
    assert other_change.status_code == 200
    with tenant_context(tenant_a):
        assert registry.get("organizations").model.objects.count() == 1


def test_quick_create_shows_the_chosen_fields(web, tenant_a):
    post(web, standard_layout(quick_create=["phone", "website"], mandatory=["industry"]))

    form = web.get("/m/organizations/quick-create/").context["form"]

    assert list(form.fields) == ["name", "website", "phone", "industry", "owner"]
    with tenant_context(tenant_a):
        metadata.metadata_cache_reset()
        assert metadata.layout_quick_create(registry.get("organizations")) == {"phone", "website"}


def test_the_plain_form_does_not_overwrite_an_editor_layout(web, tenant_a):
    payload = standard_layout()
    payload["blocks"].append({"key": "extra", "title": "Extra", "fields": [payload["blocks"][0]["fields"].pop()]})
    post(web, payload)
    before = stored(tenant_a)
    spec = registry.get("organizations")
    plain = {"blocks": [b.key for b in spec.blocks], "save": "1"}

    refused = web.post("/settings/modules/organizations/layout/", plain)

    assert refused.status_code == 200
    assert refused.context["form"].non_field_errors() == [
        "This layout was arranged in the drag-and-drop editor, which needs JavaScript."
    ]
    assert stored(tenant_a) == before


def test_a_mandatory_field_the_members_profile_hides_is_not_asked_of_them(web, client_for, tenant_a, admin_of, member):
    from crm_apps.access.models import ProfileField, Role
    from crm_apps.access.services import profile_save, role_create

    admin = admin_of(tenant_a)
    post(web, standard_layout(mandatory=["phone"]))
    with tenant_context(tenant_a):
        profile = profile_save(
            actor=admin,
            profile=None,
            name="No phones",
            flags={"default_view": True, "default_create": True, "default_edit": True, "default_delete": True},
        )
        ProfileField.objects.create(profile=profile, module="organizations", field="phone", access="hidden")
        role = role_create(
            actor=admin, name="No phones", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    restricted = client_for(tenant_a, member(tenant_a, role=role))

    created = restricted.post("/api/v1/organizations/", {"name": "Kramerica"}, content_type="application/json")
    refused = web.post("/api/v1/organizations/", {"name": "Kramerica"}, content_type="application/json")

    assert created.status_code == 201
    assert refused.status_code == 400
