"""Event triggers (an inbound email, a web form submission, a portal action, a webhook's reply), the webhook
action that waits for its reply, the actor of runs nobody started, API scopes of extension tokens, the
extension point for other packages' action types, each writing action's permissions and audit, and
imports refused on records an approval locks."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.access.models import Profile, ProfileModule, Role
from crm_apps.access.services import api_token_create
from crm_apps.audit.models import AuditEvent
from crm_apps.automation import approvals, extension, runner, scheduling, services
from crm_apps.automation.models import RunStatus, WorkflowRun
from crm_apps.engine import registry
from crm_apps.engine.models import Comment
from crm_apps.engine.services import record_create, record_update

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")


def _workflow(admin: Any, definition: dict[str, Any], module: str = "deals", name: str = "WF") -> Any:
    return services.workflow_create(actor=admin, name=name, module=module, definition=definition)


def _comments(module: str, record: Any) -> list[str]:
    return list(
        Comment.objects.filter(module=module, record_id=record.pk).order_by("pk").values_list("body", flat=True)
    )


def _deal(actor: Any, **data: Any) -> Any:
    values = {"name": "Deal", "amount": "100", "close_date": timezone.localdate().isoformat(), **data}
    return record_create(spec=DEALS, actor=actor, data=values)


# --- event triggers -------------------------------------------------------------------------------------


def test_an_inbound_email_fires_email_received_for_the_records_it_is_linked_to(
    tenant_a, admin_of, django_capture_on_commit_callbacks
):
    from crm_apps.mail.models import Mailbox
    from crm_apps.mail.parsing import parse
    from crm_apps.mail.store import message_store
    from crm_apps.mail.tests.servers import raw_email

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        contact = record_create(
            spec=registry.get("contacts"), actor=admin, data={"last_name": "Writer", "email": "writer@client.test"}
        )
        workflow = _workflow(
            admin,
            {
                "trigger": {"type": "email_received"},
                "conditions": {"match": "all", "rules": [{"expr": "contains(steps.trigger.subject, 'quote')"}]},
                "actions": [{"id": "c", "type": "add_comment", "body": {"expr": "'Mail: ' & steps.trigger.subject"}}],
            },
            module="contacts",
        )
        mailbox = Mailbox.objects.create(
            name="Sales", owner=admin, email_address="sales@crm-mail.test", imap_host="127.0.0.1", imap_username="x"
        )
        for number, subject in enumerate(["Need a quote", "Hello"]):
            raw = raw_email(
                subject=subject,
                sender="writer@client.test",
                to=mailbox.email_address,
                message_id=f"<m{number}@client.test>",
                body="Body",
            )
            with django_capture_on_commit_callbacks(execute=True):
                message_store(parsed=parse(raw), mailbox=mailbox, uid=None, uidvalidity=None)
        runs = list(WorkflowRun.objects.filter(workflow=workflow).order_by("pk"))
        assert [(r.trigger, r.status, r.record_id) for r in runs] == [
            ("email_received", RunStatus.SUCCEEDED, str(contact.pk)),
            ("email_received", RunStatus.SKIPPED, str(contact.pk)),
        ]
        assert runs[0].outputs["trigger"]["from_address"] == "writer@client.test"
        assert _comments("contacts", contact) == ["Mail: Need a quote"]
        assert runs[0].actor_id == admin.pk  # nobody started it: the workflow's owner is named


def test_a_web_form_submission_fires_webform_submitted_for_its_form_only(
    client_for, tenant_a, tenant_b, admin_of, django_capture_on_commit_callbacks
):
    from crm_apps.modules.leads.models import Lead

    admin = admin_of(tenant_a)
    api = client_for(tenant_a, admin)
    form = api.post(
        "/api/v1/webforms/",
        {"name": "Contact us", "module": "leads", "fields": [{"field": "last_name"}, {"field": "company"}]},
        content_type="application/json",
    ).json()
    other = api.post(
        "/api/v1/webforms/",
        {"name": "Other", "module": "leads", "fields": [{"field": "last_name"}, {"field": "company"}]},
        content_type="application/json",
    ).json()
    with tenant_context(tenant_a):
        workflow = _workflow(
            admin,
            {
                "trigger": {"type": "webform_submitted", "form": form["id"]},
                "actions": [{"id": "c", "type": "add_comment", "body": {"expr": "'From ' & steps.trigger.form_name"}}],
            },
            module="leads",
        )
    with tenant_context(tenant_b):  # another workspace's workflow on every web form of its own
        elsewhere = _workflow(
            admin_of(tenant_b),
            {"trigger": {"type": "webform_submitted"}, "actions": opened_actions()},
            module="leads",
        )
    visitor = Client(HTTP_HOST=f"{tenant_a.schema_name}.localhost")
    for target, name in ((form, "Lovelace"), (other, "Hopper")):
        path = target["public_url"].split("localhost", 1)[1]
        with django_capture_on_commit_callbacks(execute=True):
            answer = visitor.post(path, {"last_name": name, "company": "C"}, content_type="application/json")
        assert answer.status_code == 201, answer.content
    with tenant_context(tenant_a):
        lovelace = Lead.objects.get(last_name="Lovelace")
        hopper = Lead.objects.get(last_name="Hopper")
        (run,) = WorkflowRun.objects.filter(workflow=workflow)
        assert (run.trigger, run.status, run.record_id) == ("webform_submitted", RunStatus.SUCCEEDED, str(lovelace.pk))
        assert _comments("leads", lovelace) == ["From Contact us"]
        assert _comments("leads", hopper) == []
    with tenant_context(tenant_b):
        assert not WorkflowRun.objects.filter(workflow_id=elsewhere.pk).exists()


def test_the_designer_offers_the_event_triggers_of_the_module(client_for, tenant_a, admin_of, stamp_action):
    api = client_for(tenant_a, admin_of(tenant_a))
    for module, has_portal in (("tickets", True), ("deals", False)):
        page = api.get(f"/settings/automation/new/?module={module}")
        assert page.status_code == 200
        state = json.loads(
            page.content.decode()
            .split('id="workflow-designer-state" type="application/json">')[1]
            .split("</script>")[0]
        )
        assert {"email_received", "webform_submitted", "webhook_reply"} <= set(state["triggers"])
        assert ("portal_event" in state["triggers"]) is has_portal
        assert "stamp" in state["actions"] and state["labels"]["a_stamp"] == "Stamp"


def test_portal_events_fire_for_tickets_opened_and_answered_by_the_customer(
    tenant_a, admin_of, django_capture_on_commit_callbacks
):
    from crm_apps.portal import services as portal
    from crm_apps.portal.tests.test_portal import PASSWORD

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        contact = record_create(
            spec=registry.get("contacts"), actor=admin, data={"last_name": "Customer", "email": "c@customer.test"}
        )
        account = portal.portal_invite(actor=admin, contact_id=contact.pk)
        account = portal.password_set(account=account, password=PASSWORD, confirm=PASSWORD)
        opened = _workflow(
            admin,
            {
                "trigger": {"type": "portal_event", "event": "ticket_opened"},
                "actions": [{"id": "c", "type": "add_comment", "body": "Opened in the portal"}],
            },
            module="tickets",
            name="Opened",
        )
        answered = _workflow(
            admin,
            {
                "trigger": {"type": "portal_event", "event": "ticket_answered"},
                "actions": [{"id": "c", "type": "add_comment", "body": {"expr": "'Customer: ' & steps.trigger.body"}}],
            },
            module="tickets",
            name="Answered",
        )
        with django_capture_on_commit_callbacks(execute=True):
            ticket = portal.ticket_open(account=account, data={"title": "Broken", "description": "It is"})
        with django_capture_on_commit_callbacks(execute=True):
            portal.ticket_answer(account=account, ticket=ticket, body="Still broken")
        assert [r.status for r in WorkflowRun.objects.filter(workflow=opened)] == [RunStatus.SUCCEEDED]
        assert [r.status for r in WorkflowRun.objects.filter(workflow=answered)] == [RunStatus.SUCCEEDED]
        assert _comments("tickets", ticket) == ["Opened in the portal", "Customer: Still broken"]
        with pytest.raises(ValidationError) as caught:
            _workflow(
                admin, {"trigger": {"type": "portal_event", "event": "ticket_opened"}, "actions": opened_actions()}
            )
        assert "definition.trigger.type" in caught.value.message_dict or "trigger.type" in str(caught.value)


def opened_actions() -> list[dict[str, Any]]:
    return [{"id": "c", "type": "add_comment", "body": "x"}]


class _Answering(http.server.BaseHTTPRequestHandler):
    calls: list[bytes] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).calls.append(self.rfile.read(length))
        body = json.dumps({"quote": 4200, "ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def answering_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answering)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Answering.calls = []
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_a_webhook_action_waits_for_its_reply_and_the_reply_fires_webhook_reply(
    tenant_a, admin_of, settings, answering_server, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the answering server is on loopback
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        caller = _workflow(
            admin,
            {
                "trigger": {"type": "manual"},
                "actions": [
                    {"id": "call", "type": "webhook", "url": answering_server, "wait_for_reply": True},
                    {"id": "use", "type": "update_fields", "values": {"amount": {"expr": "steps.call.body.quote"}}},
                ],
            },
            name="Ask for a quote",
        )
        reacting = _workflow(
            admin,
            {
                "trigger": {"type": "webhook_reply", "workflow": caller.pk, "status": "succeeded"},
                "actions": [
                    {
                        "id": "c",
                        "type": "add_comment",
                        "body": {"expr": "'Answered ' & text(steps.trigger.response_status)"},
                    }
                ],
            },
            name="On the answer",
        )
        deal = _deal(admin)
        with django_capture_on_commit_callbacks(execute=True):
            (run,) = services.workflow_run_manually(actor=admin, workflow=caller, record_ids=[str(deal.pk)])
        assert len(_Answering.calls) == 1
        run.refresh_from_db()
        assert run.status == RunStatus.SUCCEEDED, run.error
        call = run.steps.get(step_id="call")
        assert call.output["response_status"] == 200 and call.output["body"] == {"quote": 4200, "ok": True}
        deal.refresh_from_db()
        assert deal.amount == 4200
        (reply_run,) = WorkflowRun.objects.filter(workflow=reacting)
        assert reply_run.status == RunStatus.SUCCEEDED and reply_run.depth == run.depth + 1
        assert _comments("deals", deal) == ["Answered 200"]


# --- the actor of runs nobody started -------------------------------------------------------------------


def test_scheduled_and_date_runs_name_the_workflows_owner_as_actor(
    tenant_a, admin_of, django_capture_on_commit_callbacks
):
    import datetime as dt

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        with django_capture_on_commit_callbacks(execute=True):
            deal = _deal(admin, close_date="2030-05-10")
        scheduled = _workflow(
            admin,
            {"trigger": {"type": "schedule", "every_minutes": 60}, "actions": opened_actions()},
            name="Scheduled",
        )
        dated = _workflow(
            admin,
            {
                "trigger": {"type": "date", "field": "close_date", "offset_days": 0, "timezone": "UTC"},
                "actions": opened_actions(),
            },
            name="Dated",
        )
        with django_capture_on_commit_callbacks(execute=True):
            record_update(spec=DEALS, actor=admin, record=deal, data={"close_date": "2030-05-11"})
            scheduling.schedules_fire(dt.datetime(2030, 1, 1, 10, tzinfo=dt.UTC))
            scheduling.due_rows_fire(dt.datetime(2030, 5, 11, 10, tzinfo=dt.UTC))
        for workflow in (scheduled, dated):
            (run,) = WorkflowRun.objects.filter(workflow=workflow)
            assert run.status == RunStatus.SUCCEEDED and run.actor_id == admin.pk
            assert AuditEvent.objects.filter(
                actor_id=admin.pk, details__run=run.pk, actor_label__contains=workflow.name
            ).exists()


# --- API scopes -----------------------------------------------------------------------------------------


def test_extension_tokens_reach_the_automation_api_only_with_its_scopes(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        _tok, reader = api_token_create(member=admin, name="reader", scopes=["automation:read"])
        _tok, writer = api_token_create(member=admin, name="writer", scopes=["automation:write"])
        _tok, other = api_token_create(member=admin, name="deals", scopes=["deals:write"])
    client = Client(HTTP_HOST=f"{tenant_a.schema_name}.localhost")

    def call(key: str, method: str, path: str, body: Any = None) -> int:
        auth = f"Token {key}"
        if method == "get":
            return client.get(path, HTTP_AUTHORIZATION=auth).status_code
        return client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=auth).status_code

    new = {
        "name": "By token",
        "module": "deals",
        "definition": {"trigger": {"type": "manual"}, "actions": opened_actions()},
    }
    for path in ("/api/v1/workflows/", "/api/v1/webhooks/", "/api/v1/approval-processes/"):
        assert call(reader, "get", path) == 200, path
        assert call(writer, "get", path) == 200, path  # write includes read
        assert call(other, "get", path) == 403, path
    assert call(reader, "post", "/api/v1/workflows/", new) == 403
    assert call(other, "post", "/api/v1/workflows/", new) == 403
    assert call(writer, "post", "/api/v1/workflows/", new) == 201


def test_an_extension_manifest_may_ask_for_the_automation_scope():
    from marketplace.manifest import manifest_validate

    data = {
        "schema_version": 1,
        "key": "flows",
        "name": "Flows",
        "version": "1.0.0",
        "min_platform_version": "0.1.0",
        "scopes": ["automation:write", "deals:read"],
    }
    assert manifest_validate(data).scopes == ["automation:write", "deals:read"]


# --- the extension point --------------------------------------------------------------------------------


@pytest.fixture
def stamp_action() -> Iterator[None]:
    def validate(action: dict[str, Any], error: Any) -> None:
        if not isinstance(action.get("text"), (str, dict)):
            error("text", "Write the stamp.")

    def perform(context: extension.ActionContext) -> dict[str, Any]:
        text = str(context.value(context.action["text"]))
        context.inputs({"text": text})
        if context.preview:
            return {"would_stamp": text}
        from crm_apps.engine.services import comment_add

        comment_add(spec=context.spec, actor=context.runner, record=context.record, body=f"[stamp] {text}")
        return {"stamped": text}

    extension.action_type_register(
        extension.ActionType(key="stamp", label="Stamp", validate=validate, perform=perform, writes=True)
    )
    yield
    extension._actions.pop("stamp", None)


def test_another_package_registers_an_action_type(tenant_a, admin_of, stamp_action):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        with pytest.raises(ValidationError) as caught:
            _workflow(admin, {"trigger": {"type": "manual"}, "actions": [{"id": "s", "type": "stamp"}]})
        assert "definition.actions.0.text" in caught.value.message_dict
        workflow = _workflow(
            admin,
            {
                "trigger": {"type": "manual"},
                "actions": [{"id": "s", "type": "stamp", "text": {"expr": "upper(name)"}}],
            },
        )
        deal = _deal(admin, name="quiet")
        preview = runner.preview(workflow=workflow, record_id=str(deal.pk), actor=admin)
        assert preview["steps"][0]["output"] == {"would_stamp": "QUIET"} and _comments("deals", deal) == []
        (run,) = services.workflow_run_manually(actor=admin, workflow=workflow, record_ids=[str(deal.pk)])
        assert run.status == RunStatus.SUCCEEDED and run.outputs["s"] == {"stamped": "QUIET"}
        assert _comments("deals", deal) == ["[stamp] QUIET"]
        assert AuditEvent.objects.filter(details__run=run.pk, details__action="stamp").exists()
    with pytest.raises(ValueError):
        extension.action_type_register(
            extension.ActionType(key="webhook", label="x", validate=lambda a, e: None, perform=lambda c: {})
        )


# --- each writing action: the owner's rights, and the audit ---------------------------------------------


WRITING_ACTIONS: dict[str, dict[str, Any]] = {
    "update_fields": {"values": {"last_name": "Changed"}},
    "create_record": {"module": "tasks", "values": {"subject": "Follow up"}},
    "add_comment": {"body": "Note"},
    "assign": {"group": 0, "strategy": "round_robin"},
    "add_to_campaign": {"campaign": ""},
}


@pytest.mark.parametrize("kind", sorted(WRITING_ACTIONS))
def test_each_writing_action_runs_with_the_owners_rights_and_is_audited(tenant_a, admin_of, member, kind):
    from crm_apps.access.models import Group
    from crm_apps.automation.models import Workflow

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        group = Group.objects.create(name="Sellers")
        group.members.add(admin)
        campaign = record_create(
            spec=registry.get("campaigns"),
            actor=admin,
            data={"name": "Spring", "expected_close_date": timezone.localdate().isoformat()},
        )
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Target"})
        # A member whose profile may see contacts, tasks and campaigns but change or create nothing.
        profile = Profile.objects.create(
            name="Look only", default_view=True, default_create=False, default_edit=False, default_delete=False
        )
        for module in ("contacts", "tasks", "campaigns"):
            # A comment needs only the sight of the record: for add_comment the member cannot see contacts.
            ProfileModule.objects.create(
                profile=profile,
                module=module,
                can_view=not (kind == "add_comment" and module == "contacts"),
                can_create=False,
                can_edit=False,
                can_delete=False,
            )
        top = Role.objects.get(parent__isnull=True)
        role = Role.objects.create(name="Looker", parent=top)
        role.profiles.set([profile])
    looker = member(tenant_a, role=role)
    with tenant_context(tenant_a):
        action: dict[str, Any] = {"id": "a", "type": kind, **WRITING_ACTIONS[kind]}
        if kind == "assign":
            action["group"] = group.pk
        if kind == "add_to_campaign":
            action["campaign"] = str(campaign.pk)
        workflow = _workflow(admin, {"trigger": {"type": "manual"}, "actions": [action]}, module="contacts")
        run = runner.run_start(workflow=workflow, record_id=str(contact.pk), trigger="manual", actor=admin)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert AuditEvent.objects.filter(
            actor_id=admin.pk, details__run=run.pk, details__action=kind, actor_label__contains="WF"
        ).exists()
        # The same workflow owned by the look-only member: the step is refused, nothing is audited for it.
        Workflow.objects.filter(pk=workflow.pk).update(owner=looker)
        workflow.refresh_from_db()
        before = AuditEvent.objects.count()
        refused = runner.run_start(workflow=workflow, record_id=str(contact.pk), trigger="manual", actor=admin)
        assert refused.status == RunStatus.FAILED, kind
        if kind == "add_comment":
            assert "not visible" in refused.error and not refused.steps.exists()
        else:
            assert refused.steps.get().status == "failed"
        assert not AuditEvent.objects.filter(details__run=refused.pk).exists()
        assert AuditEvent.objects.count() == before


# --- imports respect the engine's write guards ----------------------------------------------------------


def test_an_import_cannot_overwrite_a_record_locked_by_a_pending_approval(tenant_a, admin_of):
    from crm_apps.imports.tests.test_imports import HEADER, configure, csv_bytes, run, upload
    from crm_apps.modules.contacts.models import Contact

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        approvals.approval_process_save(
            actor=admin,
            data={
                "module": "contacts",
                "name": "VIP changes",
                "entry": {"match": "all", "rules": [{"expr": "title = 'VIP'"}]},
                "steps": [{"approver": f"member:{admin.pk}", "mode": "any"}],
                "locked_fields": [],
            },
        )
        spec = registry.get("contacts")
        locked = record_create(
            spec=spec, actor=admin, data={"first_name": "Vera", "last_name": "Vip", "email": "v@x.test", "title": "VIP"}
        )
        free = record_create(
            spec=spec, actor=admin, data={"first_name": "Fred", "last_name": "Free", "email": "f@x.test"}
        )
        assert approvals.pending_for("contacts", locked.pk) is not None
        rows = [["Vera", "Changed", "v@x.test", "", ""], ["Fred", "Changed", "f@x.test", "", ""]]
        job = upload(admin, csv_bytes(rows, header=HEADER))
        configure(admin, job, dedupe_fields=["email"], dedupe_mode="overwrite", options={"create_values": True})
        done = run(job)
        assert (done.report["updated"], done.report["failed"]) == (1, 1)
        (error,) = done.report["errors"]
        assert error["row"] == 1 and "waiting for approval" in json.dumps(error["errors"])
        assert Contact.objects.get(pk=locked.pk).last_name == "Vip"
        assert Contact.objects.get(pk=free.pk).last_name == "Changed"


# --- the other actions: send_email, webhook, notify, run_workflow (rights and audit) ---------------------


def _looker(tenant: Any, member: Any, *, see_contacts: bool = True, edit: bool = False) -> Any:
    """A member whose profile may see (or not) contacts and change nothing unless `edit`."""
    with tenant_context(tenant):
        profile = Profile.objects.create(
            name=f"Profile {see_contacts}{edit}",
            default_view=True,
            default_create=edit,
            default_edit=edit,
            default_delete=False,
        )
        ProfileModule.objects.create(
            profile=profile, module="contacts", can_view=see_contacts, can_create=edit, can_edit=edit, can_delete=False
        )
        top = Role.objects.get(parent__isnull=True)
        role = Role.objects.create(name=f"Role {see_contacts}{edit}", parent=top)
        role.profiles.set([profile])
    return member(tenant, role=role)


def _own(workflow: Any, owner: Any) -> Any:
    from crm_apps.automation.models import Workflow

    Workflow.objects.filter(pk=workflow.pk).update(owner=owner)
    workflow.refresh_from_db()
    return workflow


def test_send_email_uses_the_owners_templates_and_is_audited(tenant_a, admin_of, member):
    from crm_apps.mail.models import Mailbox, Message, Template

    admin = admin_of(tenant_a)
    looker = _looker(tenant_a, member)
    with tenant_context(tenant_a):
        Mailbox.objects.create(
            name="Sales",
            kind=Mailbox.Kind.SHARED,
            is_default=True,
            email_address="sales@example.test",
            smtp_host="smtp.example.test",
            owner=admin,
        )
        template = Template.objects.create(
            name="Private", module="contacts", subject="Hi", body_html="<p>Hi</p>", owner=admin, shared=False
        )
        action = {"id": "mail", "type": "send_email", "template": template.pk, "to": "record"}
        workflow = _workflow(admin, {"trigger": {"type": "manual"}, "actions": [action]}, module="contacts")
        contact = record_create(
            spec=registry.get("contacts"), actor=admin, data={"last_name": "Mailed", "email": "m@example.test"}
        )
        run = runner.run_start(workflow=workflow, record_id=str(contact.pk), trigger="manual", actor=admin)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert Message.objects.filter(sender=admin, to=["m@example.test"]).count() == 1
        assert AuditEvent.objects.filter(
            actor_id=admin.pk, details__run=run.pk, details__action="send_email", record_id=str(contact.pk)
        ).exists()
        # Owned by a member who may not use the admin's private template: refused, nothing sent or audited.
        _own(workflow, looker)
        refused = runner.run_start(workflow=workflow, record_id=str(contact.pk), trigger="manual", actor=admin)
        assert refused.status == RunStatus.FAILED and "template" in refused.error
        assert Message.objects.filter(to=["m@example.test"]).count() == 1
        assert not AuditEvent.objects.filter(details__run=refused.pk).exists()


def test_the_webhook_action_sends_only_what_the_owner_may_see_and_is_audited(
    tenant_a, admin_of, member, settings, django_capture_on_commit_callbacks
):
    from crm_apps.automation.models import Delivery

    settings.WEBHOOKS_ALLOW_PRIVATE = True
    admin = admin_of(tenant_a)
    blind = _looker(tenant_a, member, see_contacts=False)
    with tenant_context(tenant_a):
        action = {"id": "out", "type": "webhook", "url": "https://hooks.example.test/wf"}
        workflow = _workflow(admin, {"trigger": {"type": "manual"}, "actions": [action]}, module="contacts")
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Hooked"})
        run = runner.run_start(workflow=workflow, record_id=str(contact.pk), trigger="manual", actor=admin)
        assert run.status == RunStatus.SUCCEEDED, run.error
        delivery = Delivery.objects.get(run_step__run=run)
        assert delivery.payload["record"]["last_name"] == "Hooked" and delivery.record_id == str(contact.pk)
        assert AuditEvent.objects.filter(actor_id=admin.pk, details__run=run.pk, details__action="webhook").exists()
        # Owned by a member who cannot see the record: no call is made, nothing is audited.
        _own(workflow, blind)
        refused = runner.run_start(workflow=workflow, record_id=str(contact.pk), trigger="manual", actor=admin)
        assert refused.status == RunStatus.FAILED and "not visible" in refused.error
        assert not Delivery.objects.filter(run_step__run=refused).exists()
        assert not AuditEvent.objects.filter(details__run=refused.pk).exists()


def test_notify_reaches_only_members_who_can_see_the_record(tenant_a, admin_of, member):
    from crm_apps.notifications.models import Notification

    admin = admin_of(tenant_a)
    sees = _looker(tenant_a, member)
    blind = _looker(tenant_a, member, see_contacts=False)
    with tenant_context(tenant_a):
        action = {"id": "tell", "type": "notify", "to": [f"member:{sees.pk}", f"member:{blind.pk}"], "message": "Hi"}
        workflow = _workflow(admin, {"trigger": {"type": "manual"}, "actions": [action]}, module="contacts")
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Private"})
        run = runner.run_start(workflow=workflow, record_id=str(contact.pk), trigger="manual", actor=admin)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert run.outputs["tell"] == {"notified": [sees.pk]}
        assert Notification.objects.filter(recipient=sees, kind="workflow", record_id=contact.pk).count() == 1
        assert not Notification.objects.filter(recipient=blind).exists()
        # A notification changes no record: no record audit for the step.
        assert not AuditEvent.objects.filter(details__run=run.pk).exists()


def test_run_workflow_runs_the_other_with_its_own_owners_rights(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    looker = _looker(tenant_a, member)
    editor = _looker(tenant_a, member, edit=True)
    with tenant_context(tenant_a):
        inner = _workflow(
            admin,
            {
                "trigger": {"type": "manual"},
                "actions": [{"id": "u", "type": "update_fields", "values": {"last_name": "Changed"}}],
            },
            module="contacts",
            name="Inner",
        )
        outer = _workflow(
            admin,
            {"trigger": {"type": "manual"}, "actions": [{"id": "go", "type": "run_workflow", "workflow": inner.pk}]},
            module="contacts",
            name="Outer",
        )
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Target"})
        # The inner workflow belongs to a member who may only look: its step is refused, the outer run
        # records the child's failure and nothing is changed or audited.
        _own(inner, looker)
        run = runner.run_start(workflow=outer, record_id=str(contact.pk), trigger="manual", actor=admin)
        child = WorkflowRun.objects.get(workflow=inner)
        assert child.status == RunStatus.FAILED and child.depth == 1
        assert run.outputs["go"] == {"run": child.pk, "status": RunStatus.FAILED}
        contact.refresh_from_db()
        assert contact.last_name == "Target"
        assert not AuditEvent.objects.filter(details__run=child.pk).exists()
        # Owned by a member who may edit: the change is made and audited as that member's workflow.
        _own(inner, editor)
        runner.run_start(workflow=outer, record_id=str(contact.pk), trigger="manual", actor=admin)
        last = WorkflowRun.objects.filter(workflow=inner).order_by("-pk").first()
        assert last is not None
        child = last
        assert child.status == RunStatus.SUCCEEDED, child.error
        contact.refresh_from_db()
        assert contact.last_name == "Changed"
        assert AuditEvent.objects.filter(
            actor_id=editor.pk, details__run=child.pk, details__action="update_fields", actor_label__contains="Inner"
        ).exists()
        # Only an enabled workflow of the same module can be run.
        other = _workflow(
            admin, {"trigger": {"type": "manual"}, "actions": [{"id": "c", "type": "add_comment", "body": "x"}]}
        )
        bad = _workflow(
            admin,
            {"trigger": {"type": "manual"}, "actions": [{"id": "go", "type": "run_workflow", "workflow": other.pk}]},
            module="contacts",
            name="Bad",
        )
        failed = runner.run_start(workflow=bad, record_id=str(contact.pk), trigger="manual", actor=admin)
        assert failed.status == RunStatus.FAILED and not WorkflowRun.objects.filter(workflow=other).exists()
