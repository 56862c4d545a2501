"""Celery entry points of the inventory: emailing a document's PDF outside the request."""

from __future__ import annotations

import logging

from crm_apps.access.models import Member
from crm_apps.engine import registry
from saas.celery import app
from tenants.tasks import TenantOnlyTask

logger = logging.getLogger(__name__)


@app.task(base=TenantOnlyTask, name="inventory.document_send_task")
def document_send_task(
    *, module: str, record_id: str, actor_id: int, recipients: list[str], subject: str, message: str, language: str
) -> bool:
    """Render and send one document's PDF; a failure is told to the sender (and logged), never retried
    blindly: the sender decides whether to send again. False when nothing was sent."""
    from crm_apps.inventory.notifications import SEND_FAILED
    from crm_apps.inventory.sending import document_deliver
    from crm_apps.notifications.services import notification_send

    actor = Member.objects.select_related("user").filter(pk=actor_id, active=True).first()
    spec = registry.get(module)
    record = spec.records().filter(pk=record_id, deleted_at__isnull=True).first()
    if actor is None or record is None:
        return False
    try:
        document_deliver(
            spec=spec,
            record=record,
            actor=actor,
            recipients=recipients,
            subject=subject,
            message=message,
            language=language,
        )
    except Exception as exc:  # SMTP refusals, unreachable servers, a template that fails to render
        logger.warning("inventory: sending %s %s failed", module, record_id, exc_info=True)
        notification_send(
            recipient=actor,
            kind=SEND_FAILED,
            module=module,
            record_id=record.pk,
            params={"record": str(record), "to": ", ".join(recipients), "error": str(exc)[:200]},
        )
        return False
    return True
