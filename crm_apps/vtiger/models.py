"""What the vtiger-compatible API keeps per tenant: members' access keys, vtiger's integer record ids
(crmid) and the integer ids of modules that have no standard vtiger id (custom modules)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccessKey(models.Model):
    """A member's webservice access key. vtiger shows it to its user (clients hash it with a challenge,
    so it must be readable), hence stored as such; rotating it ends the member's API sessions."""

    member = models.OneToOneField("access.Member", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("access key"), max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    # Sessions remember the generation they were opened with; a rotation bumps it.
    generation = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("access key")

    def __str__(self) -> str:
        return f"access key of member {self.member_id}"


class CrmId(models.Model):
    """vtiger's tenant-wide integer record id for a record of any module, given on first exposure (a
    record the API serialises or creates) and never reused. Keyed by module and record UUID."""

    crmid = models.BigAutoField(primary_key=True)
    module_key = models.CharField(max_length=60)
    record_id = models.UUIDField()

    class Meta:
        constraints = [models.UniqueConstraint("module_key", "record_id", name="vtiger_crmid_record_unique")]

    def __str__(self) -> str:
        return f"{self.module_key} {self.crmid}"


class ModuleId(models.Model):
    """The id prefix (`<module id>x<crmid>`) of a module vtiger has no standard number for (custom
    modules, modules added later without a standard name): given once, stable afterwards."""

    module_key = models.CharField(max_length=60, unique=True)
    prefix = models.PositiveIntegerField(unique=True)

    def __str__(self) -> str:
        return f"{self.module_key} {self.prefix}"


class ImportRun(models.Model):
    """One migration from a vtiger install (or anything speaking its webservice): who started it,
    where from, how far it got and what could not be mapped. The access key is kept only until the
    run ends."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    url = models.URLField(_("webservice URL"), max_length=500)
    username = models.CharField(_("user name"), max_length=254)
    access_key = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    started_by = models.ForeignKey("access.Member", on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # {"step": "...", "modules": {"Contacts": {"total": n, "created": n, "updated": n, "failed": n}}}
    progress = models.JSONField(default=dict, blank=True)
    # ["Module Faq: no module here", "Contacts cf_12 (Hobby): ...", ...]
    report = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"vtiger import {self.pk} from {self.url}"


class ImportedId(models.Model):
    """What a remote vtiger id became here, so a second run updates instead of duplicating."""

    source = models.CharField(max_length=500)  # the webservice URL, normalised
    remote_id = models.CharField(max_length=40)
    module_key = models.CharField(max_length=60)  # "members", "comments" or a module key
    local_id = models.CharField(max_length=64)
    remote_modified = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint("source", "remote_id", name="vtiger_imported_unique")]

    def __str__(self) -> str:
        return f"{self.remote_id} -> {self.module_key} {self.local_id}"
