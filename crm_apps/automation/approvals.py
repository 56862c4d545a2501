"""Approval processes: a record that meets a process's entry conditions waits for approval step by step.

- Submission: on a save (the engine's change listener, inside the write's transaction) when the entry
  conditions hold and the record has no pending request for the process; approvers are notified in the
  app (and by email if they chose so for the `approval` kind).
- Lock: while a request is pending, the engine's write guard refuses changes to the locked fields (all
  fields when none are named) and deletes, for everyone, with a field message.
- Steps: "member:<id>", "manager" (the members holding the role above the record owner's role) or
  "group:<id>" with mode "any" (one approval is enough) or "all" (every member must approve). A rejection
  ends the request. After `escalate_after_hours` the owner's managers may decide too and are notified.
- Outcome: the process's on_approved / on_rejected workflows run (logged like any run).
"""

from __future__ import annotations

import contextvars
import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_apps.access.models import Group, Member
from crm_apps.automation import expressions, notify
from crm_apps.automation.models import ApprovalDecision, ApprovalProcess, ApprovalRequest, ApprovalStatus
from crm_apps.engine import metadata, registry, selectors
from crm_apps.engine.models import CrmRecord
from crm_apps.engine.spec import ModuleSpec
from crm_apps.notifications import kinds
from crm_apps.notifications.services import notification_send
from tenants.runtime import in_public_schema

APPROVAL = "approval"
kinds.kind_register(
    kinds.Kind(
        key=APPROVAL,
        label=gettext_lazy("Approvals"),
        title=gettext_lazy("%(record)s: %(body)s"),
        description=gettext_lazy("Records waiting for your approval, and the answers to yours."),
    )
)
_unlocked: contextvars.ContextVar[bool] = contextvars.ContextVar("approval_unlocked", default=False)


def _processes() -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in ApprovalProcess.objects.filter(enabled=True).values("pk", "module", "entry", "locked_fields"):
        found.setdefault(row["module"], []).append(dict(row))
    return found


def processes_for(module: str) -> list[dict[str, Any]]:
    return metadata.memoised(("automation_approvals",), _processes).get(module, [])


def approvers(process: ApprovalProcess, request: ApprovalRequest, record: CrmRecord) -> list[Member]:
    """Who may decide the request's current step (the escalation adds the owner's managers)."""
    step = process.steps[request.step]
    target = step.get("approver", "manager")
    owner = getattr(record, "owner", None)
    people: list[Member] = []
    if target == "manager":
        people = notify.managers_of(owner)
    elif target.startswith("member:"):
        people = list(Member.objects.select_related("user").filter(pk=int(target[7:]), active=True))
    elif target.startswith("group:"):
        group = Group.objects.filter(pk=int(target[6:])).first()
        people = list(group.members.select_related("user").filter(active=True).order_by("pk")) if group else []
    if request.escalated:
        people += [m for m in notify.managers_of(owner) if m not in people]
    return people


def _tell(
    members: list[Member], spec: ModuleSpec, record: CrmRecord, body: str, key: str, actor: Member | None
) -> None:
    for member in members:
        notification_send(
            recipient=member,
            kind=APPROVAL,
            module=spec.key,
            record_id=record.pk,
            actor=actor,
            params={"record": str(record), "body": body},
            url=f"/m/{spec.key}/{record.pk}/",
            dedupe_key=f"{key}:{member.pk}",
        )


def record_changed(
    spec: ModuleSpec, record: CrmRecord, changes: dict[str, list[Any]], actor: Member, created: bool
) -> None:
    """Submit the record to every enabled process whose entry conditions it now meets."""
    if in_public_schema() or _unlocked.get():
        return
    rows = processes_for(spec.key)
    if not rows:
        return
    from crm_apps.automation.runner import RecordResolver, conditions_met

    for row in rows:
        if (
            ApprovalRequest.objects.filter(process_id=row["pk"], record_id=str(record.pk))
            .exclude(status=ApprovalStatus.REJECTED)
            .exists()
        ):
            continue  # pending or approved already; a rejected record may be submitted again
        resolver = RecordResolver(spec=spec, record=record, runner=actor, actor=actor, outputs={})
        try:
            if not conditions_met(row["entry"], resolver, changes):
                continue
        except expressions.ExpressionError:  # an entry condition that cannot be read submits nothing
            continue
        process = ApprovalProcess.objects.get(pk=row["pk"])
        request = ApprovalRequest.objects.create(
            process=process, module=spec.key, record_id=str(record.pk), submitted_by=actor
        )
        _tell(
            approvers(process, request, record),
            spec,
            record,
            _("waiting for your approval (%(process)s)") % {"process": process.display_name},
            f"approval:{request.pk}:0",
            actor,
        )


