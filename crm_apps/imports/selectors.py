"""Reads of imports and exports: a member sees their own; administrators (manage_settings) every import."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from crm_apps.access.models import Member
from crm_apps.imports.models import ExportJob, ImportJob, SavedMapping
from crm_apps.imports.services import is_import_admin


def import_list(*, actor: Member) -> QuerySet[ImportJob]:
    qs = ImportJob.objects.select_related("created_by__user", "undone_by__user")
    return qs if is_import_admin(actor) else qs.filter(created_by=actor)


def access_import(*, actor: Member, job_id: Any) -> ImportJob:
    """The import, if the actor may see it; the same DoesNotExist for missing and forbidden."""
    try:
        pk = int(str(job_id))
    except ValueError as exc:
        raise ImportJob.DoesNotExist from exc
    return import_list(actor=actor).get(pk=pk)


def saved_mappings(*, module: str) -> QuerySet[SavedMapping]:
    return SavedMapping.objects.filter(module=module)


def export_list(*, actor: Member) -> QuerySet[ExportJob]:
    return ExportJob.objects.filter(created_by=actor)


def access_export(*, actor: Member, job_id: Any) -> ExportJob:
    try:
        pk = int(str(job_id))
    except ValueError as exc:
        raise ExportJob.DoesNotExist from exc
    return export_list(actor=actor).get(pk=pk)
