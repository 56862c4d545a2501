"""The import wizard (upload -> mapping -> check -> run -> summary), the imports history with undo, and the
background "export all matching". Thin: parse, call one service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.entitlements import PlanLimitReached
from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import metadata, registry
from crm_apps.imports import files, mapping, selectors, services
from crm_apps.imports.api.views import status_payload
from crm_apps.imports.models import DedupeMode, ExportJob, ImportJob

SAMPLE_ROWS = 3
VALUE_MAP_LIMIT = 50


def _member(request: HttpRequest) -> Member:
    member = request_member(request)
    if member is None or not services.can_import(actor=member):
        raise PermissionDenied
    return member


def _job(request: HttpRequest, job_id: int) -> tuple[Member, ImportJob]:
    member = _member(request)
    try:
        return member, selectors.access_import(actor=member, job_id=job_id)
    except ImportJob.DoesNotExist as exc:
        raise Http404 from exc


def _spec(member: Member, module: str) -> Any:
    try:
        spec = registry.get(module)
    except registry.UnknownModule as exc:
        raise Http404 from exc
    if not visibility.can_view_module(actor=member, spec=spec):
        raise Http404
    return spec


def _form_errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [
            f"{name}: {' '.join(msgs)}" if name not in ("non_field_errors", "__all__") else " ".join(msgs)
            for name, msgs in exc.message_dict.items()
        ]
    return list(exc.messages)


ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-16": "UTF-16",
    "cp1251": "Windows-1251 (Cyrillic)",
    "latin-1": "ISO-8859-1 (Latin-1)",
    "cp1252": "Windows-1252",
    "koi8-r": "KOI8-R",
    "iso-8859-15": "ISO-8859-15",
}


def _delimiters() -> list[tuple[str, str]]:
    return [(",", _("Comma")), (";", _("Semicolon")), ("\t", _("Tab")), ("|", _("Vertical bar"))]


@login_required
def import_new(request: HttpRequest, module: str) -> HttpResponse:
    """Step 1: choose the file (and, optionally, a saved mapping)."""
    member = _member(request)
    spec = _spec(member, module)
    errors: list[str] = []
    saved = selectors.saved_mappings(module=spec.key)
    if request.method == "POST":
        upload = request.FILES.get("file")
        chosen = saved.filter(pk=request.POST.get("saved") or 0).first()
        if upload is None:
            errors.append(_("Choose a file to import."))
        else:
            try:
                with transaction.atomic():
                    job = services.import_upload(
                        actor=member,
                        module=spec.key,
                        file_name=upload.name or "import",
                        content=upload.read(),
                        encoding=request.POST.get("encoding", ""),
                        delimiter=request.POST.get("delimiter", ""),
                        saved_mapping=chosen,
                    )
                return redirect("imports:mapping", job_id=job.pk)
            except PlanLimitReached as exc:
                errors.append(exc.text)
            except ValidationError as exc:
                errors += _form_errors(exc)
    return render(
        request,
        "imports/new.html",
        {
            "spec": spec,
            "errors": errors,
            "saved": saved,
            "encodings": ENCODING_LABELS,
            "delimiters": _delimiters(),
            "history": selectors.import_list(actor=member).filter(module=spec.key)[:5],
        },
        status=400 if errors else 200,
    )


def _picklist_unknown(job: ImportJob, spec: Any, rows: list[list[str]]) -> list[dict[str, Any]]:
    """Per mapped picklist column: the file's values the picklist lacks, with the value mapped so far."""
    found = []
    targets = mapping.targets(spec)
    for index, name in job.mapping.items():
        target = targets.get(name)
        if target is None or not target.picklist:
            continue
        known = metadata.picklist_values(target.picklist)
        names = {v.value.casefold() for v in known} | {str(v.label).casefold() for v in known}
        column = int(index)
        values: list[str] = []
        for row in rows:
            cell = row[column].strip() if column < len(row) else ""
            for part in [p.strip() for p in cell.split(";")] if target.custom_field is not None else [cell]:
                if part and part.casefold() not in names and part not in values:
                    values.append(part)
            if len(values) >= VALUE_MAP_LIMIT:
                break
        if values:
            current = job.value_map.get(name, {})
            found.append(
                {
                    "field": name,
                    "label": target.label,
                    "choices": [(v.value, v.label) for v in known],
                    "values": [(v, current.get(v, "")) for v in values],
                }
            )
    return found


