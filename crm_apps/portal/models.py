"""The customer portal: a contact's access (its own password and sessions, never a member's), and the
workspace's portal settings (branding, what is published)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SECTIONS = ("tickets", "faq", "quotes", "invoices", "servicecontracts", "assets", "documents")


def all_sections() -> list[str]:
    return list(SECTIONS)


class PortalSettings(models.Model):
    """One row per workspace: branding and what contacts may see."""

    class TicketScope(models.TextChoices):
        OWN = "own", _("Their own tickets")
        ORGANIZATION = "organization", _("All tickets of their organisation")

    enabled = models.BooleanField(_("portal enabled"), default=True)
    title = models.CharField(_("portal title"), max_length=120, blank=True)
    welcome_text = models.TextField(_("welcome text"), blank=True, max_length=5000)
    accent_colour = models.CharField(_("accent colour"), max_length=7, default="#2457c5")
    logo_text = models.CharField(_("logo text"), max_length=40, blank=True)
    ticket_scope = models.CharField(max_length=20, choices=TicketScope.choices, default=TicketScope.OWN)
    # Ticket fields contacts see besides the number, title, status, description and public conversation.
    ticket_fields = models.JSONField(default=list, blank=True)
    show_faq = models.BooleanField(_("show the published FAQ"), default=True)
    # Which parts of the portal contacts see (SECTIONS); tickets are always there.
    sections = models.JSONField(default=all_sections, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.title or "portal"


class PortalAccount(models.Model):
    """A contact's portal access: support from `support_start` to `support_end` (inclusive, empty: open)."""

    contact_id = models.UUIDField(unique=True)
    email = models.EmailField()
    password = models.CharField(max_length=256, blank=True)
    active = models.BooleanField(default=True)
    language = models.CharField(max_length=10, default="en")
    support_start = models.DateField(null=True, blank=True)
    support_end = models.DateField(null=True, blank=True)
    invited_by = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invited_at = models.DateTimeField(null=True, blank=True)
    last_login = models.DateTimeField(null=True, blank=True)
    # Moves on with every password change: ends every session and every set-password link sent before.
    epoch = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(models.functions.Lower("email"), name="portalaccount_email_unique")]

    def __str__(self) -> str:
        return self.email

    def in_support(self, today: object = None) -> bool:
        day = today or timezone.localdate()
        return (self.support_start is None or self.support_start <= day) and (  # type: ignore[operator]
            self.support_end is None or day <= self.support_end  # type: ignore[operator]
        )


class PortalSession(models.Model):
    """A signed-in contact: the cookie holds a random key; only its hash is stored."""

    key_hash = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(PortalAccount, on_delete=models.CASCADE, related_name="sessions")
    epoch = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"portal session {self.pk}"
