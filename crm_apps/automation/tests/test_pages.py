"""The settings pages: administrators only; the designer gets its state as JSON; run logs and webhooks."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.automation import services
from crm_apps.engine import registry
from crm_apps.engine.services import record_create

pytestmark = pytest.mark.django_db
DEFINITION = {"trigger": {"type": "manual"}, "actions": [{"id": "c", "type": "add_comment", "body": "hello"}]}


def test_pages_render_for_admins_only(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        workflow = services.workflow_create(actor=admin, name="Greeter", module="deals", definition=DEFINITION)
        deal = record_create(
            spec=registry.get("deals"),
            actor=admin,
            data={"name": "D", "amount": "1", "close_date": timezone.localdate().isoformat()},
        )
        (run,) = services.workflow_run_manually(actor=admin, workflow=workflow, record_ids=[str(deal.pk)])
    web = client_for(tenant_a, admin)
    index = web.get("/settings/automation/")
    assert index.status_code == 200 and "Greeter" in index.content.decode()
    page = web.get(f"/settings/automation/{workflow.pk}/").content.decode()
    found = re.search(r'id="workflow-designer-state" type="application/json">(.*?)</script>', page, re.S)
    assert found is not None
    state = json.loads(found.group(1))
    assert state["definition"] == DEFINITION and state["module"] == "deals"
    assert any(f["name"] == "stage" and f.get("choices") for f in state["fields"])
    assert "<script>" not in page  # no inline code (CSP)
    assert web.get("/settings/automation/new/?module=deals").status_code == 200
    assert web.get("/settings/automation/new/?module=nope").status_code == 404
    runs = web.get(f"/settings/automation/{workflow.pk}/runs/").content.decode()
    assert f"/settings/automation/{workflow.pk}/runs/{run.pk}/" in runs
    detail = web.get(f"/settings/automation/{workflow.pk}/runs/{run.pk}/").content.decode()
    assert "add_comment" in detail and "hello" in detail
    added = web.post("/settings/automation/webhooks/", {"name": "Out", "url": "ftp://x", "events": "deals.created"})
    assert added.status_code == 400 and "errorlist" in added.content.decode()
    toggled = web.post("/settings/automation/", {"toggle": workflow.pk})
    assert toggled.status_code == 302
    with tenant_context(tenant_a):
        workflow.refresh_from_db()
        assert workflow.enabled is False
    assert client_for(tenant_a, member(tenant_a)).get("/settings/automation/").status_code == 403


def test_another_tenants_workflow_pages_are_not_found(client_for, tenant_a, tenant_b, admin_of):
    with tenant_context(tenant_a):
        workflow = services.workflow_create(
            actor=admin_of(tenant_a), name="Mine", module="deals", definition=DEFINITION
        )
    web_b = client_for(tenant_b, admin_of(tenant_b))
    assert web_b.get(f"/settings/automation/{workflow.pk}/runs/").status_code == 404


def test_the_approvals_page_adds_and_toggles_processes(client_for, tenant_a, admin_of):
    from crm_apps.automation.models import ApprovalProcess

    web = client_for(tenant_a, admin_of(tenant_a))
    assert "Large deals need" in web.get("/settings/automation/approvals/").content.decode()
    bad = web.post("/settings/automation/approvals/", {"name": "X", "module": "deals", "approvers": "ceo"})
    assert bad.status_code == 400
    added = web.post(
        "/settings/automation/approvals/",
        {
            "name": "Discounts",
            "module": "deals",
            "entry": "amount > 10",
            "approvers": "manager",
            "locked_fields": "amount",
        },
    )
    assert added.status_code == 302
    with tenant_context(tenant_a):
        process = ApprovalProcess.objects.get(name="Discounts")
        assert process.steps == [{"approver": "manager", "mode": "any"}] and process.locked_fields == ["amount"]
    web.post("/settings/automation/approvals/", {"toggle": process.pk})
    with tenant_context(tenant_a):
        process.refresh_from_db()
        assert process.enabled is False
