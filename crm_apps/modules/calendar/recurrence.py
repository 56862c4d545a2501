"""RFC 5545 recurrence: validating RRULEs and expanding a series into occurrences in a time window.

Expansion runs in the event's own time zone (a weekly 09:00 meeting in Europe/Berlin stays at 09:00
local across the DST change, so its UTC time moves by an hour), with python-dateutil's rrule as the
engine. Occurrence starts are returned as aware UTC datetimes; EXDATEs are compared as instants.
An UNTIL without "Z" (a date, or a local date-time) is read in the event's time zone, as RFC 5545 says
for a floating/date UNTIL; a DATE UNTIL includes its whole day.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable

from dateutil import rrule as du_rrule
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Expanding a window never yields more than this (a DAILY rule over a decade is 3,650).
MAX_OCCURRENCES = 5000
_ALLOWED_FREQ = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_KNOWN = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYSETPOS",
    "BYYEARDAY",
    "BYWEEKNO",
    "WKST",
}
_UNTIL_RE = re.compile(r"^(\d{8})(T(\d{6})(Z?))?$")


def _parts(text: str) -> dict[str, str]:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    parts: dict[str, str] = {}
    for item in body.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not value:
            raise ValidationError(_("Each part of a recurrence rule is NAME=VALUE."))
        parts[key.strip().upper()] = value.strip().upper()
    return parts


def _join(parts: dict[str, str]) -> str:
    order = [
        "FREQ",
        "INTERVAL",
        "COUNT",
        "UNTIL",
        "BYMONTH",
        "BYWEEKNO",
        "BYYEARDAY",
        "BYMONTHDAY",
        "BYDAY",
        "BYSETPOS",
        "WKST",
    ]
    return ";".join(f"{k}={parts[k]}" for k in order if k in parts)


def normalize_rrule(text: str) -> str:
    """The rule in canonical form (upper case, no "RRULE:" prefix, fixed part order); "" stays ""."""
    if not text or not text.strip():
        return ""
    return _join(_parts(text))


def validate_rrule(text: str) -> None:
    """A daily/weekly/monthly/yearly RRULE that dateutil can expand; COUNT and UNTIL not both."""
    if not text:
        return
    parts = _parts(text)
    unknown = sorted(set(parts) - _KNOWN)
    if unknown:
        raise ValidationError(_("Unknown recurrence part: %(name)s.") % {"name": unknown[0]})
    if parts.get("FREQ") not in _ALLOWED_FREQ:
        raise ValidationError(_("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY."))
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValidationError(_("Give COUNT or UNTIL, not both."))
    if "COUNT" in parts and not (parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= 1000):
        raise ValidationError(_("COUNT must be a whole number from 1 to 1000."))
    if "INTERVAL" in parts and not (parts["INTERVAL"].isdigit() and 1 <= int(parts["INTERVAL"]) <= 999):
        raise ValidationError(_("INTERVAL must be a whole number from 1 to 999."))
    if "UNTIL" in parts and not _UNTIL_RE.match(parts["UNTIL"]):
        raise ValidationError(_("UNTIL must be a date (20270131) or a UTC time (20270131T170000Z)."))
    if "UNTIL" in parts:  # a DATE or local UNTIL is read in the event's zone; dateutil wants it in UTC
        parts["UNTIL"] = _until_utc(parts["UNTIL"], dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        du_rrule.rrulestr(_join(parts), dtstart=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), forceset=False)
    except (ValueError, TypeError) as exc:
        raise ValidationError(_("This is not a valid recurrence rule.")) from exc


def _until_utc(value: str, tz: dt.tzinfo) -> dt.datetime:
    match = _UNTIL_RE.match(value)
    if match is None:
        raise ValueError(value)
    day = dt.datetime.strptime(match.group(1), "%Y%m%d")
    if match.group(2) is None:  # a DATE: the whole day, in the event's zone
        return (day + dt.timedelta(days=1) - dt.timedelta(seconds=1)).replace(tzinfo=tz).astimezone(dt.UTC)
    moment = dt.datetime.strptime(match.group(1) + match.group(3), "%Y%m%d%H%M%S")
    return moment.replace(tzinfo=dt.UTC if match.group(4) else tz).astimezone(dt.UTC)


def rrule_until(text: str, time_zone: str = "UTC") -> dt.datetime | None:
    """The UNTIL of a rule as an aware UTC datetime (None without one)."""
    parts = _parts(text)
    if "UNTIL" not in parts:
        return None
    return _until_utc(parts["UNTIL"], zoneinfo.ZoneInfo(time_zone))


def build_rule(text: str, *, start: dt.datetime, time_zone: str) -> du_rrule.rrule:
    """A dateutil rule anchored at `start` in the event's time zone (UNTIL made UTC, as dateutil needs)."""
    tz = zoneinfo.ZoneInfo(time_zone)
    parts = _parts(text)
    if "UNTIL" in parts:
        parts["UNTIL"] = _until_utc(parts["UNTIL"], tz).strftime("%Y%m%dT%H%M%SZ")
    rule = du_rrule.rrulestr(_join(parts), dtstart=start.astimezone(tz), forceset=False)
    assert isinstance(rule, du_rrule.rrule)
    return rule