@login_required
def import_mapping(request: HttpRequest, job_id: int) -> HttpResponse:
    """Step 2: file settings (encoding, delimiter, sheet), columns -> fields, defaults, picklist values,
    duplicates, owner; then check (dry run) or import."""
    member, job = _job(request, job_id)
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.VALIDATED):
        return redirect("imports:detail", job_id=job.pk)
    spec = _spec(member, job.module)
    errors: list[str] = []
    if request.method == "POST" and request.POST.get("step") == "file":
        try:
            services.import_reread(
                actor=member,
                job=job,
                encoding=request.POST.get("encoding", ""),
                delimiter=request.POST.get("delimiter", ""),
                sheet=request.POST.get("sheet", ""),
            )
            return redirect("imports:mapping", job_id=job.pk)
        except ValidationError as exc:
            errors += _form_errors(exc)
    elif request.method == "POST" and request.POST.get("step") == "saved":
        chosen = selectors.saved_mappings(module=job.module).filter(pk=request.POST.get("saved") or 0).first()
        if chosen is not None:
            services.import_use_mapping(actor=member, job=job, saved=chosen)
            messages.success(request, _("Mapping “%(name)s” applied.") % {"name": chosen.name})
        return redirect("imports:mapping", job_id=job.pk)
    elif request.method == "POST":
        columns = {str(i): request.POST.get(f"column-{i}", "") for i in range(len(job.headers))}
        defaults = {}
        for n in range(3):
            name = request.POST.get(f"default-field-{n}", "")
            if name:
                defaults[name] = request.POST.get(f"default-value-{n}", "")
        value_map: dict[str, dict[str, str]] = {}
        for key, value in request.POST.items():
            if key.startswith("value::") and value:
                _prefix, field, original = key.split("::", 2)
                value_map.setdefault(field, {})[original] = str(value)
        options = {
            "owner_id": request.POST.get("owner_id", ""),
            "create_references": request.POST.get("create_references") == "1",
            "create_values": request.POST.get("create_values") == "1",
        }
        try:
            with transaction.atomic():
                services.import_configure(
                    actor=member,
                    job=job,
                    columns=columns,
                    defaults=defaults,
                    value_map=value_map,
                    dedupe_fields=request.POST.getlist("dedupe"),
                    dedupe_mode=request.POST.get("dedupe_mode", DedupeMode.SKIP),
                    options=options,
                )
                name = request.POST.get("save_as", "").strip()
                if name:
                    services.mapping_save(actor=member, job=job, name=name)
                if request.POST.get("go") == "run":
                    services.import_start(actor=member, job=job)
                else:
                    services.import_dry_run_start(actor=member, job=job)
            return redirect("imports:detail", job_id=job.pk)
        except PlanLimitReached as exc:
            errors.append(exc.text)
        except ValidationError as exc:
            errors += _form_errors(exc)
        job.refresh_from_db()
    try:
        sheet = files.read(
            files.load(job.storage_name),
            file_format=job.file_format,
            encoding=job.encoding,
            delimiter=job.delimiter,
            sheet=job.sheet,
            module=job.module,
            keep=files.PREVIEW_ROWS,  # samples and picklist values from the first rows; the dry run sees all
        )
        rows = sheet.rows
    except files.FileProblem as exc:
        errors.append(str(exc))
        rows = []
    targets = mapping.targets(spec)
    column_rows = [
        {
            "index": i,
            "heading": heading,
            "samples": [row[i] for row in rows[:SAMPLE_ROWS] if i < len(row) and row[i]],
            "field": job.mapping.get(str(i), ""),
        }
        for i, heading in enumerate(job.headers)
    ]
    default_rows: list[tuple[str, Any]] = list(job.defaults.items())[:3]
    default_rows += [("", "")] * (3 - len(default_rows))
    return render(
        request,
        "imports/mapping.html",
        {
            "job": job,
            "spec": spec,
            "errors": errors,
            "columns": column_rows,
            "targets": list(targets.values()),
            "defaults": [(n, name, value) for n, (name, value) in enumerate(default_rows)],
            "dedupe_choices": mapping.dedupe_choices(spec),
            "dedupe_modes": DedupeMode.choices,
            "members": Member.objects.filter(active=True).select_related("user").order_by("user__name"),
            "picklists": _picklist_unknown(job, spec, rows),
            "saved": selectors.saved_mappings(module=job.module),
            "encodings": ENCODING_LABELS,
            "delimiters": _delimiters(),
            "is_admin": services.is_import_admin(member),
            "rows_shown": min(len(rows), SAMPLE_ROWS),
        },
        status=400 if errors else 200,
    )


@login_required
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """Steps 3-5: the check's report, the run's progress, the summary (error file, undo)."""
    member, job = _job(request, job_id)
    spec = _spec(member, job.module)
    return render(
        request,
        "imports/detail.html",
        {
            "job": job,
            "spec": spec,
            "status": status_payload(job, request),
            "report": job.report or {},
            "can_undo": job.undoable and (job.created_by_id == member.pk or services.is_import_admin(member)),
            "can_edit": job.created_by_id == member.pk
            and job.status in (ImportJob.Status.UPLOADED, ImportJob.Status.VALIDATED),
        },
    )


