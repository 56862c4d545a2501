from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import picklist_field


class ProjectMilestone(CrmRecord):
    name = models.CharField(_("milestone name"), max_length=200)
    project = models.ForeignKey(
        "projects.Project",
        verbose_name=_("project"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="milestones",
    )
    date = models.DateField(_("date"), null=True, blank=True)
    reached = models.BooleanField(_("reached"), default=False)
    type = picklist_field(_("type"))
    description = models.TextField(_("description"), blank=True, max_length=20_000)

    class Meta(CrmRecord.Meta):
        verbose_name = _("project milestone")
        verbose_name_plural = _("project milestones")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="projectmilestone_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["name", "id"], name="projectmilestone_name"),
            models.Index(fields=["project", "date"], name="projectmilestone_project_date"),
        ]
