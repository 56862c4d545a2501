"""Reads of saved reports: those a member may open (their own, and shared ones addressed to them)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from crm_apps.access.grants import grants_for
from crm_apps.access.models import Member
from crm_apps.access.privileges import is_tenant_admin
from crm_apps.reports.models import Audience, Report, ReportFolder


def _shared_with(actor: Member, model: Any) -> Q:
    """Rows of `model` (a report or a folder) shared with `actor`: with everyone (the explicit audience), or with
    them, their role or one of their groups. Nothing listed with the "listed" audience is nobody."""
    groups = sorted(grants_for(actor).group_ids)
    addressed = Q(shared_members=actor) | Q(shared_groups__in=groups)
    if actor.role_id:
        addressed |= Q(shared_roles=actor.role_id)
    everyone = Q(audience=Audience.EVERYONE)
    return Q(sharing=model.Sharing.SHARED) & (addressed | everyone)


def reports_for(*, actor: Member) -> QuerySet[Report]:
    """Reports `actor` may open: their own, reports shared with everyone, or with them, their role or one of
    their groups, and every report in a folder shared that way. Tenant admins see every report."""
    qs = Report.objects.select_related("folder__owner__user", "owner__user")
    if is_tenant_admin(actor):
        return qs
    folders = ReportFolder.objects.filter(_shared_with(actor, ReportFolder)).values("pk")
    ids = Report.objects.filter(Q(owner=actor) | _shared_with(actor, Report) | Q(folder__in=folders)).values("pk")
    return qs.filter(pk__in=ids)


def report_get(*, actor: Member, report_id: Any) -> Report | None:
    """A report `actor` may open; None for missing and forbidden alike."""
    if not str(report_id).isdigit() or len(str(report_id)) > 12:
        return None
    return reports_for(actor=actor).filter(pk=int(report_id)).first()


def folders_for(*, actor: Member) -> QuerySet[ReportFolder]:
    """Folders `actor` sees: their own and those shared with them (tenant admins: every folder)."""
    qs = ReportFolder.objects.select_related("owner__user")
    if is_tenant_admin(actor):
        return qs
    ids = ReportFolder.objects.filter(Q(owner=actor) | _shared_with(actor, ReportFolder)).values("pk")
    return qs.filter(pk__in=ids)


def folder_get(*, actor: Member, folder_id: Any) -> ReportFolder | None:
    """A folder `actor` sees; None for missing and forbidden alike."""
    if not str(folder_id).isdigit() or len(str(folder_id)) > 12:
        return None
    return folders_for(actor=actor).filter(pk=int(folder_id)).first()
