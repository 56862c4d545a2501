"""Campaign sends: a template to every member of a campaign, one message each, in batches at the plan's
rate, within the plan's monthly limit; one-click unsubscribe (RFC 8058) and bounces update each
recipient's status.

Statuses: queued -> sent | failed | skipped (opted out or no address); later bounced (a delivery status
notification naming the message arrives in any synced mailbox) or unsubscribed (the link or the mail
client's one-click button); opened and clicked when the sender turned tracking on for that send (off by
default): the HTML gets a 1x1 picture and its links go through a signed redirect, both named by the
recipient's secret token.
"""

from __future__ import annotations

import html
import re
import secrets
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.selectors import access_record
from crm_apps.mail import selectors
from crm_apps.mail.models import CampaignRecipient, CampaignSend, Message
from tenants.runtime import current_schema
from tenants.services import tenant_url

ONE_CLICK = "List-Unsubscribe=One-Click"


def plan_limits() -> tuple[int, int]:
    """(messages per month, per minute) of the current workspace's plan."""
    from billing.entitlements import _plan_code, current_tenant

    limits: dict[str, tuple[int, int]] = getattr(settings, "MAIL_CAMPAIGN_LIMITS", {"*": (1_000, 60)})
    code = _plan_code(current_tenant()) if getattr(connection, "tenant", None) is not None else ""
    return limits.get(code) or limits.get("*") or (1_000, 60)


def sent_this_month() -> int:
    start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return CampaignRecipient.objects.filter(
        updated_at__gte=start,
        status__in=[
            CampaignRecipient.Status.SENT,
            CampaignRecipient.Status.BOUNCED,
            CampaignRecipient.Status.OPENED,
            CampaignRecipient.Status.CLICKED,
            CampaignRecipient.Status.UNSUBSCRIBED,
        ],
    ).count()


def _members(campaign: Any) -> list[tuple[str, Any]]:
    """(module, record) of the campaign's leads and contacts."""
    rows = []
    for membership in campaign.members.select_related("lead", "contact"):
        if membership.lead is not None:
            rows.append(("leads", membership.lead))
        elif membership.contact is not None:
            rows.append(("contacts", membership.contact))
    return rows


@transaction.atomic
def campaign_send_start(*, actor: Member, campaign_id: Any, template_id: Any, tracking: bool = False) -> CampaignSend:
    """Queue a template to a campaign's members (the actor may edit the campaign); refused over the plan's
    monthly limit, with nothing queued. `tracking` records opens and clicks (off unless asked for)."""
    spec = registry.get("campaigns")
    campaign = access_record(spec=spec, actor=actor, record_id=campaign_id)
    if campaign is None:
        raise ValidationError({"campaign": [_("Choose an existing campaign.")]})
    if not visibility.can_edit(actor=actor, spec=spec, record=campaign):
        raise PermissionDenied
    template = selectors.access_template(actor=actor, template_id=template_id)
    if template is None:
        raise ValidationError({"template": [_("Choose an existing template.")]})
    if selectors.sending_mailbox(actor=actor) is None:
        raise ValidationError(
            {"mailbox": [_("Set up your mailbox (or ask an administrator for a default one) before sending.")]}
        )
    send = CampaignSend.objects.create(
        campaign_id=campaign.pk, template=template, created_by=actor, tracking=bool(tracking)
    )
    rows, queued = [], 0
    for module, record in _members(campaign):
        address = getattr(record, "email", "") or ""
        skipped = not address or getattr(record, "email_opt_out", False)
        queued += 0 if skipped else 1
        rows.append(
            CampaignRecipient(
                send=send,
                module=module,
                record_id=record.pk,
                email=address,
                status=CampaignRecipient.Status.SKIPPED if skipped else CampaignRecipient.Status.QUEUED,
                token=secrets.token_urlsafe(32),
            )
        )
    monthly, _per_minute = plan_limits()
    if sent_this_month() + queued > monthly:
        raise ValidationError(
            {
                "non_field_errors": [
                    _(
                        "Your plan sends at most %(limit)s campaign emails a month; this campaign "
                        "would go over it. Upgrade the plan or wait for next month."
                    )
                    % {"limit": monthly}
                ]
            }
        )
    CampaignRecipient.objects.bulk_create(rows)
    from crm_apps.mail.tasks import campaign_send_batch_task

    transaction.on_commit(lambda: campaign_send_batch_task.delay(send.pk))
    return send


