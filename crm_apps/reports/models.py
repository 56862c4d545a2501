"""Saved reports and their folders. A report's definition is the JSON `crm_apps.reports.definition` checks;
it runs for whoever opens it, with that member's visibility and field-level security (never the owner's)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReportFolder(models.Model):
    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint("owner", "name", name="report_folder_unique_name")]

    def __str__(self) -> str:
        return self.name


class Report(models.Model):
    class Sharing(models.TextChoices):
        PRIVATE = "private", _("Private")
        SHARED = "shared", _("Shared")

    name = models.CharField(_("name"), max_length=150)
    description = models.CharField(_("description"), max_length=500, blank=True)
    folder = models.ForeignKey(
        ReportFolder, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports", verbose_name=_("folder")
    )
    owner = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+", verbose_name=_("owner"))
    module = models.CharField(_("module"), max_length=60)
    definition = models.JSONField(_("definition"), default=dict)
    sharing = models.CharField(_("sharing"), max_length=10, choices=Sharing.choices, default=Sharing.PRIVATE)
    # Shared with: every member when all three are empty and `sharing` is "shared"; else these only.
    shared_members = models.ManyToManyField("access.Member", blank=True, related_name="+")
    shared_roles = models.ManyToManyField("access.Role", blank=True, related_name="+")
    shared_groups = models.ManyToManyField("access.Group", blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name"], name="report_owner_name")]

    def __str__(self) -> str:
        return self.name
