"""Build a summary report with a chart in the builder, drill down into its records from a bar of the chart and
from a figure of its table, add it to a dashboard, drag the widget to another place on the grid and resize it,
and add a mini list of a saved view whose rows open records."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_build_a_report_drill_down_and_put_it_on_a_dashboard(live_site, browser, committed):
    from crm_apps.access.models import Member
    from crm_apps.engine.models import SavedView
    from crm_apps.reports.models import Report, Widget

    admin = make_user(committed.email(), name="Rae Porter")
    tenant = tenant_provision(slug=committed.slug("rep"), name="Reports Co", admin=admin)
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
        for name, amount in (("Kayak order", "120"), ("Canoe order", "80")):
            record_create(
                spec=registry.get("deals"),
                actor=actor,
                data={"name": name, "close_date": "2027-03-31", "amount": amount},
            )
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    context = browser.new_context(timezone_id="UTC", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")

    # The builder: from the menu, choose the module (the form reloads with its fields), then the rest.
    page.locator("[data-app-link='reports']").click()
    page.locator("[data-report-new]").click()
    page.locator("select[name=module]").select_option("deals")
    page.wait_for_selector("select[name=group1]")
    page.locator("select[name=type]").select_option("summary")
    page.locator("select[name=group1]").select_option("stage")
    page.locator("select[name=agg1_op]").select_option("sum")
    page.locator("select[name=agg1_field]").select_option("amount")
    page.locator("select[name=chart]").select_option("bar")
    page.locator("[data-report-run]").click()
    page.wait_for_selector("[data-report-preview]")
    assert errors == []
    page.wait_for_selector("[data-report-preview] canvas[data-chart-ready='1']", state="attached")
    assert "200.00" in page.locator("[data-report-preview] [data-report-table]").inner_text()
    page.locator("input[name=name]").fill("Pipeline by stage")
    page.locator("[data-report-save]").click()
    page.wait_for_url(re.compile(r".*/reports/\d+/$"))
    page.wait_for_selector("canvas[data-chart-ready='1']", state="attached")

    # Drill down from the chart: click the stage's bar, and get its records.
    bar = page.evaluate(
        """() => {
          const canvas = document.querySelector("canvas[data-report-canvas]");
          const element = canvas.reportChart.getDatasetMeta(0).data[0];
          return { x: element.x, y: (element.y + element.base) / 2 };
        }"""
    )
    page.locator("canvas[data-report-canvas]").click(position={"x": bar["x"], "y": bar["y"]})
    page.wait_for_selector("[data-report-drill-list]")
    listed = page.locator("[data-report-drill-list]").inner_text()
    assert "Kayak order" in listed and "Canoe order" in listed
    page.go_back()
    page.wait_for_selector("canvas[data-chart-ready='1']", state="attached")

    # And from a figure of the summary table (the stage's sum): the same records.
    page.locator("[data-report-cell-drill]").first.click()
    page.wait_for_selector("[data-report-drill-list]")
    listed = page.locator("[data-report-drill-list]").inner_text()
    assert "Kayak order" in listed and "Canoe order" in listed

    # A dashboard of one's own with the report on it, then drag its widget to the right.
    page.locator("[data-app-link='dashboards']").click()
    page.wait_for_selector("[data-dashboard][data-ready='1']", state="attached")
    page.get_by_placeholder("New dashboard").fill("My numbers")
    page.get_by_role("button", name="Add", exact=True).first.click()
    # The dashboard we left has a ready grid and an "Add a widget" form too: wait for the new one's page.
    page.locator(".dashboard-tabs [aria-current=page]", has_text="My numbers").wait_for()
    page.wait_for_selector("[data-dashboard][data-ready='1']", state="attached")
    with tenant_context(tenant):
        report = Report.objects.get(name="Pipeline by stage")
    page.locator("[data-widget-add] select[name=kind]").select_option("report")
    page.locator("[data-widget-add] select[name=report]").select_option(str(report.pk))
    page.locator("[data-widget-add] button[type=submit]").click()
    page.wait_for_selector("[data-widget] [data-widget-url][data-loaded='1']")
    item = page.locator("[data-widget]").first
    box = item.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 500, box["y"] + 30, steps=12)
    page.mouse.up()
    page.wait_for_function("() => document.querySelector('[data-dashboard]').dataset.saved !== undefined")
    with tenant_context(tenant):
        widget = Widget.objects.get(report=report)
    assert widget.x > 0

    # Resize it from its bottom-right handle: wider and taller, saved.
    before = (widget.w, widget.h)
    saved = page.locator("[data-dashboard]").get_attribute("data-saved")
    item = page.locator("[data-widget]").first
    item.hover()
    handle = item.locator(".ui-resizable-se")
    corner = handle.bounding_box()
    assert corner is not None
    page.mouse.move(corner["x"] + corner["width"] / 2, corner["y"] + corner["height"] / 2)
    page.mouse.down()
    page.mouse.move(corner["x"] - 150, corner["y"] + 170, steps=12)
    page.mouse.up()
    page.wait_for_function("(before) => document.querySelector('[data-dashboard]').dataset.saved !== before", arg=saved)
    with tenant_context(tenant):
        widget.refresh_from_db()
    assert (widget.w, widget.h) != before and widget.h > before[1]

    # A mini list of a saved list view: its first rows, each a link to its record.
    with tenant_context(tenant):
        view = SavedView.objects.create(module="deals", name="All deals", owner=actor, filters={})
    page.reload()
    page.wait_for_selector("[data-dashboard][data-ready='1']", state="attached")
    page.locator("[data-widget-add] select[name=kind]").select_option("saved_view")
    page.locator("[data-widget-add] select[name=view]").select_option(str(view.pk))
    page.locator("[data-widget-add] button[type=submit]").click()
    page.wait_for_selector("[data-widget] [data-widget-url][data-loaded='1'] table a")
    listed = page.locator("[data-widget]").last.inner_text()
    assert "Kayak order" in listed and "Canoe order" in listed
    page.locator("[data-widget]").last.get_by_role("link", name="Kayak order").click()
    page.wait_for_url(re.compile(r".*/m/deals/[0-9a-f-]+/$"))
    assert errors == []
    context.close()