def _unsubscribe_url(token: str) -> str:
    return tenant_url(current_schema(), reverse("mail:unsubscribe", args=[token]))


def campaign_send_batch(*, send_id: int) -> int:
    """Send up to the plan's per-minute rate of queued recipients; how many are still queued."""
    from crm_apps.mail.services import email_deliver, email_send

    send = CampaignSend.objects.select_related("created_by__user", "template").filter(pk=send_id).first()
    if send is None or send.status == CampaignSend.Status.DONE:
        return 0
    _monthly, per_minute = plan_limits()
    with transaction.atomic():
        batch = list(
            CampaignRecipient.objects.select_for_update(skip_locked=True)
            .filter(send=send, status=CampaignRecipient.Status.QUEUED)
            .order_by("id")[:per_minute]
        )
        for recipient in batch:
            url = _unsubscribe_url(recipient.token)
            try:
                with transaction.atomic():
                    message = email_send(
                        actor=send.created_by,
                        to=[recipient.email],
                        template_id=send.template_id,
                        related_to=[f"{recipient.module}:{recipient.record_id}"],
                        headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK},
                        deliver=False,
                    )
            except (ValidationError, PermissionDenied):
                recipient.status = CampaignRecipient.Status.FAILED
            else:
                if send.tracking:
                    Message.objects.filter(pk=message.pk).update(
                        body_html=tracking_apply(message.body_html, token=recipient.token)
                    )
                recipient.message = message
                recipient.status = CampaignRecipient.Status.QUEUED
            recipient.updated_at = timezone.now()
            recipient.save(update_fields=["status", "message", "updated_at"])
    for recipient in batch:
        if recipient.message_id is None:
            continue
        delivered = email_deliver(message_id=recipient.message_id)
        CampaignRecipient.objects.filter(pk=recipient.pk).update(
            status=CampaignRecipient.Status.SENT if delivered else CampaignRecipient.Status.FAILED,
            updated_at=timezone.now(),
        )
    remaining = CampaignRecipient.objects.filter(send=send, status=CampaignRecipient.Status.QUEUED).count()
    if remaining == 0:
        CampaignSend.objects.filter(pk=send.pk).update(status=CampaignSend.Status.DONE)
    else:
        from crm_apps.mail.tasks import campaign_send_batch_task

        campaign_send_batch_task.apply_async(args=(send.pk,), countdown=60)
    return remaining


# --- open and click tracking (per send, off by default) ----------------------------------------------

_HREF = re.compile(r'href="(https?://[^"]+)"', re.IGNORECASE)
_CLICK_SALT = "mail-click:"
# Forward only: a later open never hides a click, nor either of them a bounce or an unsubscribe.
_OPENED_FROM: tuple[str, ...] = (CampaignRecipient.Status.SENT,)
_CLICKED_FROM: tuple[str, ...] = (CampaignRecipient.Status.SENT, CampaignRecipient.Status.OPENED)


def click_url(*, token: str, url: str) -> str:
    signed = signing.dumps(url, salt=f"{_CLICK_SALT}{current_schema()}:{token}", compress=True)
    return tenant_url(current_schema(), reverse("mail:track_click", args=[token])) + "?" + urlencode({"u": signed})


def click_target(*, token: str, signed: str) -> str | None:
    """The address a tracked link stands for, or None when the signature is not this workspace's
    recipient's or the recipient is unknown here."""
    try:
        url = signing.loads(signed, salt=f"{_CLICK_SALT}{current_schema()}:{token}")
    except signing.BadSignature:
        return None
    if not CampaignRecipient.objects.filter(token=token).exists():
        return None
    return url if isinstance(url, str) and re.match(r"https?://", url, re.IGNORECASE) else None


