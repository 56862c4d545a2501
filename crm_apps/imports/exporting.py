""" "Export all matching": a list's every row (its filters and search, through the visibility filter and
the member's field rules) written to a CSV or XLSX file in the tenant's storage by a background task, for
lists too big for the engine's synchronous export (100,000 rows). The file is served only to the member
who asked, while they keep the export privilege; each export is audited with the view it exported."""

from __future__ import annotations

import io
import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine import exports, metadata, registry, selectors
from crm_apps.engine.display import Displayer
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.imports import files
from crm_apps.imports.models import ExportJob

logger = logging.getLogger(__name__)

MAX_ROWS = 1_000_000  # XLSX holds 1,048,576 rows a sheet


def export_execute(*, job_id: int) -> ExportJob:
    job = ExportJob.objects.select_related("created_by__user").get(pk=job_id)
    if job.status != ExportJob.Status.QUEUED:
        return job
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING)
    try:
        content, rows = _write(job)
        storage_name = files.store(content, kind="export")
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.DONE,
            rows=rows,
            storage_name=storage_name,
            size=len(content),
            finished_at=timezone.now(),
        )
        audit.audit_log(
            action=audit.EXPORT,
            actor=job.created_by,
            module=job.module,
            details={"format": job.file_format, "rows": rows, "view": job.query, "background": True},
        )
    except (PermissionDenied, ValidationError, registry.UnknownModule):
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, message=_("You may no longer export this list."), finished_at=timezone.now()
        )
    except Exception:
        logger.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, message=_("The export failed; try again."), finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def _write(job: ExportJob) -> tuple[bytes, int]:
    """The same columns and cells as the list's export (engine views.export), every matching row."""
    member = job.created_by
    if not visibility.has_privilege(actor=member, privilege=Privilege.CAN_EXPORT):
        raise PermissionDenied
    spec = registry.get(job.module)
    if not visibility.can_view_module(actor=member, spec=spec):
        raise PermissionDenied
    rules = field_rules(actor=member, spec=spec)
    query = job.query or {}
    filters = {k: v for k, v in query.items() if k not in selectors.LIST_PARAMS and v != ""}
    qs = selectors.list_queryset(
        spec=spec,
        actor=member,
        filters=filters,
        search=query.get("q", ""),
        default_view=query.get("view") != "all",
    ).order_by(*selectors.ordering_for(spec, query.get("ordering") or None, hidden=rules.hidden))
    from crm_apps.engine.api.representation import api_fields

    names = rules.visible(api_fields(spec))
    custom = rules.custom(metadata.custom_fields(spec.key))
    displayer = Displayer(spec)
    header = [
        _("Number"),
        *[displayer.value(spec.model(), n).label for n in names],
        _("Owner"),
        *[f.label for f in custom],
    ]
    references = [n for n in names if isinstance(spec.model._meta.get_field(n), models.ForeignKey)]

    def rows() -> Any:
        for record in qs.select_related("owner__user", "owner_group", *references).iterator(chunk_size=5000):
            yield [
                exports.safe_cell(value)
                for value in (
                    record.number,
                    *[displayer.value(record, n).text for n in names],
                    displayer.value(record, "owner").text,
                    *[exports.custom_cell(f, record) for f in custom],
                )
            ]

    if job.file_format == "xlsx":
        return exports.xlsx_bytes(title=str(spec.label_plural), header=header, rows=rows(), limit=MAX_ROWS)
    buffer = io.StringIO()
    written = 0
    for n, piece in enumerate(exports.csv_stream(header, rows(), limit=MAX_ROWS)):
        buffer.write(piece)
        written = n
    return buffer.getvalue().encode("utf-8"), max(written - 1, 0)
