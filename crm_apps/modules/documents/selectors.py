"""Reads of documents, always through the engine's visibility filter on the documents module."""

from __future__ import annotations

from typing import Any

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry, selectors
from crm_apps.modules.documents.models import Document, DocumentVersion


def access_document(*, actor: Member, document_id: Any) -> Document | None:
    """The live document if the actor may see it; None for missing and forbidden alike."""
    spec = registry.get("documents")
    if not visibility.can_view_module(actor=actor, spec=spec):
        return None
    found: Document | None = selectors.access_record(spec=spec, actor=actor, record_id=document_id)
    return found


def access_version(*, actor: Member, document_id: Any, number: int | None = None) -> DocumentVersion | None:
    """A version (the latest when `number` is None) of a document the actor may see, or None."""
    document = access_document(actor=actor, document_id=document_id)
    if document is None:
        return None
    versions = DocumentVersion.objects.filter(document=document)
    if number is not None:
        versions = versions.filter(number=number)
    return versions.select_related("document").order_by("-number").first()


def document_versions(*, document: Document) -> list[DocumentVersion]:
    """Every version of a document the caller already checked, newest first."""
    return list(
        DocumentVersion.objects.filter(document=document).select_related("uploaded_by__user").order_by("-number")
    )


def record_documents(*, actor: Member, module: str, record_id: Any, limit: int = 50) -> list[Document]:
    """The live documents linked to a record that the actor may see (the caller checked the record)."""
    spec = registry.get("documents")
    if not visibility.can_view_module(actor=actor, spec=spec):
        return []
    qs = visibility.visible_records(actor=actor, spec=spec, queryset=spec.records())
    return list(
        qs.filter(deleted_at__isnull=True, links__module=module, links__record_id=record_id)
        .select_related("folder")
        .order_by("title", "id")[:limit]
    )
