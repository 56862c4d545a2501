"""The engine's extension points: it never names a module, modules plug in panels, actions, routes,
settings pages, boards, menu entries and sample data through their specs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from crm_apps.access.models import Profile, ProfileModule
from crm_apps.engine import metadata, registry
from crm_apps.engine.board import board_context
from crm_apps.engine.sample_data import sample_order
from crm_apps.engine.services import record_create
from crm_apps.engine.spec import MENU_GROUPS

ROOT = Path(__file__).resolve().parents[3]
MODULE_BRANCH = re.compile(r"spec\.key ==|registry\.get\(\"")

CHILDTEST = "childtest_orders"


def _engine_files() -> list[Path]:
    """Non-test code of the engine and the engine's templates."""
    engine = ROOT / "crm_apps" / "engine"
    code = [p for p in engine.rglob("*.py") if "tests" not in p.relative_to(engine).parts]
    templates = list((ROOT / "frontend" / "templates" / "engine").rglob("*.html"))
    return code + templates


def test_the_engine_never_branches_on_a_module_key():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _engine_files()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if MODULE_BRANCH.search(line)
    ]

    assert offenders == []


def test_the_engine_never_imports_a_module_package():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _engine_files()
        if path.suffix == ".py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "crm_apps.modules" in line
    ]

    assert offenders == []


def test_every_module_declares_a_known_menu_group():
    assert {s.menu.group for s in registry.all_specs()} <= set(MENU_GROUPS)


def test_navigation_groups_modules_and_hides_those_the_member_cannot_view(client_for, tenant_a, member):
    seller = member(tenant_a)
    with tenant_context(tenant_a):
        for profile in Profile.objects.filter(roles__members=seller):
            ProfileModule.objects.create(
                profile=profile, module="vendors", can_view=False, can_create=False, can_edit=False, can_delete=False
            )

    response = client_for(tenant_a, seller).get("/")

    menu = response.context["crm_menu"]
    # The test-only child-table module (saas/settings/test.py) sits under Tools in the test settings.
    assert [(g["key"], [s.key for s in g["modules"]]) for g in menu] == [
        ("sales", ["leads", "organizations", "contacts", "deals"]),
        ("inventory", ["products", "quotes", "services", "price-books", "sales-orders", "invoices", "purchase-orders"]),
        ("support", ["tickets", "faq", "service-contracts", "assets"]),
        ("marketing", ["campaigns"]),
        ("projects", ["projects", "project-tasks", "project-milestones"]),
        ("tools", ["events", "tasks", "calls", "documents", CHILDTEST]),
    ]
    page = response.content.decode()
    assert '<summary class="nav__group-toggle">Sales</summary>' in page
    assert 'href="/m/vendors/"' not in page


def test_navigation_group_labels_are_translated():
    from django.utils import translation

    from crm_apps.engine.extensions import MENU_GROUP_LABELS

    with translation.override("ru"):
        labels = [str(MENU_GROUP_LABELS[key]) for key in MENU_GROUPS]

    assert labels == ["Продажи", "Склад", "Поддержка", "Маркетинг", "Проекты", "Инструменты", "Настройки"]


def test_module_routes_are_included_from_their_specs():
    from django.urls import reverse

    assert reverse("leads:convert", args=["00000000-0000-0000-0000-000000000001"]).endswith("/convert/")
    assert reverse("api-pipelines") == "/api/v1/pipelines/"
    assert reverse("leads:conversion_settings") == "/settings/modules/leads/conversion/"
    assert reverse("engine:board", args=["deals"]) == reverse("deals:board") == "/m/deals/board/"


def test_a_module_without_a_kanban_field_has_no_board(client_for, tenant_a, admin_of):
    web = client_for(tenant_a, admin_of(tenant_a))

    assert web.get("/m/vendors/board/").status_code == 404
    assert 'href="/m/vendors/board/"' not in web.get("/m/vendors/").content.decode()
    assert 'href="/m/deals/board/"' in web.get("/m/deals/").content.decode()


def test_generic_board_columns_are_the_kanban_picklist_values(tenant_a, admin_of):
    # Given leads shown as a board by their status picklist (no module code at all)
    spec = dataclasses.replace(registry.get("leads"), kanban_field="status")
    actor = admin_of(tenant_a)
    request = RequestFactory().get("/")
    with tenant_context(tenant_a):
        hot = record_create(spec=spec, actor=actor, data={"last_name": "Hot", "company": "C", "status": "Hot"})
        record_create(spec=spec, actor=actor, data={"last_name": "Cold", "company": "C", "status": "Cold"})

        statuses = [v.value for v in metadata.picklist_values("lead_status") if not v.retired]

        # When the board is built
        context = board_context(spec=spec, member=actor, request=request)

    # Then there is a column per status, with the records in their column
    columns = {c["value"]: c for c in context["columns"]}
    assert list(columns) == statuses
    assert [r.pk for r, _url in columns["Hot"]["cards"]] == [hot.pk]
    assert (columns["Hot"]["count"], columns["Cold"]["count"], columns["Warm"]["count"]) == (1, 1, 0)


def test_sample_data_runs_each_module_after_the_modules_it_needs():
    order = [s.key for s in sample_order(registry.all_specs())]

    # Every shipped module has sample data; the test-only child-table module (saas/settings/test.py) has none.
    assert sorted(order) == sorted(s.key for s in registry.all_specs() if s.key != CHILDTEST)
    assert order.index("organizations") < order.index("contacts") < order.index("deals")


def test_sample_data_refuses_a_dependency_cycle():
    a = dataclasses.replace(registry.get("vendors"), key="a", sample_data_after=("b",))
    b = dataclasses.replace(registry.get("vendors"), key="b", sample_data_after=("a",))

    with pytest.raises(ValueError, match="cycle"):
        sample_order([a, b])


