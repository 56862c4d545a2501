"""Document screens: download (any version), upload a new version, upload from a record's page, folders."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from billing.entitlements import PlanLimitReached
from crm_apps.access.decorators import admin_view
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.modules.documents.downloads import version_response
from crm_apps.modules.documents.models import Document, Folder
from crm_apps.modules.documents.module import SPEC
from crm_apps.modules.documents.selectors import access_version
from crm_apps.modules.documents.services import Upload, document_create, document_version_add, folder_create


def _upload(request: HttpRequest) -> Upload | None:
    file = request.FILES.get("file")
    return None if file is None else Upload(stream=file, name=file.name or "", size=file.size or 0)


def _report(request: HttpRequest, exc: ValidationError) -> None:
    if isinstance(exc, PlanLimitReached):
        messages.error(request, exc.text)
        return
    for problems in exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages]:
        for problem in problems:
            messages.error(request, problem)


@require_GET
@login_required
def download(request: HttpRequest, record_id: uuid.UUID, number: int | None = None) -> HttpResponseBase:
    """The file of a document the member may see (the latest version, or version `number`)."""
    version = access_version(actor=request_member(request), document_id=record_id, number=number)
    if version is None:
        raise Http404
    return version_response(version)


@require_POST
@login_required
def version_upload(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """Upload a new version of a document; back to its page."""
    try:
        version = document_version_add(actor=request_member(request), document_id=record_id, upload=_upload(request))
    except (Document.DoesNotExist, PermissionDenied):
        raise Http404 from None
    except ValidationError as exc:
        _report(request, exc)
    else:
        messages.success(request, _("Version %(number)s uploaded.") % {"number": version.number})
    return HttpResponseRedirect(f"/m/documents/{record_id}/")


@require_POST
@login_required
def record_upload(request: HttpRequest, module: str, record_id: uuid.UUID) -> HttpResponse:
    """Upload a new document from a record's page; it is listed there."""
    member = request_member(request)
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        raise Http404 from None
    record = selectors.access_record(spec=spec, actor=member, record_id=record_id)
    if record is None:
        raise Http404
    data = {name: request.POST.get(name, "") for name in ("title", "description")}
    try:
        document_create(actor=member, data=data, upload=_upload(request), links=[(spec.key, record.pk)])
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as exc:
        _report(request, exc)
    else:
        messages.success(request, _("Document uploaded."))
    return HttpResponseRedirect(record_url(spec, record) + "#record-documents")


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def folders(request: HttpRequest, actor: Member) -> HttpResponse:
    """The folders with their number of documents, and a form for a new one."""
    if request.method == "POST":
        try:
            folder_create(
                actor=actor, name=request.POST.get("name", ""), description=request.POST.get("description", "")
            )
        except ValidationError as exc:
            _report(request, exc)
        else:
            messages.success(request, _("Folder created."))
            return HttpResponseRedirect(reverse("documents:folders"))
    rows = Folder.objects.annotate(count=Count("documents", filter=Q(documents__deleted_at__isnull=True)))
    return render(request, "documents/settings_folders.html", {"spec": SPEC, "tab": "folders", "folders": rows})
