"""Custom modules (ADR 0016): a tenant's own module definitions, and the one generic table that holds
the records of all of them. Every tenant schema has the same tables, so migrations stay uniform."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord
from saas.fields import ModuleKeyField


class CustomModule(models.Model):
    """A module a tenant admin built at runtime; its fields are the CustomField rows of `key`."""

    # A module key column like every other (saas.fields); services.KEY_RE keeps custom keys to 30 characters.
    key = ModuleKeyField(_("key"), unique=True)
    label = models.CharField(_("label"), max_length=60)
    label_plural = models.CharField(_("plural label"), max_length=60)
    icon = models.CharField(_("icon"), max_length=30, default="record")
    number_prefix = models.CharField(_("number prefix"), max_length=10)
    menu_group = models.CharField(_("menu group"), max_length=30, blank=True)
    created_by = models.ForeignKey(
        "access.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Archived modules disappear from the menu, API and registry; their records and fields are kept.
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["label", "id"]
        verbose_name = _("custom module")
        verbose_name_plural = _("custom modules")

    def __str__(self) -> str:
        return self.label


class CustomRecord(CrmRecord):
    """A record of any custom module: `module_key` says which; its values live in `custom_data`,
    validated by the custom-field machinery like any module's custom fields."""

    module_key = ModuleKeyField(editable=False)
    # Numbers are unique per module, not across the shared table (two modules may share a prefix).
    number = models.CharField(_("number"), max_length=40, editable=False)
    name = models.CharField(_("name"), max_length=200)

    class Meta(CrmRecord.Meta):
        verbose_name = _("custom record")
        verbose_name_plural = _("custom records")
        indexes = [
            *CrmRecord.Meta.indexes,
            # Every list of a module: its live records, newest first (keyset on created_at, id).
            models.Index(
                fields=["module_key", "-created_at", "-id"],
                name="customrecord_module_recent",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["module_key", "name", "id"], name="customrecord_module_name"),
            GinIndex(fields=["name"], name="customrecord_name_trgm", opclasses=["gin_trgm_ops"]),
            # Filters on custom fields are containment/key lookups on custom_data.
            GinIndex(fields=["custom_data"], name="customrecord_custom_data", opclasses=["jsonb_path_ops"]),
        ]
        constraints = [
            *CrmRecord.Meta.constraints,
            models.UniqueConstraint("module_key", "number", name="customrecord_module_number"),
        ]
