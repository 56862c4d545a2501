"""Documents (vtiger's Documents): titled files in folders, with every uploaded version kept, linked to records."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_apps.engine.models import CrmRecord, RecordLink


class Folder(models.Model):
    name = models.CharField(_("folder name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("folder")

    def __str__(self) -> str:
        return self.name


class Document(CrmRecord):
    title = models.CharField(_("title"), max_length=200)
    folder = models.ForeignKey(
        Folder, on_delete=models.PROTECT, null=True, blank=True, related_name="documents", verbose_name=_("folder")
    )
    description = models.TextField(_("description"), blank=True)
    # The latest version's file, kept here for lists (set by the services, never by forms).
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(_("file size (bytes)"), null=True, blank=True)
    content_type = models.CharField(_("file type"), max_length=100, blank=True)
    current_version = models.PositiveIntegerField(_("version"), default=0)

    class Meta(CrmRecord.Meta):
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        indexes = [
            *CrmRecord.Meta.indexes,
            GinIndex(fields=["title"], name="document_title_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["title", "id"], name="document_title"),
        ]

    def __str__(self) -> str:
        return self.title


class DocumentVersion(models.Model):
    """One uploaded file of a document; versions are numbered 1, 2, ... and never change."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # Where the bytes are in the tenant's storage (a generated name under "documents/"), never shown.
    storage_name = models.CharField(max_length=200, unique=True)
    file_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("file type"), max_length=100)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey("access.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="document_version_unique")]

    def __str__(self) -> str:
        return f"{self.file_name} v{self.number}"


class DocumentLink(RecordLink):
    """A document listed on a record of any module (one document on many records)."""

    link_on_merge = RecordLink.MOVE
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="links")
    linked_by = models.ForeignKey("access.Member", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["module", "record_id", "document"], name="document_link_unique"),
        ]

    def __str__(self) -> str:
        return f"document {self.document_id} -> {self.module}:{self.record_id}"
