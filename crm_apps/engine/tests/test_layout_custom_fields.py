"""Custom fields in the drag-and-drop layout editor: placed in a block and ordered like standard fields,
mandatory / quick-create / hidden toggles enforced everywhere, and archived or foreign keys handled."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import metadata, registry
from crm_apps.engine.models import LayoutOverride
from crm_apps.engine.services import custom_field_create, custom_field_update

pytestmark = pytest.mark.django_db
URL = "/settings/modules/organizations/layout/save/"


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def add_field(tenant, admin, key, **extra):
    with tenant_context(tenant):
        return custom_field_create(
            actor=admin, spec=registry.get("organizations"), key=key, label=key.title(), type="text", **extra
        )


def layout(*, in_main=(), **extra):
    """The standard layout with these custom fields placed in the first block, right after the name."""
    spec = registry.get("organizations")
    blocks: list[dict[str, Any]] = [{"key": b.key, "title": "", "fields": list(b.fields)} for b in spec.blocks]
    payload: dict[str, Any] = {"blocks": blocks}
    blocks[0]["fields"][1:1] = list(in_main)
    payload.update(extra)
    return payload


def post(client, payload):
    return client.post(URL, json.dumps(payload), content_type="application/json")


def stored(tenant):
    with tenant_context(tenant):
        return LayoutOverride.objects.filter(module="organizations").values_list("layout", flat=True).first()


def test_the_editor_lists_custom_fields_in_more_fields_until_placed(web, tenant_a, admin_of):
    add_field(tenant_a, admin_of(tenant_a), "tier", required=True)

    state = web.get("/settings/modules/organizations/layout/").context["editor"]

    assert state["blocks"][-1]["key"] == "more-fields"
    assert state["blocks"][-1]["title"] == "More fields"
    assert state["blocks"][-1]["fields"] == ["custom.tier"]
    assert state["fields"]["custom.tier"] == {
        "label": "Tier",
        "required": True,
        "always_shown": True,
        "readonly": False,
        "checkbox": False,
        "kind": "text",
        "custom": True,
    }


def test_a_placed_custom_field_shows_in_its_block_in_the_form_and_on_the_record(web, tenant_a, admin_of):
    add_field(tenant_a, admin_of(tenant_a), "tier")
    add_field(tenant_a, admin_of(tenant_a), "region")

    saved = post(web, layout(in_main=["custom.tier"]))
    form = web.get("/m/organizations/new/").context["form"]
    created = web.post("/m/organizations/new/", {"name": "Vandelay", "custom__tier": "Gold", "custom__region": "EU"})
    detail = web.get(created["Location"]).context
    state = web.get("/settings/modules/organizations/layout/").context["editor"]

    assert saved.status_code == 200, saved.content
    assert form.block_layout[0][1][:3] == ["name", "custom__tier", "parent"]
    assert form.custom_names == ["custom__region"]  # not placed: still under "More fields"
    assert [f["name"] for f in detail["blocks"][0]["fields"]][:2] == ["name", "custom.tier"]
    assert detail["blocks"][0]["fields"][1]["shown"].text == "Gold"
    assert [f["name"] for f in detail["custom"]] == ["custom.region"]
    assert state["blocks"][0]["fields"][1] == "custom.tier"
    assert state["blocks"][-1]["fields"] == ["custom.region"]


def test_a_mandatory_custom_field_is_required_by_the_form_the_api_and_the_batch(web, tenant_a, admin_of):
    add_field(tenant_a, admin_of(tenant_a), "tier")
    post(web, layout(in_main=["custom.tier"], mandatory=["custom.tier"]))

    page = web.get("/m/organizations/new/").content.decode()
    form_refused = web.post("/m/organizations/new/", {"name": "Vandelay"})
    api_refused = web.post("/api/v1/organizations/", {"name": "Vandelay"}, content_type="application/json")
    batch_refused = web.post(
        "/api/v1/organizations/batch", {"records": [{"name": "Kramerica"}]}, content_type="application/json"
    )
    created = web.post(
        "/api/v1/organizations/", {"name": "Vandelay", "custom": {"tier": "Gold"}}, content_type="application/json"
    )
    url = f"/api/v1/organizations/{created.json()['id']}/"
    emptied = web.patch(url, {"custom": {"tier": ""}}, content_type="application/json")
    other_change = web.patch(url, {"website": "vandelay.example"}, content_type="application/json")

    assert 'name="custom__tier"' in page and 'aria-required="true" required id="id_custom__tier"' in page
    assert form_refused.context["form"].errors == {"custom__tier": ["This field is required."]}
    assert api_refused.status_code == 400
    assert api_refused.json()["custom.tier"] == ["This field is required."]
    assert batch_refused.status_code == 400 and "records.0.custom.tier" in batch_refused.json()
    assert created.status_code == 201
    assert emptied.status_code == 400
    assert other_change.status_code == 200
    with tenant_context(tenant_a):
        assert registry.get("organizations").model.objects.count() == 1


def test_quick_create_shows_a_chosen_custom_field_and_hidden_ones_leave_the_form(web, tenant_a, admin_of):
    add_field(tenant_a, admin_of(tenant_a), "tier")
    add_field(tenant_a, admin_of(tenant_a), "region")
    add_field(tenant_a, admin_of(tenant_a), "legacy")
    post(web, layout(in_main=["custom.tier"], quick_create=["custom.tier"], hidden=["custom.legacy"]))

    quick = web.get("/m/organizations/quick-create/").context["form"]
    form = web.get("/m/organizations/new/").context["form"]

    assert "custom__tier" in quick.fields
    assert "custom__region" not in quick.fields
    assert "custom__legacy" not in form.fields
    assert "custom__region" in form.fields


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (lambda p: p["blocks"][0]["fields"].append("custom.nope"), {"fields": ["Unknown field: custom.nope."]}),
        (
            lambda p: p["blocks"][1]["fields"].append("custom.tier"),
            {"blocks": ["A block or field is listed twice."]},
        ),
        (lambda p: p.update(mandatory=["custom.nope"]), {"mandatory": ["Unknown field: custom.nope."]}),
        (
            lambda p: p.update(mandatory=["custom.tier"], hidden=["custom.tier"]),
            {"hidden": ["Required fields cannot be hidden."]},
        ),
        (
            lambda p: p.update(mandatory=["custom.opt_in"]),
            {"mandatory": ["A checkbox cannot be mandatory: unticked is an answer."]},
        ),
    ],
)
def test_a_bad_custom_field_placement_is_a_400_and_changes_nothing(web, tenant_a, admin_of, change, errors):
    add_field(tenant_a, admin_of(tenant_a), "tier")
    with tenant_context(tenant_a):
        custom_field_create(
            actor=admin_of(tenant_a), spec=registry.get("organizations"), key="opt_in", label="Opt in", type="checkbox"
        )
    post(web, layout(in_main=["custom.tier"]))
    before = stored(tenant_a)
    payload = layout(in_main=["custom.tier"])
    change(payload)

    refused = post(web, payload)

    assert refused.status_code == 400
    assert refused.json() == {"errors": errors}
    assert stored(tenant_a) == before


def test_a_custom_field_of_another_module_is_refused(web, tenant_a, admin_of):
    with tenant_context(tenant_a):
        custom_field_create(
            actor=admin_of(tenant_a), spec=registry.get("contacts"), key="hobby", label="Hobby", type="text"
        )

    refused = post(web, layout(in_main=["custom.hobby"]))

    assert refused.status_code == 400
    assert refused.json() == {"errors": {"fields": ["Unknown field: custom.hobby."]}}
    assert stored(tenant_a) is None


def test_an_archived_custom_field_leaves_the_layout_safely(web, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    field = add_field(tenant_a, admin, "tier")
    post(web, layout(in_main=["custom.tier"], mandatory=["custom.tier"], quick_create=["custom.tier"]))
    with tenant_context(tenant_a):
        custom_field_update(actor=admin, field=field, archived=True)

    form = web.get("/m/organizations/new/").context["form"]
    created = web.post("/api/v1/organizations/", {"name": "Vandelay"}, content_type="application/json")
    detail = web.get(f"/m/organizations/{created.json()['id']}/")
    state = web.get("/settings/modules/organizations/layout/").context["editor"]
    resaved = post(web, {k: state[k] for k in ("blocks", "hidden", "mandatory", "quick_create")})

    assert "custom__tier" not in form.fields
    assert created.status_code == 201  # no longer mandatory
    assert detail.status_code == 200
    assert "custom.tier" not in state["fields"]
    assert state["mandatory"] == [] and state["quick_create"] == []
    assert all("custom.tier" not in b["fields"] for b in state["blocks"])
    assert resaved.status_code == 200, resaved.content
    assert all("custom.tier" not in b["fields"] for b in stored(tenant_a)["blocks"])


def test_layouts_and_custom_fields_stay_in_their_tenant(client_for, tenant_a, tenant_b, admin_of):
    web_a = client_for(tenant_a, admin_of(tenant_a))
    web_b = client_for(tenant_b, admin_of(tenant_b))
    add_field(tenant_a, admin_of(tenant_a), "tier")
    add_field(tenant_b, admin_of(tenant_b), "tier")
    add_field(tenant_b, admin_of(tenant_b), "secret_b")

    placed_a = post(web_a, layout(in_main=["custom.tier"], mandatory=["custom.tier"]))
    foreign = post(web_a, layout(in_main=["custom.secret_b"]))
    created_b = web_b.post("/api/v1/organizations/", {"name": "Kramerica"}, content_type="application/json")
    form_b = web_b.get("/m/organizations/new/").context["form"]

    assert placed_a.status_code == 200
    assert foreign.status_code == 400
    assert foreign.json() == {"errors": {"fields": ["Unknown field: custom.secret_b."]}}
    assert stored(tenant_a)["blocks"][0]["fields"][1] == "custom.tier"
    assert stored(tenant_b) is None
    assert created_b.status_code == 201  # tenant A's mandatory choice does not reach tenant B
    assert form_b.custom_names == ["custom__tier", "custom__secret_b"]
    with tenant_context(tenant_b):
        metadata.metadata_cache_reset()
        assert metadata.layout_custom_placed(registry.get("organizations")) == set()


def test_a_mandatory_custom_field_the_members_profile_hides_is_not_asked_of_them(
    web, client_for, tenant_a, admin_of, member
):
    from crm_apps.access.models import ProfileField, Role
    from crm_apps.access.services import profile_save, role_create

    admin = admin_of(tenant_a)
    add_field(tenant_a, admin, "tier")
    post(web, layout(in_main=["custom.tier"], mandatory=["custom.tier"]))
    with tenant_context(tenant_a):
        profile = profile_save(
            actor=admin,
            profile=None,
            name="No tiers",
            flags={"default_view": True, "default_create": True, "default_edit": True, "default_delete": True},
        )
        ProfileField.objects.create(profile=profile, module="organizations", field="custom.tier", access="hidden")
        role = role_create(
            actor=admin, name="No tiers", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    restricted = client_for(tenant_a, member(tenant_a, role=role))

    created = restricted.post("/api/v1/organizations/", {"name": "Kramerica"}, content_type="application/json")
    form = restricted.get("/m/organizations/new/").context["form"]
    refused = web.post("/api/v1/organizations/", {"name": "Kramerica"}, content_type="application/json")

    assert created.status_code == 201
    assert "custom__tier" not in form.fields
    assert refused.status_code == 400
