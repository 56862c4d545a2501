"""The import API: upload and start, status with progress and counts, cancel, undo. Thin: parse, call one
service, serialise."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.entitlements import PlanLimitReached
from crm_apps.access.middleware import request_member
from crm_apps.imports import selectors, services
from crm_apps.imports.models import DedupeMode, ImportJob


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, XLSX, vCard (.vcf) or iCalendar (.ics), at most 100 MB.")
    module = serializers.CharField(help_text="The module key: contacts, organizations, deals, a custom module...")
    mapping = serializers.CharField(
        required=False,
        help_text='JSON object: column heading (or 0-based column index) -> field, e.g. {"E-mail": "email", '
        '"Company": "organization", "VIP": "custom.vip"}. Left out: guessed from the headings.',
    )
    dedupe = serializers.CharField(
        required=False,
        help_text='JSON object {"fields": ["email"], "mode": "skip" | "overwrite" | "fill"}, or a comma-separated '
        "list of fields (mode skip). Fields: number, email and phone fields, name (with the organisation), "
        "custom.<key>.",
    )
    defaults = serializers.CharField(required=False, help_text="JSON object: field -> value for empty cells.")
    options = serializers.CharField(
        required=False,
        help_text='JSON object: {"owner_id": <member id>, "create_references": true, "create_values": true}.',
    )
    encoding = serializers.CharField(required=False, help_text="CSV encoding; detected when left out.")
    delimiter = serializers.CharField(required=False, help_text="CSV delimiter; detected when left out.")
    sheet = serializers.CharField(required=False, help_text="XLSX sheet name; the first when left out.")
    dry_run = serializers.BooleanField(required=False, default=False, help_text="Only check, import nothing.")


def _json(data: Any, name: str, default: Any) -> Any:  # data: the request's QueryDict
    raw = data.get(name)
    if raw in (None, ""):
        return default
    try:
        return json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationError({name: [_("Send valid JSON.")]}) from exc


def _dedupe(data: Any) -> tuple[list[str], str]:
    raw = data.get("dedupe")
    if raw in (None, ""):
        return [], DedupeMode.SKIP
    text = str(raw).strip()
    if text.startswith("{"):
        value = _json(data, "dedupe", {})
        if not isinstance(value, dict):
            raise ValidationError({"dedupe": [_("Send an object.")]})
        fields = value.get("fields") or []
        if isinstance(fields, str):
            fields = [fields]
        if not isinstance(fields, list):
            raise ValidationError({"dedupe": [_("“fields” is a list of field names.")]})
        return [str(f) for f in fields], str(value.get("mode") or DedupeMode.SKIP)
    return [f.strip() for f in text.split(",") if f.strip()], DedupeMode.SKIP


def _error(exc: ValidationError) -> Response:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    return Response(detail, status=status.HTTP_400_BAD_REQUEST)


STATUS_SCHEMA = inline_serializer(
    "ImportStatus",
    {
        "id": serializers.IntegerField(),
        "module": serializers.CharField(),
        "file": serializers.CharField(),
        "format": serializers.CharField(),
        "status": serializers.ChoiceField(choices=ImportJob.Status.choices),
        "rows": serializers.IntegerField(),
        "progress": inline_serializer(
            "ImportProgress",
            {
                "phase": serializers.CharField(),
                "done": serializers.IntegerField(),
                "total": serializers.IntegerField(),
                "percent": serializers.IntegerField(),
                "rows_per_second": serializers.FloatField(),
                "eta_seconds": serializers.IntegerField(),
            },
        ),
        "counts": inline_serializer(
            "ImportCounts",
            {
                "created": serializers.IntegerField(),
                "updated": serializers.IntegerField(),
                "merged": serializers.IntegerField(),
                "skipped": serializers.IntegerField(),
                "failed": serializers.IntegerField(),
                "references_created": serializers.IntegerField(),
            },
        ),
        "dry_run": serializers.DictField(allow_null=True),
        "errors": serializers.ListField(child=serializers.DictField()),
        "error_file": serializers.URLField(allow_null=True),
        "message": serializers.CharField(),
        "created_by": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "finished_at": serializers.DateTimeField(allow_null=True),
        "undone_at": serializers.DateTimeField(allow_null=True),
    },
)


def status_payload(job: ImportJob, request: Any) -> dict[str, Any]:
    report = job.report or {}
    counts = {k: getattr(job, k) for k in ("created", "updated", "merged", "skipped", "failed", "references_created")}
    error_file = None
    if job.error_storage_name:
        error_file = request.build_absolute_uri(reverse("imports:errors", args=[job.pk]))
    return {
        "id": job.pk,
        "module": job.module,
        "file": job.file_name,
        "format": job.file_format,
        "status": job.status,
        "rows": job.total_rows,
        "progress": services.progress_get(job),
        "counts": counts,
        "dry_run": {k: report.get(k) for k in counts} if report.get("dry_run") else None,
        "errors": report.get("errors", [])[:100],
        "error_file": error_file,
        "message": job.message,
        "created_by": job.created_by.user.email,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "undone_at": job.undone_at,
    }


class ImportListView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImportCreateSerializer},
        responses={
            201: inline_serializer("ImportCreated", {"id": serializers.IntegerField()}),
            400: inline_serializer("ImportProblem", {"field": serializers.ListField(child=serializers.CharField())}),
            403: None,
        },
        examples=[
            OpenApiExample(
                "Contacts with e-mail dedupe",
                request_only=True,
                value={
                    "module": "contacts",
                    "mapping": '{"First name": "first_name", "Last name": "last_name", "Email": "email"}',
                    "dedupe": '{"fields": ["email"], "mode": "overwrite"}',
                },
            )
        ],
        description="Upload a file and start importing it (or only check it, `dry_run`). Answers at once with the "
        "import's id; follow it with GET /api/v1/imports/<id>.",
    )
    def post(self, request: Request) -> Response:
        member = request_member(request)
        if not services.can_import(actor=member):
            raise PermissionDenied
        upload = request.FILES.get("file")
        errors: dict[str, list[str]] = {}
        if upload is None:
            errors["file"] = [_("Send the file to import.")]
        form: Any = request.data
        module = str(form.get("module") or "").strip()
        if not module:
            errors["module"] = [_("Name the module to import into.")]
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        try:
            columns = _json(form, "mapping", None)
            if columns is not None and not isinstance(columns, dict):
                raise ValidationError({"mapping": [_("Send an object of column -> field.")]})
            fields, mode = _dedupe(form)
            defaults = _json(form, "defaults", {})
            options = _json(form, "options", {})
            if not isinstance(defaults, dict) or not isinstance(options, dict):
                raise ValidationError({"defaults": [_("Send objects for defaults and options.")]})
            with transaction.atomic():
                assert upload is not None
                job = services.import_upload(
                    actor=member,
                    module=module,
                    file_name=upload.name or "import",
                    content=upload.read(),
                    encoding=str(form.get("encoding") or ""),
                    delimiter=str(form.get("delimiter") or ""),
                    sheet=str(form.get("sheet") or ""),
                )
                services.import_configure(
                    actor=member,
                    job=job,
                    columns=columns if columns is not None else job.mapping,
                    defaults=defaults,
                    dedupe_fields=fields,
                    dedupe_mode=mode,
                    options=options,
                )
                dry = str(form.get("dry_run", "")).lower() in ("1", "true", "yes")
                if dry:
                    services.import_dry_run_start(actor=member, job=job)
                else:
                    services.import_start(actor=member, job=job)
        except PlanLimitReached as exc:
            return Response({"non_field_errors": [exc.text], "limit": exc.limit}, status=status.HTTP_403_FORBIDDEN)
        except ValidationError as exc:
            return _error(exc)
        return Response({"id": job.pk}, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: inline_serializer("ImportList", {"results": STATUS_SCHEMA.__class__(many=True)})})
    def get(self, request: Request) -> Response:
        member = request_member(request)
        jobs = selectors.import_list(actor=member)[:100]
        return Response({"results": [status_payload(job, request) for job in jobs]})


def _job(request: Request, job_id: int) -> ImportJob:
    member = request_member(request)
    if not services.can_import(actor=member):
        raise PermissionDenied
    try:
        return selectors.access_import(actor=member, job_id=job_id)
    except ImportJob.DoesNotExist as exc:
        raise Http404 from exc


class ImportDetailView(APIView):
    @extend_schema(responses={200: STATUS_SCHEMA, 404: None})
    def get(self, request: Request, job_id: int) -> Response:
        return Response(status_payload(_job(request, job_id), request))


class ImportUndoView(APIView):
    @extend_schema(
        request=None,
        responses={202: STATUS_SCHEMA, 400: inline_serializer("UndoProblem", {"status": serializers.ListField()})},
        description="Undo the whole import in the background: created records go to the recycle bin, changed "
        "records get their values before the import back.",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = _job(request, job_id)
        try:
            with transaction.atomic():
                services.import_undo_start(actor=request_member(request), job=job)
        except ValidationError as exc:
            return _error(exc)
        job.refresh_from_db()
        return Response(status_payload(job, request), status=status.HTTP_202_ACCEPTED)


class ImportCancelView(APIView):
    @extend_schema(request=None, responses={202: STATUS_SCHEMA, 400: None})
    def post(self, request: Request, job_id: int) -> Response:
        job = _job(request, job_id)
        try:
            services.import_cancel(actor=request_member(request), job=job)
        except ValidationError as exc:
            return _error(exc)
        job.refresh_from_db()
        return Response(status_payload(job, request), status=status.HTTP_202_ACCEPTED)
