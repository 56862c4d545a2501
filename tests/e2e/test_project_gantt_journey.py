"""Issue 20's projects journey: a won deal becomes a project, its tasks are dragged on the Gantt chart (the
dependant moves with it and the new dates are saved), the move is undone and a task is resized."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def steady_box(page, locator):
    """The element's box once the chart stopped scrolling (it scrolls smoothly to today when drawn)."""
    box = None
    for _attempt in range(40):
        page.wait_for_timeout(150)
        now = locator.bounding_box()
        if now is not None and now == box:
            return now
        box = now
    raise AssertionError("the chart kept moving")


def test_drag_a_task_on_the_gantt_chart_and_undo(live_site, browser, committed):
    from crm_apps.access.models import Member
    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create
    from crm_apps.modules.deals.services import deal_close
    from crm_apps.modules.projects.models import Project
    from crm_apps.modules.projecttasks.models import ProjectTask

    admin = make_user(committed.email(), name="Pat Planner")
    tenant = tenant_provision(slug=committed.slug("prj"), name="Delivery Co", admin=admin)
    today = dt.date.today()
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
        deal = record_create(
            spec=registry.get("deals"), actor=actor, data={"name": "Globex rollout", "close_date": "2027-06-30"}
        )
        deal_close(actor=actor, deal=deal, won=True)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")

    # The won deal's page: "Create project" makes a project for the deal.
    page.goto(f"{base}/m/deals/{deal.pk}/")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r".*/m/projects/[0-9a-f-]+/$"))
    with tenant_context(tenant):
        project = Project.objects.get(deal=deal)
        tasks = registry.get("project-tasks")
        design = record_create(
            spec=tasks,
            actor=actor,
            data={
                "name": "Design",
                "project": project.pk,
                "start_date": today.isoformat(),
                "end_date": (today + dt.timedelta(days=4)).isoformat(),
            },
        )
        build = record_create(
            spec=tasks,
            actor=actor,
            data={
                "name": "Build",
                "project": project.pk,
                "start_date": (today + dt.timedelta(days=6)).isoformat(),
                "end_date": (today + dt.timedelta(days=8)).isoformat(),
                "depends_on": [design.pk],
            },
        )

    # The project's page links to its Gantt chart: bars, the dependency arrow, today's line.
    page.reload()
    page.get_by_role("link", name="Gantt chart").first.click()
    page.wait_for_url(re.compile(r".*/projects/[0-9a-f-]+/gantt/$"))
    bar = page.locator(f'.bar-wrapper[data-id="{design.pk}"] .bar')
    bar.wait_for()
    assert page.locator(".gantt .arrow").count() == 1
    bar.scroll_into_view_if_needed()
    box = steady_box(page, bar)
    day = box["width"] / 5  # Design lasts five days

    # Drag Design three days later: Build (which must start after Design ends) moves too, and both are saved.
    # Grab the bar left of its centred label (pointer offsets over the label's text are its own).
    x, y = box["x"] + box["width"] / 5, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + day * 3.4, y)  # a little over three days: the chart snaps to whole days
    page.mouse.up()
    status = page.locator("[data-gantt-status]")
    status.get_by_role("button", name="Undo").wait_for()
    with tenant_context(tenant):
        moved = ProjectTask.objects.get(pk=design.pk)
        pushed = ProjectTask.objects.get(pk=build.pk)
    assert "Build" in status.inner_text()
    assert (moved.start_date, moved.end_date) == (today + dt.timedelta(days=3), today + dt.timedelta(days=7))
    assert (pushed.start_date, pushed.end_date) == (today + dt.timedelta(days=8), today + dt.timedelta(days=10))
    # The table below the chart shows the saved dates (keyboard and phone users edit there).
    start_input = page.locator(f'[data-task-row="{build.pk}"] [data-task-start]')
    assert start_input.input_value() == (today + dt.timedelta(days=8)).isoformat()

    # Undo puts both back.
    status.get_by_role("button", name="Undo").click()
    page.wait_for_function(
        "([sel, value]) => document.querySelector(sel).value === value",
        arg=[f'[data-task-row="{build.pk}"] [data-task-start]', (today + dt.timedelta(days=6)).isoformat()],
    )
    with tenant_context(tenant):
        assert ProjectTask.objects.get(pk=design.pk).start_date == today
        assert ProjectTask.objects.get(pk=build.pk).start_date == today + dt.timedelta(days=6)

    # Resize Build: its right end dragged two days later is its new end date.
    handle = page.locator(f'.bar-wrapper[data-id="{build.pk}"] .handle.right')
    handle.scroll_into_view_if_needed()
    box = steady_box(page, handle)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + day * 2.4, y)
    page.mouse.up()
    page.wait_for_function(
        "([sel, value]) => document.querySelector(sel).value === value",
        arg=[f'[data-task-row="{build.pk}"] [data-task-end]', (today + dt.timedelta(days=10)).isoformat()],
    )
    with tenant_context(tenant):
        resized = ProjectTask.objects.get(pk=build.pk)
    assert (resized.start_date, resized.end_date) == (today + dt.timedelta(days=6), today + dt.timedelta(days=10))
    assert errors == [], errors

    # The project screens pass axe-core's checks (WCAG 2.1 A/AA and best practices); the chart itself is
    # hidden from assistive technology, the table below it is the accessible way.
    from tests.e2e.test_shell_journey import axe_violations

    failures = {}
    for path in [
        f"/projects/{project.pk}/gantt/",
        f"/m/project-tasks/{build.pk}/",
        f"/m/project-tasks/board/?project={project.pk}",
        f"/projects/workload/?project={project.pk}",
        "/settings/modules/projects/templates/",
    ]:
        page.goto(base + path)
        found = axe_violations(page)
        if found:
            failures[path] = found
    assert failures == {}, "\n".join(f"{p}: {v}" for p, vs in failures.items() for v in vs)
