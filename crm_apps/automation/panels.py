"""The record page's automation panel: a pending approval (approve/reject with a comment, for its
approvers) and the module's manual workflows ("run workflow"). No query when the module has neither."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.automation import approvals, services
from crm_apps.automation.listeners import workflows_for
from crm_apps.automation.models import ApprovalRequest, Workflow
from crm_apps.engine import registry


def panel_applies(spec: Any) -> bool:
    """Only modules with an enabled approval process or a manual workflow get the panel."""
    from tenants.runtime import in_public_schema

    if in_public_schema():
        return False
    manual = any(trigger.get("type") == "manual" for _pk, trigger in workflows_for(spec.key))
    return manual or bool(approvals.processes_for(spec.key))


def automation_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    spec = registry.spec_for_record(record)
    manual_ids = [pk for pk, trigger in workflows_for(spec.key) if trigger.get("type") == "manual"]
    pending = approvals.pending_for(spec.key, record.pk)
    context: dict[str, Any] = {"pending": None, "manual": []}
    if pending is not None:
        people = approvals.approvers(pending.process, pending, record)
        context["pending"] = pending
        context["can_decide"] = (
            member in people and not pending.decisions.filter(step=pending.step, member=member).exists()
        )
        context["approvers"] = ", ".join(p.user.name for p in people)
    if manual_ids:
        context["manual"] = list(Workflow.objects.filter(pk__in=manual_ids).order_by("name"))
    context["shown"] = bool(context["pending"] or context["manual"])
    return context


@login_required
@require_POST
def decide(request: HttpRequest, request_id: int) -> HttpResponse:
    member = request_member(request)
    found = ApprovalRequest.objects.filter(pk=request_id).first()
    if found is None or member is None:
        raise Http404
    try:
        approvals.approval_decide(
            actor=member,
            request=found,
            approve=request.POST.get("decision") == "approve",
            comment=request.POST.get("comment", ""),
        )
        messages.success(request, _("Your decision was recorded."))
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(f"/m/{found.module}/{found.record_id}/")


@login_required
@require_POST
def run_on_record(request: HttpRequest, workflow_id: int, record_id: str) -> HttpResponse:
    member = request_member(request)
    workflow = Workflow.objects.select_related("current").filter(pk=workflow_id).first()
    if workflow is None or member is None:
        raise Http404
    try:
        (run,) = services.workflow_run_manually(actor=member, workflow=workflow, record_ids=[record_id])
        messages.success(request, _("The workflow ran: %(status)s.") % {"status": run.get_status_display()})
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(f"/m/{workflow.module}/{record_id}/")
