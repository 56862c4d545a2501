"""Panels: the documents of any record (with an upload form); a document's versions and records."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import extensions, registry
from crm_apps.engine.display import record_url
from crm_apps.engine.spec import ModuleSpec
from crm_apps.modules.documents.models import Document, DocumentLink, Folder
from crm_apps.modules.documents.selectors import document_versions, record_documents


def record_documents_applies(spec: ModuleSpec) -> bool:
    return spec.key != "documents"


def record_documents_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    """The record's documents the member may see, and whether they may upload one here."""
    spec = registry.get("documents")
    if not visibility.can_view_module(actor=member, spec=spec):
        return {"hidden": True}
    module = registry.spec_for_record(record).key
    documents = (
        record_documents(actor=member, module=module, record_id=record.pk)
        if extensions.may_have_rows(record, "record_documents", "documents")
        else []
    )
    return {
        "hidden": False,
        "module": module,
        "documents": [(d, record_url(spec, d)) for d in documents],
        "can_upload": visibility.can_create(actor=member, spec=spec),
    }


def record_documents_linked(spec: ModuleSpec) -> dict[str, QuerySet[Any]]:
    """The documents listed on a record of `spec`, whoever may see them (`Panel.linked`)."""
    return {"documents": DocumentLink.objects.filter(module=spec.key, record_id=OuterRef("pk"))}


def versions_panel(document: Document, member: Member, request: HttpRequest) -> dict[str, Any]:
    """Every version (download links), the records the document is listed on that the member may see,
    and the folders (for the edit form)."""
    by_module: dict[str, list[Any]] = {}
    for module, record_id in DocumentLink.objects.filter(document=document).values_list("module", "record_id"):
        by_module.setdefault(module, []).append(record_id)
    records = []
    for module, ids in by_module.items():
        try:
            spec = registry.get(module)
        except registry.UnknownModule:
            continue
        if not visibility.can_view_module(actor=member, spec=spec):
            continue
        visible = visibility.visible_records(actor=member, spec=spec, queryset=spec.records())
        records += [
            (spec.label, str(r), record_url(spec, r)) for r in visible.filter(pk__in=ids, deleted_at__isnull=True)
        ]
    return {
        "versions": document_versions(document=document),
        "records": records,
        "folders": list(Folder.objects.all()),
    }
