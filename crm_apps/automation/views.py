"""Tenant-admin screens (/settings/automation/): workflows, the designer, run logs, webhooks.

The designer is a script (frontend/assets/automation.js) over `/api/v1/workflows/`: the page gives it the
workflow's JSON, the module's fields and choices and the translated labels (json_script, no inline code).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Group, Member
from crm_apps.automation import action_types, extension, services
from crm_apps.automation.definitions import action_keys, trigger_keys
from crm_apps.automation.models import TenantWebhook, Workflow, WorkflowRun
from crm_apps.engine import metadata, registry


def _fields(module: str) -> list[dict[str, Any]]:
    spec = registry.get(module)
    rows: list[dict[str, Any]] = []
    skip = {"id", "search_vector", "custom_data", "created_by", "updated_by", "version", "deleted_at", "number"}
    for field in spec.model._meta.concrete_fields:
        if field.name in skip or field.name.endswith("_ptr"):
            continue
        entry: dict[str, Any] = {
            "name": field.name,
            "label": str(field.verbose_name),
            "type": field.get_internal_type(),
        }
        if isinstance(field, models.ForeignKey) and field.name != "owner" and not _is_module(field.related_model):
            choices = field.related_model._default_manager.all()[:200]
            entry["choices"] = [[str(c.pk), str(c)] for c in choices]
        elif field.choices:
            entry["choices"] = [[str(k), str(v)] for k, v in field.flatchoices]
        rows.append(entry)
    rows += [{"name": f.key, "label": f.label, "type": "custom"} for f in metadata.custom_fields(module)]
    return rows


def _is_module(model: Any) -> bool:
    try:
        registry.spec_for_model(model)
    except registry.UnknownModule:
        return False
    return True


def _templates(module: str) -> list[list[Any]]:
    from crm_apps.mail.models import Template

    rows = Template.objects.filter(shared=True).filter(models.Q(module="") | models.Q(module=module)).order_by("name")
    return [[t.pk, t.name] for t in rows[:200]]


def _triggers_for(module: str) -> list[str]:
    """The trigger types a workflow of `module` may use (portal events are tickets'; registered types say)."""
    chosen = []
    for key in trigger_keys():
        registered = extension.trigger_type(key)
        if key == "portal_event" and module != "tickets":
            continue
        if registered is not None and registered.modules is not None and module not in registered.modules:
            continue
        chosen.append(key)
    return chosen + sorted(action_types.external_triggers(module))  # installed apps' events


def _forms(module: str) -> list[list[Any]]:
    from crm_apps.webforms.models import WebForm

    return [[f.pk, f.name] for f in WebForm.objects.filter(module=module).order_by("name")[:200]]


LABELS = {
    "trigger": lambda: _("When"),
    "conditions": lambda: _("Only if"),
    "actions": lambda: _("Then"),
    "match_all": lambda: _("all rules are true"),
    "match_any": lambda: _("any rule is true"),
    "add_rule": lambda: _("Add a rule"),
    "add_group": lambda: _("Add a group"),
    "add_action": lambda: _("Add an action"),
    "remove": lambda: _("Remove"),
    "up": lambda: _("Move up"),
    "down": lambda: _("Move down"),
    "save": lambda: _("Publish"),
    "saved": lambda: _("Published as version %(n)s."),
    "test": lambda: _("Test run"),
    "test_record": lambda: _("Record id for a test run"),
    "test_result": lambda: _("What would happen (nothing was written)"),
    "field": lambda: _("Field"),
    "from": lambda: _("From (optional)"),
    "to": lambda: _("To (optional)"),
    "expression": lambda: _("Expression"),
    "value": lambda: _("Value or =expression"),
    "offset_days": lambda: _("Days after the date (negative: before)"),
    "at": lambda: _("At (HH:MM)"),
    "every_minutes": lambda: _("Every N minutes"),
    "daily_at": lambda: _("Daily at (HH:MM)"),
    "filter": lambda: _("Records matching (expression)"),
    "schedule_kind": lambda: _("Repeats"),
    "s_every_minutes": lambda: _("Every N minutes"),
    "s_daily_at": lambda: _("Daily"),
    "s_weekly": lambda: _("Weekly"),
    "s_monthly": lambda: _("Monthly"),
    "s_cron": lambda: _("Cron expression"),
    "weekly_days": lambda: _("On these days"),
    "d_mon": lambda: _("Mon"),
    "d_tue": lambda: _("Tue"),
    "d_wed": lambda: _("Wed"),
    "d_thu": lambda: _("Thu"),
    "d_fri": lambda: _("Fri"),
    "d_sat": lambda: _("Sat"),
    "d_sun": lambda: _("Sun"),
    "month_day": lambda: _("Day of the month"),
    "last_day": lambda: _("Last day"),
    "cron": lambda: _("Cron (minute hour day month weekday)"),
    "schedule_zone": lambda: _("Times are in the workspace's time zone, %(zone)s (Finance > Company details)."),
    "schedule_utc": lambda: _("Counted from midnight UTC."),
    "module": lambda: _("Module"),
    "recipients": lambda: _("Recipients (owner, manager, actor, member:ID, group:ID)"),
    "message": lambda: _("Message"),
    "body": lambda: _("Comment"),
    "url": lambda: _("URL"),
    "days": lambda: _("Days"),
    "hours": lambda: _("Hours"),
    "minutes": lambda: _("Minutes"),
    "if": lambda: _("If (expression)"),
    "then": lambda: _("Yes"),
    "else": lambda: _("No"),
    "group": lambda: _("Group"),
    "strategy": lambda: _("Strategy"),
    "campaign": lambda: _("Campaign id"),
    "workflow": lambda: _("Workflow"),
    "values": lambda: _("Fields to set (one per line: field = value or field = =expression)"),
    "name": lambda: _("Name"),
    "step_id": lambda: _("Step id (for later steps: steps.ID.key)"),
    "error": lambda: _("Please correct the marked boxes."),
    "t_created": lambda: _("A record is created"),
    "t_updated": lambda: _("A record is changed"),
    "t_saved": lambda: _("A record is created or changed"),
    "t_first_match": lambda: _("The conditions first become true"),
    "t_field_changed": lambda: _("A field changes"),
    "t_date": lambda: _("A date of the record comes"),
    "t_schedule": lambda: _("On a schedule"),
    "t_manual": lambda: _("Someone runs it"),
    "t_email_received": lambda: _("An email about the record arrives"),
    "t_webform_submitted": lambda: _("A web form sends the record"),
    "t_portal_event": lambda: _("The customer acts in the portal"),
    "t_webhook_reply": lambda: _("A workflow's webhook gets its answer"),
    "form": lambda: _("Web form (optional)"),
    "event": lambda: _("Event"),
    "ev_ticket_opened": lambda: _("Opens a ticket"),
    "ev_ticket_answered": lambda: _("Answers a ticket"),
    "from_workflow": lambda: _("From the workflow (optional)"),
    "status": lambda: _("Answer"),
    "st_any": lambda: _("any"),
    "st_succeeded": lambda: _("delivered"),
    "st_failed": lambda: _("failed"),
    "wait_for_reply": lambda: _("Wait for the answer (later steps use steps.ID.body)"),
    "settings_json": lambda: _("Settings (JSON)"),
    "a_update_fields": lambda: _("Update fields"),
    "a_create_record": lambda: _("Create a record"),
    "a_notify": lambda: _("Notify"),
    "a_send_email": lambda: _("Send an email from a template"),
    "template": lambda: _("Email template"),
    "email_to": lambda: _("To"),
    "a_assign": lambda: _("Assign within a group"),
    "a_add_comment": lambda: _("Add a comment"),
    "a_add_to_campaign": lambda: _("Add to a campaign"),
    "a_webhook": lambda: _("Call a webhook"),
    "a_wait": lambda: _("Wait"),
    "a_branch": lambda: _("If / else"),
    "a_run_workflow": lambda: _("Run another workflow"),
}


@admin_view
def index(request: HttpRequest, actor: Member) -> HttpResponse:
    if request.method == "POST" and request.POST.get("toggle"):
        workflow = Workflow.objects.filter(pk=request.POST["toggle"]).first()
        if workflow is None:
            raise Http404
        services.workflow_update(actor=actor, workflow=workflow, enabled=not workflow.enabled)
        messages.success(request, _("Workflow enabled.") if not workflow.enabled else _("Workflow disabled."))
        return redirect("automation:index")
    workflows = Workflow.objects.select_related("current").order_by("module", "name")
    modules = sorted(registry.all_specs(), key=lambda s: str(s.label_plural))
    return render(request, "automation/index.html", {"workflows": workflows, "modules": modules, "tab": "workflows"})


@admin_view
def designer(request: HttpRequest, actor: Member, pk: int | None = None) -> HttpResponse:
    workflow = None
    if pk is not None:
        workflow = Workflow.objects.select_related("current").filter(pk=pk).first()
        if workflow is None:
            raise Http404
        module = workflow.module
    else:
        module = request.GET.get("module", "")
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        raise Http404 from None
    external = action_types.external_actions(spec.key)  # installed apps' actions (action_types.py)
    state = {
        "id": workflow.pk if workflow else None,
        "name": workflow.name if workflow else "",
        "module": spec.key,
        "system": bool(workflow and workflow.system_key),
        "definition": workflow.current.definition if workflow and workflow.current else None,
        "fields": _fields(spec.key),
        "modules": [[s.key, str(s.label_plural)] for s in registry.all_specs()],
        "groups": [[g.pk, g.display_name] for g in Group.objects.order_by("name")],
        "templates": _templates(spec.key),
        "workflows": [[w.pk, w.name] for w in Workflow.objects.filter(module=spec.key).exclude(pk=pk or 0)],
        "triggers": _triggers_for(spec.key),
        "actions": [*action_keys(), *external],
        "forms": _forms(spec.key),
        "all_workflows": [[w.pk, w.name] for w in Workflow.objects.filter(system_key="").order_by("name")],
        "labels": {
            **{key: str(make()) for key, make in LABELS.items()},
            **{f"t_{t.key}": str(t.label) for t in extension.trigger_types()},
            **{f"a_{a.key}": str(a.label) for a in extension.action_types()},
            **{f"a_{key}": action.label for key, action in external.items()},
            **{f"t_{key}": t.label for key, t in action_types.external_triggers(spec.key).items()},
        },
        "workspace_timezone": request.tenant.timezone,  # type: ignore[attr-defined]
        "api": "/api/v1/workflows/",
        "index": request.build_absolute_uri("/settings/automation/"),
    }
    return render(
        request, "automation/designer.html", {"state": state, "workflow": workflow, "spec": spec, "tab": "workflows"}
    )


@admin_view
def runs(request: HttpRequest, actor: Member, pk: int) -> HttpResponse:
    workflow = Workflow.objects.filter(pk=pk).first()
    if workflow is None:
        raise Http404
    rows = WorkflowRun.objects.filter(workflow=workflow).select_related("version").order_by("-pk")[:100]
    return render(request, "automation/runs.html", {"workflow": workflow, "runs": rows, "tab": "workflows"})


@admin_view
def run_detail(request: HttpRequest, actor: Member, pk: int, run_id: int) -> HttpResponse:
    run = WorkflowRun.objects.select_related("workflow", "version").filter(workflow_id=pk, pk=run_id).first()
    if run is None:
        raise Http404
    if request.method == "POST" and request.POST.get("retry"):
        try:
            services.run_retry(actor=actor, run=run)
            messages.success(request, _("The run was retried."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("automation:run", pk=pk, run_id=run_id)
    return render(
        request, "automation/run.html", {"run": run, "steps": run.steps.order_by("position"), "tab": "workflows"}
    )


@admin_view
def webhooks(request: HttpRequest, actor: Member) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            if request.POST.get("delete"):
                hook = TenantWebhook.objects.filter(pk=request.POST["delete"]).first()
                if hook is None:
                    raise Http404
                services.webhook_delete(actor=actor, webhook=hook)
                messages.success(request, _("Webhook removed."))
            else:
                services.webhook_create(
                    actor=actor,
                    name=request.POST.get("name"),
                    url=request.POST.get("url"),
                    events=[e.strip() for e in request.POST.get("events", "").replace(",", " ").split() if e.strip()],
                )
                messages.success(request, _("Webhook added."))
            return redirect("automation:webhooks")
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}
    hooks = TenantWebhook.objects.order_by("name", "pk")
    recent = {h.pk: list(h.deliveries.order_by("-pk")[:10]) for h in hooks}
    context = {
        "hooks": [(h, recent[h.pk]) for h in hooks],
        "errors": errors,
        "posted": request.POST,
        "events": services.WEBHOOK_EVENTS,
        "tab": "webhooks",
    }
    return render(request, "automation/webhooks.html", context, status=400 if errors else 200)


@admin_view
def approval_processes(request: HttpRequest, actor: Member) -> HttpResponse:
    """List, enable/disable and add approval processes (one entry expression, one or more steps)."""
    from crm_apps.automation import approvals
    from crm_apps.automation.models import ApprovalProcess

    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        post = request.POST
        try:
            if post.get("toggle"):
                process = ApprovalProcess.objects.filter(pk=post["toggle"]).first()
                if process is None:
                    raise Http404
                approvals.approval_process_save(actor=actor, process=process, data={"enabled": not process.enabled})
                messages.success(request, _("Approval process updated."))
            else:
                approvers = [a.strip() for a in post.get("approvers", "").split() if a.strip()]
                entry = post.get("entry", "").strip()
                approvals.approval_process_save(
                    actor=actor,
                    data={
                        "module": post.get("module", ""),
                        "name": post.get("name", ""),
                        "entry": {"match": "all", "rules": [{"expr": entry}]} if entry else {},
                        "steps": [{"approver": a, "mode": post.get("mode", "any")} for a in approvers],
                        "locked_fields": [f.strip() for f in post.get("locked_fields", "").split() if f.strip()],
                        "on_approved": int(post["on_approved"]) if post.get("on_approved", "").isdigit() else None,
                        "on_rejected": int(post["on_rejected"]) if post.get("on_rejected", "").isdigit() else None,
                    },
                )
                messages.success(request, _("Approval process added."))
            return redirect("automation:approvals")
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}
    context = {
        "processes": ApprovalProcess.objects.order_by("module", "name"),
        "modules": sorted(registry.all_specs(), key=lambda s: str(s.label_plural)),
        "workflows": Workflow.objects.filter(trigger_type="manual").order_by("module", "name"),
        "errors": errors,
        "posted": request.POST,
        "tab": "approvals",
    }
    return render(request, "automation/approvals.html", context, status=400 if errors else 200)