def test_module_templates_override_the_engine_ones(client_for, tenant_a, admin_of):
    web = client_for(tenant_a, admin_of(tenant_a))

    deals = [t.name for t in web.get("/m/deals/board/").templates]
    assert "deals/board.html" in deals
    assert "engine/board.html" in deals  # the module's template extends the generic one
    assert registry.get("vendors").template_names("detail") == ["vendors/detail.html", "engine/detail.html"]


# Statements of a new record's page for an admin, per module: session with member and user, the record (with whether
# the member follows it and whether each related list, the comments and each panel that declares
# `Panel.linked` have any rows at all: a list without rows is not read, ADR 0047 "Addendum (detail page)"),
# the timeline; plus the panels' own reads (deals: stages, pipelines, stage history;
# campaigns: members and their statuses, email sends and the templates to send; contacts: the portal
# account, for portal admins). The recently-viewed mark is no statement (a Redis write, ADR 0047).
# A record with rows in every list: test_detail_page_reads_each_list_with_rows_once.
DETAIL_QUERIES = {"leads": 3, "organizations": 3, "contacts": 4, "deals": 6, "campaigns": 6, "vendors": 3}


@pytest.mark.parametrize("module", sorted(DETAIL_QUERIES))
def test_detail_page_query_counts_are_pinned(client_for, tenant_a, admin_of, module):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conftest import statements

    spec = registry.get(module)
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        record = record_create(spec=spec, actor=actor, data=dict(spec.example))
    web = client_for(tenant_a, actor)
    web.get(f"/m/{module}/{record.pk}/")  # warm the per-process caches (metadata, grants)

    with CaptureQueriesContext(connection) as captured:
        response = web.get(f"/m/{module}/{record.pk}/")

    assert response.status_code == 200
    assert len(statements(captured)) == DETAIL_QUERIES[module], [q[:100] for q in statements(captured)]


def test_cards_move_on_the_generic_board_through_record_update(client_for, tenant_a, admin_of, member):
    from crm_apps.access.services import sharing_default_set
    from crm_apps.engine.models import TimelineEntry

    admin = admin_of(tenant_a)
    spec = registry.get("deals")
    with tenant_context(tenant_a):
        deal = record_create(spec=spec, actor=admin, data={"name": "Move me", "close_date": "2027-01-01"})
        target = deal.pipeline.stages.get(name="Qualification")
        sharing_default_set(actor=admin, module="deals", access="public_read")
    url = f"/m/deals/{deal.pk}/board-move/"

    denied = client_for(tenant_a, member(tenant_a)).post(url, {"value": target.pk}, HTTP_HX_REQUEST="true")
    bad = client_for(tenant_a, admin).post(url, {"value": "999999"}, HTTP_HX_REQUEST="true")
    missing = client_for(tenant_a, admin).post(url, {}, HTTP_HX_REQUEST="true")
    with tenant_context(tenant_a):
        unchanged = spec.model.objects.get(pk=deal.pk).stage_id
    moved = client_for(tenant_a, admin).post(url, {"value": target.pk}, HTTP_HX_REQUEST="true")

    assert (denied.status_code, bad.status_code, missing.status_code, moved.status_code) == (403, 400, 400, 200)
    assert unchanged == deal.stage_id
    assert "<html" not in moved.content.decode()
    column = next(c for c in moved.context["columns"] if c["value"] == target.pk)
    assert [d.pk for d, _url in column["cards"]] == [deal.pk]
    with tenant_context(tenant_a):
        deal.refresh_from_db()
        assert deal.stage_id == target.pk
        # Deals move through their own action (ModuleSpec.board_move): probability follows the stage.
        assert deal.probability == target.probability
        assert TimelineEntry.objects.filter(module="deals", record_id=deal.pk, kind="updated").count() == 1


def test_list_actions_follow_the_right_or_privilege_they_require():
    from unittest import mock

    from crm_apps.engine import extensions
    from crm_apps.engine.spec import Action

    spec = dataclasses.replace(
        registry.get("vendors"),
        list_actions=(
            Action(key="import", label="Import", url_name="engine:search", requires="create"),
            Action(key="report", label="Report", url_name="engine:search", requires="can_export"),
        ),
    )
    with (
        mock.patch.object(extensions.visibility, "can_create", return_value=True),
        mock.patch.object(extensions.visibility, "has_privilege", return_value=False),
    ):
        shown = extensions.list_actions(spec=spec, member=mock.Mock())

    assert [a.key for a in shown] == ["import"]


def test_an_app_adds_a_list_action_to_the_lists_it_applies_to_with_the_lists_query():
    from unittest import mock

    from crm_apps.engine import extensions
    from crm_apps.engine.spec import Action

    action = Action(key="everywhere", label="Everywhere", url_name="engine:list", requires="create")
    with mock.patch.object(extensions, "_list_actions", []):
        extensions.list_action_add(action, applies=lambda spec: spec.key != "leads")
        extensions.list_action_add(action, applies=lambda spec: True)  # added once per key
        with mock.patch.object(extensions.visibility, "can_create", return_value=True):
            vendors = extensions.list_actions(spec=registry.get("vendors"), member=mock.Mock(), query="q=ann")
            leads = extensions.list_actions(spec=registry.get("leads"), member=mock.Mock(), query="q=ann")
        with mock.patch.object(extensions.visibility, "can_create", return_value=False):
            refused = extensions.list_actions(spec=registry.get("vendors"), member=mock.Mock())

    assert [(a.key, a.url) for a in vendors if a.key == "everywhere"] == [("everywhere", "/m/vendors/?q=ann")]
    assert [a.key for a in leads if a.key == "everywhere"] == []
    assert [a.key for a in refused if a.key == "everywhere"] == []
