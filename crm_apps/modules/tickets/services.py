"""Ticket behaviour: replies (internal notes, public replies emailed to the contact, the customer's answers
received by email), closing with a solution, reopening, merging duplicates, turning a ticket into an FAQ
entry, round-robin assignment and the SLA escalation at a breach."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Group, Member
from crm_apps.audit import services as audit
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create, record_update, records_merge
from crm_apps.modules.tickets import picklists as P
from crm_apps.modules.tickets.models import Ticket, TicketReply
from crm_apps.modules.tickets.sla import SLA_FIELDS, ticket_sla_apply

log = logging.getLogger(__name__)
MODULE = "tickets"
BODY_MAX = 50_000
NUMBER_RE = re.compile(r"\[([A-Z]{1,10}\d{1,12})\]")
SLA_BREACH_KIND = "sla_breach"


def _spec() -> Any:
    return registry.get(MODULE)


def ticket_hooks_before_save(ticket: Any) -> None:
    """Invariants of every write (form, API, board, import): SLA figures and the contract warning."""
    from crm_apps.modules.servicecontracts.services import contract_flag_for

    ticket_sla_apply(ticket, now=timezone.now())
    contract = ticket.service_contract if ticket.service_contract_id else None
    ticket.contract_flag = contract_flag_for(contract)


def ticket_clean(ticket: Any) -> None:
    """A closed ticket has a solution."""
    if ticket.status == P.CLOSED and not (ticket.solution or "").strip():
        raise ValidationError({"solution": [_("Enter the solution before closing the ticket.")]})


def _derived_save(ticket: Ticket, changes: dict[str, list[Any]], actor: Member | None, fields: list[str]) -> None:
    """Write fields a domain action set outside record_update: a new version, a timeline line, an audit event."""
    ticket_sla_apply(ticket, now=timezone.now())
    ticket.version += 1
    ticket.updated_at = timezone.now()
    if actor is not None:
        ticket.updated_by = actor
    ticket.save(update_fields=[*fields, *SLA_FIELDS, "version", "updated_at", "updated_by"])
    if changes:
        TimelineEntry.objects.create(
            module=MODULE, record_id=ticket.pk, kind=TimelineEntry.Kind.UPDATED, actor=actor, data={"changes": changes}
        )
        audit.audit_log(
            action=audit.RECORD_UPDATED,
            actor=actor,
            module=MODULE,
            record_id=ticket.pk,
            record_label=f"{ticket.number} {ticket.title}",
            changes=changes,
        )


def _locked(ticket_id: Any) -> Ticket:
    found = Ticket.objects.select_for_update().filter(pk=ticket_id, deleted_at__isnull=True).first()
    if found is None:
        raise Ticket.DoesNotExist
    return found


def _body(body: Any) -> str:
    text = str(body or "").strip()
    if not text:
        raise ValidationError({"body": [_("Write the reply.")]})
    if len(text) > BODY_MAX:
        raise ValidationError({"body": [_("At most %(n)s characters.") % {"n": BODY_MAX}]})
    return text


def _contact_email(ticket: Ticket) -> str:
    contact = ticket.contact if ticket.contact_id else None
    if contact is None or contact.deleted_at is not None or not contact.email:
        raise ValidationError({"public": [_("The ticket has no contact with an email address to reply to.")]})
    return str(contact.email)


def _thread_parent(*, actor: Member, ticket: Ticket) -> Any:
    """The latest message of the ticket's conversation the actor may read (the reply joins its thread)."""
    from crm_apps.mail import selectors as mail_selectors
    from crm_apps.mail.models import MessageLink

    ids = (
        MessageLink.objects.filter(module=MODULE, record_id=ticket.pk)
        .order_by("-message__date", "-message_id")
        .values_list("message_id", flat=True)[:5]
    )
    for message_id in ids:
        shown = mail_selectors.access_message(actor=actor, message_id=message_id)
        if shown is not None and shown.full:
            return message_id
    return None


