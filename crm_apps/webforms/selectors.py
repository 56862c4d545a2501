"""Reads of web forms: only for members who manage settings (a submissions log holds visitors' data)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.webforms.models import DailyStat, Submission, WebForm


def may_manage(actor: Member) -> bool:
    return visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS)


def webform_list(*, actor: Member) -> list[WebForm]:
    if not may_manage(actor):
        raise PermissionDenied
    return list(WebForm.objects.select_related("owner__user", "owner_group").order_by("name", "id"))


def access_webform(*, actor: Member, form_id: Any) -> WebForm:
    """The form, for a member who may manage forms (403 for others; 404 for an unknown id)."""
    if not may_manage(actor):
        raise PermissionDenied
    form = (
        WebForm.objects.select_related("owner__user", "owner_group").filter(pk=form_id).first()
        if str(form_id).isdigit()
        else None
    )
    if form is None:
        raise Http404
    return form


def submission_list(*, form: WebForm, status: str = "", limit: int = 100) -> list[Submission]:
    rows = Submission.objects.filter(form=form).prefetch_related("visitor_documents")
    if status:
        rows = rows.filter(status=status)
    return list(rows.order_by("-created_at", "-id")[:limit])


def webform_stats(*, form: WebForm, days: int = 30) -> dict[str, Any]:
    """Views, accepted and rejected submissions, the conversion rate (accepted / views) and the same by UTM
    source, over the last `days` days (views and accepted from the daily counters, rejections from the log)."""
    since = timezone.localdate() - dt.timedelta(days=days - 1)
    by_source = list(
        DailyStat.objects.filter(form=form, day__gte=since)
        .values("source")
        .annotate(views=Sum("views"), submissions=Sum("submissions"))
        .order_by("-submissions", "source")
    )
    views = sum(r["views"] for r in by_source)
    accepted = sum(r["submissions"] for r in by_source)
    start = timezone.now() - dt.timedelta(days=days)
    log = Submission.objects.filter(form=form, created_at__gte=start).aggregate(
        rejected=Count("id", filter=Q(status=Submission.Status.REJECTED)),
    )
    reasons = dict(
        Submission.objects.filter(form=form, created_at__gte=start, status=Submission.Status.REJECTED)
        .values_list("reason")
        .annotate(n=Count("id"))
        .values_list("reason", "n")
    )
    return {
        "days": days,
        "views": views,
        "submissions": accepted,
        "rejected": log["rejected"],
        "rejected_by_reason": reasons,
        "conversion": _rate(accepted, views),
        "by_source": [
            {
                "source": r["source"],
                "views": r["views"],
                "submissions": r["submissions"],
                "conversion": _rate(r["submissions"], r["views"]),
            }
            for r in by_source
        ],
    }


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
