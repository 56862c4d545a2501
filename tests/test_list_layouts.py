"""Registry-driven: for every module, a list showing every column a member may pick costs the same
number of queries for 2 rows as for 6 (no column loads per row), every picked column is shown, and a
cell of each editable column opens the in-place editor."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from conftest import statements
from crm_apps.engine import registry
from crm_apps.engine.fieldaccess import FieldRules
from crm_apps.engine.list_layout import MAX_COLUMNS, available_columns, inline_editable
from crm_apps.engine.services import record_create

pytestmark = pytest.mark.django_db
MODULES = sorted(s.key for s in registry.builtin_specs())


def _make(tenant, actor, spec, count):
    with tenant_context(tenant):
        for _n in range(count):
            record_create(spec=spec, actor=actor, data=dict(spec.example))


@pytest.mark.parametrize("module", MODULES)
def test_every_pickable_column_is_shown_without_a_query_per_row(client_for, tenant_a, admin_of, module):
    spec = registry.get(module)
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        columns = [name for name, _label in available_columns(spec, FieldRules())][:MAX_COLUMNS]
    web = client_for(tenant_a, admin)
    saved = web.post(f"/m/{module}/layout/", {"columns": columns, "page_size": "50"})
    _make(tenant_a, admin, spec, 2)
    web.get(f"/m/{module}/")
    with CaptureQueriesContext(connection) as few:
        first = web.get(f"/m/{module}/")
    _make(tenant_a, admin, spec, 4)
    with CaptureQueriesContext(connection) as many:
        second = web.get(f"/m/{module}/")

    assert saved.status_code == 302
    assert [c["name"] for c in second.context["table_columns"] if c.get("column")] == columns
    assert len(second.context["rows"]) == 6
    assert len(statements(many)) == len(statements(few)), [q[:120] for q in statements(many)]
    assert first.status_code == second.status_code == 200


@pytest.mark.parametrize("module", MODULES)
def test_each_editable_list_column_opens_its_editor(client_for, tenant_a, admin_of, module):
    spec = registry.get(module)
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        record = record_create(spec=spec, actor=admin, data=dict(spec.example))
    web = client_for(tenant_a, admin)
    editable = [n for n in spec.list_columns if inline_editable(spec, n, readonly=frozenset(), hidden=frozenset())]

    answers = {name: web.get(f"/m/{module}/{record.pk}/cell/{name}/").status_code for name in editable}

    assert editable
    assert answers == dict.fromkeys(editable, 200)


def test_another_tenants_ids_are_not_found_on_every_list_board_and_record_page_endpoint(
    client_for, tenant_a, tenant_b, admin_of
):
    from crm_apps.engine.models import SavedView

    admin = admin_of(tenant_a)
    deals, orgs = registry.get("deals"), registry.get("organizations")
    with tenant_context(tenant_a):
        deal = record_create(spec=deals, actor=admin, data={"name": "A", "close_date": "2027-01-01", "amount": "5"})
        org = record_create(spec=orgs, actor=admin, data={"name": "A org"})
        view = SavedView.objects.create(module="deals", name="A view", owner=admin, shared=True)
        before = (deals.model.objects.get(pk=deal.pk).version, SavedView.objects.get(pk=view.pk).layout)
    other = client_for(tenant_b, admin_of(tenant_b))

    answers = [
        other.get(f"/m/deals/{deal.pk}/cell/amount/").status_code,
        other.post(f"/m/deals/{deal.pk}/cell/amount/", {"amount": "1"}).status_code,
        other.post(f"/m/deals/{deal.pk}/board-move/?field=type", {"value": "New Business"}).status_code,
        other.get(f"/m/organizations/{org.pk}/related/contacts/new/").status_code,
        other.post(f"/m/organizations/{org.pk}/related/contacts/new/", {"last_name": "X"}).status_code,
        other.post("/m/deals/layout/", {"saved": view.pk, "columns": ["name"]}).status_code,
        other.get(f"/api/v1/deals/views/{view.pk}").status_code,
        other.patch(
            f"/api/v1/deals/views/{view.pk}", {"layout": {"columns": ["name"]}}, content_type="application/json"
        ).status_code,
    ]
    board = other.get("/m/deals/board/")

    assert answers == [404] * len(answers)
    assert sum(c["count"] for c in board.context["columns"]) == 0
    with tenant_context(tenant_a):
        after = (deals.model.objects.get(pk=deal.pk).version, SavedView.objects.get(pk=view.pk).layout)
        assert after == before
        assert not registry.get("contacts").model.objects.exists()