@transaction.atomic
def ticket_reply(*, actor: Member, ticket: Ticket, body: Any, public: bool) -> TicketReply:
    """Add an internal note, or a public reply emailed to the ticket's contact (in the ticket's email
    thread, subject "[TT12] title"); the first public reply meets the first-response target. Needs the
    right to edit the ticket; nothing is written when the mail cannot be queued."""
    text = _body(body)
    if not isinstance(public, bool):
        raise ValidationError({"public": [_("Enter true or false.")]})
    spec = _spec()
    locked = _locked(ticket.pk)
    if not visibility.can_edit(actor=actor, spec=spec, record=locked):
        raise PermissionDenied
    email_id = None
    if public:
        from crm_apps.mail import html as mail_html
        from crm_apps.mail.services import email_send

        address = _contact_email(locked)
        message = email_send(
            actor=actor,
            to=[address],
            subject=f"[{locked.number}] {locked.title}",
            body_html=mail_html.from_text(text),
            related_to=[f"{MODULE}:{locked.pk}"],
            reply_to_id=_thread_parent(actor=actor, ticket=locked),
        )
        email_id = message.pk
    reply = TicketReply.objects.create(
        ticket=locked,
        kind=TicketReply.Kind.REPLY if public else TicketReply.Kind.NOTE,
        author=actor,
        body=text,
        email_id=email_id,
    )
    changes: dict[str, list[Any]] = {}
    fields: list[str] = []
    if public and locked.first_response_at is None:
        locked.first_response_at = reply.created_at
        changes["first_response_at"] = [None, reply.created_at.isoformat()]
        fields.append("first_response_at")
    changes["reply" if public else "note"] = ["", text[:200]]
    _derived_save(locked, changes, actor, fields)
    return reply


def ticket_close(*, actor: Member, ticket: Ticket, solution: Any, expected_version: int | None = None) -> Ticket:
    """Close the ticket with its solution (required); the resolution target is measured and the service
    contract's used units recounted."""
    text = str(solution or "").strip()
    if not text:
        raise ValidationError({"solution": [_("Enter the solution before closing the ticket.")]})
    if len(text) > BODY_MAX:
        raise ValidationError({"solution": [_("At most %(n)s characters.") % {"n": BODY_MAX}]})
    if ticket.status == P.CLOSED:
        raise ValidationError({"status": [_("The ticket is already closed.")]})
    return record_update(
        spec=_spec(),
        actor=actor,
        record=ticket,
        data={"status": P.CLOSED, "solution": text},
        expected_version=expected_version,
    )


def _ticket_for_message(message: Any) -> Ticket | None:
    """The ticket a received message answers: one linked to a message of its thread, else the ticket whose
    number is in the subject ("[TT12]") when the sender is that ticket's contact."""
    from crm_apps.mail.models import MessageLink

    record_id = (
        MessageLink.objects.filter(module=MODULE, message__thread_id=message.thread_id)
        .exclude(message_id=message.pk)
        .values_list("record_id", flat=True)
        .first()
    )
    if record_id is not None:
        return Ticket.objects.filter(pk=record_id, deleted_at__isnull=True).first()
    match = NUMBER_RE.search(message.subject or "")
    if match is None:
        return None
    return (
        Ticket.objects.filter(
            number=match.group(1), deleted_at__isnull=True, contact__email__iexact=message.from_address
        )
        .select_related("contact")
        .first()
    )


def ticket_customer_reply(*, message: Any) -> TicketReply | None:
    """A customer's email answering a ticket: kept in the conversation, linked to the ticket, and a ticket
    waiting for the customer or closed goes back to open (the SLA clock runs again)."""
    from crm_apps.mail.models import Message
    from crm_apps.mail.store import links_add

    if message.direction != Message.Direction.INBOUND:
        return None
    ticket = _ticket_for_message(message)
    if ticket is None:
        return None
    with transaction.atomic():
        locked = _locked(ticket.pk)
        if TicketReply.objects.filter(ticket=locked, email_id=message.pk).exists():
            return None
        reply = TicketReply.objects.create(
            ticket=locked,
            kind=TicketReply.Kind.CUSTOMER,
            from_address=message.from_address,
            body=(message.body_text or "").strip()[:BODY_MAX] or "—",
            email_id=message.pk,
        )
        links_add(message=message, records=[(MODULE, locked.pk)], actor=None)
        changes: dict[str, list[Any]] = {"customer_reply": ["", reply.body[:200]]}
        fields: list[str] = []
        if locked.status in (P.WAITING, P.CLOSED):
            changes["status"] = [locked.status, P.OPEN]
            locked.status = P.OPEN
            fields.append("status")
        _derived_save(locked, changes, None, fields)
    if locked.service_contract_id and "status" in changes:
        from crm_apps.modules.servicecontracts.services import contracts_usage_refresh

        contracts_usage_refresh(contract_ids=[locked.service_contract_id])
    return reply


def tickets_merge(*, actor: Member, primary: Ticket, duplicates: list[Any]) -> Ticket:
    """Merge duplicate tickets into `primary`: their conversations, links and timelines move to it (the
    engine's merge), they go to the recycle bin, and the primary gets a note naming them."""
    with transaction.atomic():
        numbers = list(
            Ticket.objects.filter(pk__in=[getattr(d, "pk", d) for d in duplicates]).values_list("number", flat=True)
        )
        contracts = set(
            Ticket.objects.filter(pk__in=[*(getattr(d, "pk", d) for d in duplicates), primary.pk]).values_list(
                "service_contract_id", flat=True
            )
        )
        merged = records_merge(
            spec=_spec(),
            actor=actor,
            primary_id=primary.pk,
            other_ids=[getattr(d, "pk", d) for d in duplicates],
            choices={},
        )
        TicketReply.objects.create(
            ticket=merged,
            kind=TicketReply.Kind.NOTE,
            author=actor,
            body=_("Merged duplicates: %(numbers)s") % {"numbers": ", ".join(sorted(numbers))},
        )
        from crm_apps.modules.servicecontracts.services import contracts_usage_refresh

        contracts_usage_refresh(contract_ids=contracts)
    return merged