def pending_for(module: str, record_id: Any) -> ApprovalRequest | None:
    if not processes_for(module):
        return None
    return (
        ApprovalRequest.objects.select_related("process")
        .filter(module=module, record_id=str(record_id), status=ApprovalStatus.PENDING)
        .first()
    )


def write_guard(spec: ModuleSpec, record: CrmRecord, fields: list[str] | None, actor: Member) -> None:
    """The engine's write guard: locked fields (or the whole record) cannot change while pending."""
    if _unlocked.get() or not processes_for(spec.key):
        return
    request = pending_for(spec.key, record.pk)
    if request is None:
        return
    locked = set(request.process.locked_fields)
    if fields is None:
        raise ValidationError({"non_field_errors": [_("This record is waiting for approval and cannot be deleted.")]})
    blocked = [f for f in fields if not locked or f in locked]
    if blocked:
        message = _("This record is waiting for approval: the field cannot change until it is decided.")
        raise ValidationError({name: [message] for name in blocked})


@transaction.atomic
def approval_decide(*, actor: Member, request: ApprovalRequest, approve: bool, comment: str = "") -> ApprovalRequest:
    """An approver approves or rejects the current step (with a comment); the outcome workflows run at the end."""
    request = ApprovalRequest.objects.select_for_update().select_related("process").get(pk=request.pk)
    if request.status != ApprovalStatus.PENDING:
        raise ValidationError({"non_field_errors": [_("This approval has already been decided.")]})
    spec = registry.get(request.module)
    record = selectors.access_record(spec=spec, actor=actor, record_id=request.record_id)
    if record is None:
        raise PermissionDenied
    process = request.process
    people = approvers(process, request, record)
    if actor not in people:
        raise PermissionDenied
    if not approve and not str(comment or "").strip():
        raise ValidationError({"comment": [_("Say why you reject it.")]})
    if ApprovalDecision.objects.filter(request=request, step=request.step, member=actor).exists():
        raise ValidationError({"non_field_errors": [_("You have already decided this step.")]})
    ApprovalDecision.objects.create(
        request=request, step=request.step, member=actor, approved=approve, comment=str(comment or "")[:2000]
    )
    from crm_apps.engine.services import comment_add

    verdict = _("Approved") if approve else _("Rejected")
    comment_add(spec=spec, actor=actor, record=record, body=f"{verdict}: {comment}".strip().rstrip(":"))
    now = timezone.now()
    outcome = None
    if not approve:
        outcome = ApprovalStatus.REJECTED
    else:
        step = process.steps[request.step]
        approved = set(
            ApprovalDecision.objects.filter(request=request, step=request.step, approved=True).values_list(
                "member_id", flat=True
            )
        )
        done = step.get("mode", "any") == "any" or all(m.pk in approved for m in people if not request.escalated)
        if done and request.step + 1 < len(process.steps):
            request.step += 1
            request.step_started_at = now
            request.escalated = False
            request.save(update_fields=["step", "step_started_at", "escalated"])
            _tell(
                approvers(process, request, record),
                spec,
                record,
                _("waiting for your approval (%(process)s)") % {"process": process.display_name},
                f"approval:{request.pk}:{request.step}",
                actor,
            )
        elif done:
            outcome = ApprovalStatus.APPROVED
    if outcome is not None:
        request.status = outcome
        request.decided_at = now
        request.save(update_fields=["status", "decided_at"])
        owner = getattr(record, "owner", None)
        if owner is not None:
            _tell([owner], spec, record, str(verdict), f"approval:{request.pk}:done", actor)
        workflow = process.on_approved if outcome == ApprovalStatus.APPROVED else process.on_rejected
        if workflow is not None and workflow.enabled and workflow.current is not None:
            from crm_apps.automation.runner import run_start

            token = _unlocked.set(True)
            try:
                run_start(workflow=workflow, record_id=request.record_id, trigger="approval", actor=actor)
            finally:
                _unlocked.reset(token)
    return request


