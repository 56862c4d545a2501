from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import money_field, picklist_field


class Project(CrmRecord):
    name = models.CharField(_("project name"), max_length=200)
    status = picklist_field(_("status"))
    type = picklist_field(_("type"))
    priority = picklist_field(_("priority"))
    start_date = models.DateField(_("start date"), null=True, blank=True)
    target_end_date = models.DateField(_("target end date"), null=True, blank=True)
    actual_end_date = models.DateField(_("actual end date"), null=True, blank=True)
    budget = money_field(_("budget"))
    # Rolled up from the tasks (crm_apps.modules.projects.services.project_progress_refresh), never typed.
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0, validators=[MaxValueValidator(100)])
    organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="projects",
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="projects",
    )
    deal = models.ForeignKey(
        "deals.Deal", verbose_name=_("deal"), null=True, blank=True, on_delete=models.SET_NULL, related_name="projects"
    )
    url = models.URLField(_("website"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True, max_length=20_000)

    class Meta(CrmRecord.Meta):
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="project_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["name", "id"], name="project_name"),
            models.Index(fields=["organization", "-created_at"], name="project_org_recent"),
            models.Index(fields=["deal", "-created_at"], name="project_deal_recent"),
        ]


class ProjectTemplate(models.Model):
    """A named list of tasks a new project can start with (tenant data, edited by admins).

    `tasks`: [{"name": str, "offset_days": int, "duration_days": int, "hours": number | null,
    "depends_on": [index of an earlier task, ...]}], offsets counted from the project's start."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    tasks = models.JSONField(_("tasks"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("project template")
        verbose_name_plural = _("project templates")

    def __str__(self) -> str:
        return self.name
