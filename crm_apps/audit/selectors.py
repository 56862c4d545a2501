"""Reads of the audit trail: filtered, newest first, keyset-paginated (never a COUNT of the table)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from crm_apps.audit.models import AuditEvent, AuditSettings

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    action: str = ""
    module: str = ""
    record_id: str = ""
    date_from: date | None = None
    date_to: date | None = None


@dataclass
class AuditPage:
    events: list[AuditEvent]
    next_cursor: str | None


def audit_settings_get() -> AuditSettings:
    """The tenant's audit settings (the defaults when the row is missing)."""
    return AuditSettings.objects.filter(pk=1).first() or AuditSettings(pk=1)


def _day_start(day: date) -> datetime:
    """Midnight of `day` in the current (the viewer's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_event_queryset(*, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The events matching the filters, newest first; each filter has an index that leads with it."""
    qs = AuditEvent.objects.all()
    if filters.actor_id is not None:
        qs = qs.filter(actor_id=filters.actor_id)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.module:
        qs = qs.filter(module=filters.module)
    if filters.record_id:
        qs = qs.filter(record_id=filters.record_id)
    if filters.date_from:
        qs = qs.filter(at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(at__lt=_day_start(filters.date_to + timedelta(days=1)))
    return qs.order_by("-at", "-id")


def _encode(event: AuditEvent) -> str:
    return base64.urlsafe_b64encode(json.dumps([event.at.isoformat(), event.pk]).encode()).decode()


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw_at, pk = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        at = parse_datetime(raw_at)
        if at is None or timezone.is_naive(at) or not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError(cursor)
        return at, pk
    except Exception as exc:
        raise ValidationError({"cursor": [_("Invalid cursor.")]}) from exc


def audit_event_list(*, filters: AuditFilters, cursor: str | None = None, limit: int = PAGE_SIZE) -> AuditPage:
    """One page of events, newest first, continuing after `cursor` (the last event of the page before)."""
    qs = audit_event_queryset(filters=filters)
    if cursor:
        at, pk = _decode(cursor)
        # `at <= x` bounds the index scan; the OR only breaks ties within the same instant.
        qs = qs.filter(Q(at__lte=at), Q(at__lt=at) | Q(pk__lt=pk))
    rows: list[Any] = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(events=rows, next_cursor=_encode(rows[-1]) if more and rows else None)