def escalations_due(now: dt.datetime | None = None) -> int:
    """Let the owner's managers decide steps pending longer than their `escalate_after_hours`."""
    now = now or timezone.now()
    count = 0
    for request in ApprovalRequest.objects.select_related("process").filter(
        status=ApprovalStatus.PENDING, escalated=False
    ):
        hours = request.process.steps[request.step].get("escalate_after_hours")
        if not hours or request.step_started_at + dt.timedelta(hours=int(hours)) > now:
            continue
        spec = registry.get(request.module)
        record = spec.records().filter(pk=request.record_id).first()
        if record is None:
            continue
        ApprovalRequest.objects.filter(pk=request.pk).update(escalated=True)
        request.escalated = True
        _tell(
            notify.managers_of(getattr(record, "owner", None)),
            spec,
            record,
            _("an approval is overdue (%(process)s)") % {"process": request.process.display_name},
            f"approval:{request.pk}:escalated",
            None,
        )
        count += 1
    return count


def processes_changed() -> None:
    metadata.metadata_changed()


def _outcome_workflows(
    workflow_model: Any, version_model: Any, *, module: str, key: str, name: str, bodies: dict[str, str]
) -> dict[str, Any]:
    """The manual workflows a shipped example runs on approval/rejection: comment and tell the owner."""
    outcomes = {}
    for outcome, body in bodies.items():
        definition = {
            "trigger": {"type": "manual"},
            "actions": [
                {"id": "note", "type": "add_comment", "body": body},
                {"id": "tell", "type": "notify", "to": ["owner"], "message": body},
            ],
        }
        workflow = workflow_model.objects.create(
            name=f"{name} {outcome}", module=module, system_key=f"{key}:{outcome}", trigger_type="manual"
        )
        version = version_model.objects.create(workflow=workflow, number=1, definition=definition)
        workflow.current = version
        workflow.save(update_fields=["current"])
        outcomes[outcome] = workflow
    return outcomes


def shipped_example_create(process_model: Any, workflow_model: Any, version_model: Any) -> None:
    """The example (disabled until an admin enables it): deals of 50,000 or more need the approval of the
    owner's manager; amount and probability are locked while pending; the outcome is commented."""
    if process_model.objects.filter(system_key="example:large_deals").exists():
        return
    outcomes = _outcome_workflows(
        workflow_model,
        version_model,
        module="deals",
        key="example:large_deals",
        name="Large deal",
        bodies={"approved": "Approved: go ahead.", "rejected": "Rejected: please revise the deal."},
    )
    process_model.objects.create(
        name="Large deals need a manager's approval",
        module="deals",
        enabled=False,
        system_key="example:large_deals",
        entry={"match": "all", "rules": [{"expr": "amount >= 50000"}]},
        steps=[{"approver": "manager", "mode": "any", "escalate_after_hours": 48}],
        locked_fields=["amount", "probability"],
        on_approved=outcomes["approved"],
        on_rejected=outcomes["rejected"],
    )


QUOTE_DISCOUNT_PERCENT = 20


