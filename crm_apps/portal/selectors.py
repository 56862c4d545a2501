"""What a signed-in contact may read. Every query starts from the contact (their tickets, or their
organisation's when the admin chose so); anything else is "not found", whether it exists or not.
Internal notes are never read here: conversations hold public replies and the customer's own messages."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from crm_apps.engine import registry
from crm_apps.portal.models import CUSTOM_PREFIX, PortalAccount, PortalSettings, publishable_custom


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def tickets_visible(*, account: PortalAccount, contact: Any, portal: PortalSettings) -> QuerySet[Any]:
    mine = Q(contact_id=contact.pk)
    if portal.ticket_scope == PortalSettings.TicketScope.ORGANIZATION and contact.organization_id:
        mine |= Q(organization_id=contact.organization_id)
    return registry.get("tickets").records().filter(mine, deleted_at__isnull=True)


def ticket_list(*, account: PortalAccount, contact: Any, portal: PortalSettings, open_only: bool = False) -> list[Any]:
    from crm_apps.modules.tickets import picklists as P

    rows = tickets_visible(account=account, contact=contact, portal=portal)
    if open_only:
        rows = rows.exclude(status=P.CLOSED)
    return list(rows.order_by("-created_at")[:200])


def access_ticket(*, account: PortalAccount, contact: Any, portal: PortalSettings, ticket_id: Any) -> Any:
    """The ticket if the contact may see it; 404 otherwise (another contact's, another tenant's, made up)."""
    pk = _uuid(ticket_id)
    found = tickets_visible(account=account, contact=contact, portal=portal).filter(pk=pk).first() if pk else None
    if found is None:
        raise Http404
    return found


def conversation(*, ticket: Any) -> list[Any]:
    """Public replies and the customer's messages, oldest first; internal notes are left out here."""
    from crm_apps.modules.tickets.models import TicketReply

    return list(
        TicketReply.objects.filter(ticket=ticket)
        .exclude(kind=TicketReply.Kind.NOTE)
        .select_related("author__user")
        .order_by("created_at", "id")
    )


def faq_list(*, query: str = "") -> list[Any]:
    """Published FAQ entries only, optionally matching the words of `query` in question or answer."""
    rows = registry.get("faq").records().filter(deleted_at__isnull=True, status="Published").select_related("product")
    for word in query.split()[:5]:
        rows = rows.filter(Q(question__icontains=word) | Q(answer__icontains=word))
    return list(rows.order_by("question")[:100])


def faq_get(*, faq_id: Any) -> Any:
    pk = _uuid(faq_id)
    found = (
        registry.get("faq").records().filter(pk=pk, deleted_at__isnull=True, status="Published").first() if pk else None
    )
    if found is None:
        raise Http404
    return found


def documents_shared(*, contact: Any) -> list[Any]:
    """Documents a member shared with the contact: linked to the contact, never one that came from outside
    (a web form visitor's upload, webforms.VisitorDocument, or an attachment of a received email): anyone who
    knows a customer's address could otherwise put a file in that customer's portal as if the company sent
    it (a received email's sender is not authenticated)."""
    from crm_apps.mail.models import Attachment, Message
    from crm_apps.modules.documents.models import Document, DocumentLink
    from crm_apps.webforms.models import VisitorDocument

    ids = DocumentLink.objects.filter(module="contacts", record_id=contact.pk).values("document_id")
    received = Attachment.objects.filter(message__direction=Message.Direction.INBOUND).values("document_id")
    rows = (
        Document.objects.filter(pk__in=ids, deleted_at__isnull=True)
        .exclude(pk__in=VisitorDocument.objects.values("document_id"))
        .exclude(pk__in=received)
    )
    return list(rows.order_by("-created_at")[:100])


def files_published(*, portal: PortalSettings) -> bool:
    """Whether contacts may download files at all: the documents section is on and its `file` published
    (the same rule for shared documents and tickets' attachments)."""
    return portal.section_on("documents") and "file" in portal.published("documents")


def documents_on_tickets(*, ticket_ids: Any) -> QuerySet[Any]:
    """The documents attached to these tickets (a list or a queryset of pks); never deleted ones."""
    from crm_apps.modules.documents.models import Document, DocumentLink

    ids = DocumentLink.objects.filter(module="tickets", record_id__in=ticket_ids).values("document_id")
    return Document.objects.filter(pk__in=ids, deleted_at__isnull=True)


def ticket_documents(*, ticket: Any, portal: PortalSettings) -> list[Any]:
    """A ticket's attachments as the contact sees them: none while files are not published."""
    if not files_published(portal=portal):
        return []
    return list(documents_on_tickets(ticket_ids=[ticket.pk]).order_by("created_at"))


# The sections listing records of a module (beside tickets): each row is named by its number, and shows the
# fields the admin published (PortalSettings.published); "pdf" is the quote's or invoice's PDF, not a column.
RECORD_SECTIONS = ("quotes", "invoices", "service-contracts", "assets")
NOT_COLUMNS = {"pdf", "file"}


def custom_field(section: str, name: str) -> Any:
    """The publishable custom field `custom.<key>` of a section (None once archived or unknown)."""
    key = name.removeprefix(CUSTOM_PREFIX)
    return next((cf for cf in publishable_custom(section) if cf.key == key), None)


def field_label(section: str, name: str) -> str:
    """What the portal and its settings call a publishable field: the module field's own label, a custom
    field's label, or the download it stands for."""
    from django.utils.translation import gettext as _

    if name == "pdf":
        return _("PDF download")
    if name == "file":
        return _("File download")
    if name.startswith(CUSTOM_PREFIX):
        found = custom_field(section, name)
        return found.label if found is not None else name.removeprefix(CUSTOM_PREFIX)
    model = registry.get(section).model
    return str(getattr(model._meta.get_field(name), "verbose_name", name)).capitalize()


def published_columns(*, portal: PortalSettings, section: str) -> list[str]:
    return [name for name in portal.published(section) if name not in NOT_COLUMNS]


PDF_SECTIONS = ("quotes", "invoices")


def section_records(*, module: str, contact: Any, portal: PortalSettings) -> QuerySet[Any]:
    """The contact's records of a module (or their organisation's, with that setting); never deleted ones."""
    mine = Q(contact_id=contact.pk)
    if portal.ticket_scope == PortalSettings.TicketScope.ORGANIZATION and contact.organization_id:
        mine |= Q(organization_id=contact.organization_id)
    return registry.get(module).records().filter(mine, deleted_at__isnull=True)


def section_list(*, module: str, contact: Any, portal: PortalSettings) -> list[Any]:
    return list(section_records(module=module, contact=contact, portal=portal).order_by("-created_at")[:200])


def access_section_record(*, module: str, contact: Any, portal: PortalSettings, record_id: Any) -> Any:
    pk = _uuid(record_id)
    found = section_records(module=module, contact=contact, portal=portal).filter(pk=pk).first() if pk else None
    if found is None:
        raise Http404
    return found