def ticket_to_faq(*, actor: Member, ticket: Ticket) -> Any:
    """A draft FAQ entry from a solved ticket: the title is the question, the solution the answer, the
    product is kept, and the ticket is listed among the entry's related tickets."""
    from crm_apps.engine.fieldaccess import field_rules
    from crm_apps.mail import html as mail_html

    rules = field_rules(actor=actor, spec=_spec())
    if not (rules.shows("title") and rules.shows("solution")):
        raise PermissionDenied  # the entry would show what the actor's profiles hide
    if not (ticket.solution or "").strip():
        raise ValidationError({"solution": [_("Only a ticket with a solution can become an FAQ entry.")]})

    with transaction.atomic():
        faq = record_create(
            spec=registry.get("faq"),
            actor=actor,
            data={
                "question": ticket.title[:500],
                "answer": mail_html.from_text(ticket.solution),
                "status": "Draft",
                "product": str(ticket.product_id) if ticket.product_id else None,
            },
        )
        record_update(spec=_spec(), actor=actor, record=ticket, data={"faq": str(faq.pk)})
    return faq


def open_tickets_per_member(member_ids: list[int]) -> dict[int, int]:
    """How many live, not closed tickets each of these members owns (load-balanced assignment)."""
    from django.db.models import Count

    rows = (
        Ticket.objects.filter(owner_id__in=member_ids, deleted_at__isnull=True)
        .exclude(status=P.CLOSED)
        .values("owner_id")
        .annotate(n=Count("id"))
    )
    return {row["owner_id"]: row["n"] for row in rows}


def ticket_assign_next(*, actor: Member, ticket: Ticket) -> Ticket:
    """Give the ticket to the next member of its team in turn (round robin)."""
    from crm_apps.support.assignment import next_assignee

    team_id = ticket.team_id or ticket.owner_group_id
    team = Group.objects.filter(pk=team_id).first() if team_id else None
    if team is None:
        raise ValidationError({"team": [_("Choose the ticket's team first.")]})
    if not visibility.can_edit(actor=actor, spec=_spec(), record=ticket):
        raise PermissionDenied
    member = next_assignee(team=team, load=open_tickets_per_member)
    if member is None:
        raise ValidationError({"team": [_("The team has no active members.")]})
    return record_update(
        spec=_spec(), actor=actor, record=ticket, data={"owner": member.pk, "owner_group": None, "team": team.pk}
    )


def ticket_auto_assign(*, ticket: Ticket) -> Member | None:
    """A new ticket given to a team whose round robin is on goes to its next member (no actor: the rule)."""
    from crm_apps.support.assignment import next_assignee

    if ticket.owner_group_id is None or ticket.owner_id is not None:
        return None
    team = Group.objects.filter(pk=ticket.owner_group_id).first()
    if team is None:
        return None
    member = next_assignee(team=team, only_if_enabled=True, load=open_tickets_per_member)
    if member is None:
        return None
    Ticket.objects.filter(pk=ticket.pk).update(owner=member, owner_group=None, team=ticket.team_id or team.pk)
    ticket.owner, ticket.owner_group, ticket.team_id = member, None, ticket.team_id or team.pk
    TimelineEntry.objects.create(
        module=MODULE,
        record_id=ticket.pk,
        kind=TimelineEntry.Kind.UPDATED,
        actor=None,
        data={"changes": {"owner": [None, member.pk], "owner_group": [team.pk, None]}},
    )
    return member


def _recipients(ticket: Ticket, policy: Any) -> list[Member]:
    found: dict[int, Member | None] = {}
    if ticket.owner_id:
        found[ticket.owner_id] = ticket.owner
    elif ticket.owner_group_id:
        from crm_apps.support.assignment import team_members

        group = Group.objects.filter(pk=ticket.owner_group_id).first()
        for member in team_members(group) if group else []:
            found[member.pk] = member
    if policy is not None and policy.escalate_to_id:
        found[policy.escalate_to_id] = policy.escalate_to
    return [m for m in found.values() if m is not None and m.active]