@login_required
def import_status(request: HttpRequest, job_id: int) -> JsonResponse:
    """The progress bar's JSON (the API's status payload)."""
    _member_obj, job = _job(request, job_id)
    payload = status_payload(job, request)
    for key in ("created_at", "finished_at", "undone_at"):
        payload[key] = payload[key].isoformat() if payload[key] else None
    return JsonResponse(payload)


@require_POST
@login_required
def import_action(request: HttpRequest, job_id: int, action: str) -> HttpResponse:
    member, job = _job(request, job_id)
    try:
        with transaction.atomic():
            if action == "run":
                services.import_start(actor=member, job=job)
            elif action == "check":
                services.import_dry_run_start(actor=member, job=job)
            elif action == "cancel":
                services.import_cancel(actor=member, job=job)
                messages.info(request, _("Cancelling: nothing of this import will be kept."))
            elif action == "undo":
                services.import_undo_start(actor=member, job=job)
                messages.info(request, _("Undoing the import."))
            else:
                raise Http404
    except PlanLimitReached as exc:
        messages.error(request, exc.text)
    except ValidationError as exc:
        for message in _form_errors(exc):
            messages.error(request, message)
    return redirect("imports:detail", job_id=job.pk)


def _file_response(storage_name: str, file_name: str, content_type: str = "application/octet-stream") -> FileResponse:
    response = FileResponse(
        files.open_stored(storage_name), as_attachment=True, filename=file_name, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def import_errors(request: HttpRequest, job_id: int) -> FileResponse:
    """The failed rows in the file's own format (CSV, XLSX, vCard, iCalendar) with their errors."""
    _member_obj, job = _job(request, job_id)
    if not job.error_storage_name:
        raise Http404
    stem = job.file_name.rsplit(".", 1)[0] or "import"
    return _file_response(job.error_storage_name, f"{stem}-errors.{job.error_extension}")


@login_required
def import_file(request: HttpRequest, job_id: int) -> FileResponse:
    """The uploaded file, to its importer and administrators."""
    _member_obj, job = _job(request, job_id)
    return _file_response(job.storage_name, job.file_name)


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """Every import (the member's own; all of them for administrators) and the member's exports."""
    member = _member(request)
    jobs = list(selectors.import_list(actor=member)[:200])
    labels = {}
    for job in jobs:
        try:
            labels[job.module] = registry.get(job.module).label_plural
        except registry.UnknownModule:
            labels[job.module] = job.module
    return render(
        request,
        "imports/history.html",
        {
            "jobs": [(job, labels[job.module]) for job in jobs],
            "exports": selectors.export_list(actor=member)[:50],
            "is_admin": services.is_import_admin(member),
        },
    )


@login_required
def export_new(request: HttpRequest, module: str) -> HttpResponse:
    """ "Export all matching": confirm the format for the list's filters and search, then queue it."""
    member = request_member(request)
    if member is None or not visibility.has_privilege(actor=member, privilege=Privilege.CAN_EXPORT):
        raise PermissionDenied
    spec = _spec(member, module)
    query = {k: str(v) for k, v in request.GET.items() if k != "cursor"}
    if request.method == "POST":
        query = {k[len("q::") :]: str(v) for k, v in request.POST.items() if k.startswith("q::")}
        try:
            with transaction.atomic():
                services.export_start(
                    actor=member, module=spec.key, file_format=request.POST.get("format", "csv"), query=query
                )
        except ValidationError as exc:
            for message in _form_errors(exc):
                messages.error(request, message)
            return redirect(reverse("imports:export_new", args=[spec.key]))
        messages.success(request, _("The export is being prepared; its download link appears below when it is ready."))
        return redirect("imports:exports")
    return render(request, "imports/export_new.html", {"spec": spec, "query": sorted(query.items())})


@login_required
def exports(request: HttpRequest) -> HttpResponse:
    member = request_member(request)
    if member is None or not visibility.has_privilege(actor=member, privilege=Privilege.CAN_EXPORT):
        raise PermissionDenied
    return render(request, "imports/exports.html", {"exports": selectors.export_list(actor=member)[:50]})


@login_required
def export_download(request: HttpRequest, job_id: int) -> FileResponse:
    """The file, only to the member who asked for it, while they may still export."""
    member = request_member(request)
    if member is None or not visibility.has_privilege(actor=member, privilege=Privilege.CAN_EXPORT):
        raise PermissionDenied
    try:
        job = selectors.access_export(actor=member, job_id=job_id)
    except ExportJob.DoesNotExist as exc:
        raise Http404 from exc
    if job.status != ExportJob.Status.DONE or not job.storage_name:
        raise Http404
    content_type = (
        "text/csv; charset=utf-8"
        if job.file_format == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return _file_response(job.storage_name, job.file_name, content_type)