def shipped_quote_example_create(process_model: Any, workflow_model: Any, version_model: Any) -> None:
    """The quotes example (disabled until an admin enables it): a quote whose discount is over 20% of its
    subtotal needs the approval of a sales manager (the owner's manager in the role tree); the whole
    quote is locked while pending (its lines and discounts make the total); the outcome is commented
    and the owner told."""
    if process_model.objects.filter(system_key="example:quote_discount").exists():
        return
    outcomes = _outcome_workflows(
        workflow_model,
        version_model,
        module="quotes",
        key="example:quote_discount",
        name="Quote discount",
        bodies={"approved": "Discount approved: send the quote.", "rejected": "Discount rejected."},
    )
    share = f"if(subtotal > 0, discount_total * 100 / subtotal, 0) > {QUOTE_DISCOUNT_PERCENT}"
    process_model.objects.create(
        name="Quotes with a discount over 20% need a sales manager's approval",
        module="quotes",
        enabled=False,
        system_key="example:quote_discount",
        entry={"match": "all", "rules": [{"expr": share}]},
        steps=[{"approver": "manager", "mode": "any", "escalate_after_hours": 48}],
        locked_fields=[],
        on_approved=outcomes["approved"],
        on_rejected=outcomes["rejected"],
    )


def _steps_clean(steps: Any) -> list[dict[str, Any]]:
    import re

    if not isinstance(steps, list) or not steps or len(steps) > 10:
        raise ValidationError({"steps": [_("Give 1 to 10 steps.")]})
    clean = []
    for index, step in enumerate(steps):
        approver = step.get("approver") if isinstance(step, dict) else None
        if not isinstance(approver, str) or not re.fullmatch(r"manager|member:\d+|group:\d+", approver):
            raise ValidationError({f"steps.{index}.approver": [_("manager, member:<id> or group:<id>.")]})
        mode = step.get("mode", "any")
        if mode not in ("any", "all"):
            raise ValidationError({f"steps.{index}.mode": [_("any or all.")]})
        entry: dict[str, Any] = {"approver": approver, "mode": mode}
        hours = step.get("escalate_after_hours")
        if hours is not None:
            if not isinstance(hours, int) or isinstance(hours, bool) or not 1 <= hours <= 720:
                raise ValidationError({f"steps.{index}.escalate_after_hours": [_("Between 1 and 720 hours.")]})
            entry["escalate_after_hours"] = hours
        clean.append(entry)
    return clean


@transaction.atomic
def approval_process_save(
    *, actor: Member, process: ApprovalProcess | None = None, data: dict[str, Any]
) -> ApprovalProcess:
    """Create or change a process (administrators): entry conditions, steps, locked fields, outcomes."""
    from crm_apps.automation.definitions import _conditions, _Errors, _field_names
    from crm_apps.automation.models import Workflow

    if not actor.is_admin:
        raise PermissionDenied
    errors = _Errors()
    module = process.module if process else str(data.get("module", ""))
    try:
        fields = _field_names(module)
    except registry.UnknownModule:
        raise ValidationError({"module": [_("Unknown module.")]}) from None
    name = data.get("name", process.name if process else "")
    if not isinstance(name, str) or not name.strip() or len(name) > 150:
        errors.add("name", _("A name of 1 to 150 characters."))
    entry = data.get("entry", process.entry if process else {})
    _conditions(errors, "entry", entry)
    locked = data.get("locked_fields", process.locked_fields if process else [])
    if not isinstance(locked, list) or any(f not in fields for f in locked):
        errors.add("locked_fields", _("Choose fields of this module."))
    outcomes: dict[str, Any] = {}
    for key in ("on_approved", "on_rejected"):
        value = data.get(key, getattr(process, f"{key}_id") if process else None)
        if value in (None, ""):
            outcomes[key] = None
            continue
        outcomes[key] = Workflow.objects.filter(pk=value if isinstance(value, int) else 0, module=module).first()
        if outcomes[key] is None:
            errors.add(key, _("Choose a workflow of this module."))
    try:
        steps = _steps_clean(data.get("steps", process.steps if process else None))
    except ValidationError as exc:
        for path, messages in exc.message_dict.items():
            for message in messages:
                errors.add(path, message)
        steps = []
    if errors.items:
        raise ValidationError(errors.items)
    process = process or ApprovalProcess(module=module, owner=actor)
    process.name = name.strip()
    process.entry = entry or {}
    process.steps = steps
    process.locked_fields = locked
    process.on_approved = outcomes["on_approved"]
    process.on_rejected = outcomes["on_rejected"]
    if "enabled" in data:
        process.enabled = bool(data["enabled"])
    process.save()
    processes_changed()
    return process
