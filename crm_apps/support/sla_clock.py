"""The SLA clock: business time between two instants, and the instant a business-time target is reached.

Pure functions, no database: a `WorkCalendar` (time zone, opening hours per weekday, holidays) and a list
of pauses (a ticket waiting for the customer) in, seconds or an instant out. Everything is computed on
UTC instants; opening hours are local wall-clock times of the calendar's zone, so a working day keeps its
local hours across a DST change (the day is an hour shorter or longer in UTC).

Rules:
- An instant counts when its local date is not a holiday, its local time is inside one of that weekday's
  opening intervals (start inclusive, end exclusive; "24:00" is the end of the day) and it is in no pause.
- A local boundary that does not exist (inside a DST gap) is the first instant after the gap; one that
  exists twice (a DST overlap) is its first occurrence.
- Pauses are half-open intervals [start, end); an open pause (end None) lasts for ever.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

UTC = dt.UTC
MAX_DAYS = 3 * 366  # a target that needs longer than this is never reached (no opening hours)

Interval = tuple[dt.datetime, dt.datetime]
Pause = tuple[dt.datetime, dt.datetime | None]


@dataclass(frozen=True)
class WorkCalendar:
    """Opening hours per weekday (0 = Monday) as local (start, end) times in minutes from midnight
    (end may be 1440), holidays as local dates."""

    zone: str = "UTC"
    week: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    holidays: frozenset[dt.date] = frozenset()

    @classmethod
    def always(cls, zone: str = "UTC") -> WorkCalendar:
        """24 hours a day, 7 days a week."""
        return cls(zone=zone, week={day: ((0, 1440),) for day in range(7)})

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def is_open_ever(self) -> bool:
        return any(end > start for intervals in self.week.values() for start, end in intervals)


def local_to_utc(day: dt.date, minutes: int, tz: ZoneInfo) -> dt.datetime:
    """The first instant whose local wall time in `tz` is `day` at `minutes` past midnight or later."""
    if minutes >= 1440:
        return local_to_utc(day + dt.timedelta(days=1), minutes - 1440, tz)
    naive = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60))
    instant = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    # Inside a DST gap: the wall clock jumps over `naive`; the first instant after it is the jump itself,
    # which lies between the two readings of `naive` (fold=1 gives the earlier one).
    low = int(naive.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    high = int(instant.timestamp())
    while high - low > 1:  # whole seconds: zone transitions fall on whole seconds
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, UTC).astimezone(tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, UTC)


def _open_intervals(calendar: WorkCalendar, start: dt.datetime, end: dt.datetime | None) -> Iterator[Interval]:
    """Opening intervals (UTC) overlapping [start, end) in time order, clipped to it (end None: open-ended,
    at most MAX_DAYS days)."""
    tz = calendar.tz
    day = start.astimezone(tz).date() - dt.timedelta(days=1)
    last = (end.astimezone(tz).date() + dt.timedelta(days=1)) if end is not None else day + dt.timedelta(MAX_DAYS)
    while day <= last:
        if day not in calendar.holidays:
            for open_minute, close_minute in _union(calendar.week.get(day.weekday(), ())):
                low = max(local_to_utc(day, open_minute, tz), start)
                high = local_to_utc(day, close_minute, tz)
                if end is not None:
                    high = min(high, end)
                if high > low:
                    yield low, high
        day += dt.timedelta(days=1)


def _union(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """A day's opening intervals without overlaps (two overlapping intervals count once)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _merged(pauses: Iterable[Pause]) -> list[tuple[dt.datetime, dt.datetime | None]]:
    ordered = sorted(((s, e) for s, e in pauses if e is None or e > s), key=lambda p: p[0])
    merged: list[tuple[dt.datetime, dt.datetime | None]] = []
    for start, end in ordered:
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end:
                merged[-1] = (last_start, None if last_end is None or end is None else max(last_end, end))
                continue
        merged.append((start, end))
    return merged


def _minus_pauses(interval: Interval, pauses: Sequence[tuple[dt.datetime, dt.datetime | None]]) -> list[Interval]:
    pieces = [interval]
    for p_start, p_end in pauses:
        kept: list[Interval] = []
        for low, high in pieces:
            if (p_end is not None and p_end <= low) or p_start >= high:
                kept.append((low, high))
                continue
            if p_start > low:
                kept.append((low, p_start))
            if p_end is not None and p_end < high:
                kept.append((p_end, high))
        pieces = kept
    return pieces


def business_seconds(
    calendar: WorkCalendar, start: dt.datetime, end: dt.datetime, pauses: Iterable[Pause] = ()
) -> float:
    """Business time between two instants (0 when end is not after start)."""
    if end <= start:
        return 0.0
    merged = _merged(pauses)
    total = 0.0
    for interval in _open_intervals(calendar, start, end):
        for low, high in _minus_pauses(interval, merged):
            total += (high - low).total_seconds()
    return total


def due_at(
    calendar: WorkCalendar, start: dt.datetime, seconds: float, pauses: Iterable[Pause] = ()
) -> dt.datetime | None:
    """The first instant at which `seconds` of business time have passed since `start`; None when that
    never happens (no opening hours, or an open pause first)."""
    if seconds <= 0:
        return start
    if not calendar.is_open_ever():
        return None
    merged = _merged(pauses)
    remaining = seconds
    for interval in _open_intervals(calendar, start, None):
        for low, high in _minus_pauses(interval, merged):
            length = (high - low).total_seconds()
            if length >= remaining:
                return low + dt.timedelta(seconds=remaining)
            remaining -= length
        if merged and merged[-1][1] is None and interval[1] > merged[-1][0]:
            return None  # paused for good from here on
    return None
