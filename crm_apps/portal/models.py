"""The customer portal: a contact's access (its own password and sessions, never a member's), and the
workspace's portal settings (branding, what is published)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SECTIONS = ("tickets", "faq", "quotes", "invoices", "service-contracts", "assets", "documents")


def all_sections() -> list[str]:
    return list(SECTIONS)


# Per section, the fields an admin may publish to contacts, in the order the portal shows them. Besides
# these, a section always shows what names a row (a ticket's number, title, status, description and
# public conversation; a FAQ entry's question and answer; a record's number; a document's title).
# "pdf" (quotes, invoices) is the PDF download, "file" (documents) the download of a shared document.
PUBLISHABLE: dict[str, tuple[str, ...]] = {
    "tickets": ("priority", "severity", "category", "due_date", "solution"),
    "faq": ("category", "product"),
    "quotes": ("subject", "status", "valid_until", "grand_total", "currency", "pdf"),
    "invoices": (
        "subject",
        "invoice_date",
        "due_date",
        "grand_total",
        "balance",
        "currency",
        "payment_status",
        "pdf",
    ),
    "service-contracts": ("subject", "status", "start_date", "due_date", "used_units", "total_units"),
    "assets": ("name", "serial_number", "status"),
    "documents": ("description", "file_name", "file_size", "file"),
}
# What a new workspace publishes: everything but the ticket fields and the FAQ's extra columns.
DEFAULT_UNPUBLISHED = {"tickets", "faq"}


# A custom field of a section's module is publishable too, as "custom.<key>" (after the fixed fields, in the
# custom fields' order), unless it is archived or names a member or another record (those would show who
# works on the account, or records of others).
CUSTOM_PREFIX = "custom."
CUSTOM_UNPUBLISHABLE_TYPES = ("member", "record")


def publishable_custom(section: str) -> list[Any]:
    """The custom fields of `section` an admin may publish (the engine's cached metadata; none for an
    unknown section)."""
    from crm_apps.engine import metadata

    if section not in PUBLISHABLE:
        return []
    return [cf for cf in metadata.custom_fields(section) if cf.type not in CUSTOM_UNPUBLISHABLE_TYPES]


def publishable(section: str) -> list[str]:
    """Every field of `section` an admin may publish: PUBLISHABLE, then its custom fields."""
    return list(PUBLISHABLE.get(section, ())) + [CUSTOM_PREFIX + cf.key for cf in publishable_custom(section)]


def default_published() -> dict[str, list[str]]:
    return {key: ([] if key in DEFAULT_UNPUBLISHED else list(names)) for key, names in PUBLISHABLE.items()}


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
    # {section: [field, ...]}: what contacts see of each section beside what names a row (PUBLISHABLE).
    published_fields = models.JSONField(default=default_published, blank=True)
    # Which parts of the portal contacts see (SECTIONS); tickets are always there.
    sections = models.JSONField(default=all_sections, blank=True)
    # Sites allowed to show the portal in an <iframe> (validated origins, scheme://host[:port]; https only
    # outside development): the portal's pages send them as CSP frame-ancestors, every other page 'none'.
    frame_origins = models.JSONField(default=list, blank=True)
    # The portal's own logo (a sniffed raster image in the tenant's storage, served at /portal/logo).
    logo_storage_name = models.CharField(max_length=200, blank=True)
    logo_content_type = models.CharField(max_length=100, blank=True)
    logo_size = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.title or "portal"

    def published(self, section: str) -> list[str]:
        """The fields of `section` contacts see: only what is publishable now (PUBLISHABLE and the live,
        non-reference custom fields), whatever the row holds; an archived custom field is no longer shown."""
        chosen = (self.published_fields or {}).get(section, [])
        if not any(str(name).startswith(CUSTOM_PREFIX) for name in chosen):  # no custom field: no lookup
            return [name for name in PUBLISHABLE.get(section, ()) if name in chosen]
        return [name for name in publishable(section) if name in chosen]

    def section_on(self, section: str) -> bool:
        return section == "tickets" or section in (self.sections or [])


def custom_field_archived(*, module: str, key: str) -> None:
    """An archived custom field leaves the portal's publication for good: un-archiving it later does not
    show it to contacts again until an admin publishes it anew (connected to CustomField's post_save)."""
    name = CUSTOM_PREFIX + key
    for row in PortalSettings.objects.all():
        chosen = (row.published_fields or {}).get(module)
        if chosen and name in chosen:
            row.published_fields = {**row.published_fields, module: [n for n in chosen if n != name]}
            row.save(update_fields=["published_fields"])


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
