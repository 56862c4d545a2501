"""A custom module in the web app: menu, list, create, detail, edit, search, export, recycle bin,
timeline and audit like a built-in module; nothing of it in another tenant."""

from __future__ import annotations

import csv
import io

import pytest
from django_tenants.utils import schema_context

from crm_apps.audit.models import AuditEvent
from crm_apps.custom_modules.models import CustomRecord
from crm_apps.engine.models import TimelineEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def test_a_built_module_works_in_the_web_app(web, tenant_a, equipment_in):
    equipment_in(tenant_a, menu_group="inventory", icon="cog")

    menu = web.get("/").content.decode()
    new_form = web.get("/m/equipment/new/")
    bad = web.post("/m/equipment/new/", {"name": "Forklift", "custom__serial": ""})
    good = web.post("/m/equipment/new/", {"name": "Forklift", "custom__serial": "FL-9"})
    with schema_context(tenant_a.schema_name):
        record = CustomRecord.objects.get(module_key="equipment")
    listing = web.get("/m/equipment/").content.decode()
    detail = web.get(f"/m/equipment/{record.pk}/").content.decode()
    edited = web.post(f"/m/equipment/{record.pk}/edit/", {"name": "Forklift 2", "custom__serial": "FL-9"})
    found = web.get("/search/?q=forklift").content.decode()
    export = web.get("/m/equipment/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    deleted = web.post(f"/m/equipment/{record.pk}/delete/")
    trash = web.get("/m/equipment/trash/").content.decode()
    restored = web.post(f"/m/equipment/{record.pk}/restore/")

    assert 'href="/m/equipment/"' in menu
    assert new_form.status_code == 200 and "Serial" in new_form.content.decode()
    assert bad.status_code == 200 and bad.context["form"].errors
    assert good.status_code == 302
    assert record.number == "EQUI1" and record.custom_data == {"serial": "FL-9"}
    assert "Forklift" in listing and "EQUI1" in listing
    assert "Forklift" in detail and "FL-9" in detail
    assert edited.status_code == 302
    assert "Forklift 2" in found
    assert rows[1][0] == "EQUI1"
    assert deleted.status_code == 302 and "Forklift 2" in trash
    assert restored.status_code == 302
    with schema_context(tenant_a.schema_name):
        kinds = list(
            TimelineEntry.objects.filter(module="equipment", record_id=record.pk)
            .order_by("created_at", "id")
            .values_list("kind", flat=True)
        )
        audited = set(AuditEvent.objects.filter(module="equipment").values_list("action", flat=True))
        assert CustomRecord.objects.get(pk=record.pk).deleted_at is None
    assert kinds == ["created", "updated", "deleted", "restored"]
    assert {"record_created", "record_updated", "record_deleted", "record_restored"} <= audited


def test_tenant_a_custom_module_does_not_exist_in_tenant_b(web, client_for, tenant_a, tenant_b, admin_of, equipment_in):
    equipment_in(tenant_a)
    record = web.post("/api/v1/equipment/", {"name": "Saw", "custom": {"serial": "S"}}, content_type="application/json")
    b = client_for(tenant_b, admin_of(tenant_b))

    assert record.status_code == 201
    assert b.get("/m/equipment/").status_code == 404
    assert b.get(f"/m/equipment/{record.json()['id']}/").status_code == 404
    assert b.get("/m/equipment/new/").status_code == 404
    assert b.get("/api/v1/equipment/").status_code == 404
    assert b.get(f"/api/v1/equipment/{record.json()['id']}/").status_code == 404
    assert b.post("/api/v1/equipment/", {"name": "X"}, content_type="application/json").status_code == 404
    assert b.get("/api/v1/meta/modules/equipment").status_code == 404
    assert 'href="/m/equipment/"' not in b.get("/").content.decode()
    assert "Saw" not in b.get("/search/?q=saw").content.decode()


def test_each_tenant_defines_its_own_module_with_the_same_key(client_for, tenant_a, tenant_b, admin_of, equipment_in):
    equipment_in(tenant_a)
    equipment_in(tenant_b, label="Gear", fields=[])
    a = client_for(tenant_a, admin_of(tenant_a))
    b = client_for(tenant_b, admin_of(tenant_b))

    in_a = a.post("/api/v1/equipment/", {"name": "A1", "custom": {"serial": "1"}}, content_type="application/json")
    in_b = b.post("/api/v1/equipment/", {"name": "B1"}, content_type="application/json")

    assert in_a.status_code == in_b.status_code == 201
    assert [r["id"] for r in a.get("/api/v1/equipment/").json()["results"]] == [in_a.json()["id"]]
    assert [r["id"] for r in b.get("/api/v1/equipment/").json()["results"]] == [in_b.json()["id"]]
    assert a.get("/api/v1/meta/modules/equipment").json()["label"] == "Equipment"
    assert b.get("/api/v1/meta/modules/equipment").json()["label"] == "Gear"
    assert b.get(f"/api/v1/equipment/{in_a.json()['id']}/").status_code == 404


def test_openapi_schema_documents_the_tenants_own_custom_modules(
    client_for, tenant_a, tenant_b, admin_of, equipment_in
):
    equipment_in(tenant_a)
    schema_a = client_for(tenant_a, admin_of(tenant_a)).get("/api/v1/schema/?format=json").json()
    schema_b = client_for(tenant_b, admin_of(tenant_b)).get("/api/v1/schema/?format=json").json()

    assert "/api/v1/equipment/" in schema_a["paths"]
    assert "/api/v1/equipment/{record_id}/" in schema_a["paths"]
    assert "serial" in schema_a["components"]["schemas"]["CustomEquipmentCustom"]["properties"]
    assert "name" in schema_a["components"]["schemas"]["CustomEquipmentRecord"]["properties"]
    create = schema_a["paths"]["/api/v1/meta/modules"]["post"]["requestBody"]["content"]["application/json"]
    assert create["schema"]["$ref"] == "#/components/schemas/CustomModuleCreate"
    assert {"key", "label", "label_plural", "fields"} <= set(
        schema_a["components"]["schemas"]["CustomModuleCreate"]["properties"]
    )
    assert "patch" in schema_a["paths"]["/api/v1/meta/modules/equipment"]
    assert "/api/v1/equipment/" not in schema_b["paths"]
    assert "/api/v1/contacts/" in schema_b["paths"]


def test_a_custom_module_appears_in_its_menu_group(web, tenant_a, equipment_in):
    # given a module filed under Inventory and one the admin filed under no group
    equipment = equipment_in(tenant_a, menu_group="inventory")
    equipment_in(tenant_a, key="tool_kits", label="Tool kit", label_plural="Tool kits", fields=[])

    def custom_by_group(menu):
        """Custom modules per group, and whether each group lists them after its built-in modules."""
        placed = {g["key"]: [s.key for s in g["modules"] if s.custom] for g in menu}
        last = all(
            not s.custom or all(o.custom for o in g["modules"][n:]) for g in menu for n, s in enumerate(g["modules"])
        )
        return {k: v for k, v in placed.items() if v}, last

    # when the navigation is drawn, and again after the admin moves Equipment to Projects
    before = custom_by_group(web.get("/").context["crm_menu"])
    with schema_context(tenant_a.schema_name):
        from crm_apps.access.models import Member
        from crm_apps.custom_modules.services import custom_module_update

        admin = Member.objects.filter(is_admin=True).order_by("id")[0]
        custom_module_update(actor=admin, module=equipment, data={"menu_group": "projects"})
    response = web.get("/")
    after = custom_by_group(response.context["crm_menu"])

    # then each sits in its group after the built-ins there (no group: Tools), and the move shows at once
    assert before == ({"inventory": ["equipment"], "tools": ["tool_kits"]}, True)
    assert after == ({"projects": ["equipment"], "tools": ["tool_kits"]}, True)
    page = response.content.decode()
    projects = page.index('<summary class="nav__group-toggle">Projects</summary>')
    assert page.index('href="/m/equipment/"') > projects
