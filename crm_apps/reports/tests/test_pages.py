"""Report pages: the menu link, the builder (preview, field errors, save), a result page with its chart data
and drill-down links, the drill-down list, exports; other tenants and members get 404."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.deals.models import Stage
from crm_apps.reports.models import Report

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


@pytest.fixture
def web(client_for, tenant_a, admin):
    return client_for(tenant_a, admin)


@pytest.fixture
def saved(tenant_a, admin):
    with tenant_context(tenant_a):
        stage = Stage.objects.order_by("position")[0]
        for amount in ("10", "20"):
            record_create(
                spec=DEALS,
                actor=admin,
                data={"name": "Pg", "close_date": "2027-01-05", "amount": amount, "stage": stage.pk},
            )
        return Report.objects.create(
            name="By stage",
            owner=admin,
            module="deals",
            definition={
                "module": "deals",
                "type": "summary",
                "group_by": ["stage"],
                "aggregates": [{"field": "amount", "op": "sum"}],
                "chart": {"type": "bar"},
            },
        )


def test_menu_link_and_list(web, saved):
    home = web.get("/").content.decode()
    assert 'data-app-link="reports"' in home
    page = web.get("/reports/")
    assert page.status_code == 200 and "By stage" in page.content.decode()


def test_builder_previews_shows_field_errors_and_saves(web, tenant_a):
    base = {
        "module": "deals",
        "type": "summary",
        "group1": "stage",
        "agg1_op": "sum",
        "agg1_field": "amount",
        "chart": "bar",
    }
    preview = web.post("/reports/new/", {**base, "run": "1"})
    assert preview.status_code == 200 and "data-report-preview" in preview.content.decode()
    bad = web.post("/reports/new/", {**base, "group1": "amount", "group1_by": "month", "run": "1"})
    assert "group_by.0" in bad.content.decode()
    created = web.post("/reports/new/", {**base, "save": "1", "name": "Saved from builder"})
    assert created.status_code == 302
    with tenant_context(tenant_a):
        report = Report.objects.get(name="Saved from builder")
    assert report.definition["group_by"] == ["stage"]
    edit = web.get(f"/reports/{report.pk}/edit/")
    assert 'value="stage" selected' in edit.content.decode()


def test_result_page_chart_drill_down_and_exports(web, saved):
    page = web.get(f"/reports/{saved.pk}/")
    body = page.content.decode()
    chart = json.loads(body.split('id="report-chart-data" type="application/json">')[1].split("</script>")[0])
    assert chart["datasets"][0]["data"] == [30.0]
    drill = chart["datasets"][0]["drill"][0]
    assert drill in body.replace("&amp;", "&")
    records = web.get(drill)
    assert records.status_code == 200 and records.content.decode().count("/m/deals/") >= 2
    assert web.get(f"/reports/{saved.pk}/export.csv").status_code == 200


def test_other_members_and_tenants_get_404(saved, client_for, tenant_a, tenant_b, member, admin_of):
    stranger = client_for(tenant_a, member(tenant_a))
    assert stranger.get(f"/reports/{saved.pk}/").status_code == 404
    assert stranger.get(f"/reports/{saved.pk}/drill/?d=[]").status_code == 404
    beta = client_for(tenant_b, admin_of(tenant_b))
    assert beta.get(f"/reports/{saved.pk}/").status_code == 404
    assert beta.get(f"/reports/{saved.pk}/export.pdf").status_code == 404


def test_the_owner_schedules_a_report_from_its_page(web, saved, tenant_a):
    from crm_apps.reports.models import ReportSchedule

    response = web.post(
        f"/reports/{saved.pk}/schedules/",
        {
            "frequency": "weekly",
            "weekdays": ["0", "4"],
            "at": "07:30",
            "format": "pdf",
            "me": "1",
            "addresses": "a@example.com",
        },
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        schedule = ReportSchedule.objects.get(report=saved)
    assert (schedule.weekdays, schedule.format, schedule.addresses) == ([0, 4], "pdf", ["a@example.com"])
    page = web.get(f"/reports/{saved.pk}/").content.decode()
    assert "data-report-schedules" in page and "a@example.com" in page
    # the schedule form is drawn once, in the page (it once also landed inside the <title>)
    assert page.count("data-report-schedules") == 1
    title = page[page.index("<title>") : page.index("</title>")]
    assert "<form" not in title and saved.name in title
    assert web.post(f"/reports/{saved.pk}/schedules/{schedule.pk}/delete/").status_code == 302
    with tenant_context(tenant_a):
        assert not ReportSchedule.objects.filter(report=saved).exists()


def test_the_builder_saves_into_a_folder_and_shares_with_members_roles_and_groups(
    web, tenant_a, admin, member, client_for
):
    from crm_apps.access.models import Group, Role
    from crm_apps.reports.models import ReportFolder

    reader, outsider = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        role = Role.objects.exclude(pk=reader.role_id).first()
        group = Group.objects.create(name="Report readers")
    base = {"module": "deals", "type": "summary", "group1": "stage", "agg1_op": "count", "save": "1"}
    form = web.get("/reports/new/?module=deals").content.decode()
    assert 'name="folder"' in form and 'name="new_folder"' in form and 'name="shared_groups"' in form
    # A bad folder id changes nothing (no report, no folder).
    bad = web.post("/reports/new/", {**base, "name": "Bad folder", "folder": "999999"})
    assert bad.status_code == 400
    created = web.post(
        "/reports/new/",
        {
            **base,
            "name": "Team numbers",
            "new_folder": "Sales team",
            "sharing": "shared",
            "shared_members": [str(reader.pk)],
            "shared_roles": [str(role.pk)] if role else [],
            "shared_groups": [str(group.pk)],
        },
    )
    assert created.status_code == 302, created.content.decode()[:500]
    with tenant_context(tenant_a):
        assert not Report.objects.filter(name="Bad folder").exists()
        report = Report.objects.get(name="Team numbers")
        assert report.folder is not None and report.folder.name == "Sales team"
        assert list(report.shared_members.values_list("pk", flat=True)) == [reader.pk]
        assert list(report.shared_groups.values_list("pk", flat=True)) == [group.pk]
        folder_id = report.folder_id
    edit = web.get(f"/reports/{report.pk}/edit/").content.decode()
    assert f'value="{folder_id}" selected' in edit and f'value="{reader.pk}" selected' in edit
    # Saved again into the existing folder by id; no second folder of the same name.
    again = web.post(
        f"/reports/{report.pk}/edit/",
        {
            **base,
            "name": "Team numbers",
            "folder": str(folder_id),
            "sharing": "shared",
            "shared_members": [str(reader.pk)],
        },
    )
    assert again.status_code == 302
    with tenant_context(tenant_a):
        assert ReportFolder.objects.filter(name="Sales team").count() == 1
    assert client_for(tenant_a, reader).get(f"/reports/{report.pk}/").status_code == 200
    assert client_for(tenant_a, outsider).get(f"/reports/{report.pk}/").status_code == 404


DEEP_FILTERS = {
    "match": "any",
    "conditions": [
        {"field": "name", "op": "eq", "value": "Nobody"},
        {
            "match": "all",
            "conditions": [{"match": "any", "conditions": [{"field": "amount", "op": "gte", "value": 15}]}],
        },
    ],
}


def test_a_report_whose_filters_nest_every_level_still_drills_down(
    web, tenant_a, admin, saved, client_for, tenant_b, admin_of
):
    """A report may nest filter groups three deep; its drill-down adds the group's conditions around them (a
    saved report's on the server, a preview's or a widget's in the link), one level more - still allowed there."""
    from crm_apps.reports import charts

    with tenant_context(tenant_a):
        for name, amount in (("Smallish", "12"), ("Biggish", "18")):
            record_create(spec=DEALS, actor=admin, data={"name": name, "close_date": "2027-01-05", "amount": amount})
        deep = Report.objects.create(
            name="Deep",
            owner=admin,
            module="deals",
            definition={**saved.definition, "filters": DEEP_FILTERS},
        )
    body = web.get(f"/reports/{deep.pk}/").content.decode()
    chart = json.loads(body.split('id="report-chart-data" type="application/json">')[1].split("</script>")[0])
    pages = []
    for drill in chart["datasets"][0]["drill"]:
        response = web.get(drill)
        assert response.status_code == 200, drill
        pages.append(response.content.decode())
    assert "Biggish" in "".join(pages) and "Smallish" not in "".join(pages)
    # An unsaved definition's drill link carries the filters in the link: same depth, same records.
    with tenant_context(tenant_a):
        on_the_5th = [{"field": "close_date", "op": "eq", "value": "2027-01-05"}]
        url = charts.drill_url(None, "deals", on_the_5th, DEEP_FILTERS)
    adhoc = web.get(url)
    assert adhoc.status_code == 200
    assert "Biggish" in adhoc.content.decode() and "Smallish" not in adhoc.content.decode()
    # Deeper than that is still refused; another workspace cannot drill into the report.
    too_deep = [{"match": "all", "conditions": [DEEP_FILTERS]}]
    assert web.get(f"/reports/{deep.pk}/drill/", {"d": json.dumps(too_deep)}).status_code == 404
    assert client_for(tenant_b, admin_of(tenant_b)).get(drill).status_code == 404
