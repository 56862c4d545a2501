"""Writing workflows (each edit publishes a new immutable version), running one by hand, and tenant
webhooks. Workflows and webhooks are managed by the tenant's administrators."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.automation import scheduling
from crm_apps.automation.definitions import definition_clean
from crm_apps.automation.models import TenantWebhook, Workflow, WorkflowRun, WorkflowVersion
from crm_apps.engine import metadata, registry, selectors

WEBHOOK_EVENTS = ("created", "updated", "deleted", "converted", "stage_changed")


def _admin(actor: Member) -> None:
    if not actor.is_admin:
        raise PermissionDenied


def _module(module: Any) -> str:
    try:
        return registry.get(str(module)).key
    except registry.UnknownModule:
        raise ValidationError({"module": [_("Unknown module.")]}) from None


def _name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 150:
        raise ValidationError({"name": [_("A name of 1 to 150 characters.")]})
    return name.strip()


def _publish(workflow: Workflow, definition: dict[str, Any], actor: Member | None) -> WorkflowVersion:
    number = (workflow.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = WorkflowVersion.objects.create(workflow=workflow, number=number, definition=definition, created_by=actor)
    workflow.current = version
    workflow.trigger_type = definition["trigger"]["type"]
    return version


@transaction.atomic
def workflow_create(
    *, actor: Member, name: Any, module: Any, definition: Any, description: str = "", enabled: bool = True
) -> Workflow:
    _admin(actor)
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    try:
        clean["name"] = _name(name)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        clean["module"] = _module(module)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "module" in clean:
        try:
            clean["definition"] = definition_clean(module=clean["module"], definition=definition)
        except ValidationError as exc:
            errors.update({f"definition.{k}" if k != "definition" else k: v for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    workflow = Workflow.objects.create(
        name=clean["name"],
        module=clean["module"],
        description=str(description or "")[:500],
        enabled=bool(enabled),
        owner=actor,
    )
    _publish(workflow, clean["definition"], actor)
    workflow.save(update_fields=["current", "trigger_type"])
    scheduling.due_rows_replan(workflow)
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="automation",
        record_id=workflow.pk,
        record_label=workflow.name,
    )
    metadata.metadata_changed()
    return workflow


@transaction.atomic
def workflow_update(
    *,
    actor: Member,
    workflow: Workflow,
    name: Any = None,
    definition: Any = None,
    description: Any = None,
    enabled: Any = None,
) -> Workflow:
    """Rename, enable/disable, or publish a new version (runs already started finish on theirs)."""
    _admin(actor)
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    if workflow.system_key and definition is not None:
        raise ValidationError({"definition": [_("A system workflow's definition cannot be changed.")]})
    changes: dict[str, Any] = {}
    if name is not None:
        workflow.name = _name(name)
        changes["name"] = workflow.name
    if description is not None:
        workflow.description = str(description)[:500]
    if enabled is not None:
        workflow.enabled = bool(enabled)
        changes["enabled"] = workflow.enabled
    if definition is not None:
        try:
            clean = definition_clean(module=workflow.module, definition=definition)
        except ValidationError as exc:
            raise ValidationError(
                {f"definition.{k}" if k != "definition" else k: v for k, v in exc.message_dict.items()}
            ) from None
        version = _publish(workflow, clean, actor)
        changes["version"] = version.number
    workflow.updated_at = timezone.now()
    workflow.save()
    if "enabled" in changes or "version" in changes:
        scheduling.due_rows_replan(workflow)
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="automation",
        record_id=workflow.pk,
        record_label=workflow.name,
        changes=changes,
    )
    metadata.metadata_changed()
    return workflow


@transaction.atomic
def workflow_delete(*, actor: Member, workflow: Workflow) -> None:
    _admin(actor)
    if workflow.system_key:
        raise ValidationError({"non_field_errors": [_("A system workflow can be disabled, not deleted.")]})
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="automation",
        record_id=workflow.pk,
        record_label=workflow.name,
    )
    workflow.runs.all().delete()
    workflow.current = None
    workflow.save(update_fields=["current"])
    workflow.delete()
    metadata.metadata_changed()


def workflow_run_manually(*, actor: Member, workflow: Workflow, record_ids: list[Any]) -> list[WorkflowRun]:
    """'Run workflow' from a record or a list: for each record the actor can see."""
    from crm_apps.automation.runner import run_start

    if not workflow.enabled or workflow.current is None:
        raise ValidationError({"workflow": [_("The workflow is disabled.")]})
    if workflow.current.definition["trigger"]["type"] != "manual" and not actor.is_admin:
        raise PermissionDenied
    spec = registry.get(workflow.module)
    if not isinstance(record_ids, list) or not record_ids or len(record_ids) > 200:
        raise ValidationError({"records": [_("Choose 1 to 200 records.")]})
    runs = []
    for record_id in record_ids:
        try:
            record = selectors.access_record(spec=spec, actor=actor, record_id=record_id)
        except (ValidationError, ValueError):
            record = None
        if record is None:
            raise ValidationError({"records": [_("No such record.")]})
        runs.append(run_start(workflow=workflow, record_id=str(record.pk), trigger="manual", actor=actor))
    return runs


def run_retry(*, actor: Member, run: WorkflowRun) -> WorkflowRun:
    """Continue a failed run from its failed step, on its own version."""
    from crm_apps.automation.models import RunStatus
    from crm_apps.automation.runner import run_continue

    _admin(actor)
    if run.status != RunStatus.FAILED or not run.cursor:
        raise ValidationError({"non_field_errors": [_("Only a run that failed at a step can be retried.")]})
    run.status = RunStatus.RUNNING
    run.error = ""
    run.finished_at = None
    run.save(update_fields=["status", "error", "finished_at"])
    return run_continue(run)


# ----------------------------------------------------------------------------------------------- webhooks


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValidationError({"events": [_("Choose at least one event.")]})
    clean = []
    for item in value:
        module, _sep, event = str(item).partition(".")
        try:
            registry.get(module)
        except registry.UnknownModule:
            raise ValidationError({"events": [_("Unknown module in %(event)s.") % {"event": item}]}) from None
        if event not in WEBHOOK_EVENTS or (event == "converted" and module != "leads"):
            raise ValidationError({"events": [_("Unknown event %(event)s.") % {"event": item}]})
        clean.append(f"{module}.{event}")
    return sorted(set(clean))


def _url(value: Any) -> str:
    from saas.http import outbound_url_problem

    if not isinstance(value, str) or len(value) > 500:
        raise ValidationError({"url": [_("An http(s) address.")]})
    from django.conf import settings

    problem = outbound_url_problem(value, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE)
    if problem:
        raise ValidationError({"url": [_("This address cannot be used: %(problem)s.") % {"problem": problem}]})
    return value


@transaction.atomic
def webhook_create(*, actor: Member, name: Any, url: Any, events: Any, active: bool = True) -> TenantWebhook:
    _admin(actor)
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for key, check, value in (("name", _name, name), ("url", _url, url), ("events", _events, events)):
        try:
            clean[key] = check(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    hook = TenantWebhook.objects.create(created_by=actor, active=bool(active), **clean)
    audit.audit_log(
        action=audit.SETTINGS_CHANGED, actor=actor, module="automation", record_id=hook.pk, record_label=hook.name
    )
    metadata.metadata_changed()
    return hook


@transaction.atomic
def webhook_update(*, actor: Member, webhook: TenantWebhook, data: dict[str, Any]) -> TenantWebhook:
    _admin(actor)
    errors: dict[str, list[str]] = {}
    for key, check in (("name", _name), ("url", _url), ("events", _events)):
        if key in data:
            try:
                setattr(webhook, key, check(data[key]))
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if "active" in data:
        webhook.active = bool(data["active"])
    if data.get("rotate_secret"):
        from crm_apps.automation.models import _secret

        webhook.secret = _secret()
    webhook.save()
    audit.audit_log(
        action=audit.SETTINGS_CHANGED, actor=actor, module="automation", record_id=webhook.pk, record_label=webhook.name
    )
    metadata.metadata_changed()
    return webhook


@transaction.atomic
def webhook_delete(*, actor: Member, webhook: TenantWebhook) -> None:
    _admin(actor)
    audit.audit_log(
        action=audit.SETTINGS_CHANGED, actor=actor, module="automation", record_id=webhook.pk, record_label=webhook.name
    )
    webhook.delete()
    metadata.metadata_changed()
