"""Workflow semantics: triggers, conditions over related records, actions through the services (audit,
timeline, permissions), waits and versions, loops, schedules, date rows, preview, notify_owner, isolation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.access.models import Role
from crm_apps.audit.models import AuditEvent
from crm_apps.automation import runner, scheduling, services
from crm_apps.automation.models import DueRow, RunStatus, ScheduleTick, WorkflowRun
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create, record_update
from crm_apps.modules.calendar.models import Task
from crm_apps.modules.deals.models import Stage
from crm_apps.notifications.models import Notification

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")
CONTACTS = registry.get("contacts")


def _deal(actor: Any, **data: Any) -> Any:
    values = {"name": "Deal", "amount": "100", "close_date": timezone.localdate().isoformat(), **data}
    return record_create(spec=DEALS, actor=actor, data=values)


def _stage(name: str) -> Stage:
    return Stage.objects.get(name=name)


def _workflow(admin: Any, definition: dict[str, Any], module: str = "deals", **kwargs: Any) -> Any:
    return services.workflow_create(actor=admin, name="WF", module=module, definition=definition, **kwargs)


def _runs(workflow: Any) -> list[WorkflowRun]:
    return list(WorkflowRun.objects.filter(workflow=workflow).order_by("pk"))


NEGOTIATION_TASK = {
    "actions": [
        {
            "id": "task",
            "type": "create_record",
            "module": "tasks",
            "values": {
                "subject": {"expr": "'Negotiate ' & name"},
                "due_date": {"expr": "add_days(today(), 2)"},
                "owner": {"expr": "owner.id"},
            },
        },
        {"id": "tell", "type": "notify", "to": ["manager"], "message": {"expr": "name & ' is in ' & stage"}},
    ],
}


def test_deal_moving_to_negotiation_creates_a_task_for_the_owner_and_notifies_the_manager(
    tenant_a, admin_of, member, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        top = Role.objects.get(parent__isnull=True)
        boss_role = Role.objects.create(name="Sales manager", parent=top)
        rep_role = Role.objects.create(name="Sales rep", parent=boss_role)
        for role in (boss_role, rep_role):
            role.profiles.set(top.profiles.all())
    boss = member(tenant_a, role=boss_role)
    rep = member(tenant_a, role=rep_role)
    with tenant_context(tenant_a):
        negotiation = _stage("Negotiation or Review")
        workflow = _workflow(
            admin,
            {"trigger": {"type": "field_changed", "field": "stage", "to": negotiation.pk}, **NEGOTIATION_TASK},
        )
        with django_capture_on_commit_callbacks(execute=True):
            deal = _deal(rep, owner=rep.pk)
        with django_capture_on_commit_callbacks(execute=True):
            record_update(spec=DEALS, actor=rep, record=deal, data={"stage": negotiation.pk})
        (run,) = _runs(workflow)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert run.trigger == "field_changed"
        steps = list(run.steps.order_by("position"))
        assert [s.step_id for s in steps] == ["task", "tell"]
        task = Task.objects.get(pk=steps[0].output["id"])
        assert task.subject == "Negotiate Deal"
        assert task.owner_id == rep.pk
        assert task.due_date == timezone.localdate() + dt.timedelta(days=2)
        assert task.links.filter(module="deals", record_id=deal.pk).exists()
        assert steps[1].output["notified"] == [boss.pk]
        assert Notification.objects.filter(recipient=boss, kind="workflow", record_id=deal.pk).exists()
        # The created task is audited and on the timeline as the workflow's owner, with the workflow named.
        assert TimelineEntry.objects.filter(module="tasks", record_id=task.pk, actor=admin).exists()
        assert AuditEvent.objects.filter(
            record_id=str(deal.pk), actor_id=admin.pk, details__workflow=workflow.pk
        ).exists()
        # Moving it again to another stage does not fire.
        with django_capture_on_commit_callbacks(execute=True):
            record_update(spec=DEALS, actor=rep, record=deal, data={"stage": _stage("Closed Won").pk})
        assert len(_runs(workflow)) == 1


def test_first_time_true_fires_once_while_saved_fires_every_time(
    tenant_a, admin_of, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    comment = [{"id": "c", "type": "add_comment", "body": "big"}]
    with tenant_context(tenant_a):
        big = {"match": "all", "rules": [{"expr": "amount > 1000"}]}
        first = _workflow(admin, {"trigger": {"type": "first_match"}, "conditions": big, "actions": comment})
        every = _workflow(admin, {"trigger": {"type": "saved"}, "conditions": big, "actions": comment})
        with django_capture_on_commit_callbacks(execute=True):
            deal = _deal(admin, amount="10")
        for amount in ("2000", "3000", "5", "4000"):
            with django_capture_on_commit_callbacks(execute=True):
                deal = record_update(spec=DEALS, actor=admin, record=deal, data={"amount": amount})
        fired = [r for r in _runs(first) if r.status == RunStatus.SUCCEEDED]
        assert len(fired) == 2  # 2000 (first true), then 4000 (true again after being false)
        saved = [r.status for r in _runs(every)]
        assert saved == [
            RunStatus.SKIPPED,
            RunStatus.SUCCEEDED,
            RunStatus.SUCCEEDED,
            RunStatus.SKIPPED,
            RunStatus.SUCCEEDED,
        ]


def test_field_change_from_to_and_conditions_over_related_records(
    tenant_a, admin_of, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Acme"})
        workflow = _workflow(
            admin,
            {
                "trigger": {"type": "field_changed", "field": "amount", "from": "100.00"},
                "conditions": {"match": "any", "rules": [{"expr": "organization.name = 'Acme'"}, {"expr": "false"}]},
                "actions": [{"id": "p", "type": "update_fields", "values": {"probability": {"expr": "amount / 100"}}}],
            },
        )
        with django_capture_on_commit_callbacks(execute=True):
            deal = _deal(admin, organization=str(org.pk))
            other = _deal(admin)
        with django_capture_on_commit_callbacks(execute=True):
            record_update(spec=DEALS, actor=admin, record=deal, data={"amount": "5000"})
            record_update(spec=DEALS, actor=admin, record=other, data={"amount": "5000"})
        statuses = {r.record_id: r.status for r in _runs(workflow)}
        assert statuses == {str(deal.pk): RunStatus.SUCCEEDED, str(other.pk): RunStatus.SKIPPED}
        deal.refresh_from_db()
        assert deal.probability == 50
        with django_capture_on_commit_callbacks(execute=True):
            record_update(spec=DEALS, actor=admin, record=deal, data={"amount": "7000"})  # from 5000: no
        assert len(_runs(workflow)) == 2


def test_a_workflow_that_changes_its_own_trigger_stops_at_the_depth_limit(
    tenant_a, admin_of, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        workflow = _workflow(
            admin,
            {
                "trigger": {"type": "updated"},
                "actions": [{"id": "bump", "type": "update_fields", "values": {"amount": {"expr": "amount + 1"}}}],
            },
        )
        with django_capture_on_commit_callbacks(execute=True):
            deal = _deal(admin)
        with django_capture_on_commit_callbacks(execute=True):
            record_update(spec=DEALS, actor=admin, record=deal, data={"name": "Go"})
        runs = _runs(workflow)
        assert [r.depth for r in runs] == list(range(runner.MAX_DEPTH + 2))
        assert runs[-1].status == RunStatus.LOOP
        assert "levels deep" in runs[-1].error
        deal.refresh_from_db()
        assert deal.amount == 100 + runner.MAX_DEPTH + 1


def test_waits_continue_on_the_version_they_started_on(tenant_a, admin_of, django_capture_on_commit_callbacks):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        v1 = {
            "trigger": {"type": "created"},
            "actions": [
                {"id": "wait", "type": "wait", "days": 1},
                {
                    "id": "b",
                    "type": "branch",
                    "if": "amount > 50",
                    "then": [{"id": "hi", "type": "add_comment", "body": "v1 big"}],
                    "else": [{"id": "lo", "type": "add_comment", "body": "v1 small"}],
                },
            ],
        }
        workflow = _workflow(admin, v1)
        with django_capture_on_commit_callbacks(execute=True):
            deal = _deal(admin)
        (run,) = _runs(workflow)
        assert run.status == RunStatus.WAITING
        v2 = {"trigger": {"type": "created"}, "actions": [{"id": "x", "type": "add_comment", "body": "v2"}]}
        workflow = services.workflow_update(actor=admin, workflow=workflow, definition=v2)
        assert workflow.current is not None and workflow.current.number == 2
        assert scheduling.waiting_runs_resume(timezone.now()) == 0  # not due yet
        assert scheduling.waiting_runs_resume(timezone.now() + dt.timedelta(days=1, minutes=1)) == 1
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED and run.version.number == 1
        assert [s.step_id for s in run.steps.order_by("position")] == ["wait", "b", "hi"]
        from crm_apps.engine.models import Comment

        assert list(Comment.objects.filter(module="deals", record_id=deal.pk).values_list("body", flat=True)) == [
            "v1 big"
        ]


def test_date_trigger_rows_are_replanned_when_the_date_moves(tenant_a, admin_of, django_capture_on_commit_callbacks):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        workflow = _workflow(
            admin,
            {
                "trigger": {"type": "date", "field": "close_date", "offset_days": -3, "at": "09:00", "timezone": "UTC"},
                "actions": [{"id": "c", "type": "add_comment", "body": "closing soon"}],
            },
        )
        day = dt.date(2030, 5, 10)
        with django_capture_on_commit_callbacks(execute=True):
            deal = _deal(admin, close_date=day.isoformat())
        row = DueRow.objects.get(workflow=workflow, record_id=str(deal.pk))
        assert row.due_at == dt.datetime(2030, 5, 7, 9, 0, tzinfo=dt.UTC)
        with django_capture_on_commit_callbacks(execute=True):
            record_update(spec=DEALS, actor=admin, record=deal, data={"close_date": "2030-06-10"})
        row.refresh_from_db()
        assert row.due_at == dt.datetime(2030, 6, 7, 9, 0, tzinfo=dt.UTC)
        assert scheduling.due_rows_fire(dt.datetime(2030, 5, 8, tzinfo=dt.UTC)) == 0
        assert scheduling.due_rows_fire(dt.datetime(2030, 6, 7, 9, 1, tzinfo=dt.UTC)) == 1
        assert scheduling.due_rows_fire(dt.datetime(2030, 6, 8, tzinfo=dt.UTC)) == 0  # fired once
        (run,) = _runs(workflow)
        assert run.trigger == "date" and run.status == RunStatus.SUCCEEDED


def test_a_schedule_fires_once_per_tick_however_many_schedulers(tenant_a, admin_of, django_capture_on_commit_callbacks):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        with django_capture_on_commit_callbacks(execute=True):
            big = _deal(admin, amount="5000")
            _deal(admin, amount="5")
        workflow = _workflow(
            admin,
            {
                "trigger": {"type": "schedule", "every_minutes": 60, "filter": "amount > 1000"},
                "actions": [{"id": "c", "type": "add_comment", "body": "weekly check"}],
            },
        )
        now = dt.datetime(2030, 1, 1, 10, 30, tzinfo=dt.UTC)
        with django_capture_on_commit_callbacks(execute=True):
            first = scheduling.schedules_fire(now)
            second = scheduling.schedules_fire(now + dt.timedelta(minutes=5))  # another scheduler, same tick
        assert first == [workflow.pk] and second == []
        assert ScheduleTick.objects.get(workflow=workflow).records == 1
        assert [r.record_id for r in _runs(workflow)] == [str(big.pk)]
        with django_capture_on_commit_callbacks(execute=True):
            assert scheduling.schedules_fire(now + dt.timedelta(hours=1)) == [workflow.pk]


def test_manual_runs_and_the_preview_writes_nothing(tenant_a, admin_of, member, django_capture_on_commit_callbacks):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        workflow = _workflow(
            admin,
            {
                "trigger": {"type": "manual"},
                "actions": [
                    {"id": "u", "type": "update_fields", "values": {"name": {"expr": "upper(name)"}}},
                    {"id": "w", "type": "wait", "hours": 2},
                    {"id": "c", "type": "add_comment", "body": {"expr": "'renamed to ' & steps.u.id"}},
                ],
            },
        )
        deal = _deal(admin, name="quiet")
        result = runner.preview(workflow=workflow, record_id=str(deal.pk), actor=admin)
        assert result["status"] == RunStatus.PREVIEW
        assert [s["id"] for s in result["steps"]] == ["u", "w", "c"]
        assert result["steps"][0]["inputs"] == {"name": "QUIET"}
        deal.refresh_from_db()
        assert deal.name == "quiet"
        assert not WorkflowRun.objects.filter(workflow=workflow).exists()
        (run,) = services.workflow_run_manually(actor=admin, workflow=workflow, record_ids=[str(deal.pk)])
        assert run.status == RunStatus.WAITING
        deal.refresh_from_db()
        assert deal.name == "QUIET"


def test_a_workflow_runs_with_its_owners_rights(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        workflow = _workflow(
            admin,
            {"trigger": {"type": "manual"}, "actions": [{"id": "u", "type": "update_fields", "values": {"name": "x"}}]},
        )
        deal = _deal(admin)
        from crm_apps.access.models import Member
        from crm_apps.automation.models import Workflow

        someone = member(tenant_a)
        Workflow.objects.filter(pk=workflow.pk).update(owner=someone)
        workflow.refresh_from_db()
        run = runner.run_start(workflow=workflow, record_id=str(deal.pk), trigger="manual", actor=admin)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert AuditEvent.objects.filter(action="record_updated", actor_id=someone.pk, record_id=str(deal.pk)).exists()
        # An owner who left: nothing runs, and the log says why.
        Member.objects.filter(pk=someone.pk).update(active=False)
        workflow.refresh_from_db()
        run = runner.run_start(workflow=workflow, record_id=str(deal.pk), trigger="manual", actor=admin)
        assert run.status == RunStatus.FAILED and "inactive" in run.error


def test_invalid_definitions_are_field_errors(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        with pytest.raises(ValidationError) as caught:
            _workflow(
                admin,
                {
                    "trigger": {"type": "field_changed", "field": "nope"},
                    "conditions": {"match": "all", "rules": [{"expr": "amount >"}]},
                    "actions": [
                        {"id": "a", "type": "update_fields", "values": {"number": "1"}},
                        {"id": "a", "type": "wait"},
                        {"id": "b", "type": "teleport"},
                    ],
                },
            )
        errors = caught.value.message_dict
        for key in (
            "definition.trigger.field",
            "definition.conditions.rules.0",
            "definition.actions.0.values.number",
            "definition.actions.1.id",
            "definition.actions.1.days",
            "definition.actions.2.type",
        ):
            assert key in errors, (key, errors)
        with pytest.raises(Exception):
            _workflow(
                member(tenant_a),
                {"trigger": {"type": "created"}, "actions": [{"id": "c", "type": "add_comment", "body": "x"}]},
            )


def test_notify_owner_is_a_system_workflow_for_changes_by_others(
    tenant_a, admin_of, member, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    other = member(tenant_a)
    with tenant_context(tenant_a):
        with django_capture_on_commit_callbacks(execute=True):
            watched = record_create(spec=CONTACTS, actor=admin, data={"last_name": "Watched", "notify_owner": True})
            quiet = record_create(spec=CONTACTS, actor=admin, data={"last_name": "Quiet"})
        with django_capture_on_commit_callbacks(execute=True):
            record_update(spec=CONTACTS, actor=other, record=watched, data={"first_name": "Ann"})
            record_update(spec=CONTACTS, actor=other, record=quiet, data={"first_name": "Bo"})
            record_update(spec=CONTACTS, actor=admin, record=watched, data={"first_name": "Own"})
        notes = list(Notification.objects.filter(recipient=admin, kind="workflow"))
        assert [n.record_id for n in notes] == [watched.pk]
        assert notes[0].actor_id == other.pk


def test_workflows_and_runs_stay_in_their_tenant(tenant_a, tenant_b, admin_of, django_capture_on_commit_callbacks):
    admin_a, admin_b = admin_of(tenant_a), admin_of(tenant_b)
    with tenant_context(tenant_a):
        workflow = _workflow(
            admin_a, {"trigger": {"type": "created"}, "actions": [{"id": "c", "type": "add_comment", "body": "a"}]}
        )
        workflow_pk = workflow.pk
    with tenant_context(tenant_b):
        from crm_apps.automation.models import Workflow

        assert not Workflow.objects.filter(pk=workflow_pk, system_key="").exists()
        with django_capture_on_commit_callbacks(execute=True):
            _deal(admin_b)
        assert not WorkflowRun.objects.exists()
    with tenant_context(tenant_a):
        assert not WorkflowRun.objects.exists()


DATE_WORKFLOW: dict[str, Any] = {
    "trigger": {"type": "date", "field": "close_date", "offset_days": -3, "at": "09:00", "timezone": "UTC"},
    "actions": [{"id": "c", "type": "add_comment", "body": "closing soon"}],
}


def test_date_trigger_plans_existing_records_on_publish_replans_new_versions_and_disable_clears(
    tenant_a, admin_of, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        future = (timezone.now() + dt.timedelta(days=40)).date()
        past = (timezone.now() - dt.timedelta(days=40)).date()
        deal = _deal(admin, close_date=future.isoformat())
        old = _deal(admin, close_date=past.isoformat())
        with django_capture_on_commit_callbacks(execute=True):
            workflow = _workflow(admin, DATE_WORKFLOW)
        # The existing deal got its row on publish; the one long closed is not fired retroactively.
        row = DueRow.objects.get(workflow=workflow)
        assert row.record_id == str(deal.pk) and row.fired_at is None
        assert row.due_at == dt.datetime.combine(future - dt.timedelta(days=3), dt.time(9), tzinfo=dt.UTC)
        assert not DueRow.objects.filter(workflow=workflow, record_id=str(old.pk)).exists()

        # A new version with another offset re-plans the rows.
        changed = {**DATE_WORKFLOW, "trigger": {**DATE_WORKFLOW["trigger"], "offset_days": -1, "at": "08:30"}}
        with django_capture_on_commit_callbacks(execute=True):
            services.workflow_update(actor=admin, workflow=workflow, definition=changed)
        row = DueRow.objects.get(workflow=workflow)
        assert row.due_at == dt.datetime.combine(future - dt.timedelta(days=1), dt.time(8, 30), tzinfo=dt.UTC)

        # Disabling drops the pending rows; enabling plans them again.
        with django_capture_on_commit_callbacks(execute=True):
            services.workflow_update(actor=admin, workflow=workflow, enabled=False)
        assert not DueRow.objects.filter(workflow=workflow).exists()
        with django_capture_on_commit_callbacks(execute=True):
            services.workflow_update(actor=admin, workflow=workflow, enabled=True)
        assert DueRow.objects.filter(workflow=workflow, record_id=str(deal.pk), fired_at__isnull=True).count() == 1

        # A version with another trigger type leaves no pending date rows behind.
        with django_capture_on_commit_callbacks(execute=True):
            saved = {**changed, "trigger": {"type": "saved"}}
            services.workflow_update(actor=admin, workflow=workflow, definition=saved)
        assert not DueRow.objects.filter(workflow=workflow).exists()


def test_date_trigger_planning_works_in_chunks(tenant_a, admin_of, django_capture_on_commit_callbacks, monkeypatch):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        monkeypatch.setattr(scheduling, "PLAN_CHUNK", 2)
        future = (timezone.now() + dt.timedelta(days=10)).date().isoformat()
        deals = [_deal(admin, close_date=future) for _ in range(5)]
        with django_capture_on_commit_callbacks(execute=True):
            workflow = _workflow(admin, DATE_WORKFLOW)
        assert sorted(DueRow.objects.filter(workflow=workflow).values_list("record_id", flat=True)) == sorted(
            str(d.pk) for d in deals
        )


def test_the_else_branch_waits_inside_itself_and_continues_with_an_earlier_steps_output(
    tenant_a, admin_of, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        workflow = _workflow(
            admin,
            {
                "trigger": {"type": "created"},
                "actions": [
                    {
                        "id": "task",
                        "type": "create_record",
                        "module": "tasks",
                        "values": {"subject": {"expr": "'Chase ' & name"}},
                    },
                    {
                        "id": "b",
                        "type": "branch",
                        "if": "amount > 50",
                        "then": [{"id": "big", "type": "add_comment", "body": "big"}],
                        "else": [
                            {"id": "pause", "type": "wait", "hours": 2, "minutes": 30},
                            {"id": "small", "type": "add_comment", "body": {"expr": "'follow ' & steps.task.name"}},
                        ],
                    },
                    {"id": "end", "type": "add_comment", "body": "done"},
                ],
            },
        )
        started = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            deal = _deal(admin, name="Tiny", amount="5")
        (run,) = _runs(workflow)
        assert run.status == RunStatus.WAITING and run.cursor == [1, "else", 1]  # the step after the wait
        assert run.resume_at is not None
        assert started + dt.timedelta(hours=2, minutes=30) <= run.resume_at
        assert run.resume_at <= timezone.now() + dt.timedelta(hours=2, minutes=30)
        assert scheduling.waiting_runs_resume(started + dt.timedelta(hours=2, minutes=29)) == 0
        assert scheduling.waiting_runs_resume(timezone.now() + dt.timedelta(hours=2, minutes=31)) == 1
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED
        assert [s.step_id for s in run.steps.order_by("position")] == ["task", "b", "pause", "small", "end"]
        from crm_apps.engine.models import Comment

        bodies = Comment.objects.filter(module="deals", record_id=deal.pk).order_by("pk").values_list("body", flat=True)
        assert list(bodies) == ["follow Chase Tiny", "done"]
