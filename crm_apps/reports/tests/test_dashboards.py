"""Dashboards: the default "Sales overview" for a new workspace, widget data through the report engine for
the viewing member (restricted members' numbers leak nothing), layout saved after a drag, quotas and
attainment, and refusal across tenants and for other members' dashboards."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django_tenants.utils import tenant_context

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, role_create, sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.deals.models import Stage
from crm_apps.reports.models import Dashboard, Widget
from crm_apps.reports.tests.test_api import api_for, post
from crm_apps.reports.widgets import BUILT_IN

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


def test_a_new_workspace_gets_a_default_dashboard_whose_widgets_all_answer(tenant_a, admin, client_for):
    web = client_for(tenant_a, admin)
    page = web.get("/dashboards/", follow=True)
    body = page.content.decode()
    assert page.status_code == 200 and "data-dashboard" in body
    with tenant_context(tenant_a):
        board = Dashboard.objects.get(shared=True)
        kinds = set(board.widgets.values_list("kind", flat=True))
        widget_ids = list(board.widgets.values_list("pk", flat=True))
    assert {
        "pipeline_funnel",
        "won_by_month",
        "quota",
        "leads_by_source",
        "tickets_by_status",
        "overdue_activities",
    } <= kinds
    api = api_for(tenant_a, admin)
    for widget_id in widget_ids:
        data = api.get(f"/api/v1/dashboard-widgets/{widget_id}/data").json()
        assert data["type"] in ("chart", "quota"), data
        assert data["computed_at"]


def test_built_in_widgets_are_valid_reports_for_every_member(tenant_a, admin):
    from crm_apps.reports.definition import parse

    with tenant_context(tenant_a):
        for _label, build in BUILT_IN.values():
            parse(build({}, admin), actor=admin)


def test_widget_numbers_come_from_the_members_visible_records_only(tenant_a, admin, member):
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private")
        profile = profile_save(actor=admin, profile=None, name="Dash reps", flags={})
        role = role_create(
            actor=admin, name="Dash rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    rep = member(tenant_a, role=role)
    with tenant_context(tenant_a):
        stage = Stage.objects.filter(is_won=False, is_lost=False).order_by("position")[0]
        record_create(
            spec=DEALS,
            actor=admin,
            data={"name": "Big", "close_date": "2027-01-01", "amount": "9000", "stage": stage.pk, "owner": admin.pk},
        )
        record_create(
            spec=DEALS,
            actor=admin,
            data={"name": "Small", "close_date": "2027-01-01", "amount": "15", "stage": stage.pk, "owner": rep.pk},
        )
        board = Dashboard.objects.create(name="Mine", owner=rep)
        widget = Widget.objects.create(dashboard=board, kind="pipeline_funnel")
    rep_data = api_for(tenant_a, rep).get(f"/api/v1/dashboard-widgets/{widget.pk}/data").json()
    assert rep_data["chart"]["datasets"][0]["data"] == [15.0]
    # The admin cannot open the rep's private dashboard's widgets (404), but sees everything on a shared one.
    admin_api = api_for(tenant_a, admin)
    assert admin_api.get(f"/api/v1/dashboard-widgets/{widget.pk}/data").status_code == 404


def test_layout_is_saved_after_a_drag_and_only_by_the_owner(tenant_a, admin, member):
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        board = Dashboard.objects.create(name="Layout", owner=rep)
        first = Widget.objects.create(dashboard=board, kind="leads_by_source")
        second = Widget.objects.create(dashboard=board, kind="leads_by_status", y=4)
    api = api_for(tenant_a, rep)
    moved = post(
        api,
        f"/api/v1/dashboards/{board.pk}/layout",
        {
            "widgets": [
                {"id": first.pk, "x": 6, "y": 0, "w": 6, "h": 3},
                {"id": second.pk, "x": 0, "y": 0, "w": 6, "h": 5},
            ]
        },
    )
    assert moved.status_code == 204
    bad = post(
        api, f"/api/v1/dashboards/{board.pk}/layout", {"widgets": [{"id": first.pk, "x": 10, "y": 0, "w": 6, "h": 3}]}
    )
    assert bad.status_code == 400
    with tenant_context(tenant_a):
        first.refresh_from_db()
        assert (first.x, first.y, first.w, first.h) == (6, 0, 6, 3)
    other = api_for(tenant_a, member(tenant_a))
    assert post(other, f"/api/v1/dashboards/{board.pk}/layout", {"widgets": []}).status_code == 404


def test_quotas_and_attainment(tenant_a, admin, member):
    rep = member(tenant_a)
    api = api_for(tenant_a, admin)
    today = dt.date.today()
    month = today.strftime("%Y-%m")
    assert post(api, "/api/v1/quotas/", {"member": rep.pk, "month": month, "amount": "1000"}).status_code == 200
    assert post(api, "/api/v1/quotas/", {"member": rep.pk, "month": "2027-13", "amount": "-1"}).status_code == 400
    assert (
        post(api_for(tenant_a, rep), "/api/v1/quotas/", {"member": rep.pk, "month": month, "amount": "1"}).status_code
        == 403
    )
    with tenant_context(tenant_a):
        won = Stage.objects.filter(is_won=True)[0]
        record_create(
            spec=DEALS,
            actor=admin,
            data={
                "name": "W",
                "close_date": today.isoformat(),
                "amount": "250",
                "stage": won.pk,
                "pipeline": won.pipeline_id,
                "owner": rep.pk,
            },
        )
        board = Dashboard.objects.create(name="Q", owner=admin)
        widget = Widget.objects.create(dashboard=board, kind="quota")
    data = api.get(f"/api/v1/dashboard-widgets/{widget.pk}/data").json()
    row = next(r for r in data["rows"] if r["quota"] is not None)
    assert (row["won"], row["quota"], row["attainment"]) == ("250.00", "1000.00", 25.0)


def test_dashboards_and_widgets_of_another_tenant_are_refused(tenant_a, tenant_b, admin, admin_of, client_for):
    with tenant_context(tenant_a):
        board = Dashboard.objects.create(name="Alpha", owner=admin)
        widget = Widget.objects.create(dashboard=board, kind="leads_by_source")
    beta_admin = admin_of(tenant_b)
    beta = api_for(tenant_b, beta_admin)
    assert beta.get(f"/api/v1/dashboard-widgets/{widget.pk}/data").status_code == 404
    assert post(beta, f"/api/v1/dashboards/{board.pk}/layout", {"widgets": []}).status_code == 404
    assert client_for(tenant_b, beta_admin).get(f"/dashboards/{board.pk}/").status_code == 404
    names = [b["name"] for b in beta.get("/api/v1/dashboards/").json()["results"]]
    assert "Alpha" not in names and json.dumps(names)
