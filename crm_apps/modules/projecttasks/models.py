from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from crm_apps.engine.models import CrmRecord
from crm_apps.modules.common import picklist_field

MAX_DEPENDENCIES = 50


def hours_field(label: StrOrPromise) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=8, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )


class ProjectTask(CrmRecord):
    name = models.CharField(_("task name"), max_length=200)
    project = models.ForeignKey(
        "projects.Project",
        verbose_name=_("project"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tasks",
    )
    status = models.CharField(_("status"), max_length=100, blank=True, default="Not started")
    priority = picklist_field(_("priority"))
    type = picklist_field(_("type"))
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    hours_planned = hours_field(_("hours planned"))
    hours_worked = hours_field(_("hours worked"))
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0, validators=[MaxValueValidator(100)])
    # Finish-to-start: this task starts after each of these tasks (of the same project) ends.
    depends_on = ArrayField(
        models.UUIDField(),
        verbose_name=_("depends on"),
        size=MAX_DEPENDENCIES,
        default=list,
        blank=True,
        help_text=_("Ids of tasks of the same project that must end before this one starts."),
    )
    description = models.TextField(_("description"), blank=True, max_length=20_000)

    class Meta(CrmRecord.Meta):
        verbose_name = _("project task")
        verbose_name_plural = _("project tasks")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["name"], name="projecttask_name_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["name", "id"], name="projecttask_name"),
            models.Index(fields=["project", "start_date"], name="projecttask_project_start"),
        ]


class TaskMove(models.Model):
    """One reschedule (a task moved on the Gantt view and the dependants it pushed), kept for its undo."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    actor = models.ForeignKey("access.Member", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("projects.Project", null=True, on_delete=models.CASCADE, related_name="+")
    # [{"task": id, "before": [start, end], "after": [start, end]}] (ISO dates or null), the moved task first.
    changes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["actor", "-created_at"], name="taskmove_actor_recent")]

    def __str__(self) -> str:
        return f"move {self.pk} ({len(self.changes)} tasks)"
