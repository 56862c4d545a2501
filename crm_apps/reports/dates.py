"""Relative date ranges ("this quarter", "last 30 days", "next month"...) as inclusive date bounds, computed
in a time zone (the running member's: the report's owner for scheduled runs), and date truncation labels."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

RELATIVE = {
    "today": _("Today"),
    "yesterday": _("Yesterday"),
    "tomorrow": _("Tomorrow"),
    "this_week": _("This week"),
    "last_week": _("Last week"),
    "next_week": _("Next week"),
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "next_month": _("Next month"),
    "this_quarter": _("This quarter"),
    "last_quarter": _("Last quarter"),
    "next_quarter": _("Next quarter"),
    "this_year": _("This year"),
    "last_year": _("Last year"),
    "next_year": _("Next year"),
    "last_7_days": _("Last 7 days"),
    "last_30_days": _("Last 30 days"),
    "last_90_days": _("Last 90 days"),
    "next_7_days": _("Next 7 days"),
    "next_30_days": _("Next 30 days"),
    "next_90_days": _("Next 90 days"),
}
GRANULARITIES = ("day", "week", "month", "quarter", "year")


def today_in(zone: zoneinfo.ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(zone).date()


def _month_start(year: int, month: int) -> dt.date:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, 1)


def relative_range(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """Inclusive (first day, last day) of the named range around `today`. KeyError for unknown names."""
    one = dt.timedelta(days=1)
    if name not in RELATIVE:
        raise KeyError(name)
    if name in ("today", "yesterday", "tomorrow"):
        day = today + {"today": 0 * one, "yesterday": -one, "tomorrow": one}[name]
        return day, day
    period, _sep, unit = name.partition("_")
    if unit.endswith("days"):
        count = int(name.split("_")[1])
        if period == "last":
            return today - (count - 1) * one, today
        return today, today + (count - 1) * one
    shift = {"this": 0, "last": -1, "next": 1}[period]
    if unit == "week":
        start = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=shift)
        return start, start + 6 * one
    if unit == "month":
        start = _month_start(today.year, today.month + shift)
        return start, _month_start(start.year, start.month + 1) - one
    if unit == "quarter":
        first = (today.month - 1) // 3 * 3 + 1
        start = _month_start(today.year, first + 3 * shift)
        return start, _month_start(start.year, start.month + 3) - one
    start = dt.date(today.year + shift, 1, 1)
    return start, dt.date(start.year, 12, 31)


def day_start(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant of `day` in `zone` (for comparing timestamps with dates)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def bucket_label(value: dt.date, granularity: str) -> str:
    if granularity == "year":
        return f"{value.year}"
    if granularity == "quarter":
        return f"{value.year}-Q{(value.month - 1) // 3 + 1}"
    if granularity == "month":
        return f"{value.year}-{value.month:02d}"
    if granularity == "week":
        iso = value.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    return value.isoformat()


def bucket_end(start: dt.date, granularity: str) -> dt.date:
    """The last day of the bucket that starts on `start`."""
    one = dt.timedelta(days=1)
    if granularity == "day":
        return start
    if granularity == "week":
        return start + 6 * one
    if granularity == "month":
        return _month_start(start.year, start.month + 1) - one
    if granularity == "quarter":
        return _month_start(start.year, start.month + 3) - one
    return dt.date(start.year, 12, 31)
