"""What the email app plugs into the rest of the CRM at start-up: the "Emails" panel on every record
with an email field (and organisations), compose links on email values, and the notification kind of a
paused mailbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus, urlencode

from django.db import models
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm_apps.access.models import Member
from crm_apps.engine import extensions
from crm_apps.engine.display import url_of, value_linker_add
from crm_apps.engine.models import CustomField, FieldType
from crm_apps.engine.registry import spec_for_record
from crm_apps.engine.spec import ModuleSpec, Panel
from crm_apps.mail import matching
from crm_apps.mail.models import Mailbox, MessageLink
from crm_apps.notifications.kinds import INAPP, Kind, kind_register

MAILBOX_PAUSED = "mailbox_paused"

kind_register(
    Kind(
        key=MAILBOX_PAUSED,
        label=_("Mail sync stopped"),
        title=_("Sync of mailbox %(record)s stopped: %(error)s"),
        default=INAPP,
        description=_("A mailbox failed to sync several times in a row and was paused."),
    )
)


def emails_applies(spec: ModuleSpec) -> bool:
    return bool(matching.email_fields(spec)) or spec.key == matching.DOMAIN_MODULE


def emails_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    """The record's conversations (threads) as the viewer may see them, and the compose link."""
    from crm_apps.mail import selectors

    spec = spec_for_record(record)
    # The engine renders panels only on the page of a record the member may see.
    shown = (
        selectors.record_panel_messages(actor=member, module=spec.key, record_id=record.pk, limit=50)
        if extensions.may_have_rows(record, "emails", "messages")
        else []
    )
    address = next((getattr(record, n) for n in matching.email_fields(spec) if getattr(record, n, "")), "")
    query = urlencode({"related": f"{spec.key}:{record.pk}", **({"to": address} if address else {})})
    return {
        "threads": selectors.threads_of(shown)[:20],
        "count": len(shown),
        "compose_url": reverse("mail:compose") + "?" + query,
        "opted_out": bool(getattr(record, "email_opt_out", False)),
    }


def emails_linked(spec: ModuleSpec) -> dict[str, QuerySet[Any]]:
    """The messages linked to a record of `spec`, whoever may see them (`Panel.linked`)."""
    return {"messages": MessageLink.objects.filter(module=spec.key, record_id=OuterRef("pk"))}


extensions.record_panel_add(
    Panel(key="emails", template="mail/_emails_panel.html", context=emails_panel, slot="side", linked=emails_linked),
    applies=emails_applies,
)


def email_linker(field: Any, value: Any) -> str | None:
    """Engine display hook: email values (standard EmailField or custom "email" fields) open the composer."""
    is_email = isinstance(field, models.EmailField) or (
        isinstance(field, CustomField) and field.type == FieldType.EMAIL
    )
    if is_email and isinstance(value, str) and "@" in value:
        return url_of("mail:compose") + "?to=" + quote_plus(value)  # as urlencode({"to": value})
    return None


value_linker_add(email_linker, applies=lambda field: isinstance(field, models.EmailField))


def notify_paused(*, mailbox: Mailbox, error: str) -> None:
    """Tell the mailbox's owner (and, for a shared one, the administrators) that its sync was paused."""
    from crm_apps.notifications.services import notification_send

    recipients = [mailbox.owner]
    if mailbox.kind == Mailbox.Kind.SHARED:
        recipients += list(Member.objects.filter(is_admin=True, active=True).exclude(pk=mailbox.owner_id))
    for recipient in recipients:
        notification_send(
            recipient=recipient,
            kind=MAILBOX_PAUSED,
            module="mailboxes",
            record_id=mailbox.pk,
            params={"record": mailbox.name, "error": error[:200]},
            url=reverse("mail:mailbox", args=[mailbox.pk]),
            dedupe_key=f"paused:{mailbox.pk}:{mailbox.last_error_at or ''}",
        )


def campaign_sends_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    """A campaign's email sends with their progress, and the form to send a template to its members."""
    from crm_apps.access import visibility
    from crm_apps.engine import registry
    from crm_apps.mail import campaigns, selectors

    return {
        "sends": campaigns.recent_sends(campaign_id=record.pk),
        "templates": selectors.templates_for(actor=member),
        "can_send": visibility.can_edit(actor=member, spec=registry.get("campaigns"), record=record),
    }


extensions.record_panel_add(
    Panel(key="campaign_emails", template="mail/_campaign_panel.html", context=campaign_sends_panel, slot="main"),
    applies=lambda spec: spec.key == "campaigns",
)


def email_timeline_links(member: Member, message_ids: list[Any]) -> dict[Any, str]:
    """Engine timeline hook: an email's line on a record's timeline opens its thread at that message,
    for the members who may see the message (one query for the page)."""
    from crm_apps.mail.models import Message
    from crm_apps.mail.selectors import visible_q

    ids = [int(i) for i in message_ids if str(i).isdigit()]
    rows = Message.objects.filter(pk__in=ids).filter(visible_q(actor=member)).values_list("pk", "thread_id").distinct()
    return {pk: f"{reverse('mail:thread', args=[thread_id])}#message-{pk}" for pk, thread_id in rows}


extensions.timeline_link_add("email", email_timeline_links)
