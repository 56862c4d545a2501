"""Imports (a file brought into one module, with what each row did so it can be undone), saved column
mappings, and background exports of whole lists."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.access.models import Member


class DedupeMode(models.TextChoices):
    SKIP = "skip", _("Skip the row")
    OVERWRITE = "overwrite", _("Overwrite the existing record")
    FILL = "fill", _("Fill empty fields only")


class ImportJob(models.Model):
    """One file imported into one module. Rows of the file are not stored: the file is (in the tenant's
    storage), and `ImportEntry` remembers every record the run created or changed."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        VALIDATING = "validating", _("Checking")
        VALIDATED = "validated", _("Checked")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        UNDOING = "undoing", _("Undoing")
        UNDONE = "undone", _("Undone")

    module = models.CharField(_("module"), max_length=40)
    created_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", verbose_name=_("imported by"))
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    file_name = models.CharField(_("file"), max_length=200)
    storage_name = models.CharField(max_length=200)
    file_format = models.CharField(max_length=10)
    size = models.BigIntegerField(default=0)
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    sheet = models.CharField(max_length=100, blank=True)
    sheets = models.JSONField(default=list, blank=True)
    headers = models.JSONField(default=list, blank=True)
    total_rows = models.IntegerField(default=0)

    # column index (as text) -> field ("email", "custom.vip", "" for ignored)
    mapping = models.JSONField(default=dict, blank=True)
    # field -> value for rows where the field is not mapped or empty
    defaults = models.JSONField(default=dict, blank=True)
    # field -> {value in the file: picklist value}
    value_map = models.JSONField(default=dict, blank=True)
    dedupe_fields = models.JSONField(default=list, blank=True)
    dedupe_mode = models.CharField(max_length=10, choices=DedupeMode.choices, default=DedupeMode.SKIP)
    # owner_column, owner_id, create_references (bool), create_values (bool)
    options = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED)
    cancel_requested = models.BooleanField(default=False)
    processed = models.IntegerField(default=0)
    created = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    merged = models.IntegerField(default=0)
    skipped = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    references_created = models.IntegerField(default=0)
    # the last dry run's or run's report: counts and the first errors (row, field, message)
    report = models.JSONField(default=dict, blank=True)
    dry_run_at = models.DateTimeField(null=True, blank=True)
    error_storage_name = models.CharField(max_length=200, blank=True)
    error_extension = models.CharField(max_length=8, blank=True)
    message = models.TextField(blank=True)
    seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_by_member")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.module})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED, self.Status.UNDONE)

    @property
    def busy(self) -> bool:
        return self.status in (self.Status.VALIDATING, self.Status.QUEUED, self.Status.RUNNING, self.Status.UNDOING)

    @property
    def undoable(self) -> bool:
        return self.status == self.Status.DONE and (
            self.created + self.updated + self.merged + self.references_created > 0
        )


class ImportEntry(models.Model):
    """A record an import created (`c`), overwrote (`u`) or filled (`m`), with the values it had before, so
    undo can delete the created ones and restore the others in a few set-based statements."""

    CREATED, UPDATED, MERGED = "c", "u", "m"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="entries")
    module = models.CharField(max_length=40)
    record_id = models.UUIDField()
    action = models.CharField(max_length=1)
    # {"cols": {column: value before}, "custom": {key: value before}, "custom_keys": [...]}
    before = models.JSONField(null=True, blank=True)
    # The record's version when the import finished: undo leaves a record alone once it has moved on
    # (someone edited it since). Null for entries of imports from before this was kept.
    version_after = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "action"], name="import_entry_job")]

    def __str__(self) -> str:
        return f"{self.action} {self.module}:{self.record_id}"


class SavedMapping(models.Model):
    """A column mapping kept for the next file of the same shape (by column name)."""

    module = models.CharField(max_length=40)
    name = models.CharField(_("name"), max_length=100)
    # column name -> field
    columns = models.JSONField(default=dict)
    defaults = models.JSONField(default=dict, blank=True)
    value_map = models.JSONField(default=dict, blank=True)
    dedupe_fields = models.JSONField(default=list, blank=True)
    dedupe_mode = models.CharField(max_length=10, choices=DedupeMode.choices, default=DedupeMode.SKIP)
    options = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("module", "name")
        constraints = [models.UniqueConstraint(fields=["module", "name"], name="import_mapping_name_unique")]

    def __str__(self) -> str:
        return self.name


class ExportJob(models.Model):
    """ "Export all matching": a whole list (its filters and search) written in the background; the file is
    for the member who asked, while they keep the export privilege."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    module = models.CharField(max_length=40)
    file_format = models.CharField(max_length=4)
    query = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows = models.IntegerField(default=0)
    storage_name = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.file_name

    @property
    def file_name(self) -> str:
        return f"{self.module}-{self.created_at:%Y%m%d-%H%M}.{self.file_format}"
