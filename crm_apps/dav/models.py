"""App passwords for desktop and phone clients, the names clients gave to resources, and the
collection snapshots behind sync tokens."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.access.models import Member


class AppPassword(models.Model):
    """A password for one CalDAV/CardDAV client. Only a hash is stored; it is shown once, at creation."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="app_passwords")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("app password")
        verbose_name_plural = _("app passwords")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class DavObject(models.Model):
    """The resource name and UID a client chose for a record it created (`ABC.vcf`, UID `ABC`), so the
    record answers at that address. Records without a row answer at `<record id>.<ext>`."""

    collection = models.CharField(max_length=40)
    name = models.CharField(max_length=255)
    record_id = models.UUIDField()
    uid = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "name"], name="dav_object_name"),
            models.UniqueConstraint(fields=["collection", "record_id"], name="dav_object_record"),
        ]

    def __str__(self) -> str:
        return f"{self.collection}/{self.name}"


class SyncState(models.Model):
    """What one member's collection held when a sync token was issued ({name: etag}); the next
    sync-collection REPORT answers with the difference, so deletions and records that left the member's
    view sync too. Only the newest few per member and collection are kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    collection = models.CharField(max_length=40)
    token = models.CharField(max_length=64)
    etags = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "collection", "token"], name="dav_sync_state_token"),
        ]
        indexes = [models.Index(fields=["member", "collection", "-created_at"], name="dav_sync_state_recent")]

    def __str__(self) -> str:
        return f"{self.collection}:{self.token}"
