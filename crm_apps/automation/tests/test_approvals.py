"""Approvals: submission on entry conditions, the lock, approve/reject with comments, steps with any/all
groups, escalation, outcome workflows, the shipped example, and isolation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.access.models import Group, Role
from crm_apps.automation import approvals, services
from crm_apps.automation.models import ApprovalProcess, ApprovalRequest, ApprovalStatus, WorkflowRun
from crm_apps.engine import registry
from crm_apps.engine.models import Comment
from crm_apps.engine.services import record_create, record_delete, record_update, records_merge
from crm_apps.notifications.models import Notification

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")


def _deal(actor: Any, amount: str = "100", **data: Any) -> Any:
    values = {"name": "Deal", "amount": amount, "close_date": timezone.localdate().isoformat(), **data}
    return record_create(spec=DEALS, actor=actor, data=values)


@pytest.fixture
def team(tenant_a, member):
    """A manager above a rep in the role tree."""
    with tenant_context(tenant_a):
        top = Role.objects.get(parent__isnull=True)
        boss_role = Role.objects.create(name="Approving manager", parent=top)
        rep_role = Role.objects.create(name="Approving rep", parent=boss_role)
        for role in (boss_role, rep_role):
            role.profiles.set(top.profiles.all())
    return member(tenant_a, role=boss_role), member(tenant_a, role=rep_role)


def _process(admin: Any, **data: Any) -> ApprovalProcess:
    approved = services.workflow_create(
        actor=admin,
        name="Approved",
        module="deals",
        definition={
            "trigger": {"type": "manual"},
            "actions": [{"id": "p", "type": "update_fields", "values": {"probability": 90}}],
        },
    )
    values = {
        "module": "deals",
        "name": "Big deals",
        "entry": {"match": "all", "rules": [{"expr": "amount >= 50000"}]},
        "steps": [{"approver": "manager", "mode": "any"}],
        "locked_fields": ["amount"],
        "on_approved": approved.pk,
        **data,
    }
    return approvals.approval_process_save(actor=admin, data=values)


def test_a_big_deal_waits_for_the_manager_is_locked_and_approval_runs_the_outcome(tenant_a, admin_of, team):
    admin = admin_of(tenant_a)
    boss, rep = team
    with tenant_context(tenant_a):
        _process(admin)
        small = _deal(rep, "10", owner=rep.pk)
        assert not ApprovalRequest.objects.filter(record_id=str(small.pk)).exists()
        deal = _deal(rep, "60000", owner=rep.pk)
        request = ApprovalRequest.objects.get(record_id=str(deal.pk))
        assert request.status == ApprovalStatus.PENDING
        assert Notification.objects.filter(recipient=boss, kind="approval", record_id=deal.pk).exists()
        # Locked field: refused with a field message; other fields may change.
        with pytest.raises(ValidationError) as caught:
            record_update(spec=DEALS, actor=rep, record=deal, data={"amount": "1"})
        assert "amount" in caught.value.message_dict
        record_update(spec=DEALS, actor=rep, record=deal, data={"name": "Renamed"})
        with pytest.raises(ValidationError):
            record_delete(spec=DEALS, actor=admin, record=deal)
        # ... nor merged away as a duplicate (the list's Merge puts the others in the recycle bin)
        other = _deal(rep, "10", owner=rep.pk, name="Same deal")
        with pytest.raises(ValidationError):
            records_merge(spec=DEALS, actor=admin, primary_id=other.pk, other_ids=[deal.pk], choices={})
        # Only an approver decides.
        with pytest.raises(PermissionDenied):
            approvals.approval_decide(actor=rep, request=request, approve=True)
        request = approvals.approval_decide(actor=boss, request=request, approve=True, comment="fine")
        assert request.status == ApprovalStatus.APPROVED
        deal.refresh_from_db()
        assert deal.probability == 90  # the outcome workflow ran
        assert WorkflowRun.objects.filter(record_id=str(deal.pk), trigger="approval", status="succeeded").exists()
        assert Comment.objects.filter(module="deals", record_id=deal.pk, body__startswith="Approved").exists()
        record_update(spec=DEALS, actor=rep, record=deal, data={"amount": "70000"})  # unlocked now


def test_rejection_needs_a_comment_and_a_group_with_all_needs_everyone(tenant_a, admin_of, member, team):
    admin = admin_of(tenant_a)
    boss, rep = team
    first, second = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        group = Group.objects.create(name="Approvers board")
        group.members.set([first, second])
        _process(
            admin, steps=[{"approver": f"group:{group.pk}", "mode": "all"}, {"approver": "manager"}], locked_fields=[]
        )
        deal = _deal(rep, "90000", owner=rep.pk)
        request = ApprovalRequest.objects.get(record_id=str(deal.pk))
        with pytest.raises(ValidationError):  # the whole record is locked
            record_update(spec=DEALS, actor=rep, record=deal, data={"name": "x"})
        request = approvals.approval_decide(actor=first, request=request, approve=True)
        assert request.step == 0  # the second group member has not approved yet
        request = approvals.approval_decide(actor=second, request=request, approve=True)
        assert request.step == 1 and request.status == ApprovalStatus.PENDING
        with pytest.raises(ValidationError) as caught:
            approvals.approval_decide(actor=boss, request=request, approve=False)
        assert "comment" in caught.value.message_dict
        request = approvals.approval_decide(actor=boss, request=request, approve=False, comment="too cheap")
        assert request.status == ApprovalStatus.REJECTED
        record_update(spec=DEALS, actor=rep, record=deal, data={"name": "Unlocked"})


def test_escalation_lets_the_owners_manager_decide(tenant_a, admin_of, member, team):
    admin = admin_of(tenant_a)
    boss, rep = team
    away = member(tenant_a)
    with tenant_context(tenant_a):
        _process(admin, steps=[{"approver": f"member:{away.pk}", "escalate_after_hours": 24}])
        deal = _deal(rep, "55000", owner=rep.pk)
        request = ApprovalRequest.objects.get(record_id=str(deal.pk))
        with pytest.raises(PermissionDenied):
            approvals.approval_decide(actor=boss, request=request, approve=True)
        assert approvals.escalations_due(timezone.now() + dt.timedelta(hours=1)) == 0
        assert approvals.escalations_due(timezone.now() + dt.timedelta(hours=25)) == 1
        assert Notification.objects.filter(
            recipient=boss, kind="approval", dedupe_key__endswith=":escalated:" + str(boss.pk)
        ).exists()
        request.refresh_from_db()
        assert approvals.approval_decide(actor=boss, request=request, approve=True).status == ApprovalStatus.APPROVED


def test_the_shipped_example_exists_disabled_and_processes_are_per_tenant(tenant_a, tenant_b, admin_of):
    with tenant_context(tenant_a):
        example = ApprovalProcess.objects.get(system_key="example:large_deals")
        assert example.enabled is False and example.steps[0]["approver"] == "manager"
        mine = _process(admin_of(tenant_a))
    with tenant_context(tenant_b):
        assert not ApprovalProcess.objects.filter(pk=mine.pk).exists()
        deal = _deal(admin_of(tenant_b), "99999")
        assert not ApprovalRequest.objects.filter(record_id=str(deal.pk)).exists()


def test_the_shipped_quote_example_holds_a_quote_discounted_over_20_percent_for_a_sales_manager(
    client_for, tenant_a, admin_of, team
):
    boss, rep = team
    with tenant_context(tenant_a):
        example = ApprovalProcess.objects.get(system_key="example:quote_discount")
        assert example.enabled is False and example.module == "quotes"
        ApprovalProcess.objects.filter(pk=example.pk).update(enabled=True)
        from crm_apps.engine.metadata import metadata_changed

        metadata_changed()
    api = client_for(tenant_a, rep)
    ids = {}
    for name, percent in (("Small discount", "10"), ("Big discount", "30")):
        answer = api.post(
            "/api/v1/quotes/",
            {
                "subject": name,
                "discount_percent": percent,
                "lines": [{"description": "Work", "quantity": "1", "list_price": "1000"}],
            },
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.content
        ids[name] = answer.json()["id"]
    with tenant_context(tenant_a):
        assert not ApprovalRequest.objects.filter(record_id=ids["Small discount"]).exists()
        request = ApprovalRequest.objects.get(record_id=ids["Big discount"], status=ApprovalStatus.PENDING)
        assert Notification.objects.filter(recipient=boss, kind="approval").exists()
    # The whole quote is locked while pending (its lines and discounts make the total).
    refused = api.patch(
        f"/api/v1/quotes/{ids['Big discount']}/", {"discount_percent": "25"}, content_type="application/json"
    )
    assert refused.status_code == 400 and "waiting for approval" in refused.content.decode()
    with tenant_context(tenant_a):
        decided = approvals.approval_decide(actor=boss, request=request, approve=True, comment="ok")
        assert decided.status == ApprovalStatus.APPROVED
        assert Comment.objects.filter(module="quotes", body="Discount approved: send the quote.").exists()


def test_invalid_processes_are_field_errors(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        with pytest.raises(ValidationError) as caught:
            approvals.approval_process_save(
                actor=admin,
                data={
                    "module": "deals",
                    "name": "",
                    "entry": {"rules": [{"expr": "1 +"}]},
                    "steps": [{"approver": "ceo"}],
                    "locked_fields": ["nope"],
                },
            )
        assert {"name", "entry.rules.0", "steps.0.approver", "locked_fields"} <= set(caught.value.message_dict)
        with pytest.raises(PermissionDenied):
            approvals.approval_process_save(actor=member(tenant_a), data={"module": "deals"})


def test_the_record_panel_shows_the_pending_approval_and_takes_the_decision(client_for, tenant_a, admin_of, team):
    admin = admin_of(tenant_a)
    boss, rep = team
    with tenant_context(tenant_a):
        _process(admin)
        deal = _deal(rep, "75000", owner=rep.pk)
        request = ApprovalRequest.objects.get(record_id=str(deal.pk))
    page = client_for(tenant_a, boss).get(f"/m/deals/{deal.pk}/").content.decode()
    assert "data-automation-panel" in page and f"/automation/approvals/{request.pk}/decide" in page
    rep_page = client_for(tenant_a, rep).get(f"/m/deals/{deal.pk}/").content.decode()
    assert f"/automation/approvals/{request.pk}/decide" not in rep_page  # not an approver
    answer = client_for(tenant_a, boss).post(
        f"/automation/approvals/{request.pk}/decide", {"decision": "reject", "comment": "no"}
    )
    assert answer.status_code == 302
    with tenant_context(tenant_a):
        request.refresh_from_db()
        assert request.status == ApprovalStatus.REJECTED


def test_the_approval_api(client_for, tenant_a, admin_of, member, team):
    admin = admin_of(tenant_a)
    boss, rep = team
    api = client_for(tenant_a, admin)
    bad = api.post(
        "/api/v1/approval-processes/", {"module": "deals", "name": "x", "steps": []}, content_type="application/json"
    )
    assert bad.status_code == 400 and "steps" in bad.json()
    made = api.post(
        "/api/v1/approval-processes/",
        {
            "module": "deals",
            "name": "API big",
            "entry": {"rules": [{"expr": "amount > 1000"}]},
            "steps": [{"approver": "manager"}],
        },
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    assert client_for(tenant_a, rep).get("/api/v1/approval-processes/").status_code == 403
    with tenant_context(tenant_a):
        deal = _deal(rep, "5000", owner=rep.pk)
        request = ApprovalRequest.objects.get(record_id=str(deal.pk))
    assert (
        client_for(tenant_a, rep)
        .post(f"/api/v1/approval-requests/{request.pk}/decide", {"approve": True}, content_type="application/json")
        .status_code
        == 404
    )
    answer = client_for(tenant_a, boss).post(
        f"/api/v1/approval-requests/{request.pk}/decide",
        {"approve": True, "comment": "ok"},
        content_type="application/json",
    )
    assert answer.json() == {"status": "approved", "step": 0}


def test_the_shipped_examples_texts_are_translated_for_the_workspace_and_each_reader(
    client_for, tenant_a, admin_of, team
):
    from django.utils import translation

    boss, rep = team
    tenant_a.language = "ru"
    tenant_a.save(update_fields=["language"])
    with tenant_context(tenant_a):
        rep.language = "ru"
        rep.save(update_fields=["language"])
        example = ApprovalProcess.objects.get(system_key="example:large_deals")
        with translation.override("ru"):
            assert example.display_name == "Крупные сделки требуют одобрения руководителя"
            assert example.on_approved is not None
            assert example.on_approved.display_name == "Крупная сделка одобрена"
        with translation.override("en"):
            assert example.display_name == example.name == "Large deals need a manager's approval"
        ApprovalProcess.objects.filter(pk=example.pk).update(enabled=True)
        from crm_apps.engine.metadata import metadata_changed

        metadata_changed()
        deal = _deal(rep, "60000", owner=rep.pk)
        request = ApprovalRequest.objects.get(record_id=str(deal.pk), status=ApprovalStatus.PENDING)
        with translation.override("en"):  # whoever decides, the comment is in the workspace's language
            approvals.approval_decide(actor=boss, request=request, approve=True, comment="ok")
        assert Comment.objects.filter(module="deals", record_id=deal.pk, body="Одобрено: продолжайте.").exists()
        told = Notification.objects.get(recipient=rep, kind="workflow", record_id=deal.pk)
        assert told.params["body"] == "Одобрено: продолжайте."
        # An admin's own process keeps the name as written.
        mine = _process(admin_of(tenant_a), name="Approved: go ahead.")
        with translation.override("ru"):
            assert mine.display_name == "Approved: go ahead."
        admin = admin_of(tenant_a)
        admin.language = "ru"
        admin.save(update_fields=["language"])
    # The list of processes shows the shipped name in the reader's language.
    page = client_for(tenant_a, admin).get("/settings/automation/approvals/")
    assert page.status_code == 200
    assert "Крупные сделки требуют одобрения руководителя" in page.content.decode()


def test_workflow_api_errors_are_translated(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        admin.language = "ru"
        admin.save(update_fields=["language"])
        workflow = services.workflow_create(
            actor=admin,
            name="WF",
            module="deals",
            definition={"trigger": {"type": "manual"}, "actions": [{"id": "c", "type": "add_comment", "body": "x"}]},
        )
    api = client_for(tenant_a, admin)
    answer = api.patch(f"/api/v1/workflows/{workflow.pk}/", {"module": "contacts"}, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["module"] == ["Модуль рабочего процесса нельзя изменить."]
    answer = api.post(
        f"/api/v1/workflows/{workflow.pk}/test",
        {"record": "00000000-0000-0000-0000-000000000000"},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json()["record"] == ["Такой записи нет."]
