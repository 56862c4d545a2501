from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import picklist_field


class Ticket(CrmRecord):
    title = models.CharField(_("title"), max_length=255)
    status = models.CharField(_("status"), max_length=100, default="Open")
    priority = models.CharField(_("priority"), max_length=100, default="Normal")
    severity = picklist_field(_("severity"))
    category = picklist_field(_("category"))
    channel = picklist_field(_("channel"))
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    product = models.ForeignKey(
        "products.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    asset = models.ForeignKey(
        "assets.Asset",
        verbose_name=_("asset"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    service_contract = models.ForeignKey(
        "servicecontracts.ServiceContract",
        verbose_name=_("service contract"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    faq = models.ForeignKey(
        "faq.Faq", verbose_name=_("FAQ entry"), null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    # The support team (queue) the ticket belongs to; the owner is who works on it (a member or a group).
    team = models.ForeignKey(
        "access.Group", verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True, max_length=50_000)
    solution = models.TextField(_("solution"), blank=True, max_length=50_000)
    hours_spent = models.DecimalField(
        _("hours spent"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction rating"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 (poor) to 5 (excellent)"),
    )
    # Derived, kept by the ticket's services and hooks (read-only for clients).
    contract_flag = models.CharField(_("contract warning"), max_length=40, blank=True)
    sla_status = models.CharField(_("SLA status"), max_length=20, blank=True)
    sla_policy = models.ForeignKey(
        "support.SlaPolicy",
        verbose_name=_("SLA policy"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # When the SLA turns "near breach" (80 % of the next target used), for the beat task's query.
    sla_warn_at = models.DateTimeField(null=True, blank=True)
    # [[start, end or null], ...] ISO instants the clock stood still ("wait for response").
    sla_pauses = models.JSONField(default=list, blank=True)
    first_response_breached = models.BooleanField(_("first response breached"), default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)

    class Meta(CrmRecord.Meta):
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["title"], name="ticket_title_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["title", "id"], name="ticket_title"),
            models.Index(fields=["contact", "-created_at"], name="ticket_contact_recent"),
            models.Index(fields=["organization", "-created_at"], name="ticket_org_recent"),
            models.Index(fields=["service_contract"], name="ticket_contract"),
            # The escalation beat: live, not yet escalated tickets with a running clock.
            models.Index(
                fields=["sla_warn_at"],
                name="ticket_sla_running",
                condition=Q(deleted_at__isnull=True) & Q(escalated_at__isnull=True) & Q(closed_at__isnull=True),
            ),
        ]


class TicketReply(models.Model):
    """One entry of a ticket's conversation: an internal note (members only), a public reply to the
    customer (emailed to the contact) or the customer's own message (received by email)."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Internal note")
        REPLY = "reply", _("Public reply")
        CUSTOMER = "customer", _("Customer")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="replies")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_address = models.EmailField(blank=True)
    body = models.TextField(max_length=50_000)
    # The email sent (public reply) or received (customer), a crm_apps.mail Message id.
    email_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="ticketreply_ticket")]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"

    @property
    def public(self) -> bool:
        return self.kind != self.Kind.NOTE