def tracking_apply(body_html: str, *, token: str) -> str:
    """The sanitised HTML with its web links through the click redirect and an open-tracking picture."""

    def tracked(match: re.Match[str]) -> str:
        target = html.unescape(match.group(1))
        return f'href="{html.escape(click_url(token=token, url=target))}"'

    pixel_url = tenant_url(current_schema(), reverse("mail:track_open", args=[token]))
    pixel = f'<img src="{html.escape(pixel_url)}" width="1" height="1" alt="" style="display:none">'
    return _HREF.sub(tracked, body_html) + pixel


def tracking_record(*, token: str, clicked: bool) -> bool:
    """An open (the picture was fetched) or a click of a tracked message; True when the status moved."""
    if clicked:
        status, allowed = CampaignRecipient.Status.CLICKED, _CLICKED_FROM
    else:
        status, allowed = CampaignRecipient.Status.OPENED, _OPENED_FROM
    moved = CampaignRecipient.objects.filter(token=token, send__tracking=True, status__in=allowed).update(
        status=status, updated_at=timezone.now()
    )
    return bool(moved)


def send_progress(send: CampaignSend) -> dict[str, int]:
    """Recipients per status, the total and how many are done (for the progress bar)."""
    counts = {s: 0 for s in CampaignRecipient.Status.values}
    for status_value in send.recipients.values_list("status", flat=True):
        counts[status_value] += 1
    total = sum(counts.values())
    return {**counts, "total": total, "done": total - counts[CampaignRecipient.Status.QUEUED]}


@transaction.atomic
def unsubscribe(*, token: str) -> CampaignRecipient | None:
    """The recipient behind an unsubscribe link opts out: its record's `email_opt_out` is set (through
    the services, as the member who sent the campaign) and its status becomes unsubscribed."""
    recipient = (
        CampaignRecipient.objects.select_for_update().select_related("send__created_by").filter(token=token).first()
    )
    if recipient is None:
        return None
    spec = registry.get(recipient.module)
    record = spec.records().filter(pk=recipient.record_id, deleted_at__isnull=True).first()
    if record is not None and not getattr(record, "email_opt_out", True):
        # The recipient's own choice: it must stick whatever the sender's rights are now (deactivated,
        # no longer allowed to edit the record), so it is written directly, with its timeline entry.
        spec.records().filter(pk=record.pk).update(email_opt_out=True, version=F("version") + 1)
        TimelineEntry.objects.create(
            module=spec.key,
            record_id=record.pk,
            kind=TimelineEntry.Kind.UPDATED,
            actor=None,
            data={"changes": {"email_opt_out": [False, True]}, "via": "unsubscribe"},
        )
    recipient.status = CampaignRecipient.Status.UNSUBSCRIBED
    recipient.updated_at = timezone.now()
    recipient.save(update_fields=["status", "updated_at"])
    return recipient


def bounce_record(*, original_message_id: str) -> int:
    """A delivery failure report names a sent message: its campaign recipient becomes bounced."""
    if not original_message_id:
        return 0
    message = Message.objects.filter(message_id=original_message_id, direction=Message.Direction.OUTBOUND).first()
    if message is None:
        return 0
    Message.objects.filter(pk=message.pk).update(status=Message.Status.FAILED, error=_("Bounced"))
    return CampaignRecipient.objects.filter(message=message).update(
        status=CampaignRecipient.Status.BOUNCED, updated_at=timezone.now()
    )


def recent_sends(*, campaign_id: Any, limit: int = 5) -> list[tuple[CampaignSend, dict[str, int]]]:
    return [
        (s, send_progress(s))
        for s in CampaignSend.objects.filter(campaign_id=campaign_id).select_related("template")[:limit]
    ]
