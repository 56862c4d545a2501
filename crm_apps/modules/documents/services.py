"""Documents: uploads checked and stored before any row is written, versions, links to records, folders.

An upload is refused before anything is written when it is empty, larger than the per-file limit
(`DOCUMENTS_MAX_UPLOAD_MB`, default 50), a program, or beyond the plan's storage limit
(`billing.entitlements.storage_check`). The file is stored first and the rows written in one
transaction; if that transaction fails the stored file is removed again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.entitlements import storage_check
from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.engine import registry, selectors
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import access_record_for_update, record_create
from crm_apps.modules.documents import files
from crm_apps.modules.documents.models import Document, DocumentLink, DocumentVersion, Folder

MB = 1024 * 1024


def max_upload_bytes() -> int:
    return int(getattr(settings, "DOCUMENTS_MAX_UPLOAD_MB", 50)) * MB


@dataclasses.dataclass(frozen=True)
class Upload:
    """A file as a person or API client sent it: its bytes and the name they gave it."""

    stream: IO[bytes]
    name: str
    size: int


def _spec() -> Any:
    return registry.get("documents")


def _check(upload: Upload | None) -> str:
    """The upload's sniffed type, or a ValidationError (field "file"); PlanLimitReached over the plan's
    storage. Nothing is written."""
    if upload is None or upload.size == 0:
        raise ValidationError({"file": [_("Choose a file to upload; empty files are not stored.")]})
    if upload.size > max_upload_bytes():
        raise ValidationError({"file": [_("Files may be at most %(limit)s MB.") % {"limit": max_upload_bytes() // MB}]})
    upload.stream.seek(0)
    sniffed = files.sniff(upload.stream.read(files.SNIFF_BYTES))
    upload.stream.seek(0)
    if sniffed in files.REFUSED_TYPES:
        raise ValidationError({"file": [_("Programs cannot be stored as documents.")]})
    storage_check(adding_bytes=upload.size)
    return sniffed


def _version_write(
    *, actor: Member, document: Document, upload: Upload, number: int, stored: list[str]
) -> DocumentVersion:
    """Store the file, then its version row and the document's file fields (the caller's transaction);
    the stored name goes into `stored` so the caller removes the file if its transaction fails."""
    name, size, sha256, sniffed = files.store(upload.stream)
    stored.append(name)
    version = DocumentVersion.objects.create(
        document=document,
        number=number,
        storage_name=name,
        file_name=files.safe_name(upload.name),
        size=size,
        content_type=sniffed,
        sha256=sha256,
        uploaded_by=actor,
    )
    Document.objects.filter(pk=document.pk).update(
        file_name=version.file_name,
        file_size=size,
        content_type=sniffed,
        current_version=number,
        version=F("version") + (1 if number > 1 else 0),
        updated_at=timezone.now(),
        updated_by=actor,
    )
    return version


def _discard_on_failure(stored: list[str]) -> None:
    for name in stored:
        files.discard(name)


@transaction.atomic
def document_create(
    *,
    actor: Member,
    data: dict[str, Any],
    upload: Upload | None,
    links: list[tuple[str, Any]] | None = None,
) -> Document:
    """A new document with its first version (the upload), linked to records the actor may see."""
    spec = _spec()
    if not visibility.can_create(actor=actor, spec=spec):
        raise PermissionDenied
    targets = [_visible_target(actor=actor, module=m, record_id=r) for m, r in links or []]
    _check(upload)
    assert upload is not None
    values = {k: v for k, v in data.items() if k in ("title", "description", "folder", "owner")}
    if not str(values.get("title") or "").strip():
        values["title"] = files.safe_name(upload.name)
    stored: list[str] = []
    try:
        document: Document = record_create(spec=spec, actor=actor, data=values)
        _version_write(actor=actor, document=document, upload=upload, number=1, stored=stored)
        for module, record in targets:
            _link(actor=actor, document=document, module=module, record=record)
    except BaseException:
        _discard_on_failure(stored)
        raise
    document.refresh_from_db()
    return document


@transaction.atomic
def document_version_add(*, actor: Member, document_id: Any, upload: Upload | None) -> DocumentVersion:
    """Upload a new version of a document the actor may edit; the earlier versions are kept."""
    spec = _spec()
    document = access_record_for_update(spec=spec, actor=actor, record_id=document_id)
    if document is None:
        raise Document.DoesNotExist
    if not visibility.can_edit(actor=actor, spec=spec, record=document):
        raise PermissionDenied
    _check(upload)
    assert upload is not None
    stored: list[str] = []
    try:
        version = _version_write(
            actor=actor, document=document, upload=upload, number=document.current_version + 1, stored=stored
        )
    except BaseException:
        _discard_on_failure(stored)
        raise
    TimelineEntry.objects.create(
        module=spec.key,
        record_id=document.pk,
        kind=TimelineEntry.Kind.UPDATED,
        actor=actor,
        data={"changes": {"current_version": [document.current_version, version.number]}},
    )
    audit.audit_log(
        action=audit.RECORD_UPDATED,
        actor=actor,
        module=spec.key,
        record_id=document.pk,
        record_label=f"{document.number} {document}",
        changes={"current_version": [document.current_version, version.number], "file_name": ["", version.file_name]},
    )
    return version


def _visible_target(*, actor: Member, module: str, record_id: Any) -> tuple[str, Any]:
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        raise ValidationError({"links": [_("Unknown module.")]}) from None
    if not visibility.can_view_module(actor=actor, spec=spec):
        raise ValidationError({"links": [_("Choose an existing record.")]})
    record = selectors.access_record(spec=spec, actor=actor, record_id=record_id)
    if record is None:
        raise ValidationError({"links": [_("Choose an existing record.")]})
    return spec.key, record


def _link(*, actor: Member, document: Document, module: str, record: Any) -> bool:
    _row, created = DocumentLink.objects.get_or_create(
        module=module, record_id=record.pk, document=document, defaults={"linked_by": actor}
    )
    if created:
        TimelineEntry.objects.create(
            module=module,
            record_id=record.pk,
            kind=TimelineEntry.Kind.RELATED,
            actor=actor,
            data={"module": "documents", "id": str(document.pk), "label": str(document), "number": document.number},
        )
    return created


@transaction.atomic
def document_link_add(*, actor: Member, document_id: Any, module: str, record_id: Any) -> bool:
    """List a document the actor may edit on a record they may see; False when it already was."""
    spec = _spec()
    document = access_record_for_update(spec=spec, actor=actor, record_id=document_id)
    if document is None:
        raise Document.DoesNotExist
    if not visibility.can_edit(actor=actor, spec=spec, record=document):
        raise PermissionDenied
    target_module, record = _visible_target(actor=actor, module=module, record_id=record_id)
    return _link(actor=actor, document=document, module=target_module, record=record)


@transaction.atomic
def document_link_remove(*, actor: Member, document_id: Any, module: str, record_id: Any) -> int:
    """Take a document off a record (the document stays); links removed."""
    spec = _spec()
    document = access_record_for_update(spec=spec, actor=actor, record_id=document_id)
    if document is None:
        raise Document.DoesNotExist
    if not visibility.can_edit(actor=actor, spec=spec, record=document):
        raise PermissionDenied
    deleted, _by_model = DocumentLink.objects.filter(document=document, module=module, record_id=record_id).delete()
    return int(deleted)


def folder_create(*, actor: Member, name: str, description: str = "") -> Folder:
    """A folder for documents (members who may create documents may create folders); names are unique."""
    if not visibility.can_create(actor=actor, spec=_spec()):
        raise PermissionDenied
    folder = Folder(name=(name or "").strip(), description=(description or "").strip())
    folder.full_clean()
    folder.save()
    return folder


def document_files_sweep(*, older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Remove stored document files no version refers to (documents purged from the recycle bin, uploads
    whose transaction rolled back) once they are older than `older_than`; files removed."""
    try:
        _dirs, names = default_storage.listdir(files.PREFIX)
    except FileNotFoundError:
        return 0
    cutoff = timezone.now() - older_than
    paths = [f"{files.PREFIX}/{name}" for name in names]
    kept = set(DocumentVersion.objects.filter(storage_name__in=paths).values_list("storage_name", flat=True))
    removed = 0
    for path in paths:
        if path not in kept and default_storage.get_modified_time(path) < cutoff:
            files.discard(path)
            removed += 1
    return removed
