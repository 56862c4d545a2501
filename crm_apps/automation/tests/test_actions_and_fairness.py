"""Actions not covered elsewhere (assign round-robin / least-loaded, campaigns, run another workflow,
the signed webhook action) and per-tenant fairness of the tick."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.access.models import Group
from crm_apps.automation import delivery as delivery_module
from crm_apps.automation import scheduling, services
from crm_apps.automation.models import Delivery, DeliveryStatus, DueRow, RunStatus, WorkflowRun
from crm_apps.engine import registry
from crm_apps.engine.services import record_create

pytestmark = pytest.mark.django_db


def _manual(admin: Any, module: str, actions: list[dict[str, Any]]) -> Any:
    return services.workflow_create(
        actor=admin, name="Manual", module=module, definition={"trigger": {"type": "manual"}, "actions": actions}
    )


def _run(admin: Any, workflow: Any, record: Any) -> WorkflowRun:
    (run,) = services.workflow_run_manually(actor=admin, workflow=workflow, record_ids=[str(record.pk)])
    return run


def test_assignment_round_robin_and_least_loaded(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    ann, bob = member(tenant_a), member(tenant_a)
    leads = registry.get("leads")
    with tenant_context(tenant_a):
        group = Group.objects.create(name="Lead desk")
        group.members.set([ann, bob])
        rr = _manual(admin, "leads", [{"id": "a", "type": "assign", "group": group.pk, "strategy": "round_robin"}])
        owners = []
        for n in range(3):
            lead = record_create(spec=leads, actor=admin, data={"last_name": f"L{n}", "company": "C"})
            assert _run(admin, rr, lead).status == RunStatus.SUCCEEDED
            lead.refresh_from_db()
            owners.append(lead.owner_id)
        assert owners == [ann.pk, bob.pk, ann.pk]
        least = _manual(admin, "leads", [{"id": "a", "type": "assign", "group": group.pk, "strategy": "least_loaded"}])
        lead = record_create(spec=leads, actor=admin, data={"last_name": "Next", "company": "C"})
        _run(admin, least, lead)
        lead.refresh_from_db()
        assert lead.owner_id == bob.pk  # bob has 1 lead, ann 2


def test_add_to_campaign_and_run_another_workflow(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        campaign = record_create(
            spec=registry.get("campaigns"), actor=admin, data=dict(registry.get("campaigns").example)
        )
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Target"})
        inner = _manual(admin, "contacts", [{"id": "c", "type": "add_to_campaign", "campaign": str(campaign.pk)}])
        outer = _manual(admin, "contacts", [{"id": "go", "type": "run_workflow", "workflow": inner.pk}])
        run = _run(admin, outer, contact)
        assert run.status == RunStatus.SUCCEEDED
        child = WorkflowRun.objects.get(workflow=inner)
        assert child.depth == 1 and child.status == RunStatus.SUCCEEDED
        assert campaign.members.filter(contact=contact).exists()
        # Twice: the membership exists, the step fails with the service's message and the run says so.
        again = _run(admin, inner, contact)
        assert again.status == RunStatus.FAILED and again.error


def test_the_webhook_action_is_signed_with_the_workflows_secret(
    tenant_a, admin_of, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    admin = admin_of(tenant_a)
    calls: list[tuple[bytes, dict[str, str]]] = []

    def fake_post(url: str, body: bytes, headers: dict[str, str], reply: dict[str, Any] | None = None) -> int:
        calls.append((body, headers))
        if reply is not None:  # a workflow's call keeps the answer for the steps after it
            reply["body"] = b'{"ok": true}'
        return 200

    monkeypatch.setattr(delivery_module, "post", fake_post)
    with tenant_context(tenant_a):
        workflow = _manual(
            admin, "contacts", [{"id": "out", "type": "webhook", "url": "https://hooks.example.test/wf"}]
        )
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Hooked"})
        with django_capture_on_commit_callbacks(execute=True):
            run = _run(admin, workflow, contact)
        assert run.status == RunStatus.SUCCEEDED
        delivery = Delivery.objects.get(run_step__run=run)
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.response_body == '{"ok": true}'
        body, headers = calls[0]
        stamp, signature = (p.split("=", 1)[1] for p in headers["X-CRM-Signature"].split(","))
        assert signature == hmac.new(workflow.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert b'"Hooked"' in body


def test_a_tick_does_a_bounded_batch_per_tenant_so_others_are_not_starved(tenant_a, tenant_b, admin_of, monkeypatch):
    monkeypatch.setattr(scheduling, "BATCH", 3)
    past = timezone.now() - dt.timedelta(minutes=1)
    counts = {}
    for tenant, rows in ((tenant_a, 7), (tenant_b, 1)):
        admin = admin_of(tenant)
        with tenant_context(tenant):
            workflow = services.workflow_create(
                actor=admin,
                name="Due",
                module="contacts",
                definition={
                    "trigger": {"type": "date", "field": "birthday"},
                    "actions": [{"id": "c", "type": "add_comment", "body": "happy birthday"}],
                },
            )
            for n in range(rows):
                contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": f"C{n}"})
                DueRow.objects.create(workflow=workflow, record_id=str(contact.pk), due_at=past)
    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            counts[tenant.schema_name] = scheduling.tick()["due"]
    assert counts == {tenant_a.schema_name: 3, tenant_b.schema_name: 1}
    with tenant_context(tenant_a):
        assert DueRow.objects.filter(fired_at__isnull=True).count() == 4  # left for the next ticks
        assert scheduling.tick()["due"] == 3 and scheduling.tick()["due"] == 1


def test_a_transient_failure_is_retried_with_backoff_and_logged(tenant_a, admin_of, monkeypatch):
    from crm_apps.automation import runner

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        workflow = _manual(admin, "contacts", [{"id": "note", "type": "add_comment", "body": "retry me"}])
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Flaky"})
        real = runner.services.comment_add

        def broken(**kwargs: Any) -> Any:
            raise OSError("network down")

        monkeypatch.setattr(runner.services, "comment_add", broken)
        run = _run(admin, workflow, contact)
        assert run.status == RunStatus.WAITING and run.resume_at is not None
        failed = run.steps.get()
        assert failed.status == "failed" and "network down" in failed.error and failed.attempts == 1
        monkeypatch.setattr(runner.services, "comment_add", real)
        assert scheduling.waiting_runs_resume(timezone.now() + dt.timedelta(hours=1)) == 1
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED
        assert list(run.steps.order_by("position").values_list("status", "attempts")) == [
            ("failed", 1),
            ("succeeded", 2),
        ]


def test_send_email_from_a_template_needs_a_mailbox_and_goes_through_the_mail_app(tenant_a, admin_of):
    from crm_apps.mail.models import Mailbox, Message, Template

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        template = Template.objects.create(
            name="Welcome",
            module="contacts",
            subject="Hello {{ contact.last_name }}",
            body_html="<p>Hi</p>",
            owner=admin,
        )
        workflow = _manual(
            admin, "contacts", [{"id": "mail", "type": "send_email", "template": template.pk, "to": "record"}]
        )
        contact = record_create(
            spec=registry.get("contacts"), actor=admin, data={"last_name": "Lovelace", "email": "ada@example.test"}
        )
        run = _run(admin, workflow, contact)
        assert run.status == RunStatus.FAILED and "mailbox" in run.error.lower()
        Mailbox.objects.create(
            name="Sales",
            kind=Mailbox.Kind.SHARED,
            is_default=True,
            email_address="sales@example.test",
            smtp_host="smtp.example.test",
            owner=admin,
        )
        run = _run(admin, workflow, contact)
        assert run.status == RunStatus.SUCCEEDED, run.error
        message = Message.objects.get(pk=run.steps.get(status="succeeded").output["message"])
        assert (
            message.subject == "Hello Lovelace" and message.to == ["ada@example.test"] and message.sender_id == admin.pk
        )


def test_event_evaluations_are_drained_in_bounded_turns_per_tenant(
    tenant_a, tenant_b, admin_of, monkeypatch, django_capture_on_commit_callbacks
):
    """A bulk write in one tenant holds one place in the Celery queue at a time: the other tenant's
    evaluation runs after the first batch, not after the whole backlog."""
    from crm_apps.automation import fair, tasks
    from tenants.runtime import current_schema

    monkeypatch.setattr(fair, "BATCH", 2)
    for tenant in (tenant_a, tenant_b):
        schema = tenant.schema_name
        fair._redis().delete(fair._list(schema), fair._flag(schema), fair._inflight(schema), fair._lock(schema))
    queued: list[str] = []  # the Celery queue, FIFO: which tenant's drain is where
    monkeypatch.setattr(tasks.workflow_drain_task, "delay", lambda: queued.append(current_schema()))
    workflows = {}
    for tenant, count in ((tenant_a, 5), (tenant_b, 1)):
        admin = admin_of(tenant)
        with tenant_context(tenant):
            workflows[tenant.schema_name] = services.workflow_create(
                actor=admin,
                name="On create",
                module="contacts",
                definition={
                    "trigger": {"type": "created"},
                    "actions": [{"id": "c", "type": "add_comment", "body": "welcome"}],
                },
            )
            for n in range(count):
                with django_capture_on_commit_callbacks(execute=True):
                    record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": f"C{n}"})
            assert fair.pending() == count
    assert queued == [tenant_a.schema_name, tenant_b.schema_name]  # one drain per tenant, not six tasks
    turns: list[tuple[str, int]] = []
    while queued:
        schema = queued.pop(0)
        tenant = tenant_a if schema == tenant_a.schema_name else tenant_b
        with tenant_context(tenant):
            turns.append((schema, fair.drain()))
    a, b = tenant_a.schema_name, tenant_b.schema_name
    assert turns == [(a, 2), (b, 1), (a, 2), (a, 1)]
    for tenant, count in ((tenant_a, 5), (tenant_b, 1)):
        with tenant_context(tenant):
            runs = WorkflowRun.objects.filter(workflow=workflows[tenant.schema_name])
            assert runs.count() == count and all(r.status == RunStatus.SUCCEEDED for r in runs)
            assert fair.pending() == 0 and not fair._redis().exists(fair._flag(tenant.schema_name))


def _fair_reset(monkeypatch, schema: str) -> list[str]:
    from crm_apps.automation import fair, tasks

    client = fair._redis()
    client.delete(
        fair._list(schema), fair._flag(schema), fair._inflight(schema), fair._lock(schema), fair._attempts(schema)
    )
    client.delete(fair._dead(schema))
    queued: list[str] = []
    monkeypatch.setattr(tasks.workflow_drain_task, "delay", lambda: queued.append(schema))
    return queued


def test_a_drain_that_lost_its_lock_removes_nothing_and_stops(tenant_a, monkeypatch):
    """Drain A's lock expired mid-evaluation and drain B took the tenant: A leaves the in-flight list as B
    sees it (it does not LPOP an entry B owns) and evaluates nothing more."""
    import json

    from crm_apps.automation import fair, tasks

    with tenant_context(tenant_a):
        schema = tenant_a.schema_name
        _fair_reset(monkeypatch, schema)
        client = fair._redis()
        entries = [json.dumps({"args": [n]}) for n in (1, 2, 3)]
        client.rpush(fair._list(schema), *entries)
        calls: list[int] = []

        def evaluate(n: int) -> None:
            calls.append(n)
            client.set(fair._lock(schema), "drain-b", ex=60)  # A's lock expired; B holds the tenant now

        monkeypatch.setattr(tasks, "workflow_evaluate_task", evaluate)
        assert fair.drain() == 1
        assert calls == [1]
        inflight: list[bytes] = client.lrange(fair._inflight(schema), 0, -1)  # type: ignore[assignment]
        assert [e.decode() for e in inflight] == entries
        assert client.get(fair._lock(schema)) == b"drain-b"  # A's release does not drop B's lock
        client.delete(fair._lock(schema))
        monkeypatch.setattr(tasks, "workflow_evaluate_task", calls.append)
        assert fair.drain() == 3 and calls == [1, 1, 2, 3] and fair.pending() == 0  # the entry ran twice, none lost


def test_the_heartbeat_keeps_the_lock_of_a_long_evaluation(tenant_a, monkeypatch):
    """An evaluation longer than the lock's lifetime: the heartbeat refreshes it, so no second drain
    starts on the same in-flight entries."""
    import json
    import time

    from crm_apps.automation import fair, tasks

    monkeypatch.setattr(fair, "FLAG_SECONDS", 1)
    with tenant_context(tenant_a):
        schema = tenant_a.schema_name
        _fair_reset(monkeypatch, schema)
        fair._redis().rpush(fair._list(schema), json.dumps({"args": [1]}), json.dumps({"args": [2]}))
        seen: list[tuple[int, int]] = []

        def evaluate(n: int) -> None:
            time.sleep(2.5)  # the lock lives 1 s
            seen.append((n, fair.drain()))  # the tick's drain B, meanwhile: finds the tenant locked

        monkeypatch.setattr(tasks, "workflow_evaluate_task", evaluate)
        assert fair.drain() == 2
        assert seen == [(1, 0), (2, 0)] and fair.pending() == 0


def test_poison_and_malformed_entries_go_to_the_dead_letter_list(tenant_a, monkeypatch, caplog):
    """An entry whose evaluation kills the worker each time stays at the head for MAX_ATTEMPTS tries, then
    moves to the dead-letter list and the tenant's queue moves on; malformed JSON goes there at once."""
    import json

    from crm_apps.automation import fair, tasks

    class WorkerKilled(BaseException):
        pass

    with tenant_context(tenant_a):
        schema = tenant_a.schema_name
        _fair_reset(monkeypatch, schema)
        client = fair._redis()
        client.rpush(fair._list(schema), b"{not json", json.dumps({"args": [666]}), json.dumps({"args": [7]}))
        calls: list[int] = []

        def evaluate(n: int) -> None:
            calls.append(n)
            if n == 666:
                raise WorkerKilled

        monkeypatch.setattr(tasks, "workflow_evaluate_task", evaluate)
        for _try in range(fair.MAX_ATTEMPTS):
            with pytest.raises(WorkerKilled):
                fair.drain()
            client.delete(fair._lock(schema))  # what the dead worker's lock does after FLAG_SECONDS
        assert calls == [666] * fair.MAX_ATTEMPTS
        assert fair.dead_letters() == ["{not json"] and fair.pending() == 2
        with caplog.at_level("ERROR", logger="crm_apps.automation.fair"):
            assert fair.drain() == 1
        assert calls == [666] * fair.MAX_ATTEMPTS + [7]
        assert fair.dead_letters() == ["{not json", {"args": [666]}] and fair.pending() == 0
        assert "dead-letter list after 3 tries" in caplog.text
        assert not client.exists(fair._attempts(schema))
