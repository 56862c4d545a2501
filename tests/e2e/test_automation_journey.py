"""Issue 22's journey: in the designer, build "when a deal moves to Negotiation, create a task for the
owner due in 2 days and notify the manager"; move the deal in the browser (its stage field); see the task
and the run log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.models import Member, Role
from crm_apps.access.services import member_create
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from tenants.services import tenant_provision
from tests.e2e.test_calls_documents_journey import signed_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_negotiation_follow_up_built_in_the_designer(live_site, browser, committed):
    from crm_apps.modules.calendar.models import Task
    from crm_apps.modules.deals.models import Stage
    from crm_apps.notifications.models import Notification

    admin_user = make_user(committed.email(), name="Ada Admin")
    tenant = tenant_provision(slug=committed.slug("auto"), name="Auto Co", admin=admin_user)
    rep_user = make_user(committed.email(), name="Rex Rep")
    with tenant_context(tenant):
        admin = Member.objects.get(user=admin_user)
        top = Role.objects.get(parent__isnull=True)
        manager_role = Role.objects.create(name="Sales manager", parent=top)
        manager_role.profiles.set(top.profiles.all())
        rep_role = Role.objects.create(name="Sales rep", parent=manager_role)
        rep_role.profiles.set(top.profiles.all())
        Member.objects.filter(pk=admin.pk).update(role=manager_role)
        rep = member_create(tenant=tenant, user=rep_user, role=rep_role)
        negotiation = Stage.objects.get(name="Negotiation or Review")
        deal = record_create(
            spec=registry.get("deals"),
            actor=rep,
            data={
                "name": "Big Sale",
                "amount": "5000",
                "close_date": timezone.localdate().isoformat(),
                "owner": rep.pk,
            },
        )
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = signed_in(browser, base, admin_user.email)

    page.goto(f"{base}/settings/automation/")
    page.get_by_label("Module").select_option("deals")
    page.get_by_role("button", name="Open the designer").click()
    page.wait_for_function("() => document.querySelector('[data-publish]') !== null")
    page.get_by_role("textbox", name="Name", exact=True).fill("Negotiation follow-up")
    page.get_by_role("combobox", name="When", exact=True).select_option("field_changed")
    page.get_by_role("combobox", name="Field", exact=True).select_option("stage")
    page.get_by_role("combobox", name="To (optional)").select_option(str(negotiation.pk))

    page.get_by_role("button", name="Add a rule").click()
    page.get_by_role("textbox", name="Expression 1").fill("amount > 1000 and organization.name = null")

    page.get_by_role("combobox", name="Add an action").select_option("create_record")
    page.get_by_role("button", name="Add an action").click()
    page.get_by_role("combobox", name="Module", exact=True).select_option("tasks")
    page.get_by_role("textbox", name="Fields to set").fill(
        "subject = =concat('Negotiate ', name)\ndue_date = =add_days(today(), 2)\nowner = =owner.id"
    )
    page.get_by_role("combobox", name="Add an action").select_option("notify")
    page.get_by_role("button", name="Add an action").click()
    page.get_by_role("textbox", name="Recipients").fill("manager")
    page.get_by_role("textbox", name="Message", exact=True).fill("Negotiation started")
    # Keyboard: the publish button is reachable and usable with Enter.
    page.locator("[data-publish]").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('.wf-status').textContent !== ''")
    assert page.locator(".wf-status").inner_text() == "Published as version 1."

    # The rep moves their deal in the browser: the stage bar on the deal's page.
    rep_page = signed_in(browser, base, rep_user.email)
    rep_page.goto(f"{base}/m/deals/{deal.pk}/")
    rep_page.locator(".stagebar").get_by_role("button", name="Negotiation or Review").click()
    rep_page.wait_for_function(
        "() => document.querySelector('.stagebar [aria-current=step]')?.textContent.includes('Negotiation')"
    )
    # The rep finds the task the workflow made for them on the tasks list.
    rep_page.goto(f"{base}/m/tasks/")
    assert rep_page.get_by_role("link", name="Negotiate Big Sale").count() >= 1
    with tenant_context(tenant):
        from crm_apps.automation.models import Workflow, WorkflowRun

        runs = list(WorkflowRun.objects.values("status", "error", "trigger", "actor_id"))
        assert [r["status"] for r in runs] == ["succeeded"], runs
        assert runs[0]["actor_id"] == rep.pk  # the member who moved the deal
        task = Task.objects.get(subject="Negotiate Big Sale")
        assert task.owner_id == rep.pk
        assert task.due_date == timezone.localdate() + dt.timedelta(days=2)
        assert Notification.objects.filter(recipient=admin, kind="workflow", record_id=deal.pk).exists()
        workflow = Workflow.objects.get(name="Negotiation follow-up")

    # The manager (the admin, above the rep's role) has the workflow's notification in the app.
    page.goto(f"{base}/notifications/")
    assert "Negotiation started" in page.locator("main").inner_text()
    page.goto(f"{base}/settings/automation/{workflow.pk}/runs/")
    log = page.locator("[data-run-log]").inner_text()
    assert "field_changed" in log and "Succeeded" in log
    page.locator("[data-run-log] a").first.click()
    steps = page.locator("[data-run-steps]").inner_text()
    assert "create_record" in steps and "notify" in steps


def test_the_designer_builds_each_kind_of_schedule_and_shows_the_field_errors(live_site, browser, committed):
    """Designer round trip: weekly and monthly (last day) are published as the API's JSON, a bad cron
    expression is refused beside its box, a good one is published, and the reopened designer shows it."""
    from crm_apps.automation.models import Workflow

    admin_user = make_user(committed.email(), name="Ada Admin")
    tenant = tenant_provision(slug=committed.slug("sched"), name="Sched Co", admin=admin_user)
    tenant.timezone = "Europe/Riga"
    tenant.save(update_fields=["timezone"])
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = signed_in(browser, base, admin_user.email)
    page.goto(f"{base}/settings/automation/new/?module=deals")
    page.wait_for_function("() => document.querySelector('[data-publish]') !== null")
    page.get_by_role("textbox", name="Name", exact=True).fill("Weekly review")
    page.get_by_role("combobox", name="When", exact=True).select_option("schedule")
    page.get_by_role("combobox", name="Repeats").select_option("weekly")
    page.get_by_role("checkbox", name="Tue").check()
    page.get_by_role("checkbox", name="Mon").uncheck()
    page.get_by_label("At (HH:MM)").fill("08:30")
    assert "Europe/Riga" in page.locator(".wf-node--trigger").inner_text()
    page.get_by_role("combobox", name="Add an action").select_option("add_comment")
    page.get_by_role("button", name="Add an action").click()
    page.get_by_role("textbox", name="Comment").fill("Review")
    page.locator("[data-publish]").click()
    page.wait_for_function("() => document.querySelector('.wf-status').textContent.includes('version 1')")
    with tenant_context(tenant):
        workflow = Workflow.objects.select_related("current").get(name="Weekly review")
        assert workflow.current is not None
        assert workflow.current.definition["trigger"] == {
            "type": "schedule",
            "weekly": {"days": ["tue"], "at": "08:30"},
        }

    page.get_by_role("combobox", name="Repeats").select_option("monthly")
    page.get_by_role("combobox", name="Day of the month").select_option("last")
    page.locator("[data-publish]").click()
    page.wait_for_function("() => document.querySelector('.wf-status').textContent.includes('version 2')")
    with tenant_context(tenant):
        workflow.refresh_from_db()
        assert workflow.current is not None
        assert workflow.current.definition["trigger"] == {
            "type": "schedule",
            "monthly": {"day": "last", "at": "09:00"},
        }

    page.get_by_role("combobox", name="Repeats").select_option("cron")
    page.get_by_role("textbox", name="Cron (minute hour day month weekday)").fill("61 * * * *")
    page.locator("[data-publish]").click()
    page.wait_for_function("() => document.querySelector('[data-path=\"trigger.cron\"] .errorlist') !== null")
    assert "Not a cron expression" in page.locator('[data-path="trigger.cron"] .errorlist').inner_text()
    with tenant_context(tenant):
        current = Workflow.objects.get(pk=workflow.pk).current
        assert current is not None and current.number == 2  # nothing published
    page.get_by_role("textbox", name="Cron (minute hour day month weekday)").fill("30 8 * * 1-5")
    page.locator("[data-publish]").click()
    page.wait_for_function("() => document.querySelector('.wf-status').textContent.includes('version 3')")

    page.goto(f"{base}/settings/automation/{workflow.pk}/")
    page.wait_for_function("() => document.querySelector('[data-publish]') !== null")
    assert page.get_by_role("combobox", name="Repeats").input_value() == "cron"
    assert page.get_by_role("textbox", name="Cron (minute hour day month weekday)").input_value() == "30 8 * * 1-5"
