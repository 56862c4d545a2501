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


def _private_rep(tenant_a, admin, member, module, name):
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module=module, access="private")
        profile = profile_save(actor=admin, profile=None, name=f"{name} reps", flags={})
        role = role_create(
            actor=admin, name=name, parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    return member(tenant_a, role=role)


def test_conversion_rate_over_time_counts_the_members_visible_leads_only(tenant_a, admin, member):
    from django.utils import timezone

    from crm_apps.modules.leads.models import Lead

    rep = _private_rep(tenant_a, admin, member, "leads", "Conv rep")
    leads = registry.get("leads")
    with tenant_context(tenant_a):
        now = timezone.now()
        mine = [
            record_create(spec=leads, actor=admin, data={"last_name": f"R{i}", "company": "C", "owner": rep.pk})
            for i in range(4)
        ]
        hidden = [
            record_create(spec=leads, actor=admin, data={"last_name": f"H{i}", "company": "C", "owner": admin.pk})
            for i in range(6)
        ]
        Lead.objects.filter(pk__in=[mine[0].pk, *[h.pk for h in hidden]]).update(converted=True, converted_at=now)
        board = Dashboard.objects.create(name="Conv", owner=rep)
        widget = Widget.objects.create(dashboard=board, kind="conversion_rate")
        admin_board = Dashboard.objects.create(name="Conv A", owner=admin)
        admin_widget = Widget.objects.create(dashboard=admin_board, kind="conversion_rate")
    rep_data = api_for(tenant_a, rep).get(f"/api/v1/dashboard-widgets/{widget.pk}/data").json()
    assert rep_data["type"] == "chart" and len(rep_data["chart"]["labels"]) == 12
    assert rep_data["chart"]["datasets"][0]["data"][-1] == 25.0  # 1 of the rep's 4 leads this month
    assert sum(rep_data["series"]["created"]) == 4 and sum(rep_data["series"]["converted"]) == 1
    admin_data = api_for(tenant_a, admin).get(f"/api/v1/dashboard-widgets/{admin_widget.pk}/data").json()
    assert admin_data["chart"]["datasets"][0]["data"][-1] == 70.0  # 7 of 10
    assert rep_data["computed_at"]


def test_a_saved_view_mini_list_shows_the_members_visible_rows_with_links(tenant_a, admin, member, client_for):
    from crm_apps.engine.models import SavedView

    rep = _private_rep(tenant_a, admin, member, "leads", "List rep")
    leads = registry.get("leads")
    with tenant_context(tenant_a):
        own = record_create(
            spec=leads, actor=admin, data={"last_name": "Visible", "company": "Acme", "city": "Berlin", "owner": rep.pk}
        )
        record_create(
            spec=leads,
            actor=admin,
            data={"last_name": "Secret", "company": "Acme", "city": "Berlin", "owner": admin.pk},
        )
        record_create(
            spec=leads, actor=admin, data={"last_name": "Other", "company": "Beta", "city": "Paris", "owner": rep.pk}
        )
        view = SavedView.objects.create(
            module="leads", name="Acme leads", owner=admin, shared=True, filters={"city": "Berlin"}
        )
        private_view = SavedView.objects.create(module="leads", name="Admin only", owner=admin, filters={})
        board = Dashboard.objects.create(name="Lists", owner=rep)
    rep_api = api_for(tenant_a, rep)
    web = client_for(tenant_a, rep)
    # The add form refuses a view the member may not open and a bad row count; accepts the shared one.
    web.post(f"/dashboards/{board.pk}/widgets/", {"kind": "saved_view", "view": private_view.pk})
    web.post(f"/dashboards/{board.pk}/widgets/", {"kind": "saved_view", "view": view.pk, "rows": "99"})
    with tenant_context(tenant_a):
        assert not board.widgets.exists()
    web.post(f"/dashboards/{board.pk}/widgets/", {"kind": "saved_view", "view": view.pk, "rows": "3"})
    with tenant_context(tenant_a):
        widget = board.widgets.get()
        assert widget.config == {"view": view.pk, "rows": 3}
    data = rep_api.get(f"/api/v1/dashboard-widgets/{widget.pk}/data").json()
    assert data["type"] == "list", data
    assert [r["title"] for r in data["rows"]] == [own.first_name + " Visible" if own.first_name else "Visible"]
    assert data["rows"][0]["url"].endswith(f"/{own.pk}/")
    assert "Secret" not in json.dumps(data) and f"saved={view.pk}" in data["view_url"]
    # The view made private again: the widget says it is unavailable instead of failing.
    with tenant_context(tenant_a):
        SavedView.objects.filter(pk=view.pk).update(shared=False)
    assert rep_api.get(f"/api/v1/dashboard-widgets/{widget.pk}/data").json()["type"] == "unavailable"


def test_forecast_shows_quotas_and_attainment_and_managers_set_quotas_in_a_page(tenant_a, admin, member, client_for):
    from crm_apps.reports.models import Quota

    rep = member(tenant_a)
    web = client_for(tenant_a, admin)
    page = web.get("/dashboards/quotas/")
    assert page.status_code == 200
    month = dt.date.today().replace(day=1)
    name = f"q_{rep.pk}_{month:%Y-%m}"
    assert f'name="{name}"' in page.content.decode()
    bad = web.post("/dashboards/quotas/", {name: "-5"})
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.content.decode()
    with tenant_context(tenant_a):
        assert not Quota.objects.exists()
    assert web.post("/dashboards/quotas/", {name: "1000"}).status_code == 302
    with tenant_context(tenant_a):
        assert Quota.objects.get(member=rep, month=month).amount == 1000
    assert client_for(tenant_a, rep).get("/dashboards/quotas/").status_code == 403
    with tenant_context(tenant_a):
        won = Stage.objects.filter(is_won=True)[0]
        record_create(
            spec=DEALS,
            actor=admin,
            data={
                "name": "W",
                "close_date": dt.date.today().isoformat(),
                "amount": "250",
                "stage": won.pk,
                "pipeline": won.pipeline_id,
                "owner": rep.pk,
            },
        )
        board = Dashboard.objects.create(name="F", owner=admin)
        widget = Widget.objects.create(dashboard=board, kind="forecast")
    data = api_for(tenant_a, admin).get(f"/api/v1/dashboard-widgets/{widget.pk}/data").json()
    assert any(d["label"] == "Quota" and 1000.0 in d["data"] for d in data["chart"]["datasets"]), data
    assert "25.0%" in data["note"]
    # An emptied box removes the quota.
    assert web.post("/dashboards/quotas/", {name: ""}).status_code == 302
    with tenant_context(tenant_a):
        assert not Quota.objects.exists()


def test_overdue_activities_stack_tasks_and_events_and_each_segment_drills_to_exactly_its_records(
    tenant_a, admin, client_for
):
    today = dt.date.today()
    past, future = today - dt.timedelta(days=3), today + dt.timedelta(days=3)
    with tenant_context(tenant_a):
        tasks, events = registry.get("tasks"), registry.get("events")
        for subject, due, status in (
            ("Late call", past, "not_started"),
            ("Done call", past, "completed"),
            ("Next call", future, "not_started"),
        ):
            record_create(
                spec=tasks, actor=admin, data={"subject": subject, "due_date": due.isoformat(), "status": status}
            )
        for subject, day, status in (("Missed demo", past, "planned"), ("Held demo", past, "held")):
            record_create(
                spec=events,
                actor=admin,
                data={"subject": subject, "start": f"{day}T09:00:00Z", "end": f"{day}T10:00:00Z", "status": status},
            )
        board = Dashboard.objects.create(name="Activities", owner=admin)
        widget = Widget.objects.create(dashboard=board, kind="overdue_activities")
    data = api_for(tenant_a, admin).get(f"/api/v1/dashboard-widgets/{widget.pk}/data").json()
    chart = data["chart"]
    assert data["title"] == "Overdue activities by owner" and chart["type"] == "stacked_bar"
    assert [(d["label"], d["data"]) for d in chart["datasets"]] == [("Tasks", [1.0]), ("Events", [1.0])]
    web = client_for(tenant_a, admin)
    late_tasks = web.get(chart["datasets"][0]["drill"][0]).content.decode()
    assert "Late call" in late_tasks and "Done call" not in late_tasks and "Next call" not in late_tasks
    late_events = web.get(chart["datasets"][1]["drill"][0]).content.decode()
    assert "Missed demo" in late_events and "Held demo" not in late_events


def test_a_built_in_widgets_drill_down_keeps_its_filters(tenant_a, admin, client_for):
    """Won revenue by month counts won deals only: its segment lists those, not every deal closing that month."""
    with tenant_context(tenant_a):
        won = Stage.objects.filter(is_won=True).order_by("position")[0]
        open_stage = Stage.objects.filter(is_won=False, is_lost=False).order_by("position")[0]
        month = dt.date.today().replace(day=1)
        for name, stage in (("Won one", won), ("Still open", open_stage)):
            record_create(
                spec=DEALS,
                actor=admin,
                data={"name": name, "close_date": month.isoformat(), "amount": "10", "stage": stage.pk},
            )
        board = Dashboard.objects.create(name="Won", owner=admin)
        widget = Widget.objects.create(dashboard=board, kind="won_by_month")
    chart = api_for(tenant_a, admin).get(f"/api/v1/dashboard-widgets/{widget.pk}/data").json()["chart"]
    drills = [url for url in chart["datasets"][0]["drill"] if url]
    assert drills
    pages = "".join(client_for(tenant_a, admin).get(url).content.decode() for url in drills)
    assert "Won one" in pages and "Still open" not in pages


@pytest.mark.parametrize("hidden", ["end", "status"])
def test_overdue_activities_show_the_tasks_when_the_events_question_needs_a_hidden_field(
    tenant_a, tenant_b, admin, admin_of, member, hidden
):
    """A profile that hides the events' end or status (a row the profile service refuses for required fields,
    but one a profile may still hold - an import, an older rule) must not fail the whole widget, which is on
    every new workspace's default dashboard: the tasks are shown, the events left out."""
    from crm_apps.access.grants import access_changed
    from crm_apps.access.models import ProfileField

    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    with tenant_context(tenant_a):
        profile = profile_save(actor=admin, profile=None, name="No event times", flags={})
        ProfileField.objects.create(profile=profile, module="events", field=hidden, access="hidden")
        access_changed()
        role = role_create(
            actor=admin, name="Activity rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    rep = member(tenant_a, role=role)
    with tenant_context(tenant_a):
        record_create(
            spec=registry.get("tasks"),
            actor=admin,
            data={"subject": "Late", "due_date": past, "status": "not_started", "owner": rep.pk},
        )
        record_create(
            spec=registry.get("events"),
            actor=admin,
            data={"subject": "Missed", "start": f"{past}T09:00:00Z", "end": f"{past}T10:00:00Z", "owner": rep.pk},
        )
        board = Dashboard.objects.create(name="Rep's", owner=rep)
        widget = Widget.objects.create(dashboard=board, kind="overdue_activities")
    response = api_for(tenant_a, rep).get(f"/api/v1/dashboard-widgets/{widget.pk}/data")
    assert response.status_code == 200, response.content
    chart = response.json()["chart"]
    assert [(d["label"], d["data"]) for d in chart["datasets"]] == [("Tasks", [1.0])]
    # Another workspace cannot read the widget.
    assert api_for(tenant_b, admin_of(tenant_b)).get(f"/api/v1/dashboard-widgets/{widget.pk}/data").status_code == 404