_STEP_DAYS = {"DAILY": 1, "WEEKLY": 7}


def _anchor_near(*, start: dt.datetime, time_zone: str, rrule: str, before: dt.datetime) -> dt.datetime:
    """A start for expanding the series from just before `before` with the same occurrences after it:
    a DAILY or WEEKLY rule without COUNT (which counts from the first start) moves its start forward by
    whole periods (in the event's wall-clock time, so week alignment and time of day stay), so a series
    that began long ago costs a few steps, not one per occurrence since. Other rules keep their start
    (MONTHLY/YEARLY take few steps per century, and the start is kept within 1900-2200)."""
    parts = _parts(rrule)
    days = _STEP_DAYS.get(parts.get("FREQ", ""))
    if days is None or "COUNT" in parts:
        return start
    period = days * int(parts.get("INTERVAL", "1") or "1")
    tz = zoneinfo.ZoneInfo(time_zone)
    local = start.astimezone(tz)
    periods = (before.astimezone(tz).replace(tzinfo=None) - local.replace(tzinfo=None)).days // period - 1
    if periods <= 0:
        return start
    return (local.replace(tzinfo=None) + dt.timedelta(days=periods * period)).replace(tzinfo=tz)


def occurrence_starts(
    *,
    start: dt.datetime,
    end: dt.datetime,
    time_zone: str,
    rrule: str,
    exdates: Iterable[dt.datetime] = (),
    window_start: dt.datetime,
    window_end: dt.datetime,
) -> list[dt.datetime]:
    """Starts (aware, UTC) of the occurrences that overlap [window_start, window_end): an occurrence
    overlaps when it starts before the window ends and ends after it starts (or starts inside it)."""
    duration = end - start

    def overlaps(s: dt.datetime) -> bool:
        return s < window_end and (s + duration > window_start or s >= window_start)

    if not rrule:
        return [start.astimezone(dt.UTC)] if overlaps(start) else []
    excluded = {x.astimezone(dt.UTC) for x in exdates}
    after = window_start - duration - dt.timedelta(seconds=1)
    anchor = _anchor_near(start=start, time_zone=time_zone, rrule=rrule, before=after)
    rule = build_rule(rrule, start=anchor, time_zone=time_zone)
    found: list[dt.datetime] = []
    for local in rule.xafter(after, inc=True):
        if local >= window_end or len(found) >= MAX_OCCURRENCES:
            break
        moment = local.astimezone(dt.UTC)
        if moment not in excluded and overlaps(moment):
            found.append(moment)
    return found


def is_occurrence(*, start: dt.datetime, time_zone: str, rrule: str, moment: dt.datetime) -> bool:
    """Whether `moment` is the start of one of the series' occurrences (EXDATEs aside)."""
    if not rrule:
        return moment == start
    anchor = _anchor_near(start=start, time_zone=time_zone, rrule=rrule, before=moment - dt.timedelta(seconds=1))
    rule = build_rule(rrule, start=anchor, time_zone=time_zone)
    hit = rule.after(moment - dt.timedelta(seconds=1), inc=True)
    return hit is not None and hit.astimezone(dt.UTC) == moment.astimezone(dt.UTC)


def count_before(*, start: dt.datetime, time_zone: str, rrule: str, moment: dt.datetime) -> int:
    """How many occurrences of the series start before `moment` (EXDATEs count: COUNT counts them too)."""
    rule = build_rule(rrule, start=start, time_zone=time_zone)
    return len(
        rule.between(start.astimezone(zoneinfo.ZoneInfo(time_zone)) - dt.timedelta(seconds=1), moment, inc=False)
    )


def rrule_end_before(text: str, moment: dt.datetime) -> str:
    """The rule cut so that its last occurrence starts before `moment` ("this and following" edits)."""
    parts = _parts(text)
    parts.pop("COUNT", None)
    parts["UNTIL"] = (moment.astimezone(dt.UTC) - dt.timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    return _join(parts)


def rrule_with_count(text: str, count: int | None) -> str:
    parts = _parts(text)
    if count is None:
        parts.pop("COUNT", None)
    else:
        parts["COUNT"] = str(count)
    return _join(parts)


def rrule_count(text: str) -> int | None:
    value = _parts(text).get("COUNT")
    return int(value) if value else None
