"""Reads of saved reports: those a member may open (their own, and shared ones addressed to them)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from crm_apps.access.grants import grants_for
from crm_apps.access.models import Member
from crm_apps.access.privileges import is_tenant_admin
from crm_apps.reports.models import Report, ReportFolder


def reports_for(*, actor: Member) -> QuerySet[Report]:
    """Reports `actor` may open: their own, reports shared with everyone, or with them, their role or one of
    their groups. Tenant admins see every report."""
    qs = Report.objects.select_related("folder", "owner__user")
    if is_tenant_admin(actor):
        return qs
    groups = sorted(grants_for(actor).group_ids)
    addressed = Q(shared_members=actor) | Q(shared_groups__in=groups)
    if actor.role_id:
        addressed |= Q(shared_roles=actor.role_id)
    everyone = Q(shared_members__isnull=True, shared_roles__isnull=True, shared_groups__isnull=True)
    shared = Q(sharing=Report.Sharing.SHARED) & (addressed | everyone)
    ids = Report.objects.filter(Q(owner=actor) | shared).values("pk")
    return qs.filter(pk__in=ids)


def report_get(*, actor: Member, report_id: Any) -> Report | None:
    """A report `actor` may open; None for missing and forbidden alike."""
    if not str(report_id).isdigit() or len(str(report_id)) > 12:
        return None
    return reports_for(actor=actor).filter(pk=int(report_id)).first()


def folders_for(*, actor: Member) -> QuerySet[ReportFolder]:
    return ReportFolder.objects.filter(owner=actor)
