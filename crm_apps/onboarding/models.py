"""The onboarding checklist's state (one row per workspace) and the tags of sample records."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SampleStatus(models.TextChoices):
    NONE = "", _("No sample data")
    LOADING = "loading", _("Loading sample data")
    LOADED = "loaded", _("Sample data loaded")
    FAILED = "failed", _("Loading sample data failed")


class OnboardingState(models.Model):
    """The workspace's checklist: dismissed or not, items confirmed by hand, the sample data's progress."""

    dismissed_at = models.DateTimeField(_("dismissed"), null=True, blank=True)
    dismissed_by = models.ForeignKey(
        "access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Item keys an admin marked done by hand ("the default stages suit us"); most items are done from data.
    confirmed = models.JSONField(default=list, blank=True)
    sample_status = models.CharField(max_length=10, choices=SampleStatus.choices, default=SampleStatus.NONE, blank=True)
    sample_progress = models.PositiveSmallIntegerField(default=0)  # percent
    sample_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"onboarding ({self.sample_status or 'no sample'})"


class SampleRecord(models.Model):
    """A record created as sample data: only these are removed by "remove sample data"."""

    module = models.CharField(max_length=60)
    record_id = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["module", "record_id"], name="samplerecord_once")]

    def __str__(self) -> str:
        return f"{self.module}:{self.record_id}"
