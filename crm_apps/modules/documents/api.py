"""Documents API: multipart upload on the module's list route, downloads, versions, record links."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api import TenantDailyQuotaThrottle
from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.engine import metadata, registry, selectors
from crm_apps.engine.api.representation import api_fields, record_to_api
from crm_apps.engine.api.views import RecordListView, TokenRateThrottle
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.modules.documents.downloads import version_response
from crm_apps.modules.documents.models import Document, DocumentVersion
from crm_apps.modules.documents.module import SPEC
from crm_apps.modules.documents.selectors import (
    access_document,
    access_version,
    document_versions,
    record_documents,
)
from crm_apps.modules.documents.services import (
    Upload,
    document_create,
    document_link_add,
    document_link_remove,
    document_version_add,
)
from saas.openapi import json_object_view


def version_to_api(version: DocumentVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "file_name": version.file_name,
        "size": version.size,
        "content_type": version.content_type,
        "sha256": version.sha256,
        "uploaded_by": version.uploaded_by_id,
        "uploaded_at": version.uploaded_at.isoformat(),
        "download": f"/api/v1/documents/{version.document_id}/versions/{version.number}/download",
    }


def upload_of(request: Request) -> Upload | None:
    file = request.FILES.get("file")
    if file is None:
        return None
    return Upload(stream=file, name=file.name or "", size=file.size or 0)


def _links_of(data: Any) -> list[tuple[str, Any]]:
    """`links` as "module:id" strings (repeated form fields) or a JSON list of {"module", "id"}."""
    raw = data.getlist("links") if hasattr(data, "getlist") else data.get("links") or []
    found = []
    for item in raw:
        if isinstance(item, dict):
            found.append((str(item.get("module", "")), item.get("id")))
        else:
            module, _sep, record_id = str(item).partition(":")
            found.append((module, record_id))
    return found


def _document_or_404(request: Request, document_id: Any) -> Document:
    document = access_document(actor=request_member(request), document_id=document_id)
    if document is None:
        raise NotFound(_("Not found."))
    return document


class DocumentListView(RecordListView):
    """GET as every module's list; POST multipart (`file`, `title`, `description`, `folder`, `links`)
    creates a document with its first version; POST JSON creates one without a file, as for any module."""

    module_key = "documents"

    def post(self, request: Request, module: str = "documents") -> Response:
        if not request.content_type.startswith("multipart/"):
            return super().post(request, module)
        self.spec()
        data: Any = request.data
        values = {name: data.get(name, "") for name in ("title", "description", "folder") if name in data}
        try:
            document = document_create(
                actor=request_member(request), data=values, upload=upload_of(request), links=_links_of(data)
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied from exc
        return Response(_as_member_sees(request, [document])[0], status=status.HTTP_201_CREATED)


@json_object_view(binary="application/octet-stream")
class DocumentDownloadView(APIView):
    """GET /api/v1/documents/<id>/download[?version=N] and /versions/<n>/download: the file."""

    throttle_classes = [TokenRateThrottle, TenantDailyQuotaThrottle]

    def get(self, request: Request, record_id: Any, number: int | None = None) -> FileResponse:
        wanted = number
        if wanted is None and request.query_params.get("version"):
            try:
                wanted = int(request.query_params["version"])
            except ValueError:
                raise NotFound(_("Not found.")) from None
        version = access_version(actor=request_member(request), document_id=record_id, number=wanted)
        if version is None:
            raise NotFound(_("Not found."))
        return version_response(version)


@json_object_view()
class DocumentVersionsView(APIView):
    """GET the versions of a document, newest first; POST multipart `file`: a new version."""

    throttle_classes = [TokenRateThrottle, TenantDailyQuotaThrottle]

    def get(self, request: Request, record_id: Any) -> Response:
        document = _document_or_404(request, record_id)
        return Response({"results": [version_to_api(v) for v in document_versions(document=document)]})

    def post(self, request: Request, record_id: Any) -> Response:
        try:
            version = document_version_add(
                actor=request_member(request), document_id=record_id, upload=upload_of(request)
            )
        except Document.DoesNotExist:
            raise NotFound(_("Not found.")) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied from exc
        return Response(version_to_api(version), status=status.HTTP_201_CREATED)


@json_object_view()
class DocumentLinksView(APIView):
    """POST {"module", "id"}: list the document on that record; DELETE with the same body: take it off."""

    throttle_classes = [TokenRateThrottle, TenantDailyQuotaThrottle]

    def _call(self, request: Request, record_id: Any, service: Any) -> Any:
        data = request.data if isinstance(request.data, dict) else {}
        try:
            return service(
                actor=request_member(request),
                document_id=record_id,
                module=str(data.get("module", "")),
                record_id=data.get("id"),
            )
        except (Document.DoesNotExist, Http404):
            raise NotFound(_("Not found.")) from None
        except DjangoPermissionDenied as exc:
            raise PermissionDenied from exc

    def post(self, request: Request, record_id: Any) -> Response:
        created = self._call(request, record_id, document_link_add)
        return Response({"linked": True}, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def delete(self, request: Request, record_id: Any) -> Response:
        self._call(request, record_id, document_link_remove)
        return Response(status=status.HTTP_204_NO_CONTENT)


@json_object_view(upload=True)
class RecordDocumentsView(APIView):
    """GET /api/v1/<module>/<id>/documents/: the documents listed on a record (404 when the member may not
    see the record); POST multipart `file` (+ `title`, `description`, `folder`): upload one onto it."""

    throttle_classes = [TokenRateThrottle, TenantDailyQuotaThrottle]

    def _record(self, request: Request, module: str, record_id: Any) -> tuple[str, Any]:
        member = request_member(request)
        try:
            spec = registry.get(module)
        except registry.UnknownModule:
            raise NotFound(_("Not found.")) from None
        record = (
            selectors.access_record(spec=spec, actor=member, record_id=record_id)
            if visibility.can_view_module(actor=member, spec=spec)
            else None
        )
        if record is None:
            raise NotFound(_("Not found."))
        return spec.key, record

    def get(self, request: Request, module: str, record_id: Any) -> Response:
        key, record = self._record(request, module, record_id)
        documents = record_documents(actor=request_member(request), module=key, record_id=record.pk)
        return Response({"results": _as_member_sees(request, list(documents))})

    def post(self, request: Request, module: str, record_id: Any) -> Response:
        key, record = self._record(request, module, record_id)
        data: Any = request.data
        values = {name: data.get(name, "") for name in ("title", "description", "folder") if name in data}
        try:
            document = document_create(
                actor=request_member(request), data=values, upload=upload_of(request), links=[(key, record.pk)]
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied from exc
        return Response(_as_member_sees(request, [document])[0], status=status.HTTP_201_CREATED)


def _as_member_sees(request: Request, documents: list[Document]) -> list[dict[str, Any]]:
    """Documents as JSON without the fields (standard or custom) the member's profiles hide."""
    rules = field_rules(actor=request_member(request), spec=SPEC)
    custom = rules.custom(metadata.custom_fields(SPEC.key))
    fields = rules.visible(api_fields(SPEC))
    return [record_to_api(SPEC, d, custom, fields) for d in documents]
