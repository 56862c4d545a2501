"""The module builder under Settings: create, edit, archive and restore, admins and settings managers only."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from crm_apps.custom_modules.models import CustomModule

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def test_build_a_module_then_add_fields_on_the_custom_field_screen(web, tenant_a):
    page = web.get("/settings/custom-modules/")
    bad = web.post("/settings/custom-modules/", {"label": "Machine", "label_plural": "Machines", "key": "contacts"})
    created = web.post(
        "/settings/custom-modules/",
        {
            "label": "Machine",
            "label_plural": "Machines",
            "key": "machines",
            "number_prefix": "mc",
            "menu_group": "tools",
        },
    )
    field = web.post(
        "/settings/modules/machines/fields/", {"label": "Serial", "key": "serial", "type": "text", "required": "on"}
    )
    listing = web.get("/settings/custom-modules/").content.decode()
    form = web.get("/m/machines/new/").content.decode()

    assert page.status_code == 200 and "New module" in page.content.decode()
    assert bad.status_code == 200
    assert bad.context["form"].errors == {"key": ["A built-in module already uses this key."]}
    assert created.status_code == 302 and created["Location"] == "/settings/modules/machines/fields/"
    assert field.status_code == 302
    assert "Machines" in listing and "<code>machines</code>" in listing
    assert "Serial" in form
    with schema_context(tenant_a.schema_name):
        module = CustomModule.objects.get(key="machines")
        assert (
            module.label,
            module.number_prefix,
            module.menu_group,
            module.created_by is not None and module.created_by.is_admin,
        ) == (
            "Machine",
            "MC",
            "tools",
            True,
        )


def test_edit_archive_and_restore(web, tenant_a, equipment_in):
    equipment_in(tenant_a)
    record = web.post("/api/v1/equipment/", {"name": "Saw", "custom": {"serial": "1"}}, content_type="application/json")

    edited = web.post(
        "/settings/custom-modules/equipment/",
        {"label": "Tool", "label_plural": "Tools", "icon": "wrench", "menu_group": "inventory"},
    )
    renamed_list = web.get("/m/equipment/").content.decode()
    archived = web.post("/settings/custom-modules/equipment/archive/")
    gone = web.get("/m/equipment/")
    archived_row = web.get("/settings/custom-modules/").content.decode()
    restored = web.post("/settings/custom-modules/equipment/restore/")
    back = web.get(f"/m/equipment/{record.json()['id']}/")

    assert edited.status_code == 302
    assert "Tools" in renamed_list
    assert archived.status_code == 302 and gone.status_code == 404
    assert "Archived" in archived_row
    assert restored.status_code == 302 and back.status_code == 200
    with schema_context(tenant_a.schema_name):
        assert CustomModule.objects.get(key="equipment").menu_group == "inventory"


def test_only_settings_managers_reach_the_builder(client_for, tenant_a, member, settings_manager, equipment_in):
    equipment_in(tenant_a)
    plain = client_for(tenant_a, member(tenant_a))
    manager = client_for(tenant_a, settings_manager(tenant_a))

    assert plain.get("/settings/custom-modules/").status_code == 403
    assert plain.post("/settings/custom-modules/", {"label": "X", "label_plural": "X", "key": "xx"}).status_code == 403
    assert plain.post("/settings/custom-modules/equipment/archive/").status_code == 403
    assert manager.get("/settings/custom-modules/").status_code == 200
    assert client_for(tenant_a).get("/settings/custom-modules/").status_code == 302
    with schema_context(tenant_a.schema_name):
        assert CustomModule.objects.get(key="equipment").archived_at is None


def test_the_builder_speaks_russian(client_for, tenant_a, admin_of):
    from crm_apps.access.models import Member

    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        Member.objects.filter(pk=admin.pk).update(language="ru")
    page = client_for(tenant_a, admin).get("/settings/custom-modules/").content.decode()

    assert "Пользовательские модули" in page
    assert "Новый модуль" in page
