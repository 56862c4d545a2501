"""/api/v1/webforms/: the forms (for members who manage settings), their submissions log and statistics."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.webforms import public_views, selectors, services
from crm_apps.webforms.models import Submission, WebForm
from saas.openapi import json_object_view


def _data(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
    return dict(request.data)


def webform_to_api(request: HttpRequest, form: WebForm) -> dict[str, Any]:
    return {
        "id": form.pk,
        "name": form.name,
        "module": form.module,
        "active": form.active,
        "fields": form.fields,
        "hidden": form.hidden,
        "capture": form.capture,
        "consent_text": form.consent_text,
        "success_message": form.success_message,
        "redirect_url": form.redirect_url,
        "owner": form.owner_id,
        "owner_group": form.owner_group_id,
        "notify_owner": form.notify_owner,
        "dedupe_by_email": form.dedupe_by_email,
        "allowed_origins": form.allowed_origins,
        "min_seconds": form.min_seconds,
        "ip_limit_per_hour": form.ip_limit_per_hour,
        "form_limit_per_hour": form.form_limit_per_hour,
        "max_field_chars": form.max_field_chars,
        "proof_of_work_bits": form.proof_of_work_bits,
        "public_url": public_views.public_url(request, form),
        "snippet": public_views.snippet(request, form),
        "html": public_views.html_variant(request, form),
        "created_at": form.created_at.isoformat(),
        "updated_at": form.updated_at.isoformat(),
    }


def submission_to_api(row: Submission) -> dict[str, Any]:
    return {
        "id": row.pk,
        "status": row.status,
        "reason": row.reason,
        "detail": row.detail,
        "values": row.values,
        "module": row.module,
        "record_id": str(row.record_id) if row.record_id else None,
        "linked": row.linked,
        "unapplied": row.unapplied,
        "documents": [{"id": str(d.document_id), "attached": d.attached} for d in row.visitor_documents.all()],
        "ip": row.ip,
        "origin": row.origin,
        "utm": row.utm,
        "consent_at": row.consent_at.isoformat() if row.consent_at else None,
        "consent_ip": row.consent_ip,
        "created_at": row.created_at.isoformat(),
    }


@json_object_view()
class WebFormListView(APIView):
    """GET the forms; POST {"name", "module", "fields": [{"field", "label", "placeholder", "required",
    "upload"}], "hidden": {field: value}, ...} -> 201 with `id`, `public_url` and `snippet`."""

    def get(self, request: Request) -> Response:
        forms = selectors.webform_list(actor=request_member(request))
        return Response({"results": [webform_to_api(request, f) for f in forms]})

    def post(self, request: Request) -> Response:
        form = services.webform_save(actor=request_member(request), data=_data(request))
        return Response(webform_to_api(request, form), status=status.HTTP_201_CREATED)


@json_object_view()
class WebFormDetailView(APIView):
    def get(self, request: Request, form_id: int) -> Response:
        return Response(
            webform_to_api(request, selectors.access_webform(actor=request_member(request), form_id=form_id))
        )

    def patch(self, request: Request, form_id: int) -> Response:
        actor = request_member(request)
        form = selectors.access_webform(actor=actor, form_id=form_id)
        return Response(webform_to_api(request, services.webform_save(actor=actor, data=_data(request), form=form)))

    put = patch

    def delete(self, request: Request, form_id: int) -> Response:
        actor = request_member(request)
        services.webform_delete(actor=actor, form=selectors.access_webform(actor=actor, form_id=form_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@json_object_view()
class SubmissionListView(APIView):
    """GET the latest submissions (`?status=accepted|rejected`), newest first."""

    def get(self, request: Request, form_id: int) -> Response:
        form = selectors.access_webform(actor=request_member(request), form_id=form_id)
        wanted = request.query_params.get("status", "")
        rows = selectors.submission_list(form=form, status=wanted if wanted in Submission.Status.values else "")
        return Response({"results": [submission_to_api(r) for r in rows]})


@json_object_view()
class StatsView(APIView):
    """GET views, submissions, conversion and the same by UTM source over `?days=` (1-365, default 30)."""

    def get(self, request: Request, form_id: int) -> Response:
        form = selectors.access_webform(actor=request_member(request), form_id=form_id)
        raw = request.query_params.get("days", "30")
        days = int(raw) if raw.isdigit() and 1 <= int(raw) <= 365 else 30
        return Response(selectors.webform_stats(form=form, days=days))
