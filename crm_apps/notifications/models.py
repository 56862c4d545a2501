"""A member's notifications, their choices per kind, and the daily digests already sent."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import RecordLink


class Notification(RecordLink):
    """Something a member should know about one record: a mention, an assignment, a reminder, an
    invitation, a change on a record they follow.

    The title is not stored as text: `kind` and `params` (names and values as they were when it was
    sent) are rendered in the reader's language whenever it is shown (`kinds.render_title`), so a member
    who switches language reads their whole inbox in the new one.
    """

    recipient = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=50)
    actor = models.ForeignKey("access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # {"actor": name, "record": title, "field": label, "body": text, ...}: what the title and body show.
    params = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=500, blank=True)
    # Set by producers that may run twice for one occurrence (a retried task): a second send is a no-op.
    dedupe_key = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta(RecordLink.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [
            *RecordLink.Meta.indexes,
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox"),
            # The bell's count reads this partial index only.
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"], condition=~Q(dedupe_key=""), name="notification_dedupe"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.module}:{self.record_id}"


class NotificationPreference(models.Model):
    """A member's channel for one kind (off / in the app / also by email); no row: the kind's default."""

    member = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=50)
    channel = models.CharField(max_length=10)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "kind"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.channel}"


class DigestSubscription(models.Model):
    """A member who wants a daily email of what they have not read."""

    member = models.OneToOneField("access.Member", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("digest subscription")

    def __str__(self) -> str:
        return f"digest for member {self.member_id}"


class DigestRun(models.Model):
    """One daily digest of one member: the row is written before the email is queued, in the same
    transaction, and the pair is unique, so two schedulers (or a retried task) send it once."""

    member = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "day"], name="digest_run_unique")]

    def __str__(self) -> str:
        return f"digest {self.member_id} {self.day}"