def tickets_sla_escalate(*, now: dt.datetime | None = None) -> int:
    """The beat task's work: refresh the SLA status of tickets whose clock passed 80 % of a target, and
    escalate each breached ticket exactly once (notify its owner and the policy's escalation member; with
    "reassign" the ticket becomes theirs). How many tickets were escalated."""
    from crm_apps.notifications.services import notification_send

    now = now or timezone.now()
    ids = list(
        Ticket.objects.filter(
            deleted_at__isnull=True, escalated_at__isnull=True, closed_at__isnull=True, sla_warn_at__lte=now
        ).values_list("pk", flat=True)[:500]
    )
    escalated = 0
    for pk in ids:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, deleted_at__isnull=True, escalated_at__isnull=True, closed_at__isnull=True)
                .select_related("sla_policy__escalate_to__user", "owner__user")
                .first()
            )
            if ticket is None:
                continue  # another worker has it, or it changed meanwhile
            before = (ticket.sla_status, ticket.owner_id)
            ticket_sla_apply(ticket, now=now)
            breached = ticket.sla_status == P.SLA_BREACHED
            fields = list(SLA_FIELDS)
            changes: dict[str, list[Any]] = {}
            if ticket.sla_status != before[0]:
                changes["sla_status"] = [before[0], ticket.sla_status]
            policy = ticket.sla_policy
            if breached:
                ticket.escalated_at = now
                fields.append("escalated_at")
                changes["escalated_at"] = [None, now.isoformat()]
                recipients = _recipients(ticket, policy)
                if policy is not None and policy.reassign and policy.escalate_to_id and policy.escalate_to.active:
                    ticket.owner_id, ticket.owner_group_id = policy.escalate_to_id, None
                    fields += ["owner", "owner_group"]
                    changes["owner"] = [before[1], policy.escalate_to_id]
            if not changes:
                continue
            ticket.version += 1
            ticket.updated_at = now
            Ticket.objects.filter(pk=ticket.pk).update(
                **{_column(name): getattr(ticket, _column(name)) for name in fields},
                version=ticket.version,
                updated_at=now,
            )
            TimelineEntry.objects.create(
                module=MODULE,
                record_id=ticket.pk,
                kind=TimelineEntry.Kind.UPDATED,
                actor=None,
                data={"changes": changes},
            )
            if breached:
                for member in recipients:
                    notification_send(
                        recipient=member,
                        kind=SLA_BREACH_KIND,
                        module=MODULE,
                        record_id=ticket.pk,
                        params={"record": f"{ticket.number} {ticket.title}"},
                        url=f"/m/{MODULE}/{ticket.pk}/",
                        dedupe_key=f"sla-breach:{ticket.pk}",
                    )
                escalated += 1
    return escalated


def _column(name: str) -> str:
    return {"sla_policy": "sla_policy_id", "owner": "owner_id", "owner_group": "owner_group_id"}.get(name, name)


def ticket_defaults_install() -> None:
    """Colour the SLA states and contract warnings once (one UPDATE; values an admin coloured are kept)."""
    from django.db.models import Case, Value, When

    from crm_apps.engine.models import PicklistValue

    PicklistValue.objects.filter(
        picklist__name__in=["ticket_sla_status", "ticket_contract_flag"], color="", value__in=list(P.COLORS)
    ).update(color=Case(*(When(value=v, then=Value(c)) for v, c in P.COLORS.items()), default=Value("")))


def ticket_from_email(*, actor: Member, message: Any) -> Ticket:
    """The mail converter's "create a ticket": a message that answers a ticket (its thread, or "[TT12]"
    from the ticket's contact) joins it; any other opens a ticket (channel Email) for the contact and
    organisation its sender matches, as `actor` (the shared mailbox's owner)."""
    from crm_apps.mail import matching
    from crm_apps.mail.store import links_add

    answered = TicketReply.objects.filter(email_id=message.pk).select_related("ticket").first()
    if answered is not None:
        return answered.ticket
    existing = _ticket_for_message(message)
    if existing is not None:
        ticket_customer_reply(message=message)
        return existing
    matched = matching.records_for([message.from_address])
    contact_id = next((pk for module, pk in matched if module == "contacts"), None)
    organization_id = next((pk for module, pk in matched if module == "organizations"), None)
    if contact_id is not None and organization_id is None:
        contacts = registry.get("contacts").records()
        organization_id = contacts.filter(pk=contact_id).values_list("organization_id", flat=True).first()
    ticket = record_create(
        spec=_spec(),
        actor=actor,
        data={
            "title": (message.subject or _("Email from %(sender)s") % {"sender": message.from_address})[:255],
            "description": (message.body_text or "")[:BODY_MAX],
            "channel": "Email",
            "contact": str(contact_id) if contact_id else None,
            "organization": str(organization_id) if organization_id else None,
        },
    )
    links_add(message=message, records=[(MODULE, ticket.pk)], actor=None)
    return ticket
