"""Tenant-side identity: who belongs to this tenant, pending invitations, API tokens."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone."), code="invalid")


class Member(models.Model):
    """A global user's membership of this tenant. Without an active Member, a user is a stranger here."""

    # No database-level FK into `public`: such a constraint makes every tenant migration lock the
    # shared users table (concurrent signups deadlocked on it). Users are deactivated, never deleted,
    # and Django must not look for members in `public` when a user row is deleted: DO_NOTHING.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        related_name="+",
        verbose_name=_("user"),
        db_constraint=False,
    )
    is_admin = models.BooleanField(_("administrator"), default=False)
    active = models.BooleanField(_("active"), default=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="en")
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    joined_at = models.DateTimeField(_("joined"), default=dj_timezone.now)
    deactivated_at = models.DateTimeField(_("deactivated"), null=True, blank=True)
    # Sessions remember the epoch they were created in; deactivation bumps it, ending them all.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["joined_at", "id"]

    def __str__(self) -> str:
        return f"member {self.pk}"


class Invitation(models.Model):
    """An emailed, expiring invitation to join this tenant."""

    email = models.EmailField(_("email address"), max_length=254)
    is_admin = models.BooleanField(_("administrator"), default=False)
    invited_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "email",
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_pending_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > dj_timezone.now()


class ApiToken(models.Model):
    """A member's API token. Only a hash is stored; the token is shown once, at creation."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Group(models.Model):
    """A named group of members; a record may be owned by a group (rules come with access control)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(Member, blank=True, related_name="groups", verbose_name=_("members"))
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
