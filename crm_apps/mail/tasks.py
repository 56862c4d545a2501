"""Celery entry points of email: polling (beat fans out to every tenant), delivery, scheduled sends."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from crm_apps.mail.models import Mailbox
from saas.celery import app
from tenants.models import Tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="mail.mailbox_sync_task")
def mailbox_sync_task(mailbox_id: str) -> int:
    """One polling run of one mailbox of this tenant; how many new messages were kept."""
    from crm_apps.mail.sync import mailbox_sync

    return mailbox_sync(mailbox_id=mailbox_id).stored


@app.task(base=TenantOnlyTask, name="mail.mailboxes_sync_due_task")
def mailboxes_sync_due_task() -> int:
    """Queue a sync of this tenant's active mailboxes not synced for `MAIL_SYNC_INTERVAL_SECONDS`."""
    interval = int(getattr(settings, "MAIL_SYNC_INTERVAL_SECONDS", 120))
    due = timezone.now() - dt.timedelta(seconds=interval - 10)
    active = Mailbox.objects.filter(status=Mailbox.Status.ACTIVE, sync_enabled=True).exclude(imap_host="")
    ids = active.filter(Q(last_sync_at__isnull=True) | Q(last_sync_at__lte=due)).values_list("pk", flat=True)
    count = 0
    for mailbox_id in ids:
        mailbox_sync_task.delay(str(mailbox_id))
        count += 1
    return count


@app.task(name="mail.mailboxes_sync_all_task")
def mailboxes_sync_all_task() -> int:
    """Beat, every two minutes: each tenant queues its due mailboxes, in its own schema."""
    count = 0
    for schema_name in Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        mailboxes_sync_due_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count


@app.task(base=TenantOnlyTask, name="mail.email_deliver_task")
def email_deliver_task(message_id: int) -> bool:
    """Send one queued message (its failure is kept on the message, retried by a person)."""
    from crm_apps.mail.services import email_deliver

    return email_deliver(message_id=message_id)


@app.task(base=TenantOnlyTask, name="mail.emails_send_due_task")
def emails_send_due_task() -> int:
    from crm_apps.mail.services import emails_send_due

    return emails_send_due()


@app.task(name="mail.emails_send_due_all_task")
def emails_send_due_all_task() -> int:
    """Beat, every minute: each tenant sends its scheduled messages that are due."""
    count = 0
    for schema_name in Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        emails_send_due_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count


@app.task(base=TenantOnlyTask, name="mail.campaign_send_batch_task")
def campaign_send_batch_task(send_id: int) -> int:
    """One batch of a campaign send (the plan's per-minute rate); queues the next batch a minute later."""
    from crm_apps.mail.campaigns import campaign_send_batch

    return campaign_send_batch(send_id=send_id)
